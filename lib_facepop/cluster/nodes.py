"""The cluster's nodes that declare a WebUI server, and what their probes found.

A node declares its server with the Ray resource ``facepop_server`` (the number of images
it works on at once) in its ``ray start``; the server's URL on the node is its
``$FACEPOP_SERVER`` (``tasks.node_server_url``). Before any work the driver sends each such
node a probe (a task pinned to it): whether its server answers, what restorers and
upscalers it has, and FacePop's version there (a node running another version is left
out: results must not depend on where an image went).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from lib_facepop import __version__
from lib_facepop.api_client import ServerSettings
from lib_facepop.batch.servers import ProbeFailure
from lib_facepop.cluster.tasks import NODE_RESOURCE, NodeReport, probe_node_server
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
    problem: ProbeFailure | None = None
    """Why the node can't be used (None when it can), named by ``label``."""

    def label(self) -> str:
        return _label(self.node, self.report)


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
            probed.append(_failed(node, None, f"its probe got no answer within {timeout:g} s"))
            continue
        try:
            report: NodeReport = ray.get(ref)
        except ray.exceptions.RayError as exc:
            probed.append(_failed(node, None, f"can't run FacePop's probe there "
                                              f"({_last_line(exc)})"))
            continue
        probed.append(_judged(node, report))
    return probed


def _judged(node: ServerNode, report: NodeReport) -> Probed:
    if report.facepop != __version__:
        return _failed(node, report, f"runs FacePop {report.facepop}, this machine "
                                     f"{__version__}; install the same version on every node")
    problem = report.problem
    if problem is not None:  # named as the node's
        problem = dataclasses.replace(problem, server=_label(node, report))
    return Probed(node, report, problem)


def _failed(node: ServerNode, report: NodeReport | None, why: str) -> Probed:
    return Probed(node, report, ProbeFailure(_label(node, report), why))


def _label(node: ServerNode, report: NodeReport | None) -> str:
    url = report.url if report is not None else "its server"
    return f"node {node.name} ({url})"


def _last_line(exc: Any) -> str:
    text = str(getattr(exc, "cause", None) or exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
