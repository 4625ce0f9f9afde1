"""Running a MediaPipe graph from its text configuration, with plain values in and out.

The legacy ``mediapipe.solutions`` objects (SolutionBase) pass every graph configuration
through Python's protobuf and turn protobuf output packets into Python message classes.
Both break between mediapipe 0.10.13 and 0.10.21 under the protobuf 3.20 that the WebUI
pins: calculator options are lost on the way back to C++, and output messages need
``message_factory.GetMessageClass``, which protobuf 3.20 lacks (docs/design.md section 4).
This runner avoids both: MediaPipe's C++ parses the text configuration itself, and FacePop's
graphs only have outputs that come back as floats or images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np

# Microseconds between two simulated frames; any increasing timestamps would do.
_FRAME_INTERVAL = 33333


class OutputKind(Enum):
    FLOATS = "floats"
    """A std::vector<float>: comes back as a 1-D float32 array."""
    IMAGE = "image"
    """An ImageFrame: comes back as an array of its pixels (a copy)."""


@dataclass(frozen=True)
class RegionOfInterest:
    """A rotated rectangle relative to the image (MediaPipe's NormalizedRect): centre and
    size as fractions of the image's width and height, rotation in radians, clockwise on
    screen."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0


class GraphRunner:
    """One MediaPipe graph, started once and fed one set of inputs at a time.

    ``outputs`` names the output streams and what they carry. Inputs are RGB images
    (uint8 arrays, height x width x 3) or RegionOfInterest values. Not thread-safe: one
    ``process`` call at a time.
    """

    def __init__(self, config_text: str, outputs: Mapping[str, OutputKind]) -> None:
        from mediapipe.python._framework_bindings import calculator_graph

        _point_resources_at_mediapipe()
        self._outputs = dict(outputs)
        self._received: dict[str, Any] = {}
        self._timestamp = 0
        # A str goes to MediaPipe's C++ text parser as it is; no Python protobuf involved.
        self._graph = calculator_graph.CalculatorGraph(graph_config=config_text)
        for name in self._outputs:
            self._graph.observe_output_stream(name, self._receive, True)
        self._graph.start_run({})

    def _receive(self, stream_name: str, packet: Any) -> None:
        self._received[stream_name] = packet

    def process(self, inputs: Mapping[str, np.ndarray | RegionOfInterest]
                ) -> dict[str, np.ndarray | None]:
        """Run the graph once; each output is an array, or None when the graph sent
        nothing on that stream for these inputs."""
        self._received.clear()
        self._timestamp += _FRAME_INTERVAL
        for name, value in inputs.items():
            self._graph.add_packet_to_input_stream(
                stream=name, packet=_packet(value).at(self._timestamp))
        self._graph.wait_until_idle()
        return {name: _content(kind, self._received.get(name))
                for name, kind in self._outputs.items()}

    def close(self) -> None:
        self._graph.close()


def _point_resources_at_mediapipe() -> None:
    """Model paths in the graphs ("mediapipe/modules/...") are relative to the folder that
    holds the mediapipe package, as in MediaPipe's own solutions."""
    import mediapipe
    from mediapipe.python._framework_bindings import resource_util

    package = os.path.dirname(os.path.abspath(mediapipe.__file__))
    resource_util.set_resource_dir(os.path.dirname(package))


def _packet(value: np.ndarray | RegionOfInterest) -> Any:
    from mediapipe.python import packet_creator
    from mediapipe.python._framework_bindings import image_frame

    if isinstance(value, RegionOfInterest):
        # MediaPipe's own generated class: building and serialising a message needs no
        # dynamic message classes, so this works under protobuf 3.20 and 4 alike.
        from mediapipe.framework.formats import rect_pb2

        return packet_creator.create_proto(rect_pb2.NormalizedRect(
            x_center=value.x_center, y_center=value.y_center, width=value.width,
            height=value.height, rotation=value.rotation))
    if value.ndim != 3 or value.shape[2] != 3 or value.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got shape {value.shape} "
                         f"of {value.dtype}")
    return packet_creator.create_image_frame(data=np.ascontiguousarray(value),
                                             image_format=image_frame.ImageFormat.SRGB)


def _content(kind: OutputKind, packet: Any) -> np.ndarray | None:
    from mediapipe.python import packet_getter

    if packet is None or packet.is_empty():
        return None
    if kind is OutputKind.FLOATS:
        return np.asarray(packet_getter.get_float_list(packet), dtype=np.float32)
    return np.array(packet_getter.get_image_frame(packet).numpy_view())
