"""``facepop run --cluster`` on a real Ray cluster of separate processes on this machine
(tests/ray_cluster.py: a head and a worker node, each on its own loopback address, each
with a loopback WebUI of its own, tests/fake_webui_server.py): every image done once and
byte for byte as on one machine; a node or worker killed mid-run costs nothing; a node's
server that fails or is down is taken out; a killed driver resumes; Ctrl-C cancels
(docs/render-farm.md).

The cluster starts once for the module. Runs that must be killed or interrupted have a
driver process of their own; the others run the command line in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

import pytest

from tests import test_cli_batch
from tests.fake_webui_server import Behaviour, FakeWebUI, _Counters, running_fake_webui
from tests.ray_cluster import LocalRayCluster, Node, local_ray_cluster, ray_environment
from tests.test_cli_batch import FAST

ray = pytest.importorskip("ray")

facepop = test_cli_batch.facepop  # the fixture: the command line in this process
renders = test_cli_batch.renders  # five photos with a face, one without

ROOT = Path(__file__).resolve().parents[1]
SERVER = {"facepop_server": 1}
FACES = 5  # of the six renders
# Small faces and ellipse masks for speed (the byte-for-byte test uses MODNet masks).
SMALL = ("--face-width", "256", "--face-height", "256", "--mask", "ellipse", *FAST)


@dataclass
class Farm:
    cluster: LocalRayCluster
    a: FakeWebUI
    """The head's WebUI."""
    b: FakeWebUI
    """The worker node's WebUI."""

    @property
    def servers(self) -> tuple[FakeWebUI, FakeWebUI]:
        return self.a, self.b

    def requests(self) -> int:
        return sum(len(server.requests) for server in self.servers)


@pytest.fixture(scope="module")
def farm() -> Iterator[Farm]:
    with running_fake_webui() as a, running_fake_webui() as b, local_ray_cluster() as cluster:
        cluster.add_node(resources=SERVER, env={"FACEPOP_SERVER": a.url})
        cluster.add_node(resources=SERVER, env={"FACEPOP_SERVER": b.url})
        farm = Farm(cluster, a, b)
        yield farm
        if farm.a is not a:  # started again by a test
            farm.a.shutdown()
            farm.a.server_close()


@pytest.fixture
def servers(farm) -> Farm:
    """The farm with both WebUIs behaving and their request logs empty."""
    for server in farm.servers:
        server.behaviour = Behaviour()
        server.counters = _Counters()
        server.requests.clear()
        server.extras_requests.clear()
    return farm


def driver(farm: Farm, *args: object, address: str | None = None) -> subprocess.Popen:
    """``facepop run ... --cluster`` in a process of its own."""
    command = [sys.executable, "-m", "lib_facepop", "run", *map(str, args),
               "--cluster", address or farm.cluster.address]
    env = ray_environment({"PYTHONPATH": str(ROOT), "RAY_ADDRESS": farm.cluster.address})
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def results(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("*.png"))


def debug_folders(out: Path) -> dict[str, list[Path]]:
    """The debugging folders under ``out`` by image stem."""
    found: dict[str, list[Path]] = {}
    for folder in sorted((out / "debug").iterdir()):  # <date>-<time>-<ms>-<stem>[-<n>]
        found.setdefault(folder.name.split("-", 3)[3], []).append(folder)
    return found


def comparable_run(folder: Path) -> dict:
    """run.json less what differs between any two runs (timings) and the server record."""
    record = json.loads((folder / "run.json").read_text())
    record.pop("timings_ms")
    record.pop("server", None)
    return record


# --- Ray only with --cluster -------------------------------------------------------------------

