"""Stands in for modules/script_callbacks.py (A1111 v1.10.1): extensions register callbacks
with on_<event>(callback, *, name=None); the host raises the event with <event>_callback().

As in the host: callbacks run in registration order (before_ui and script_unloaded last
first); an exception is reported (errors.report) and the next callback still runs; each
callback is named "<extension>/<file>/<event>[/<name>]", made unique with "-1", "-2", ...;
load_scripts() clears them all (clear_callbacks). The events raised here: app_started,
ui_settings, before_ui, infotext_pasted, before_image_saved, image_saved, script_unloaded.
The other on_* functions only register. Left out: ordering by metadata.ini or by the
prioritized_callbacks_* settings, and removal of callbacks.
"""

import dataclasses
import inspect
import os
from typing import Any

from modules import errors, extensions


@dataclasses.dataclass
class ScriptCallback:
    script: str
    callback: Any
    name: str = "unnamed"


@dataclasses.dataclass
class ImageSaveParams:
    image: Any
    p: Any
    filename: str
    pnginfo: dict


_EVENTS = ("app_started", "model_loaded", "ui_tabs", "ui_settings", "before_image_saved",
           "image_saved", "cfg_denoiser", "cfg_denoised", "before_component", "after_component",
           "image_grid", "infotext_pasted", "script_unloaded", "before_ui", "on_reload")
callback_map = {f"callbacks_{event}": [] for event in _EVENTS}


def add_callback(callbacks, fun, *, name=None, category="unknown", filename=None):
    if filename is None:  # the file of the code that registers
        frame = inspect.currentframe()
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        filename = frame.f_code.co_filename if frame is not None else "unknown file"
    owner = extensions.find_extension(filename)
    base = "/".join([owner.canonical_name if owner else "base", os.path.basename(filename),
                     category, *([name] if name is not None else [])])
    unique, n = base, 0
    while any(c.name == unique for c in callbacks):
        n += 1
        unique = f"{base}-{n}"
    callbacks.append(ScriptCallback(filename, fun, unique))


def ordered_callbacks(category, unordered_callbacks=None, *, enable_user_sort=True):
    chosen = callback_map.get(f"callbacks_{category}", [])
    return list(chosen if unordered_callbacks is None else unordered_callbacks)


def clear_callbacks():
    for registered in callback_map.values():
        registered.clear()


def _raise(event, *args, job=None, newest_first=False):
    registered = ordered_callbacks(event)
    for c in reversed(registered) if newest_first else registered:
        try:
            c.callback(*args)
        except Exception:
            errors.report(f"Error executing callback {job or event} for {c.script}", exc_info=True)


def app_started_callback(demo, app):
    _raise("app_started", demo, app, job="app_started_callback")


def ui_settings_callback():
    _raise("ui_settings", job="ui_settings_callback")


def before_ui_callback():
    _raise("before_ui", newest_first=True)


def infotext_pasted_callback(infotext: str, params: dict[str, Any]):
    _raise("infotext_pasted", infotext, params)


def before_image_saved_callback(params: ImageSaveParams):
    _raise("before_image_saved", params, job="before_image_saved_callback")


def image_saved_callback(params: ImageSaveParams):
    _raise("image_saved", params, job="image_saved_callback")


def script_unloaded_callback():
    _raise("script_unloaded", newest_first=True)


def _registrar(event):
    def register(callback, *, name=None):
        add_callback(callback_map[f"callbacks_{event}"], callback, name=name, category=event)

    register.__name__ = register.__qualname__ = f"on_{event}"
    return register


on_app_started, on_model_loaded, on_ui_tabs, on_ui_settings = map(
    _registrar, ("app_started", "model_loaded", "ui_tabs", "ui_settings"))
on_before_image_saved, on_image_saved, on_image_grid, on_infotext_pasted = map(
    _registrar, ("before_image_saved", "image_saved", "image_grid", "infotext_pasted"))
on_cfg_denoiser, on_cfg_denoised, on_before_component, on_after_component = map(
    _registrar, ("cfg_denoiser", "cfg_denoised", "before_component", "after_component"))
on_script_unloaded, on_before_ui, on_before_reload = map(
    _registrar, ("script_unloaded", "before_ui", "on_reload"))
