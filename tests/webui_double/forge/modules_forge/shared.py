"""Stands in for modules_forge/shared.py (Forge main): the registry of ControlNet
preprocessors (supported_preprocessors: name -> Preprocessor, filled by the built-in
extensions' scripts when they are loaded) and of control models. The folders are under the
double's models path; the command-line flags are left out.
"""

import os

from modules.paths_internal import models_path

controlnet_dir = os.path.join(models_path, "ControlNet")
preprocessor_dir = os.path.join(models_path, "ControlNetPreprocessor")

supported_preprocessors = {}
supported_control_models = []


def add_supported_preprocessor(preprocessor):
    supported_preprocessors[preprocessor.name] = preprocessor


def add_supported_control_model(control_model):
    supported_control_models.append(control_model)
