"""FacePop for the AUTOMATIC1111 Stable Diffusion WebUI (and Forge).

This file only adapts the WebUI's Script interface to lib_facepop; everything heavy lives
there. The WebUI puts this extension's folder on sys.path only while it imports this file,
so lib_facepop is imported here at the top, never lazily inside a hook.
"""

from __future__ import annotations

import logging
import threading

import gradio as gr
from modules import script_callbacks, scripts

from lib_facepop.webui import api as facepop_api
from lib_facepop.webui import generation
from lib_facepop.webui import xyz as facepop_xyz
from lib_facepop.webui.host import facepop_models_dir, host_services, host_upscaler_names
from lib_facepop.webui.mask_note import mask_source_note
from lib_facepop.webui.panel import TAB_IMG2IMG, TAB_TXT2IMG, build_panel

log = logging.getLogger("facepop")


def _input_accordion():
    """The host's InputAccordion (A1111 >= 1.7, Forge), or None for a plain accordion."""
    try:
        from modules.ui_components import InputAccordion
    except ImportError:
        return None
    return lambda value, label, elem_id: InputAccordion(value, label=label, elem_id=elem_id)


class FacePopScript(scripts.Script):
    def __init__(self) -> None:
        super().__init__()
        self.unavailable: str | None = None

    def title(self) -> str:
        return "FacePop"

    def show(self, is_img2img: bool):
        return scripts.AlwaysVisible

    def ui(self, is_img2img: bool):
        try:
            panel = build_panel(gr, enable_accordion=_input_accordion(),
                                mask_note=mask_source_note(facepop_models_dir()),
                                tab=TAB_IMG2IMG if is_img2img else TAB_TXT2IMG,
                                upscalers=host_upscaler_names())
        except Exception as exc:  # e.g. a gradio this panel was never built with
            self.unavailable = f"FacePop can't build its panel here ({exc}); it is off."
            log.exception(self.unavailable)
            return [gr.HTML(f"<p>{self.unavailable}</p>")]
        self.unavailable = None
        self.infotext_fields = panel.infotext_fields()
        self.paste_field_names = panel.paste_field_names()
        return panel.controls

    def process(self, p, *args):
        if self.unavailable is None:
            generation.start_job(p, args, host_services())

    def before_process_batch(self, p, *args, **kwargs):
        job = generation.job_of(p)
        if job is not None:
            job.before_batch(int(kwargs.get("batch_number", 0)))

    def postprocess_image(self, p, pp, *args):
        job = generation.job_of(p)
        if job is not None:
            job.postprocess_image(pp)

    def postprocess_maskoverlay(self, p, ppmo, *args):
        job = generation.job_of(p)
        if job is not None:
            job.mask_overlay(ppmo)

    def postprocess(self, p, processed, *args):
        generation.end_job(p)


def _check_detection_in_background(_demo, _app) -> None:
    """Say at start-up, in the console, whether MediaPipe really detects faces here."""
    from lib_facepop.detect.graph_check import check_mediapipe

    def check() -> None:
        try:
            check_mediapipe()  # says how it went itself
        except Exception as exc:
            log.error("FacePop can't detect faces in this WebUI: %s", exc)

    threading.Thread(target=check, name="facepop-mediapipe-check", daemon=True).start()


def _register(register, callback, name: str) -> None:
    try:
        register(callback, name=name)
    except TypeError:  # WebUI versions before named callbacks
        register(callback)


_register(script_callbacks.on_app_started, facepop_api.on_app_started, "facepop_routes")
_register(script_callbacks.on_app_started, _check_detection_in_background, "facepop_check")


def _add_xyz_axes() -> None:
    facepop_xyz.register_with_loaded_xyz(scripts.scripts_data)


# Now (the X/Y/Z plot is loaded before extensions' scripts, and --nowebui makes its UI
# before on_before_ui) and before every UI is made; never twice (docs/design.md section 4).
_add_xyz_axes()
_register(script_callbacks.on_before_ui, _add_xyz_axes, "facepop_xyz_axes")
