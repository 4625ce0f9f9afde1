"""Whether MediaPipe really detects faces here: every graph FacePop uses, run on a bundled
photo.

A broken MediaPipe installation can import fine and fail later (docs/design.md section
4), so detectors, the command line's ``check`` and the WebUI's start-up run this check
first. It sits above the passes it runs (blazeface.py, confirm.py) and the runtime below
them (mediapipe_runtime.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from importlib import resources
from typing import Any

import numpy as np

from lib_facepop import mediapipe_range
from lib_facepop.detect import mediapipe_runtime
from lib_facepop.detect.blazeface import detect_candidates
from lib_facepop.detect.confirm import landmarks_in_region
from lib_facepop.detect.graphs import FULL_RANGE, MASK_STREAM, MESH_STREAM
from lib_facepop.errors import DetectorUnavailableError

log = logging.getLogger(__name__)


def selftest_image() -> np.ndarray:
    """A small real photo of a face (public-domain NASA portrait) bundled with FacePop."""
    from PIL import Image

    with resources.files("lib_facepop.assets").joinpath("selftest_face.jpg").open("rb") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@functools.lru_cache(maxsize=1)
def check_mediapipe() -> str:
    """Run every graph FacePop uses on a bundled photo; return a one-line status.

    Raises DetectorUnavailableError with what is wrong when MediaPipe can't really detect.
    The result is cached: the check costs one run of each graph per process.
    """
    image = selftest_image()
    found: list[Any] = []

    def detection() -> bool:
        found.extend(detect_candidates(image, FULL_RANGE))
        return bool(found)

    def landmarks() -> bool:
        return landmarks_in_region(image, found[0]) is not None

    def selfie() -> bool:
        mask = mediapipe_runtime.selfie_segmentation().process(image)[MASK_STREAM]
        return mask is not None and float(mask.max()) > 0.5

    checks: list[tuple[str, Callable[[], bool]]] = [
        ("face detection", detection),
        ("face mesh",
         lambda: mediapipe_runtime.face_mesh().process(image)[MESH_STREAM] is not None),
        ("face landmarks", landmarks),
        ("selfie segmentation", selfie),
    ]
    version = mediapipe_runtime.installed_version
    mediapipe = version("mediapipe") or "(version unknown)"
    for name, check in checks:
        try:
            found_face = check()
        except DetectorUnavailableError:
            raise
        except RuntimeError as exc:  # how MediaPipe reports a graph that fails to run
            raise DetectorUnavailableError(mediapipe_runtime.failure_message(
                f"can't run FacePop's {name}", exc)) from exc
        if not found_face:
            raise DetectorUnavailableError(
                f"MediaPipe {mediapipe} runs but its {name} finds no face in FacePop's test "
                f"photo; the installation looks broken.")
    status = (f"MediaPipe {mediapipe} with protobuf {version('protobuf')}: face detection, "
              f"face mesh, face landmarks and selfie segmentation work")
    if not mediapipe_range.mediapipe_in_range(mediapipe):
        status += (f" (outside the releases FacePop is checked with, "
                   f"{mediapipe_range.OLDEST_MEDIAPIPE} to {mediapipe_range.NEWEST_MEDIAPIPE})")
    log.info(status)
    return status
