"""MediaPipe graph configurations that FacePop builds itself from MediaPipe's calculators.

Every graph here hands back only floats or images, never protobuf messages, and is given to
MediaPipe's C++ as text (graph_runner.py), so the same graphs run with every mediapipe from
0.10.11 to 0.10.21 under protobuf 3.20 and 4 (docs/design.md section 4).

* BlazeFace's raw model outputs (box regressions and scores for every anchor). The
  decoding, score threshold and non-maximum suppression that MediaPipe's face detection
  graph does in calculators whose output is protobuf are done by blazeface_decode.py, with
  the same arithmetic, for any score floor we choose: weak detections are what a search for
  small and rolled faces needs as *proposals*.
* The face mesh (478 landmarks, with attention) of the most prominent face, as MediaPipe's
  FaceMesh solution finds it (its own short-range detection first, then the landmark
  model), as one flat list of floats.
* The face landmark model (478 points) run on a region we give it, with its rotation.
  When we already know where the face is and how it is turned, a second detection is
  wasted time.
* Selfie segmentation (the general model), a float mask the size of the image.

The landmarks come back as one flat list of floats x0, y0, x1, y1, ... in pixels of the
image given: decoding 478 landmark messages costs more than the model itself under the
pure-Python protobuf that protobuf 3.20 falls back to on Python 3.11. The model files ship
in the mediapipe wheel.
"""

from __future__ import annotations

from dataclasses import dataclass

# BlazeFace's two bundled models, by MediaPipe's ``model_selection`` numbers.
FULL_RANGE = 1
SHORT_RANGE = 0


@dataclass(frozen=True)
class BlazeFaceModel:
    """One bundled BlazeFace model and the anchor layout it was trained with.

    ``anchor_grids`` lists (cells per side, anchors per cell) for each feature map, in the
    model's output order; every anchor has unit size and sits at its cell's centre.
    """

    input_size: int
    model_path: str
    anchor_grids: tuple[tuple[int, int], ...]

    @property
    def num_boxes(self) -> int:
        return sum(cells * cells * per_cell for cells, per_cell in self.anchor_grids)


