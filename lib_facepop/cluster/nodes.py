"""The cluster's nodes that declare a WebUI server, and what their probes found.

A node declares its server with the Ray resource ``facepop_server`` (the number of images
it works on at once) in its ``ray start``; the server's URL on the node is its
``$FACEPOP_SERVER`` (``tasks.node_server_url``). Before any work the driver sends each such
node a probe (a task pinned to it): whether its server answers, what restorers and
upscalers it has, and FacePop's version there (a node running another version is left
out: results must not depend on where an image went).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from lib_facepop import __version__
from lib_facepop.cluster.tasks import NODE_RESOURCE, NodeReport, ServerSettings, probe_node_server
from lib_facepop.settings import FacePopSettings


@dataclass(frozen=True)
class ServerNode:
    node_id: str
    name: str
    """The node's name (its IP address unless ``ray start --node-name`` gave one)."""
    slots: int
    """Images it works on at once (its ``facepop_server`` resource)."""


@dataclass(frozen=True)
class Probed:
    node: ServerNode
    report: NodeReport | None
    failure: str = ""
    """Why the node can't be used ("" when it can)."""
    refused: bool = False
    lacking: bool = False
    remedy: str = ""

    def label(self) -> str:
        url = self.report.url if self.report is not None else "its server"
        return f"node {self.node.name} ({url})"


def server_nodes() -> list[ServerNode]:
    """The live nodes that declare a server, in the cluster's order."""
    found = []
    for node in ray.nodes():
        slots = int(node.get("Resources", {}).get(NODE_RESOURCE, 0))
        if node.get("Alive") and slots >= 1:
            name = node.get("NodeName") or node.get("NodeManagerAddress") or node["NodeID"]
            found.append(ServerNode(node["NodeID"], str(name), slots))
    return found


def live_node_ids() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node.get("Alive")}


def cluster_cpus() -> int:
    return int(ray.cluster_resources().get("CPU", 0))


def on_node(node_id: str) -> NodeAffinitySchedulingStrategy:
    """Tasks must run on this node (and fail where it is gone)."""
    return NodeAffinitySchedulingStrategy(node_id, soft=False)


def probe_nodes(nodes: list[ServerNode], settings: ServerSettings,
                asking: FacePopSettings | None, timeout: float) -> list[Probed]:
    """Every node's probe, in parallel; a node that does not run it within ``timeout``
    seconds, or can't (FacePop missing there), is one that can't be used."""
    remote = ray.remote(probe_node_server)
    refs = {node.node_id: remote.options(num_cpus=0, max_retries=0, name="facepop probe",
                                         scheduling_strategy=on_node(node.node_id)
                                         ).remote(settings, asking)
            for node in nodes}
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)
    probed = []
    for node in nodes:
        ref = refs[node.node_id]
        if ref not in ready:
            ray.cancel(ref, force=True)
            probed.append(Probed(node, None, f"its probe got no answer within {timeout:g} s"))
            continue
        try:
            report: NodeReport = ray.get(ref)
        except ray.exceptions.RayError as exc:
            probed.append(Probed(node, None, f"can't run FacePop's probe there "
                                             f"({_first_line(exc)})"))
            continue
        probed.append(_judged(node, report))
    return probed


def _judged(node: ServerNode, report: NodeReport) -> Probed:
    if report.facepop != __version__:
        return Probed(node, report, f"runs FacePop {report.facepop}, this machine "
                                    f"{__version__}; install the same version on every node")
    return Probed(node, report, report.failure, report.refused, report.lacking,
                  report.remedy)


def _first_line(exc: Any) -> str:
    text = str(getattr(exc, "cause", None) or exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