def test_without_cluster_ray_is_not_even_imported(renders, tmp_path) -> None:
    script = ("import sys; from lib_facepop import cli; "
              f"code = cli.main(['run', {str(renders / 'r6.jpg')!r}, '--out', "
              f"{str(tmp_path / 'out')!r}]); "
              "print('ray' in sys.modules, code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)
    assert done.stdout.split() == ["False", "0"], done.stderr
    assert (tmp_path / "out" / "r6.png").exists()


def test_cluster_without_ray_installed_says_how_to_install_it(facepop, renders, tmp_path,
                                                              monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as where it is missing
    run = facepop("run", renders / "r6.jpg", "--out", tmp_path / "out", "--cluster", "auto")
    assert run.code == 2 and len(run.lines) == 1, run.err
    assert run.err.startswith("facepop: --cluster needs Ray")
    assert 'pip install -c constraints.txt -e ".[cluster]"' in run.err
    assert not (tmp_path / "out" / "r6.png").exists()


def test_a_cluster_address_where_nothing_answers_stops_the_run_at_once(facepop, renders,
                                                                      tmp_path) -> None:
    from tests.ray_cluster import free_port

    address = f"127.0.0.2:{free_port('127.0.0.2')}"
    run = facepop("run", renders / "r6.jpg", "--out", tmp_path / "out", "--cluster", address)
    assert run.code == 1 and len(run.lines) == 1, run.err
    assert run.err.startswith(f"facepop: --cluster {address}: no Ray cluster answers at "
                              f"{address} (Connection refused); is its head running")


# --- the run -----------------------------------------------------------------------------------

def test_every_image_once_on_the_nodes_byte_for_byte_as_on_one_machine(
        facepop, servers, renders, tmp_path, random_onnx) -> None:
    same = ("--seed", "7", "--debug", "--modnet", random_onnx, "--face-width", "256",
            "--face-height", "256", *FAST)
    alone = facepop("run", renders, "--out", tmp_path / "alone", "--server", servers.a.url,
                    *same)
    assert alone.code == 0, alone.err
    servers.a.requests.clear()
    farm = facepop("run", renders, "--out", tmp_path / "farm", "--cluster",
                   servers.cluster.address, *same)
    assert farm.code == 0, farm.err
    assert farm.out == ""
    assert farm.lines == [f"facepop: finished 6 of 6 images in {farm.lines[0].split(' in ')[1]}"]
    assert "6 done (5 faces processed), 0 skipped, 0 failed" in farm.err
    # One face pass per image with a face, and both nodes' servers took images.
    assert servers.requests() == FACES and all(s.requests for s in servers.servers)
    assert results(tmp_path / "farm") == results(tmp_path / "alone") == [
        f"r{i}.png" for i in range(1, 7)]
    for name in results(tmp_path / "alone"):
        assert (tmp_path / "farm" / name).read_bytes() == (
            tmp_path / "alone" / name).read_bytes(), name
    alone_debug, farm_debug = debug_folders(tmp_path / "alone"), debug_folders(tmp_path / "farm")
    assert sorted(farm_debug) == sorted(alone_debug) and all(
        len(folders) == 1 for folders in farm_debug.values())
    for stem, (folder,) in farm_debug.items():
        (expected,) = alone_debug[stem]
        files = sorted(p.name for p in folder.iterdir())
        assert files == sorted(p.name for p in expected.iterdir())
        for name in files:
            if name != "run.json":
                assert (folder / name).read_bytes() == (expected / name).read_bytes(), name
        assert comparable_run(folder) == comparable_run(expected)
    records = [json.loads((f / "run.json").read_text()) for (f,) in farm_debug.values()]
    nodes = {r["server"]["node"] for r in records if "server" in r}
    assert nodes == {node.ip for node in servers.cluster.nodes[:2]}
    again = facepop("run", renders, "--out", tmp_path / "farm", "--cluster",
                    servers.cluster.address, *same)
    assert again.code == 0 and "0 done (0 faces processed), 6 skipped" in again.err
    assert servers.requests() == FACES


def test_servers_given_with_server_join_the_nodes_own_and_the_main_pass_runs(
        facepop, servers, renders, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as shared:
        run = facepop("run", renders, "--out", out, "--cluster", servers.cluster.address,
                      "--server", shared.url, "--main-pass", "--prompt", "photo", "--seed", "5",
                      "--debug", *SMALL)
    assert run.code == 0, run.err
    assert results(out) == [f"r{i}.png" for i in range(1, 7)]
    everyone = [*servers.servers, shared]
    bodies = [body for server in everyone for body in server.requests]
    main = [body for body in bodies if body["width"] != 256]  # the faces' are 256 px
    assert len(main) == 6 and len(bodies) == FACES + 6  # a main pass per image
    assert all((body["prompt"], body["seed"]) == ("photo", 5) for body in main)
    assert all(server.requests for server in everyone)
    records = [json.loads((f / "run.json").read_text())["server"]
               for (f,) in debug_folders(out).values()]
    assert {"url": shared.url, "face_restorer": None, "upscaler": None} in records
    assert sum("node" in record for record in records) == len(records) - sum(
        record["url"] == shared.url for record in records)


def test_an_image_another_run_has_claimed_is_left_to_it(facepop, servers, renders,
                                                       tmp_path) -> None:
    from lib_facepop.batch.shared_folder import SharedFolder

    out = tmp_path / "out"
    out.mkdir()
    with SharedFolder(out) as other:  # another run writing into the same folder
        other.open()
        assert other.claim(PurePath("r2")) is None
        run = facepop("run", renders, "--out", out, "--cluster", servers.cluster.address,
                      *SMALL)
    assert run.code == 0, run.err
    assert results(out) == ["r1.png", "r3.png", "r4.png", "r5.png", "r6.png"]
    assert "5 done (4 faces processed), 1 skipped" in run.err
    assert f"1 being done by another run writing into the same folder (1 by " \
           f"{other.me.describe()})" in run.err
    assert servers.requests() == FACES - 1


def test_a_worker_process_killed_mid_image_is_tried_again(servers, renders, tmp_path) -> None:
    out = tmp_path / "out"
    servers.b.behaviour.delay = 3.0
    process = driver(servers, renders / "r1.png", renders / "r2.png", renders / "r3.png",
                     "--out", out, "--debug", *SMALL)
    wait_until(lambda: servers.b.requests)  # a task on the worker node is in its face pass
    worker = _task_worker(servers.cluster.nodes[1])
    os.kill(worker, signal.SIGKILL)
    servers.b.behaviour.delay = 0.0
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert results(out) == ["r1.png", "r2.png", "r3.png"]
    assert all(len(f) == 1 for f in debug_folders(out).values())  # each written once
    assert ", 1 retried" in err
    assert "retried: 1 image(s) after the worker process working on them died" in err
    assert sum("its worker died" in line for line in err.splitlines()) == 1


def test_a_worker_node_killed_mid_run_loses_nothing(servers, renders, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(delay=60.0) as slow:
        doomed = servers.cluster.add_node(resources=SERVER, env={"FACEPOP_SERVER": slow.url})
        process = driver(servers, renders, "--out", out, "--debug", *SMALL)
        wait_until(lambda: slow.requests)  # an image is in the doomed node's face pass
        doomed.kill()
        said, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert said == ""  # Ray's own words about the dead node stay out of the output
    assert results(out) == [f"r{i}.png" for i in range(1, 7)]
    assert all(len(f) == 1 for f in debug_folders(out).values())  # each written once
    assert servers.requests() == FACES  # the lost image was done again elsewhere
    lines = err.splitlines()
    drops = [line for line in lines if "dropping server" in line]
    assert drops == [f"facepop: dropping server node {doomed.ip} ({slow.url}): its node "
                     f"left the cluster"]
    assert ", 1 retried" in err and "after the node working on them left the cluster" in err


def test_a_nodes_server_failing_hands_its_images_to_the_other(facepop, servers, renders,
                                                             tmp_path) -> None:
    out = tmp_path / "out"
    servers.a.behaviour.status = 503
    run = facepop("run", renders, "--out", out, "--cluster", servers.cluster.address, *SMALL)
    assert run.code == 0, run.err
    assert results(out) == [f"r{i}.png" for i in range(1, 7)]
    assert len(servers.b.requests) == FACES
    label = f"node {servers.cluster.nodes[0].ip} ({servers.a.url})"
    drops = [line for line in run.lines if "dropping server" in line]
    assert drops == [f"facepop: dropping server {label}: HTTP 503 something went wrong "
                     f"(2 images failed in a row)"]
    handed = [line for line in run.lines if "another server will do it" in line]
    assert len(handed) == 2 and all(label in line for line in handed)
    assert ", 2 retried" in run.err


def test_a_node_whose_server_is_down_is_left_out(facepop, servers, renders, tmp_path) -> None:
    port = int(servers.a.url.rsplit(":", 1)[1])
    servers.a.shutdown()
    servers.a.server_close()
    try:
        run = facepop("run", renders, "--out", tmp_path / "out", "--cluster",
                      servers.cluster.address, *SMALL)
    finally:
        servers.a = _serve_again(port)
    assert run.code == 0, run.err
    assert results(tmp_path / "out") == [f"r{i}.png" for i in range(1, 7)]
    assert run.lines[0].startswith(f"facepop: leaving out node {servers.cluster.nodes[0].ip} "
                                   f"({servers.a.url}): can't connect")
    assert len(servers.b.requests) == FACES


def test_a_node_whose_server_lacks_the_restorer_says_so_once(facepop, servers, renders,
                                                            tmp_path) -> None:
    servers.b.behaviour.restorers = ("GFPGAN",)
    run = facepop("run", renders, "--out", tmp_path / "out", "--cluster",
                  servers.cluster.address, "--face-restoration", "codeformer", *SMALL)
    assert run.code == 0, run.err
    said = [line for line in run.lines if "CodeFormer" in line]
    assert said == [f"facepop: node {servers.cluster.nodes[1].ip} ({servers.b.url}): face "
                    f"restoration with CodeFormer is not available here; faces are not "
                    f"restored"]
    assert servers.b.extras_requests == [] and len(servers.a.extras_requests) == len(
        servers.a.requests) > 0


# --- the driver killed, interrupted --------------------------------------------------------------

def test_a_killed_driver_resumes_where_it_stopped(facepop, servers, renders, tmp_path) -> None:
    out = tmp_path / "out"
    for server in servers.servers:
        server.behaviour.delay = 1.0
    process = driver(servers, renders, "--out", out, *SMALL, address="auto")
    wait_until(lambda: len(results(out)) >= 2)
    process.kill()
    process.communicate(timeout=60)
    first = results(out)
    assert 2 <= len(first) < 6
    time.sleep(2)  # the dead driver's tasks end with it: no more requests come
    asked = servers.requests()
    time.sleep(2)
    assert servers.requests() == asked
    for server in servers.servers:
        server.behaviour.delay = 0.0
    again = facepop("run", renders, "--out", out, "--cluster", servers.cluster.address, *SMALL)
    assert again.code == 0, again.err
    assert f"{len(first)} skipped" in again.err
    assert results(out) == [f"r{i}.png" for i in range(1, 7)]


def test_ctrl_c_cancels_the_clusters_tasks_and_leaves_a_resumable_run(
        facepop, servers, renders, tmp_path) -> None:
    out = tmp_path / "out"
    for server in servers.servers:
        server.behaviour.delay = 2.0
    process = driver(servers, renders, "--out", out, *SMALL)
    wait_until(lambda: len(results(out)) >= 1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted after" in err and err.rstrip().endswith("facepop: interrupted")
    first = results(out)
    time.sleep(2)  # tasks cancelled: the servers are asked nothing more
    asked = servers.requests()
    time.sleep(2)
    assert servers.requests() == asked
    # The tasks stopped by themselves, each removing its folder on its node.
    assert [p for node in servers.cluster.nodes[:2]
            for p in servers.cluster.node_tasks(node).glob("*")] == []
    for server in servers.servers:
        server.behaviour.delay = 0.0
    again = facepop("run", renders, "--out", out, "--cluster", servers.cluster.address, *SMALL)
    assert again.code == 0 and f"{len(first)} skipped" in again.err, again.err
    assert results(out) == [f"r{i}.png" for i in range(1, 7)]


# --- helpers -----------------------------------------------------------------------------------

def _task_worker(node: Node) -> int:
    """The process id of the worker running a FacePop task on ``node``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != node.group:
                continue
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ProcessLookupError):
            continue
        if title.startswith("ray::facepop "):
            return int(entry.name)
    raise AssertionError(f"no FacePop task runs on {node.ip}")


def _serve_again(port: int) -> FakeWebUI:
    """A WebUI on ``port`` again (the node's $FACEPOP_SERVER), for the module's next tests."""
    import threading

    server = FakeWebUI(Behaviour(), port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
