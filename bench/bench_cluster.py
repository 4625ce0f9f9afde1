"""The driver's CPU per image with and without --cluster, and the GPU servers one driver
keeps busy.

    python bench/bench_cluster.py [--images 16]

Real photos (scikit-image's astronaut and coffee, matplotlib's Grace Hopper, as they are,
mirrored and cropped, --images files) go through ``python -m lib_facepop run`` with the
default settings (aggressive detection; MODNet masks with a random-weight model, the same
graph and cost as the official weights) and a loopback stand-in WebUI that answers at once
(tests/fake_webui_server.py): once on this machine (``--server``), once on a local Ray
cluster (``--cluster``: a head and one node with the server, tests/ray_cluster.py). Each is
run with 2 images and with all of them.

Measured: the driver process's CPU time (user + system, from ``os.wait4`` of that process
alone: the cluster's own processes are not counted). Per image = the difference between the
two runs / the difference in images, so start-up (imports, models, connecting) is printed
apart. Also measured: the bytes per image a node is sent (the input file) and sends back
(the result files).

Computed: the servers one driver keeps busy at face-pass times of 1, 3 and 10 s = the
face-pass time / the driver's CPU per image (one core of the driver's machine).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_webui_server import running_fake_webui  # noqa: E402
from tests.ray_cluster import local_ray_cluster, ray_environment  # noqa: E402

FEW = 2
FACE_PASS_SECONDS = (1, 3, 10)


def photos(folder: Path, count: int) -> list[Path]:
    """``count`` real photos with faces (and some without), as PNG files."""
    from matplotlib import cbook
    from skimage import data

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.asarray(Image.open(f).convert("RGB"))
    sources = [data.astronaut(), hopper, data.coffee()]
    variants = [lambda a: a, lambda a: a[:, ::-1], lambda a: a[: a.shape[0] * 9 // 10]]
    paths = []
    for i in range(count):
        pixels = variants[(i // len(sources)) % len(variants)](sources[i % len(sources)])
        path = folder / f"photo{i:03d}.png"
        Image.fromarray(np.ascontiguousarray(pixels)).save(path)
        paths.append(path)
    return paths


def driver_cpu(args: Sequence[str], env: dict[str, str], log: Path) -> float:
    """CPU seconds of one ``facepop run`` process (it must succeed)."""
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "lib_facepop", "run", *args],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"facepop run failed ({process.returncode}): {log.read_text()}")
    return usage.ru_utime + usage.ru_stime


def measure(images: list[Path], out: Path, flags: Sequence[str], env: dict[str, str]
            ) -> tuple[float, float]:
    """(start-up CPU s, CPU s per image) of the driver."""
    few_in, all_in = out / "few-in", out / "all-in"
    for folder, chosen in ((few_in, images[:FEW]), (all_in, images)):
        folder.mkdir(parents=True)
        for path in chosen:
            (folder / path.name).symlink_to(path)
    few = driver_cpu([str(few_in), "--out", str(out / "few"), *flags], env, out / "few.log")
    every = driver_cpu([str(all_in), "--out", str(out / "all"), *flags], env,
                       out / "all.log")
    per_image = (every - few) / (len(images) - FEW)
    return few - FEW * per_image, per_image


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    args = parser.parse_args(argv)
    if args.images <= FEW:
        parser.error(f"--images must be above {FEW}")

    with tempfile.TemporaryDirectory(prefix="fp-bench-", dir="/tmp") as scratch:
        root = Path(scratch)
        model = root / "modnet-random.onnx"
        subprocess.run([sys.executable, "-m", "modnet.export", "--random-weights", str(model)],
                       check=True, cwd=ROOT, capture_output=True)
        images = photos(Path(tempfile.mkdtemp(dir=root)), args.images)
        flags = ["--modnet", str(model), "--seed", "1", "--progress-interval", "600"]
        env = ray_environment({"PYTHONPATH": str(ROOT)})
        rows = []
        with running_fake_webui() as server, local_ray_cluster() as cluster:
            rows.append(("on this machine (--server)",
                         *measure(images, root / "alone", [*flags, "--server", server.url],
                                  env)))
            cluster.add_node(num_cpus=1)
            cluster.add_node(num_cpus=1, resources={"facepop_server": 1},
                             env={"FACEPOP_SERVER": server.url})
            rows.append(("on the cluster (--cluster)",
                         *measure(images, root / "farm",
                                  [*flags, "--cluster", cluster.address], env)))
        sent = sum(path.stat().st_size for path in images) / len(images)
        back = sum(path.stat().st_size for path in (root / "farm" / "all").glob("*.png")
                   ) / len(images)

    print(f"Driver CPU over {args.images} photos (default settings, MODNet masks, a WebUI "
          f"stand-in that answers at once)\n")
    print("| run | driver start-up CPU | driver CPU per image | servers kept busy at "
          + " | ".join(f"{t} s" for t in FACE_PASS_SECONDS) + " |")
    print("|---|---|---|" + "---|" * len(FACE_PASS_SECONDS))
    for name, start, per_image in rows:
        busy = " | ".join(f"{t / per_image:.0f}" for t in FACE_PASS_SECONDS)
        print(f"| {name} | {start:.2f} s | {per_image * 1000:.0f} ms | {busy} |")
    print(f"\nPer image on the cluster's network: {sent / 1024:.0f} KiB to a node (the input "
          f"file), {back / 1024:.0f} KiB back (the result).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
