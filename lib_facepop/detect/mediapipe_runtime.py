"""MediaPipe's bundled models, loaded once per process and checked that they really run.

The legacy ``mediapipe.solutions`` API ships its models inside the wheel. It exists up to
mediapipe 0.10.21, and only 0.10.11 and older run under the protobuf 3.20 that A1111 and
Forge pin (docs/design.md section 4). A broken pairing imports fine and then fails on every
detection, so ``check_mediapipe`` runs a real detection on a bundled photo.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata, resources
from types import ModuleType
from typing import Any

import numpy as np

from lib_facepop.errors import DetectorUnavailableError

log = logging.getLogger(__name__)

REQUIRED_MEDIAPIPE = "0.10.11"
FULL_RANGE = 1
SHORT_RANGE = 0
# Solutions are built with a low threshold once; callers filter by their own confidence.
BUILD_CONFIDENCE = 0.1


# TensorFlow Lite prints this to the process's stderr the first time a graph runs.
_NATIVE_NOISE = ("Created TensorFlow Lite XNNPACK delegate",)
# File descriptor 2 belongs to the whole process: one thread at a time may swap it.
_STDERR_SWAP = threading.Lock()


class LockedSolution:
    """A MediaPipe solution graph shared by threads: one ``process`` call at a time."""

    def __init__(self, solution: Any, name: str) -> None:
        self._solution = solution
        self._lock = threading.Lock()
        self._has_run = False
        self.name = name

    def process(self, rgb: np.ndarray) -> Any:
        return self.process_inputs(np.ascontiguousarray(rgb))

    def process_inputs(self, inputs: np.ndarray | Mapping[str, Any]) -> Any:
        """Run the graph on one image, or on named input streams (arrays made contiguous)."""
        if isinstance(inputs, Mapping):
            inputs = {name: np.ascontiguousarray(value) if isinstance(value, np.ndarray)
                      else value for name, value in inputs.items()}
        with self._lock:
            try:
                if self._has_run:
                    return self._solution.process(inputs)
                with native_stderr_without(_NATIVE_NOISE):
                    result = self._solution.process(inputs)
                self._has_run = True
                return result
            except AttributeError as exc:
                # mediapipe >= 0.10.13 under protobuf 3.x fails here on every detection.
                if "GetPrototype" in str(exc) or "MessageFactory" in str(exc):
                    raise DetectorUnavailableError(_protobuf_message(exc)) from exc
                raise


@contextmanager
def native_stderr_without(noise: tuple[str, ...]) -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2, then pass it on without the
    lines containing any of ``noise``. Nothing else is lost, only delayed."""
    with _STDERR_SWAP:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):
            yield
            return
        with _held_stderr(saved, noise):
            yield


@contextmanager
def _held_stderr(saved: int, noise: tuple[str, ...]) -> Iterator[None]:
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not any(n in line for n in noise))
            if kept:
                os.write(2, kept.encode("utf-8"))


def _built(make: Callable[[], Any], name: str) -> LockedSolution:
    """Build a graph (TensorFlow Lite may print its start-up notice here too)."""
    with native_stderr_without(_NATIVE_NOISE):
        return LockedSolution(make(), name)


def import_mediapipe() -> ModuleType:
    try:
        import mediapipe
    except Exception as exc:  # ImportError, or a binary/protobuf mismatch at import
        raise DetectorUnavailableError(
            f"MediaPipe can't be imported ({type(exc).__name__}: {exc}). FacePop needs "
            f"mediapipe=={REQUIRED_MEDIAPIPE} with protobuf>=3.11,<4: "
            f"pip install mediapipe=={REQUIRED_MEDIAPIPE} 'protobuf>=3.20,<4'") from exc
    if not hasattr(mediapipe, "solutions"):
        raise DetectorUnavailableError(
            f"mediapipe {_version('mediapipe')} has no 'solutions' API (removed in 0.10.30). "
            f"FacePop needs mediapipe=={REQUIRED_MEDIAPIPE}.")
    return mediapipe


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _protobuf_message(exc: Exception) -> str:
    return (f"MediaPipe {_version('mediapipe')} can't run with protobuf "
            f"{_version('protobuf')} ({exc}). MediaPipe 0.10.13 and newer need protobuf 4, "
            f"but A1111 and Forge pin protobuf 3.20; FacePop needs "
            f"mediapipe=={REQUIRED_MEDIAPIPE}.")


