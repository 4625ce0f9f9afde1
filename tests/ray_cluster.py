"""A real Ray cluster of separate processes on this machine, for tests and benchmarks.

Every node is a ``ray start`` process group of its own, on a loopback address of its own
(127.0.0.2, 127.0.0.3, ...; Ray turns 127.0.0.1 itself into the machine's outward address,
docs/render-farm.md "Facts about Ray"), with a private temporary folder, its own ports, no
dashboard and no usage reports. A node is stopped by killing its process group: never
``ray stop``, which stops every Ray process of the machine, other people's too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

# Kills the nodes' process groups and removes the cluster's folder once the process that
# started them is gone without stopping them (a test run killed, or crashed).
WATCHDOG = """
import os, shutil, signal, sys, time
parent, root = int(sys.argv[1]), sys.argv[2]
while os.getppid() == parent:
    time.sleep(1)
try:
    groups = [int(g) for g in open(os.path.join(root, "groups")).read().split()]
except OSError:
    groups = []
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
shutil.rmtree(root, ignore_errors=True)
"""
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}
OBJECT_STORE_BYTES = 100 * 1024 * 1024
START_TIMEOUT = 120
STARTED = "Ray runtime started."


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ray_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for Ray's processes: no usage reports, and none of the
    variables that would point them at another cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_ENV)
    env.update(extra or {})
    return env


@dataclass
class Node:
    ip: str
    process: subprocess.Popen
    """The ``ray start --block`` process; its process group is the node."""

    @property
    def group(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """The whole node at once (raylet, agents, workers), as a machine dying would."""
        with _no_such_process():
            os.killpg(self.group, signal.SIGKILL)
        self.process.wait(timeout=30)


class LocalRayCluster:
    def __init__(self, root: Path | None = None) -> None:
        # Short: Ray's socket paths under it must stay below the system's limit.
        self.root = Path(root or tempfile.mkdtemp(prefix="fp-ray-", dir="/tmp"))
        self._own_root = root is None
        self.nodes: list[Node] = []
        self.address = ""
        self._next_ip = 2
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(self.root)],
            start_new_session=True)

    def add_node(self, *, num_cpus: int = 1, resources: Mapping[str, float] | None = None,
                 env: Mapping[str, str] | None = None) -> Node:
        """A node (the first one is the head); returns once the cluster counts it."""
        ip = f"127.0.0.{self._next_ip}"
        self._next_ip += 1
        head = not self.nodes
        command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block",
                   "--node-ip-address", ip, "--num-cpus", str(num_cpus),
                   "--object-store-memory", str(OBJECT_STORE_BYTES),
                   "--temp-dir", str(self.root), "--disable-usage-stats",
                   "--dashboard-agent-listen-port", str(free_port(ip)),
                   "--metrics-export-port", str(free_port(ip)),
                   "--resources", json.dumps(dict(resources or {}))]
        if head:
            port = free_port(ip)
            self.address = f"{ip}:{port}"
            command += ["--head", "--port", str(port), "--include-dashboard=false",
                        "--dashboard-port", str(free_port(ip))]
        else:
            command += ["--address", self.address]
        log = (self.root / f"node-{ip}.log").open("wb")
        scratch = self.root / f"tmp-{ip}"  # the node's own temporary folder: goes with it
        scratch.mkdir(exist_ok=True)
        environment = ray_environment({"TMPDIR": str(scratch), **(env or {})})
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=environment, start_new_session=True)
        node = Node(ip, process)
        self.nodes.append(node)
        with (self.root / "groups").open("a") as groups:
            groups.write(f"{node.group}\n")
        self._wait_for(node)
        return node

    def node_tasks(self, node: Node) -> Path:
        """Where FacePop's tasks on ``node`` keep their files (its temporary folder)."""
        return self.root / f"tmp-{node.ip}" / "facepop-tasks"

    def stop(self) -> None:
        """Every node's process group: asked, then killed."""
        for node in self.nodes:
            with _no_such_process():
                os.killpg(node.group, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for node in self.nodes:
            with suppress(subprocess.TimeoutExpired):
                node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with _no_such_process():
                os.killpg(node.group, signal.SIGKILL)
        self.nodes.clear()
        self._watchdog.kill()
        self._watchdog.wait()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def alive_nodes(self) -> int:
        """How many nodes the cluster counts alive (asked from a separate process)."""
        script = ("import ray, warnings; warnings.simplefilter('ignore'); "
                  f"ray.init(address={self.address!r}, log_to_driver=False, "
                  "logging_level='ERROR'); "
                  "print(sum(1 for n in ray.nodes() if n['Alive']))")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env=ray_environment(), timeout=60)
        return int(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else -1

    def _wait_for(self, node: Node) -> None:
        """Until ``ray start`` says the node runs (it has joined the cluster by then)."""
        log = self.root / f"node-{node.ip}.log"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if STARTED in text:
                return
            if node.process.poll() is not None:
                raise RuntimeError(f"ray start for {node.ip} ended: {text[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"the Ray node {node.ip} did not start within {START_TIMEOUT} s")


@contextmanager
def local_ray_cluster(root: Path | None = None) -> Iterator[LocalRayCluster]:
    cluster = LocalRayCluster(root)
    try:
        yield cluster
    finally:
        cluster.stop()


def _no_such_process() -> suppress:
    return suppress(ProcessLookupError)
