"""A1111 installer hook: the WebUI runs this in its own process before the UI starts.

Installs only what FacePop is missing, pinned, through the WebUI's launch.run_pip, with
the host's torch, gradio, numpy, OpenCV, protobuf and Pillow held at their installed
versions. The WebUI skips this file entirely with --skip-install.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile

import launch

from lib_facepop.install_plan import constraints_text, installed_distributions, plan


def _version_of(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    if getattr(getattr(launch, "args", None), "skip_install", False):
        return
    installed = installed_distributions(_version_of)
    steps = plan(installed)
    if not steps:
        return
    handle, constraints = tempfile.mkstemp(prefix="facepop-constraints-", suffix=".txt")
    try:
        with os.fdopen(handle, "w") as f:
            f.write(constraints_text(installed))
        for step in steps:
            command = " ".join(step.args)
            if step.constrained:
                command += f' -c "{constraints}"'
            try:
                launch.run_pip(command, step.description)
            except Exception as exc:
                print(f"FacePop: could not install ({step.description}): {exc}\n"
                      f"FacePop: install it by hand into the WebUI's Python, or FacePop "
                      f"will say what is missing when it runs.")
    finally:
        os.unlink(constraints)


main()
