"""A visible stand-in for a diffusion pass, for demos without a WebUI server."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from lib_facepop.processors.base import FacePassParams, FaceTask


class StylizeProcessor:
    """Paints each face with OpenCV's edge-preserving stylization filter.

    It changes every face visibly and nothing else, so a demo shows where FacePop worked
    and how seamlessly the faces were blended back.
    """

    name = "stylize"

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        outputs = []
        for task in tasks:
            bgr = cv2.cvtColor(task.image, cv2.COLOR_RGB2BGR)
            styled = cv2.stylization(bgr, sigma_s=40, sigma_r=0.35)
            outputs.append(cv2.cvtColor(styled, cv2.COLOR_BGR2RGB))
        return outputs
