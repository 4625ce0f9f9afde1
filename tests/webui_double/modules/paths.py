"""Stands in for modules/paths.py (A1111 v1.10.1): paths_internal's paths, and the WebUI
root put first on sys.path when imported, as the host does. Locating the Stable Diffusion
repositories is left out (there is no model)."""

import sys

from modules.paths_internal import (  # noqa: F401 (re-exported, as in the host)
    cwd,
    data_path,
    extensions_builtin_dir,
    extensions_dir,
    models_path,
    script_path,
)

sys.path[:0] = [script_path]
