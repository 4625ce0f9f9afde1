"""``facepop run``: the whole pipeline over images, into an output folder, on WebUI servers
or locally; what a run needs is planned and checked before any work (docs/design.md
section 3.1)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lib_facepop.cli.arguments import api_fields, max_pixels, settings_from_args
from lib_facepop.cli.errors import EXIT_ERROR, CommandError, UsageError

if TYPE_CHECKING:  # the commands import what they need when they run (fast --help)
    from lib_facepop.api_client import Credentials, ServerSettings, WebUIServer
    from lib_facepop.api_client.extras import ServerOffer
    from lib_facepop.api_client.face_pass import ServerJob
    from lib_facepop.batch.inputs import InputImage
    from lib_facepop.batch.progress import Progress, Tally
    from lib_facepop.batch.runner import BatchOptions, BatchRunner, Reader
    from lib_facepop.batch.shared_folder import SharedFolder


def run_command(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import InputClashError, expand_inputs, refuse_clashes
    from lib_facepop.batch.shared_folder import SharedFolder

    plan = plan_run(args, overwrite=args.overwrite)
    out = os.path.realpath(args.out)
    for spec in args.images:
        if Path(spec).is_dir() and os.path.realpath(spec) == out:
            raise UsageError(f"--out {args.out} is also an input folder; give the results "
                             f"a folder of their own")
    found = expand_inputs(args.images, recursive=args.recursive, exclude=args.out)
    if found.excluded:
        raise UsageError(f"{found.excluded[0]}: every image it names is inside --out "
                         f"{args.out}, where the results go; give the results a folder of "
                         f"their own")
    try:
        refuse_clashes(found.images)
    except InputClashError as exc:
        raise UsageError(str(exc)) from None
    for image in found.images:
        if os.path.realpath(image.path) == os.path.realpath(plan.out.target(image)):
            raise UsageError(f"{image.shown}: its result would replace it; give the results "
                             f"another folder than --out {args.out}")
    with SharedFolder(plan.out.root) as shared:
        if args.cluster is not None:
            from lib_facepop.cli.cluster import run_on_cluster  # Ray only with --cluster

            tally = run_on_cluster(args, plan, found.images, found.missing, _servers(args),
                                   _server_settings(args), shared,
                                   lambda progress: _join(shared, progress, args.out))
        else:
            _, tally = execute(args, plan, found.images, found.missing, shared=shared)
    return EXIT_ERROR if tally.failures else 0


def plan_run(args: argparse.Namespace, *, overwrite: bool) -> BatchOptions:
    """Everything a run needs, checked before any work: settings, flags, the output
    folder. UsageError names what is wrong."""
    from lib_facepop.api_client.server import normalized_url
    from lib_facepop.batch.outputs import OutputFolder, OutputFolderError
    from lib_facepop.batch.runner import BatchOptions
    from lib_facepop.standalone import ModelPathError, check_model_paths

    settings = settings_from_args(args)
    if args.modnet is not None:
        if "mask_source" in vars(args) and args.mask_source not in ("modnet", "auto"):
            raise UsageError(f"--modnet asks for MODNet masks, --mask {args.mask_source} "
                             f"for others; give one of them")
        settings = settings.replace(mask_source="modnet")
    try:
        check_model_paths(args.modnet, args.models_dir)
    except ModelPathError as exc:
        raise UsageError(str(exc)) from None
    for url in args.server:
        try:
            normalized_url(url)
        except ValueError as exc:
            raise UsageError(f"--server {url}: {exc}") from None
    if args.server and args.processor is not None:
        raise UsageError("--processor is for runs without a server; the faces go to --server")
    if args.main_pass and not args.server and getattr(args, "cluster", None) is None:
        raise UsageError("--main-pass runs on a WebUI server; give --server URL")
    if args.api_auth is not None:
        _credentials(args.api_auth)
    out = OutputFolder(args.out, overwrite=overwrite)
    try:
        out.prepare()
    except OutputFolderError as exc:
        raise UsageError(f"--out {exc}") from None
    return BatchOptions(settings=settings, out=out, prompt=args.prompt,
                        negative_prompt=args.negative_prompt, seed=args.seed,
                        server_job=_server_job(args), main_pass=args.main_pass,
                        face_batch=args.face_batch, max_pixels=max_pixels(args))


def execute(args: argparse.Namespace, plan: BatchOptions, images: Sequence[InputImage],
             missing: Sequence[tuple[str, str]], reader: Reader | None = None,
             shared: SharedFolder | None = None) -> tuple[BatchRunner, Tally]:
    """The run: servers probed, then the output folder joined (``shared``: its other runs
    named, what stopped runs left removed), then every image."""
    from lib_facepop.batch.progress import Progress
    from lib_facepop.batch.runner import BatchRunner
    from lib_facepop.batch.server_tools import (
        UnknownUpscalerError,
        asker,
        check_upscaler,
        needs_server_tools,
    )
    from lib_facepop.batch.servers import NoServerError, ServerSetupError, probe_servers
    from lib_facepop.standalone import build_parts, local_processor

    progress = Progress(len(images) + len(missing), sys.stderr,
                        interval=args.progress_interval)
    servers = _servers(args)
    offers: dict[str, ServerOffer] = {}
    if servers:
        ask = asker(offers, plan.settings) if needs_server_tools(plan.settings) else None
        try:
            servers = probe_servers(servers, progress, ask)
            check_upscaler(plan.settings, offers)
        except (ServerSetupError, UnknownUpscalerError) as exc:
            raise UsageError(str(exc)) from None
        except NoServerError as exc:
            raise CommandError(str(exc)) from None
    if shared is not None:
        _join(shared, progress, args.out)
    detector, mask_source = build_parts(plan.settings, modnet=args.modnet,
                                        models_dir=args.models_dir)
    local = local_processor(args.processor or args.default_processor)
    runner = BatchRunner(plan, detector, mask_source, progress, servers=servers, local=local,
                         reader=reader, offers=offers, shared=shared)
    return runner, runner.run(images, missing)


def _join(shared: SharedFolder, progress: Progress, out: Path) -> None:
    """Join the output folder and say what was found there."""
    try:
        opened = shared.open()
    except OSError as exc:  # e.g. a file system without locks: the run goes on alone
        progress.say(f"--out {out}: can't share it with other runs "
                     f"({exc.strerror or exc}); if another run writes there too, some "
                     f"images may be done twice")
        return
    if opened.partials_removed:
        count = opened.partials_removed
        progress.say(f"removed {count} partial file{'s' if count > 1 else ''} a stopped run "
                     f"left in --out {out}")
    for other in opened.others:
        progress.say(f"another run ({other.describe()}) is writing into --out {out}; the "
                     f"images it has taken are left to it")


def _server_settings(args: argparse.Namespace) -> ServerSettings:
    """What every server of the run is asked with (--api-auth, --timeout, --retries)."""
    from lib_facepop.api_client import RetryPolicy, ServerSettings

    credentials = _credentials(args.api_auth) if args.api_auth is not None else None
    return ServerSettings(credentials=credentials, timeout=args.timeout,
                          retry=RetryPolicy(retries=args.retries, first_delay=args.retry_delay))


def _servers(args: argparse.Namespace) -> list[WebUIServer]:
    settings = _server_settings(args)
    return [settings.server(url) for url in dict.fromkeys(args.server)]


def _credentials(text: str) -> Credentials:
    from lib_facepop.api_client import parse_credentials

    try:
        return parse_credentials(text)
    except ValueError as exc:
        raise UsageError(f"--api-auth: {exc}") from None


def _server_job(args: argparse.Namespace) -> ServerJob:
    from lib_facepop.api_client.face_pass import ServerJob

    return ServerJob(steps=args.steps, cfg_scale=args.cfg_scale,
                     denoising_strength=args.denoising_strength, sampler_name=args.sampler,
                     scheduler=args.scheduler, extra=api_fields(args.api_fields))
