"""FacePop's MediaPipe graphs: no protobuf message classes, no graph configuration through
Python's protobuf, and the same faces, meshes and masks as MediaPipe's own graphs.

The first two tests break, in the pinned environment, exactly what breaks in mediapipe
0.10.14 to 0.10.21 under protobuf 3.20 (docs/design.md section 4); the others compare with
MediaPipe's solutions, which run only where nothing is broken."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lib_facepop.detect import blazeface_decode, graph_check, mediapipe_runtime
from lib_facepop.detect.blazeface import STOCK_MIN_SCORE
from lib_facepop.detect.graphs import (
    BLAZEFACE_MODELS,
    BOXES_STREAM,
    MASK_STREAM,
    MESH_STREAM,
    SCORES_STREAM,
)
from lib_facepop.detect.mediapipe_runtime import FULL_RANGE, SHORT_RANGE
from tests.detect import mediapipe_reference

_GRAPH_BUILDERS = (mediapipe_runtime.blazeface, mediapipe_runtime.face_mesh,
                   mediapipe_runtime.face_landmarks_in_region,
                   mediapipe_runtime.selfie_segmentation, graph_check.check_mediapipe)


@pytest.fixture
def fresh_graphs():
    """Graphs built anew inside the test, and again afterwards for the other tests."""
    for builder in _GRAPH_BUILDERS:
        builder.cache_clear()
    yield
    for builder in _GRAPH_BUILDERS:
        builder.cache_clear()


@pytest.fixture(scope="module")
def photos(astronaut: np.ndarray) -> list[np.ndarray]:
    """Real photos in several shapes: faces large, small (weak detections) and turned,
    landscape and portrait frames, and photos without a face."""
    from skimage import data

    turned = [cv2.warpAffine(astronaut, cv2.getRotationMatrix2D((256, 256), angle, 1.0),
                             (512, 700)) for angle in (0, 35, 150, 210)]
    small = [cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
             for scale in (0.15, 0.25, 0.4)]
    group = np.hstack([astronaut, astronaut[:, ::-1],
                       cv2.resize(astronaut, (256, 256)).repeat(2, axis=0)])
    return [np.ascontiguousarray(image) for image in
            [astronaut, group, data.coffee(), data.chelsea(), *turned, *small]]


def _rows(found: list[blazeface_decode.RawDetection]) -> np.ndarray:
    return np.array([[d.score, *d.box, *d.keypoints.ravel()] for d in found],
                    dtype=np.float64).reshape(-1, mediapipe_reference.DETECTION_VALUES)


def _decoded(image: np.ndarray, model: int, min_score: float, weighted: bool) -> np.ndarray:
    outputs = mediapipe_runtime.blazeface(model).process(image)
    height, width = image.shape[:2]
    return _rows(blazeface_decode.detections(outputs[BOXES_STREAM], outputs[SCORES_STREAM],
                                             BLAZEFACE_MODELS[model], (width, height),
                                             min_score, weighted))


def test_faces_are_found_where_protobuf_has_no_message_classes(fresh_graphs, astronaut,
                                                                monkeypatch):
    """mediapipe 0.10.18+ under protobuf 3.20: protobuf output packets can't be read."""
    from google.protobuf import message_factory, symbol_database

    def gone(*args, **kwargs):
        raise AttributeError("module 'google.protobuf.message_factory' has no attribute "
                             "'GetMessageClass'")

    monkeypatch.setattr(symbol_database.SymbolDatabase, "GetPrototype", gone)
    monkeypatch.setattr(message_factory.MessageFactory, "GetPrototype", gone)
    monkeypatch.setattr(message_factory, "GetMessageClass", gone, raising=False)

    assert "face detection, face mesh" in graph_check.check_mediapipe()
    _assert_astronaut_found(astronaut)


