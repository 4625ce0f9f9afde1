"""Stands in for modules/script_loading.py (A1111 v1.10.1).

load_module() runs a file as a module object of its own, named after the file (e.g.
"facepop.py") and kept out of sys.modules, so nothing can import it by name later.
preload_extensions() calls preload(parser) of each extension's preload.py.
"""

import importlib.util
import os

from modules.errors import report

loaded_scripts = {}


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    loaded_scripts[path] = loaded
    return loaded


def preload_extensions(extensions_dir, parser, extension_list=None):
    present = os.listdir(extensions_dir) if os.path.isdir(extensions_dir) else []
    for name in sorted(present if extension_list is None else extension_list):
        preload = os.path.join(extensions_dir, name, "preload.py")
        if os.path.isfile(preload):
            try:
                getattr(load_module(preload), "preload", lambda parser: None)(parser)
            except Exception:
                report(f"Error running preload() for {preload}", exc_info=True)
