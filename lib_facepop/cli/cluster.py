"""``facepop run --cluster``: the run handed to lib_facepop.cluster, the only code that
imports Ray (docs/render-farm.md); its failures as the command line's."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lib_facepop.cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from lib_facepop.api_client import ServerSettings, WebUIServer
    from lib_facepop.batch.inputs import InputImage
    from lib_facepop.batch.progress import Progress, Tally
    from lib_facepop.batch.runner import BatchOptions
    from lib_facepop.batch.shared_folder import SharedFolder


def run_on_cluster(args: argparse.Namespace, plan: BatchOptions,
                   images: Sequence[InputImage], missing: Sequence[tuple[str, str]],
                   servers: Sequence[WebUIServer], server_settings: ServerSettings,
                   shared: SharedFolder, join: Callable[[Progress], None]) -> Tally:
    """The run on the Ray cluster at --cluster; ``servers``: those given with --server;
    ``server_settings``: what every server is asked with (the nodes' own too); ``join``
    joins the output folder (``shared``) once the servers are probed, as a run on one
    machine does."""
    from lib_facepop.cluster import ClusterError, ClusterUsageError, ray_missing

    if (missing_ray := ray_missing()) is not None:
        raise UsageError(missing_ray)
    from lib_facepop.cluster.driver import ClusterRun
    from lib_facepop.cluster.driver import run_on_cluster as run_there

    run = ClusterRun(args.cluster, servers, server_settings, args.processor,
                     args.default_processor, args.modnet, args.models_dir,
                     args.progress_interval, shared, join)
    try:
        return run_there(run, plan, images, missing)
    except ClusterUsageError as exc:
        raise UsageError(str(exc)) from None
    except ClusterError as exc:
        raise CommandError(str(exc)) from None