@functools.lru_cache(maxsize=2)
def face_detection(model_selection: int = FULL_RANGE) -> LockedSolution:
    """BlazeFace face detection: model 1 is full range (faces up to ~5 m), 0 short range."""
    mp = import_mediapipe()
    return _built(lambda: mp.solutions.face_detection.FaceDetection(
        model_selection=model_selection, min_detection_confidence=BUILD_CONFIDENCE),
        f"face_detection[{model_selection}]")


@functools.lru_cache(maxsize=1)
def face_mesh() -> LockedSolution:
    """Face mesh with refined eyes and lips: 478 landmarks of the most prominent face."""
    mp = import_mediapipe()
    return _built(lambda: mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True,
        min_detection_confidence=0.5), "face_mesh")


# Independent copies of a BlazeFace graph (about 6 MB each) that threads may run side by
# side (MediaPipe releases the GIL while a graph runs); see parallel.py.
MAX_GRAPH_COPIES = 4


@functools.lru_cache(maxsize=2 * MAX_GRAPH_COPIES)
def blazeface(model_selection: int, min_score: float, copy: int = 0) -> LockedSolution:
    """BlazeFace in FacePop's own graph, reporting detections scored ``min_score`` and up.

    Unlike ``face_detection`` (whose stock graph drops everything under 0.5), this reports
    weak detections too; the aggressive search uses them as proposals to confirm. ``copy``
    picks one of up to MAX_GRAPH_COPIES identical graphs, each built once per process.
    """
    _check_copy(copy)
    import_mediapipe()
    from mediapipe.python import solution_base

    from lib_facepop.detect import graphs

    config = graphs.parse_config(graphs.blazeface_config_text(model_selection, min_score))
    return _built(lambda: solution_base.SolutionBase(graph_config=config,
                                                     outputs=[graphs.DETECTIONS_STREAM]),
                  f"blazeface[{model_selection}, {min_score}, {copy}]")


@functools.lru_cache(maxsize=1)
def face_landmarks_in_region() -> LockedSolution:
    """The 478-point face landmark model (with attention) run on a region we give it.

    ``process_inputs({"image": rgb, "roi": NormalizedRect})``; see graphs.py. One copy
    per process (about 26 MB): it runs once per face, so threads take turns.
    """
    import_mediapipe()
    from mediapipe.python import solution_base

    from lib_facepop.detect import graphs

    config = graphs.parse_config(graphs.landmarks_in_region_config_text())
    return _built(lambda: solution_base.SolutionBase(graph_config=config,
                                                     side_inputs={"with_attention": True},
                                                     outputs=[graphs.LANDMARKS_STREAM]),
                  "face_landmarks_in_region")


def _check_copy(copy: int) -> None:
    if not 0 <= copy < MAX_GRAPH_COPIES:
        raise ValueError(f"graph copy {copy} is not in 0..{MAX_GRAPH_COPIES - 1}")


@functools.lru_cache(maxsize=1)
def selfie_segmentation() -> LockedSolution:
    """Person/background segmentation (general model, 256x256 input)."""
    mp = import_mediapipe()
    return _built(lambda: mp.solutions.selfie_segmentation.SelfieSegmentation(
        model_selection=0), "selfie_segmentation")


def selftest_image() -> np.ndarray:
    """A small real photo of a face (public-domain NASA portrait) bundled with FacePop."""
    from PIL import Image

    with resources.files("lib_facepop.assets").joinpath("selftest_face.jpg").open("rb") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@functools.lru_cache(maxsize=1)
def check_mediapipe() -> str:
    """Run detection and face mesh on a bundled photo; return a one-line status.

    Raises DetectorUnavailableError with what is wrong when MediaPipe can't really detect.
    The result is cached: the check costs one detection per process.
    """
    image = selftest_image()
    checks: list[tuple[str, Callable[[], bool]]] = [
        ("face detection", lambda: bool(face_detection(FULL_RANGE).process(image).detections)),
        ("face mesh", lambda: bool(face_mesh().process(image).multi_face_landmarks)),
    ]
    for name, check in checks:
        if not check():
            raise DetectorUnavailableError(
                f"MediaPipe {_version('mediapipe')} runs but its {name} finds no face in "
                f"FacePop's test photo; the installation looks broken.")
    status = (f"MediaPipe {_version('mediapipe')} with protobuf {_version('protobuf')}: "
              f"face detection and face mesh work")
    log.info(status)
    return status
