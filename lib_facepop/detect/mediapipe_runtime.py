"""MediaPipe's bundled models in FacePop's own graphs, built once per process.

The graphs (graphs.py) run through graph_runner.py and hand back only floats and images,
so they work with every mediapipe from 0.10.11 to 0.10.21 under protobuf 3.20 (A1111's and
Forge's pin) and 4 (docs/design.md section 4). This is the bottom of detect/: the passes
(blazeface.py, landmarks.py, confirm.py) run these graphs, and graph_check.py runs every
one of them on a bundled photo, because a broken installation can import fine and fail
later.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from types import ModuleType
from typing import Any

import numpy as np

from lib_facepop import mediapipe_range
from lib_facepop.detect import graph_runner, graphs
from lib_facepop.detect.graph_runner import OutputKind
from lib_facepop.detect.graphs import FULL_RANGE, SHORT_RANGE
from lib_facepop.errors import DetectorUnavailableError

log = logging.getLogger(__name__)

_RANGE_NAMES = {FULL_RANGE: "full range", SHORT_RANGE: "short range"}

# TensorFlow Lite prints this to the process's stderr the first time a graph runs.
_NATIVE_NOISE = ("Created TensorFlow Lite XNNPACK delegate",)
# File descriptor 2 belongs to the whole process: one thread at a time may swap it.
_STDERR_SWAP = threading.Lock()


class _NoticeOnce:
    """Whether TensorFlow Lite has printed its start-up notice in this process.

    It prints it once per process, on the first inference of any graph, which is not
    always a graph's first run (a landmark graph may run the first time with no region to
    look at). Until it has been seen, every graph run holds stderr back and drops it; this
    mirrors a fact about the process, so it lives as long as the process."""

    def __init__(self) -> None:
        self.seen = False


_TFLITE_NOTICE = _NoticeOnce()


class LockedGraph:
    """A MediaPipe graph shared by threads: one ``process`` call at a time."""

    def __init__(self, graph: Any) -> None:
        self._graph = graph
        self._lock = threading.Lock()

    def process(self, rgb: np.ndarray) -> dict[str, np.ndarray | None]:
        return self.process_inputs({graphs.IMAGE_STREAM: rgb})

    def process_inputs(self, inputs: Mapping[str, Any]) -> dict[str, np.ndarray | None]:
        """Run the graph on named input streams; its outputs by stream name (None where
        the graph sent nothing)."""
        with self._lock:
            if _TFLITE_NOTICE.seen:
                return self._graph.process(inputs)
            with native_stderr_without(_NATIVE_NOISE) as held:
                result = self._graph.process(inputs)
            _TFLITE_NOTICE.seen = _TFLITE_NOTICE.seen or held.dropped
            return result


class HeldStderr:
    """What ``native_stderr_without`` held back: ``dropped`` once a noise line was dropped."""

    def __init__(self) -> None:
        self.dropped = False


@contextmanager
def native_stderr_without(noise: tuple[str, ...]) -> Iterator[HeldStderr]:
    """Hold back what native code writes to file descriptor 2, then pass it on without the
    lines containing any of ``noise``. Nothing else is lost, only delayed."""
    held = HeldStderr()
    with _STDERR_SWAP:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):
            yield held
            return
        with _held_stderr(saved, noise, held):
            yield held


@contextmanager
def _held_stderr(saved: int, noise: tuple[str, ...], report: HeldStderr) -> Iterator[None]:
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
            report.dropped = len(kept) < sum(map(len, lines))
            if kept:
                os.write(2, kept.encode("utf-8"))


def _built(config_text: str, outputs: Mapping[str, Any], name: str) -> LockedGraph:
    """Build and start a graph (TensorFlow Lite may print its start-up notice here too)."""
    import_mediapipe()
    try:
        with native_stderr_without(_NATIVE_NOISE):
            return LockedGraph(graph_runner.GraphRunner(config_text, outputs))
    except RuntimeError as exc:  # e.g. a calculator or model file this mediapipe lacks
        raise DetectorUnavailableError(
            failure_message(f"can't run FacePop's {name} graph", exc)) from exc


def import_mediapipe() -> ModuleType:
    try:
        import mediapipe
        from mediapipe.python._framework_bindings import calculator_graph  # noqa: F401
    except Exception as exc:  # ImportError, or a binary/protobuf mismatch at import
        raise DetectorUnavailableError(failure_message("can't be imported", exc)) from exc
    return mediapipe


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# MediaPipe's errors can run to many lines; a message shows this much of them, on one line.
_REASON_LENGTH = 300


def failure_message(failure: str, exc: Exception) -> str:
    """What failed, with the installed versions, why that may be, and what to install."""
    mediapipe = installed_version("mediapipe")
    protobuf = installed_version("protobuf") or "(not installed)"
    remedy = (f"FacePop needs {mediapipe_range.supported_text()}: pip install --no-deps "
              f"mediapipe=={mediapipe_range.MEDIAPIPE_CHOICE}")
    if mediapipe is None:
        return f"MediaPipe is not installed. {remedy}"
    if not mediapipe_range.mediapipe_in_range(mediapipe):
        advice = (f"mediapipe {mediapipe} is outside the releases FacePop runs with "
                  f"({mediapipe_range.OLDEST_MEDIAPIPE} to "
                  f"{mediapipe_range.NEWEST_MEDIAPIPE}; newer ones no longer ship the face "
                  f"models)")
    elif not mediapipe_range.protobuf_supported(protobuf):
        advice = (f"protobuf {protobuf} is outside what FacePop runs with (3.20 to "
                  f"{mediapipe_range.NEWEST_PROTOBUF_MAJOR}.x)")
    else:
        advice = "this looks like a broken MediaPipe installation"
    said = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if len(said) > _REASON_LENGTH:
        said = said[:_REASON_LENGTH].rstrip() + " ..."
    reason = f"{type(exc).__name__}: {said}" if said else type(exc).__name__
    return (f"MediaPipe {mediapipe} with protobuf {protobuf} {failure} ({reason}): "
            f"{advice}. {remedy}")


# Independent copies of a BlazeFace graph (about 6 MB each) that threads may run side by
# side (MediaPipe releases the GIL while a graph runs); see parallel.py.
MAX_GRAPH_COPIES = 4


@functools.lru_cache(maxsize=2 * MAX_GRAPH_COPIES)
def blazeface(model_selection: int, copy: int = 0) -> LockedGraph:
    """BlazeFace's raw outputs (model 1 is full range, faces up to ~5 m; 0 short range);
    blazeface_decode.py turns them into detections. ``copy`` picks one of up to
    MAX_GRAPH_COPIES identical graphs, each built once per process.
    """
    _check_copy(copy)
    return _built(graphs.blazeface_config_text(model_selection),
                  {graphs.BOXES_STREAM: OutputKind.FLOATS,
                   graphs.SCORES_STREAM: OutputKind.FLOATS},
                  f"face detection ({_RANGE_NAMES[model_selection]})")


@functools.lru_cache(maxsize=1)
def face_mesh() -> LockedGraph:
    """Face mesh with refined eyes and lips: 478 landmarks of the most prominent face,
    found by the mesh's own short-range detection (``process(rgb)["mesh"]``)."""
    return _built(graphs.face_mesh_config_text(), {graphs.MESH_STREAM: OutputKind.FLOATS},
                  "face mesh")


@functools.lru_cache(maxsize=1)
def face_landmarks_in_region() -> LockedGraph:
    """The 478-point face landmark model (with attention) run on a region we give it.

    ``process_inputs({"image": rgb, "roi": RegionOfInterest})``; see graphs.py. One copy
    per process (about 26 MB): it runs once per face, so threads take turns.
    """
    return _built(graphs.landmarks_in_region_config_text(),
                  {graphs.LANDMARKS_STREAM: OutputKind.FLOATS}, "face landmarks")


def _check_copy(copy: int) -> None:
    if not 0 <= copy < MAX_GRAPH_COPIES:
        raise ValueError(f"graph copy {copy} is not in 0..{MAX_GRAPH_COPIES - 1}")


@functools.lru_cache(maxsize=1)
def selfie_segmentation() -> LockedGraph:
    """Person/background segmentation (general model, 256x256 input):
    ``process(rgb)["segmentation_mask"]``, floats the size of the image."""
    return _built(graphs.selfie_segmentation_config_text(),
                  {graphs.MASK_STREAM: OutputKind.IMAGE}, "selfie segmentation")
