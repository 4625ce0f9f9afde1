"""The main img2img pass on a WebUI server, kept off the faces exactly as the extension
keeps its in-process main pass off them (docs/design.md section 3.4).

The whole image, with the processed faces already blended in, goes through img2img with a
mask that is white where the main pass may work (``protect.main_pass_mask``: everywhere
but the faces), "Masked content: original", the whole picture (not "only masked"), not
inverted. The WebUI pastes the init image back where the mask is black, so the faces come
back as FacePop made them and every other pixel is the main pass's.
"""

from __future__ import annotations

import numpy as np

from lib_facepop.api_client.face_pass import ServerJob, base_body
from lib_facepop.api_client.server import LATENT_GRID, WebUIServer, encode_png
from lib_facepop.images import mask_to_uint8
from lib_facepop.protect import FILL_ORIGINAL, main_pass_mask


def main_pass(server: WebUIServer, image: np.ndarray, face_mask: np.ndarray | None,
              job: ServerJob, prompt: str, negative_prompt: str, seed: int) -> np.ndarray:
    """``image`` after the server's main pass; the faces (``face_mask``) are protected.

    The WebUI works in multiples of 8 px and can't overlay the init image on a sample of
    another size, so the image (and mask) is padded to the grid by repeating its edge, and
    the reply cropped back.
    """
    height, width = image.shape[:2]
    padded = _pad_to_grid(image)
    body = base_body(job)
    body.update({
        "init_images": [encode_png(padded)],
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "seed": seed,
        "batch_size": 1,
        "steps": job.steps,
        "cfg_scale": job.cfg_scale,
        "denoising_strength": job.denoising_strength,
        "width": int(padded.shape[1]),
        "height": int(padded.shape[0]),
    })
    if face_mask is not None and np.any(face_mask > 0):
        mask = mask_to_uint8(main_pass_mask(face_mask, None, invert=False))
        body.update({"mask": encode_png(_pad_to_grid(mask)), "inpainting_fill": FILL_ORIGINAL,
                     "inpaint_full_res": False, "inpainting_mask_invert": 0})
    (result,) = server.img2img(body, 1, [(int(padded.shape[1]), int(padded.shape[0]))])
    return np.ascontiguousarray(result[:height, :width])


def _pad_to_grid(picture: np.ndarray) -> np.ndarray:
    height, width = picture.shape[:2]
    bottom, right = -height % LATENT_GRID, -width % LATENT_GRID
    if not bottom and not right:
        return picture
    pad = ((0, bottom), (0, right)) + ((0, 0),) * (picture.ndim - 2)
    return np.pad(picture, pad, mode="edge")
