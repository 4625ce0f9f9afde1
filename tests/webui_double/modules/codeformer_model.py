"""Stands in for modules/codeformer_model.py (A1111 v1.10.1): the "CodeFormer" face
restorer in shared.face_restorers (module attribute `codeformer`).

As in the host: restore(np_image, w=None) takes an RGB uint8 array (H, W, 3) and returns
one of the same size and type; a w of None means opts.code_former_weight (0.5). The host
finds faces in the image itself (facexlib), restores each and pastes it back, and returns
the image unchanged where it finds none or its model fails to load; left out here.

Not the host's model: the result is round(np_image * w + (255 - np_image) * (1 - w)), so
w = 1 returns the image, w = 0 its negative and w = 0.5 flat grey (127 or 128). Each call
is recorded in `restore_calls` (test scaffolding): a copy of the image it got and w.
"""

import numpy as np

from modules import face_restoration, shared

restore_calls: list[dict] = []
"""Test scaffolding: {"image": copy of np_image, "w": the weight used}."""


class FaceRestorerCodeFormer(face_restoration.FaceRestoration):
    def __init__(self, model_path):
        self.model_path = model_path

    def name(self):
        return "CodeFormer"

    def restore(self, np_image, w=None):
        if w is None:
            w = getattr(shared.opts, "code_former_weight", 0.5)
        restore_calls.append({"image": np.array(np_image), "w": w})
        pixels = np.asarray(np_image, dtype=np.float64)
        mixed = pixels * w + (255.0 - pixels) * (1.0 - w)
        return np.floor(mixed + 0.5).clip(0, 255).astype(np.uint8)


codeformer = None


def setup_model(dirname):
    global codeformer
    codeformer = FaceRestorerCodeFormer(dirname)
    shared.face_restorers.append(codeformer)
