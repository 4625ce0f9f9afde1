"""Memory of FacePop's models, and whether anything grows across many generations.

    python bench/bench_memory.py [--runs 100]

Runs the whole pipeline (aggressive detection, MODNet masks with a random-weight model,
identity face pass, blend) on the demo scene again and again in one process, and prints a
markdown table of the process's resident memory (RSS, from /proc): before any model is
loaded, after the first run (every model loaded), after run 20 (when allocator pools and
thread arenas have settled) and after the last run. The models' share is the difference
between the first two; growth is the difference between the last two. Budget (docs/design.md
section 7): models under 300 MB together, nothing growing.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTLED_AFTER = 20
sys.path.insert(0, str(ROOT))

from lib_facepop.demo import demo_scene  # noqa: E402
from lib_facepop.detect import create_detector  # noqa: E402
from lib_facepop.masks import create_mask_source  # noqa: E402
from lib_facepop.pipeline import FacePipeline  # noqa: E402
from lib_facepop.processors import IdentityProcessor  # noqa: E402
from lib_facepop.settings import FacePopSettings  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args(argv)

    scene = demo_scene()
    settings = FacePopSettings(enabled=True)
    with tempfile.TemporaryDirectory() as folder:
        # Exported in another process: torch is no part of FacePop's inference.
        subprocess.run([sys.executable, "-m", "modnet.export", "--random-weights",
                        str(Path(folder) / "modnet_photographic_portrait_matting.onnx")],
                       check=True, cwd=ROOT, capture_output=True)
        gc.collect()
        before = rss_mb()
        pipeline = FacePipeline(create_detector(settings),
                                create_mask_source(settings, models_dir=Path(folder)),
                                IdentityProcessor())
        first = pipeline.run(scene, settings)
        gc.collect()
        loaded = rss_mb()
        start = time.perf_counter()
        after_first = loaded
        for run in range(1, args.runs):
            result = pipeline.run(scene, settings)
            if run == SETTLED_AFTER:
                gc.collect()
                after_first = rss_mb()  # allocator pools and thread arenas settle first
        elapsed = time.perf_counter() - start
        gc.collect()
        last = rss_mb()
    faces = len(first.faces)
    print(f"FacePop memory over {args.runs} runs of the demo scene ({faces} faces, "
          f"mask source {first.faces[0].prepared.mask.source if faces else '-'}; "
          f"{elapsed / max(1, args.runs - 1) * 1000:.0f} ms per run)\n")
    print("| moment | RSS MB |")
    print("|---|---|")
    print(f"| before any model | {before:.0f} |")
    print(f"| after the first run (models loaded) | {loaded:.0f} |")
    print(f"| after run {SETTLED_AFTER} | {after_first:.0f} |")
    print(f"| after run {args.runs} | {last:.0f} |")
    print(f"\nmodels and first-run buffers: {loaded - before:.0f} MB; growth from run "
          f"{SETTLED_AFTER} to "
          f"run {args.runs}: {last - after_first:+.1f} MB; same faces every run: "
          f"{len(result.faces) == faces}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
