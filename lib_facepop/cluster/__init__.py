"""``facepop run --cluster ADDRESS``: the batch run on a Ray cluster (docs/render-farm.md).

Each image is one task on a node that has a WebUI server (or on any node, for the servers
given with ``--server``): reading, detection, masks, the face and main passes, blending
and encoding happen there; the driver lists the inputs, hands out the images, writes what
comes back and shows the progress. Only this package imports Ray, and the command line
imports it only when ``--cluster`` is given: without it nothing changes.

* ``tasks``: what runs on a node (no Ray import): one image from its bytes to its files,
  and the probe of the node's own server.
* ``nodes``: which nodes declare a server, and their probes.
* ``dispatch``: which image goes to which server, and what a failure means (no Ray).
* ``results``: writing what a task sends back (no Ray).
* ``driver``: the connection and the loop that keeps the cluster busy.
"""

from __future__ import annotations

RAY_INSTALL = 'pip install -c constraints.txt -e ".[cluster]"'
"""How FacePop's cluster extra (Ray) is installed, from FacePop's folder."""


class ClusterError(RuntimeError):
    """The run can't go on the cluster (no connection, no server answers): status 1."""


class ClusterUsageError(ValueError):
    """The cluster can't do the run as asked (flags, Ray missing): status 2, before any
    work."""


def ray_missing() -> str | None:
    """What to do when Ray can't be imported here (one line), or None when it can."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        return (f"--cluster needs Ray, which is not installed here ({exc}); install "
                f"FacePop's cluster extra: {RAY_INSTALL}")
    return None
