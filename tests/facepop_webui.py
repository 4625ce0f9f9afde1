"""Helpers for tests of FacePop inside the WebUI test double.

The double's sampler paints each batch item as ``init * (1 - d) + colour(seed, prompt) * d``.
With a denoising strength of 1 a pixel therefore shows exactly which pass made it: the face
pass (the face's own seed and prompt) or the main pass (the image's seed and prompt).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from lib_facepop.settings import FacePopSettings
from tests.helpers import write_extension

ROOT = Path(__file__).resolve().parents[1]
CONTROLNET = Path(__file__).resolve().parent / "stand_ins" / "sd-webui-controlnet"
ADETAILER = Path(__file__).resolve().parent / "stand_ins" / "adetailer"
TILE = 512
# The astronaut's face centre in her photo (see test_detect.py).
FACE_CENTRE = (224, 125)
BACKGROUND = (40, 490)  # bottom-left corner of the first tile: her suit, far from the face
# Colour match off: it would shift the painter's flat colours that tell the passes apart.
FACE_SETTINGS = {"enabled": True, "face_width": 256, "face_height": 256,
                 "face_order": "left_to_right", "mask_source": "ellipse",
                 "colour_match": False}


def face_centre(tile: int) -> tuple[int, int]:
    """The face centre of the astronaut in tile ``tile`` of a row of 512-px tiles."""
    return FACE_CENTRE[0] + tile * TILE, FACE_CENTRE[1]


def facepop_args(webui, overrides: dict | None = None, selected: str | None = None,
                 **settings) -> tuple:
    """The UI's script args with FacePop's settings (and other scripts' ``overrides``)."""
    values = FacePopSettings(**settings).to_positional()
    return webui.ui_args(overrides={"FacePop": values, **(overrides or {})}, selected=selected)


def colour(webui, seed: int, prompt: str) -> tuple[int, int, int]:
    return tuple(webui.processing.expected_colour(seed, prompt))


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.asarray(image.convert("RGB"))[xy[1], xy[0]])


def passes(webui) -> tuple[list[dict], list[dict]]:
    """(the user's jobs, the nested face passes) from the double's process_images_log."""
    log = webui.process_images_log
    return [e for e in log if not e["nested"]], [e for e in log if e["nested"]]


def generate(webui, image, *, settings, overrides: dict | None = None, **kwargs):
    """The Generate button with FacePop ``settings``; denoising 1 and the image's size unless
    given. Returns the output images."""
    kwargs.setdefault("denoising_strength", 1.0)
    kwargs.setdefault("width", image.width)
    kwargs.setdefault("height", image.height)
    kwargs.setdefault("prompt", "photo")
    kwargs.setdefault("script_args", facepop_args(webui, overrides, **settings))
    images, *_ = webui.run_img2img(image, **kwargs)
    return images


def progress_recorder(tmp_path: Path, name: str = "recorder") -> tuple[Path, Path]:
    """(an always-on extension titled ``name`` that appends [job_no, job_count] of the
    WebUI's progress to a file at the end of every job it runs in, that file). Name it in
    face_pass_scripts to record after each face pass too."""
    target = tmp_path / f"{name}.jsonl"
    return write_extension(tmp_path, name, f"""
        import json

        from modules import scripts, shared


        class ProgressRecorder(scripts.Script):
            def title(self):
                return {name!r}

            def show(self, is_img2img):
                return scripts.AlwaysVisible

            def postprocess(self, p, processed, *args):
                with open({str(target)!r}, "a") as f:
                    f.write(json.dumps([shared.state.job_no, shared.state.job_count]) + "\\n")
    """), target


def recorded_progress(target: Path) -> list[list[int]]:
    """What progress_recorder wrote: [job_no, job_count] per job, in order."""
    return [json.loads(line) for line in target.read_text().splitlines()]


def probe_extension(tmp_path: Path, action: str | None, only_pass: int | None = None
                    ) -> Path:
    """An always-on extension that interrupts or skips (``action``) when it runs inside a
    face pass (only the ``only_pass``-th face pass, counting from 1, when given), or just
    runs there (None)."""
    return write_extension(tmp_path, "probe", f'''
        from modules import scripts, shared

        FACE_PASSES = []


        class Probe(scripts.Script):
            def title(self):
                return "Probe"

            def show(self, is_img2img):
                return scripts.AlwaysVisible

            def process_batch(self, p, *args, **kwargs):
                # Inside the batch loop, as a click on Skip or Interrupt during sampling.
                if not getattr(p, "facepop_nested", False):
                    return
                FACE_PASSES.append(id(p))
                if {action!r} and {only_pass!r} in (None, len(FACE_PASSES)):
                    getattr(shared.state, {action!r})()
    ''')


FORGE_INTEGRATED = ["DynamicThresholding (CFG-Fix) Integrated",
                    "FreeU Integrated (SD 1.x, SD 2.x, SDXL)", "LatentModifier Integrated",
                    "PerturbedAttentionGuidance Integrated",
                    "SelfAttentionGuidance Integrated (SD 1.x, SD 2.x, SDXL)",
                    "StyleAlign Integrated"]
"""Forge's built-in UNet patchers (the double's stand-ins), in the order Forge runs them."""


def face_pass_scripts(webui, *titles: str) -> list[str]:
    """The always-on scripts a face pass runs when these are allowed: in A1111 also the
    WebUI's Comments script (Forge has none: its styles strip comments)."""
    return list(titles) if webui.forge else [*titles, "Comments"]
