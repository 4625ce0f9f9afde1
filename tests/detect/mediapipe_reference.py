"""MediaPipe's own graphs, run through its legacy ``solutions`` API: what FacePop's graphs
must reproduce. This needs the protobuf message classes FacePop avoids, so it runs only
where they work: the pinned test environment (mediapipe 0.10.11, protobuf 3.20)."""

from __future__ import annotations

import os

import numpy as np

# Per detection: score, box (xmin, ymin, width, height), 6 keypoints (x, y); relative.
DETECTION_VALUES = 17


def stock_detections(image: np.ndarray, model_selection: int) -> np.ndarray:
    """MediaPipe's FaceDetection solution (its low confidence is ignored by the graph)."""
    import mediapipe as mp

    with mp.solutions.face_detection.FaceDetection(
            model_selection=model_selection, min_detection_confidence=0.1) as solution:
        return _as_rows(solution.process(image).detections)


def graph_detections(image: np.ndarray, model_selection: int, min_score: float,
                     algorithm: str) -> np.ndarray:
    """MediaPipe's face detection graph with its score floor set to ``min_score`` and its
    non-maximum suppression set to ``algorithm`` ("DEFAULT" or "WEIGHTED")."""
    import mediapipe as mp
    from mediapipe.calculators.tensor import tensors_to_detections_calculator_pb2 as t2d
    from mediapipe.calculators.util import non_max_suppression_calculator_pb2 as nms
    from mediapipe.framework import calculator_pb2
    from mediapipe.python import solution_base
    from mediapipe.python._framework_bindings import validated_graph_config

    name = "full_range" if model_selection == 1 else "short_range"
    root = os.path.dirname(os.path.dirname(mp.__file__))
    validated = validated_graph_config.ValidatedGraphConfig()
    validated.initialize(binary_graph_path=os.path.join(
        root, f"mediapipe/modules/face_detection/face_detection_{name}_cpu.binarypb"))
    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString(validated.binary_config)
    for node in config.node:
        if node.calculator == "TensorsToDetectionsCalculator":
            options = t2d.TensorsToDetectionsCalculatorOptions()
            node.node_options[0].Unpack(options)
            options.min_score_thresh = min_score
            node.node_options[0].Pack(options)
        if node.calculator == "NonMaxSuppressionCalculator":
            extension = node.options.Extensions[nms.NonMaxSuppressionCalculatorOptions.ext]
            extension.algorithm = nms.NonMaxSuppressionCalculatorOptions.NmsAlgorithm.Value(
                algorithm)
    with solution_base.SolutionBase(graph_config=config, outputs=["detections"]) as graph:
        return _as_rows(graph.process(image).detections)


def stock_face_mesh(image: np.ndarray) -> np.ndarray | None:
    """MediaPipe's FaceMesh solution as FacePop used it: landmarks in pixels, (478, 2)."""
    import mediapipe as mp

    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                         refine_landmarks=True,
                                         min_detection_confidence=0.5) as solution:
        found = solution.process(image).multi_face_landmarks
    if not found:
        return None
    height, width = image.shape[:2]
    return np.array([(p.x * width, p.y * height) for p in found[0].landmark])


def stock_selfie_mask(image: np.ndarray) -> np.ndarray:
    import mediapipe as mp

    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as solution:
        return np.array(solution.process(image).segmentation_mask)


def _as_rows(detections) -> np.ndarray:
    rows = []
    for detection in detections or []:
        location = detection.location_data
        box = location.relative_bounding_box
        rows.append([detection.score[0], box.xmin, box.ymin, box.width, box.height,
                     *(value for point in location.relative_keypoints
                       for value in (point.x, point.y))])
    return np.array(rows, dtype=np.float64).reshape(-1, DETECTION_VALUES)
