"""MediaPipe graph configurations that FacePop builds itself from MediaPipe's calculators.

Two graphs the stock ``mediapipe.solutions`` objects don't offer:

* BlazeFace with a score floor of our choosing. The stock FaceDetection graph of
  mediapipe 0.10.11 reports nothing below a score of 0.5, whatever
  ``min_detection_confidence`` says. Weak detections are exactly what a search for small
  and rolled faces needs as *proposals*: at a floor of 0.2 the short-range model reports
  faces 18 px wide in its 128 px input at every roll, which it scores below 0.5 when they
  are rolled past ~120 degrees. Proposals are confirmed later, never reported as faces.
* The face landmark model (478 points) run on a region we give it, with its rotation.
  The stock FaceMesh graph runs its own face detector first; when we already know where
  the face is and how it is turned, that second detection is wasted time. The landmarks
  come back as one flat list of floats: decoding 478 landmark messages costs more than
  the model itself under the pure-Python protobuf that protobuf 3.20 falls back to on
  Python 3.11.

The anchor and decoding settings are those of MediaPipe's own face detection graphs for the
bundled models (mediapipe 0.10.11, pinned by FacePop); the model files ship in the wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib_facepop.detect.mediapipe_runtime import FULL_RANGE, SHORT_RANGE


@dataclass(frozen=True)
class BlazeFaceModel:
    """One bundled BlazeFace model and the anchor layout it was trained with."""

    input_size: int
    model_path: str
    anchor_layers: str
    num_boxes: int


BLAZEFACE_MODELS = {
    SHORT_RANGE: BlazeFaceModel(
        input_size=128,
        model_path="mediapipe/modules/face_detection/face_detection_short_range.tflite",
        anchor_layers="num_layers: 4 strides: 8 strides: 16 strides: 16 strides: 16",
        num_boxes=896),
    FULL_RANGE: BlazeFaceModel(
        input_size=192,
        model_path="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        anchor_layers="num_layers: 1 strides: 4 interpolated_scale_aspect_ratio: 0.0",
        num_boxes=2304),
}

# Stream names of the graphs below.
IMAGE_STREAM = "image"
ROI_STREAM = "roi"
DETECTIONS_STREAM = "detections"
LANDMARKS_STREAM = "landmarks"


def blazeface_config_text(model_selection: int, min_score: float) -> str:
    """Text proto of a BlazeFace graph reporting detections scored ``min_score`` and up.

    The image is letterboxed into the model's square input; detections come back in
    coordinates relative to the image given (not the letterboxed square).
    """
    model = BLAZEFACE_MODELS[model_selection]
    size = model.input_size
    return f"""
input_stream: "{IMAGE_STREAM}"
output_stream: "{DETECTIONS_STREAM}"
node {{
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  output_stream: "TENSORS:input_tensors"
  output_stream: "MATRIX:transform_matrix"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{
    output_tensor_width: {size} output_tensor_height: {size} keep_aspect_ratio: true
    output_tensor_float_range {{ min: -1.0 max: 1.0 }} border_mode: BORDER_ZERO }} }}
}}
node {{
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:detection_tensors"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{
    model_path: "{model.model_path}" delegate {{ xnnpack {{}} }} }} }}
}}
node {{
  calculator: "SsdAnchorsCalculator"
  output_side_packet: "anchors"
  options {{ [mediapipe.SsdAnchorsCalculatorOptions.ext] {{
    {model.anchor_layers} min_scale: 0.1484375 max_scale: 0.75
    input_size_height: {size} input_size_width: {size}
    anchor_offset_x: 0.5 anchor_offset_y: 0.5 aspect_ratios: 1.0 fixed_anchor_size: true }} }}
}}
node {{
  calculator: "TensorsToDetectionsCalculator"
  input_stream: "TENSORS:detection_tensors"
  input_side_packet: "ANCHORS:anchors"
  output_stream: "DETECTIONS:unfiltered_detections"
  options {{ [mediapipe.TensorsToDetectionsCalculatorOptions.ext] {{
    num_classes: 1 num_boxes: {model.num_boxes} num_coords: 16 box_coord_offset: 0
    keypoint_coord_offset: 4 num_keypoints: 6 num_values_per_keypoint: 2
    sigmoid_score: true score_clipping_thresh: 100.0 reverse_output_order: true
    x_scale: {size}.0 y_scale: {size}.0 h_scale: {size}.0 w_scale: {size}.0
    min_score_thresh: {float(min_score)!r} }} }}
}}
node {{
  calculator: "NonMaxSuppressionCalculator"
  input_stream: "unfiltered_detections"
  output_stream: "filtered_detections"
  options {{ [mediapipe.NonMaxSuppressionCalculatorOptions.ext] {{
    min_suppression_threshold: 0.3 overlap_type: INTERSECTION_OVER_UNION
    algorithm: DEFAULT }} }}
}}
node {{
  calculator: "DetectionProjectionCalculator"
  input_stream: "DETECTIONS:filtered_detections"
  input_stream: "PROJECTION_MATRIX:transform_matrix"
  output_stream: "DETECTIONS:{DETECTIONS_STREAM}"
}}
"""


def landmarks_in_region_config_text() -> str:
    """Text proto of the 478-point face landmark model run on a given rotated region.

    Inputs: the image and a ``NormalizedRect`` (the region, relative to the image, with
    its rotation in radians, clockwise on screen). Output: the landmarks as floats
    x0, y0, x1, y1, ... in image pixels, or nothing when the model's own face-presence
    score is below 0.5.
    """
    return f"""
input_stream: "IMAGE:{IMAGE_STREAM}"
input_stream: "ROI:{ROI_STREAM}"
output_stream: "FLOATS:{LANDMARKS_STREAM}"
node {{
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  input_stream: "ROI:{ROI_STREAM}"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:normalized_landmarks"
}}
node {{
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  output_stream: "SIZE:image_size"
}}
node {{
  calculator: "LandmarksToTensorCalculator"
  input_stream: "NORM_LANDMARKS:normalized_landmarks"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "TENSORS:landmark_tensors"
  options {{ [mediapipe.LandmarksToTensorCalculatorOptions.ext] {{
    attributes: X attributes: Y flatten: true }} }}
}}
node {{
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:landmark_tensors"
  output_stream: "FLOATS:{LANDMARKS_STREAM}"
}}
"""


def parse_config(text: str) -> Any:
    """A CalculatorGraphConfig from its text form."""
    from google.protobuf import text_format
    from mediapipe.calculators.tensor import (  # noqa: F401  (registers the options)
        image_to_tensor_calculator_pb2,
        inference_calculator_pb2,
        landmarks_to_tensor_calculator_pb2,
        tensors_to_detections_calculator_pb2,
    )
    from mediapipe.calculators.tflite import ssd_anchors_calculator_pb2  # noqa: F401
    from mediapipe.calculators.util import non_max_suppression_calculator_pb2  # noqa: F401
    from mediapipe.framework import calculator_pb2

    return text_format.Parse(text, calculator_pb2.CalculatorGraphConfig())