# The anchors of MediaPipe's face detection graphs: short range, 4 layers with strides 8, 16,
# 16, 16 (two anchors per cell and layer, layers of equal stride merged); full range, one
# layer of stride 4 with one anchor per cell.
BLAZEFACE_MODELS = {
    SHORT_RANGE: BlazeFaceModel(
        input_size=128,
        model_path="mediapipe/modules/face_detection/face_detection_short_range.tflite",
        anchor_grids=((16, 2), (8, 6))),
    FULL_RANGE: BlazeFaceModel(
        input_size=192,
        model_path="mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        anchor_grids=((48, 1),)),
}

# Stream names of the graphs below.
IMAGE_STREAM = "image"
ROI_STREAM = "roi"
BOXES_STREAM = "boxes"
SCORES_STREAM = "scores"
MESH_STREAM = "mesh"
LANDMARKS_STREAM = "landmarks"
MASK_STREAM = "segmentation_mask"

# Values per anchor in BlazeFace's box tensor: box centre and size, then 6 keypoints.
BLAZEFACE_COORDS = 16


def blazeface_config_text(model_selection: int) -> str:
    """Text proto of BlazeFace's raw outputs on an image.

    The image is letterboxed into the model's square input (as in MediaPipe's face detection
    graph). Outputs: ``boxes``, BLAZEFACE_COORDS floats per anchor, and ``scores``, one
    logit per anchor.
    """
    model = BLAZEFACE_MODELS[model_selection]
    size = model.input_size
    return f"""
input_stream: "{IMAGE_STREAM}"
output_stream: "{BOXES_STREAM}"
output_stream: "{SCORES_STREAM}"
node {{
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  output_stream: "TENSORS:input_tensors"
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
  calculator: "SplitTensorVectorCalculator"
  input_stream: "detection_tensors"
  output_stream: "box_tensors"
  output_stream: "score_tensors"
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{
    ranges {{ begin: 0 end: 1 }} ranges {{ begin: 1 end: 2 }} }} }}
}}
node {{
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:box_tensors"
  output_stream: "FLOATS:{BOXES_STREAM}"
}}
node {{
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:score_tensors"
  output_stream: "FLOATS:{SCORES_STREAM}"
}}
"""


def _landmarks_to_floats(landmarks: str, image: str, floats: str) -> str:
    """Nodes turning a NormalizedLandmarkList into floats x0, y0, x1, y1, ... in pixels."""
    return f"""
node {{
  calculator: "ImagePropertiesCalculator"
  input_stream: "IMAGE:{image}"
  output_stream: "SIZE:image_size"
}}
node {{
  calculator: "LandmarksToTensorCalculator"
  input_stream: "NORM_LANDMARKS:{landmarks}"
  input_stream: "IMAGE_SIZE:image_size"
  output_stream: "TENSORS:landmark_tensors"
  options {{ [mediapipe.LandmarksToTensorCalculatorOptions.ext] {{
    attributes: X attributes: Y flatten: true }} }}
}}
node {{
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:landmark_tensors"
  output_stream: "FLOATS:{floats}"
}}
"""


def face_mesh_config_text() -> str:
    """Text proto of MediaPipe's face mesh on one image, as the FaceMesh solution runs it
    with static_image_mode, max_num_faces=1 and refine_landmarks (478 landmarks).

    Output: ``mesh``, the landmarks as floats x0, y0, x1, y1, ... in image pixels, or
    nothing when no face is found.
    """
    return f"""
input_stream: "{IMAGE_STREAM}"
output_stream: "{MESH_STREAM}"
node {{
  calculator: "ConstantSidePacketCalculator"
  output_side_packet: "PACKET:0:num_faces"
  output_side_packet: "PACKET:1:with_attention"
  output_side_packet: "PACKET:2:use_prev_landmarks"
  options {{ [mediapipe.ConstantSidePacketCalculatorOptions.ext] {{
    packet {{ int_value: 1 }} packet {{ bool_value: true }} packet {{ bool_value: false }} }} }}
}}
node {{
  calculator: "FaceLandmarkFrontCpu"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  input_side_packet: "NUM_FACES:num_faces"
  input_side_packet: "WITH_ATTENTION:with_attention"
  input_side_packet: "USE_PREV_LANDMARKS:use_prev_landmarks"
  output_stream: "LANDMARKS:multi_face_landmarks"
}}
node {{
  calculator: "SplitNormalizedLandmarkListVectorCalculator"
  input_stream: "multi_face_landmarks"
  output_stream: "face_landmarks"
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{
    ranges {{ begin: 0 end: 1 }} element_only: true }} }}
}}
{_landmarks_to_floats("face_landmarks", IMAGE_STREAM, MESH_STREAM)}
"""


def landmarks_in_region_config_text() -> str:
    """Text proto of the 478-point face landmark model (with attention) run on a given
    rotated region.

    Inputs: the image and the region (a RegionOfInterest, see graph_runner.py). Output:
    ``landmarks``, floats x0, y0, x1, y1, ... in image pixels, or nothing when the model's
    own face-presence score is below 0.5.
    """
    return f"""
input_stream: "IMAGE:{IMAGE_STREAM}"
input_stream: "ROI:{ROI_STREAM}"
output_stream: "FLOATS:{LANDMARKS_STREAM}"
node {{
  calculator: "ConstantSidePacketCalculator"
  output_side_packet: "PACKET:with_attention"
  options {{ [mediapipe.ConstantSidePacketCalculatorOptions.ext] {{
    packet {{ bool_value: true }} }} }}
}}
node {{
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  input_stream: "ROI:{ROI_STREAM}"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:normalized_landmarks"
}}
{_landmarks_to_floats("normalized_landmarks", IMAGE_STREAM, LANDMARKS_STREAM)}
"""


def selfie_segmentation_config_text() -> str:
    """Text proto of MediaPipe's selfie segmentation (general model, 256x256 input).

    Output: ``segmentation_mask``, a float image the size of the input, 1 on the person.
    """
    return f"""
input_stream: "IMAGE:{IMAGE_STREAM}"
output_stream: "SEGMENTATION_MASK:{MASK_STREAM}"
node {{
  calculator: "ConstantSidePacketCalculator"
  output_side_packet: "PACKET:model_selection"
  options {{ [mediapipe.ConstantSidePacketCalculatorOptions.ext] {{
    packet {{ int_value: 0 }} }} }}
}}
node {{
  calculator: "SelfieSegmentationCpu"
  input_stream: "IMAGE:{IMAGE_STREAM}"
  input_side_packet: "MODEL_SELECTION:model_selection"
  output_stream: "SEGMENTATION_MASK:{MASK_STREAM}"
}}
"""
