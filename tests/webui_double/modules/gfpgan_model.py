"""Stands in for modules/gfpgan_model.py (A1111 v1.10.1): the "GFPGAN" face restorer in
shared.face_restorers (module attribute `gfpgan_face_restorer`).

As in the host: restore(np_image) takes an RGB uint8 array (H, W, 3) and returns one of
the same size and type; it has no weight argument. The host's face finding (facexlib),
model loading and paste-back are left out.

Not the host's model: the result is the image with its colour channels in reverse order
(RGB -> BGR). Each call is recorded in `restore_calls` (test scaffolding): a copy of the
image it got.
"""

import numpy as np

from modules import face_restoration, shared

restore_calls: list[dict] = []
"""Test scaffolding: {"image": copy of np_image}."""


class FaceRestorerGFPGAN(face_restoration.FaceRestoration):
    def __init__(self, model_path):
        self.model_path = model_path

    def name(self):
        return "GFPGAN"

    def restore(self, np_image):
        restore_calls.append({"image": np.array(np_image)})
        return np.ascontiguousarray(np.asarray(np_image)[:, :, ::-1])


gfpgan_face_restorer = None


def setup_model(dirname):
    global gfpgan_face_restorer
    gfpgan_face_restorer = FaceRestorerGFPGAN(dirname)
    shared.face_restorers.append(gfpgan_face_restorer)