def test_faces_are_found_when_python_cant_build_graph_configs(fresh_graphs, astronaut,
                                                              monkeypatch):
    """mediapipe 0.10.14+ under protobuf 3.20: a graph configuration that goes through
    Python's protobuf loses its calculator options, so it must never go through it."""
    from mediapipe.framework import calculator_pb2

    def unusable(*args, **kwargs):
        raise AssertionError("a graph configuration went through Python's protobuf")

    monkeypatch.setattr(calculator_pb2, "CalculatorGraphConfig", unusable)

    assert "selfie segmentation work" in graph_check.check_mediapipe()
    _assert_astronaut_found(astronaut)


def _assert_astronaut_found(astronaut: np.ndarray) -> None:
    from lib_facepop.detect import DetectionOptions, SinglePassDetector

    (face,) = SinglePassDetector().detect(astronaut, DetectionOptions())
    assert face.source == "mesh"
    assert 200 < face.center[0] < 250 and 100 < face.center[1] < 150
    mask = mediapipe_runtime.selfie_segmentation().process(astronaut)[MASK_STREAM]
    assert mask.shape == astronaut.shape[:2] and mask[120, 220] > 0.9 > mask[500, 20]


def test_every_graph_output_is_an_array_of_floats(astronaut):
    outputs = [mediapipe_runtime.blazeface(FULL_RANGE).process(astronaut),
               mediapipe_runtime.face_mesh().process(astronaut),
               mediapipe_runtime.selfie_segmentation().process(astronaut)]
    values = [value for output in outputs for value in output.values()]
    assert len(values) == 4
    assert all(isinstance(value, np.ndarray) and value.dtype == np.float32
               for value in values)


@pytest.mark.parametrize("model", [SHORT_RANGE, FULL_RANGE])
def test_detections_are_mediapipes_face_detections(photos, model):
    found = 0
    for image in photos:
        expected = mediapipe_reference.stock_detections(image, model)
        actual = _decoded(image, model, STOCK_MIN_SCORE[model], weighted=True)
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, atol=2e-6)
        found += len(expected)
    assert found >= 6


@pytest.mark.parametrize("model", [SHORT_RANGE, FULL_RANGE])
def test_proposals_are_mediapipes_detections_at_a_low_floor_without_averaging(photos, model):
    weak = 0
    for image in photos:
        expected = mediapipe_reference.graph_detections(image, model, 0.2, "DEFAULT")
        actual = _decoded(image, model, 0.2, weighted=False)
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, atol=2e-6)
        weak += int(np.sum(expected[:, 0] < 0.5))
    assert weak >= 3


def test_face_mesh_is_mediapipes_face_mesh(astronaut, photos):
    crops = [astronaut[40:296, 96:352], cv2.resize(astronaut[60:200, 160:300], (256, 256)),
             np.ascontiguousarray(np.rot90(astronaut[40:296, 96:352])), photos[3][:256, :256]]
    meshes = 0
    for crop in crops:
        crop = np.ascontiguousarray(crop)
        expected = mediapipe_reference.stock_face_mesh(crop)
        actual = mediapipe_runtime.face_mesh().process(crop)[MESH_STREAM]
        if expected is None:
            assert actual is None
            continue
        meshes += 1
        np.testing.assert_allclose(actual.reshape(-1, 2), expected, atol=1e-3)
    assert meshes >= 2


