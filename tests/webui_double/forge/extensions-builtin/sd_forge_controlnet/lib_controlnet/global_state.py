"""Stands in for lib_controlnet/global_state.py (Forge's built-in ControlNet): the
preprocessors by name, from modules_forge.shared.supported_preprocessors."""

from modules_forge.shared import supported_preprocessors


def get_preprocessor(name):
    return supported_preprocessors.get(name, None)
