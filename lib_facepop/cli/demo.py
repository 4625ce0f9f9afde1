"""``facepop demo``: the pipeline on a scene built from a bundled photo, with its
debugging folder."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePath

from lib_facepop.cli.errors import EXIT_ERROR
from lib_facepop.cli.run import execute, plan_run


def demo_command(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import InputImage
    from lib_facepop.demo import demo_scene
    from lib_facepop.images import LoadedImage

    plan = plan_run(args, overwrite=True)

    def scene(_: InputImage) -> LoadedImage:
        image = demo_scene()
        return LoadedImage(rgb=image, colour=image, alpha=None)

    item = InputImage(Path("demo"), "demo", PurePath("demo"))
    runner, tally = execute(args, plan, [item], (), reader=scene)
    if tally.failures:
        return EXIT_ERROR
    print(f"wrote {plan.out.target(item)}", flush=True)
    for folder in runner.debug_folders:
        print(f"debugging folder: {folder} (see contact-sheet.png)", flush=True)
    return 0