def test_selfie_mask_is_mediapipes_selfie_segmentation(photos):
    for image in photos[:3]:
        expected = mediapipe_reference.stock_selfie_mask(image)
        actual = mediapipe_runtime.selfie_segmentation().process(image)[MASK_STREAM]
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize(("versions", "advice"), [
    ({"mediapipe": "0.10.30", "protobuf": "4.25.8"},
     "mediapipe 0.10.30 is outside the releases FacePop runs with (0.10.11 to 0.10.21; "
     "newer ones no longer ship the face models)"),
    ({"mediapipe": "0.10.14", "protobuf": "5.29.3"},
     "protobuf 5.29.3 is outside what FacePop runs with (3.20 to 4.x)"),
    ({"mediapipe": "0.10.14", "protobuf": "3.20.0"},
     "this looks like a broken MediaPipe installation"),
])
def test_a_graph_that_cant_start_is_reported_with_versions_and_what_to_do(
        fresh_graphs, monkeypatch, versions, advice):
    from lib_facepop.detect import graph_runner
    from lib_facepop.errors import DetectorUnavailableError

    def failing(*args, **kwargs):
        raise RuntimeError("ValidatedGraphConfig Initialization failed.\n"
                           "No registered object with name: FaceLandmarkFrontCpu")

    monkeypatch.setattr(graph_runner, "GraphRunner", failing)
    monkeypatch.setattr(mediapipe_runtime, "installed_version", versions.get)
    with pytest.raises(DetectorUnavailableError) as raised:
        graph_check.check_mediapipe()
    assert str(raised.value) == (
        f"MediaPipe {versions['mediapipe']} with protobuf {versions['protobuf']} can't run "
        f"FacePop's face detection (full range) graph (RuntimeError: ValidatedGraphConfig "
        f"Initialization failed. No registered object with name: FaceLandmarkFrontCpu): "
        f"{advice}. FacePop needs mediapipe 0.10.11 to 0.10.21 "
        f"with protobuf 3.20 or 4: pip install --no-deps mediapipe==0.10.14")


def test_a_graph_that_fails_while_running_fails_the_check(fresh_graphs, monkeypatch):
    from lib_facepop.detect import graph_runner
    from lib_facepop.errors import DetectorUnavailableError

    def failing(self, inputs):
        raise RuntimeError("CalculatorGraph::Run() failed in Run: \nCalculator::Process() "
                           "for node \"InferenceCalculator\" failed")

    monkeypatch.setattr(graph_runner.GraphRunner, "process", failing)
    with pytest.raises(DetectorUnavailableError) as raised:
        graph_check.check_mediapipe()
    assert str(raised.value).startswith(
        "MediaPipe 0.10.11 with protobuf 3.20.3 can't run FacePop's face detection "
        "(RuntimeError: CalculatorGraph::Run() failed in Run: Calculator::Process() for node "
        "\"InferenceCalculator\" failed): this looks like a broken MediaPipe installation.")


def test_a_missing_mediapipe_is_reported_with_what_to_install(fresh_graphs, monkeypatch):
    import builtins

    from lib_facepop.errors import DetectorUnavailableError

    real_import = builtins.__import__

    def without_mediapipe(name, *args, **kwargs):
        if name.partition(".")[0] == "mediapipe":
            raise ModuleNotFoundError("No module named 'mediapipe'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_mediapipe)
    monkeypatch.setattr(mediapipe_runtime, "installed_version", {"protobuf": "3.20.0"}.get)
    with pytest.raises(DetectorUnavailableError) as raised:
        graph_check.check_mediapipe()
    assert str(raised.value) == ("MediaPipe is not installed. FacePop needs mediapipe 0.10.11 "
                                 "to 0.10.21 with protobuf 3.20 or 4: pip install --no-deps "
                                 "mediapipe==0.10.14")


def test_a_long_mediapipe_error_is_shortened_to_one_line(fresh_graphs, monkeypatch):
    from lib_facepop.detect import graph_runner
    from lib_facepop.errors import DetectorUnavailableError

    def failing(*args, **kwargs):
        raise RuntimeError("ValidatedGraphConfig Initialization failed.\n"
                           + "\n".join(f"Calculator{n}: ; RET_CHECK failure" for n in range(40)))

    monkeypatch.setattr(graph_runner, "GraphRunner", failing)
    with pytest.raises(DetectorUnavailableError) as raised:
        graph_check.check_mediapipe()
    message = str(raised.value)
    assert "\n" not in message and "failed. Calculator0: ; RET_CHECK failure Calculator1" in message
    assert "Calculator39" not in message and " ...): this looks like a broken" in message
