"""Stands in for modules/paths_internal.py (A1111 v1.10.1): where the WebUI keeps things.

script_path is the double's root (tests/webui_double). data_path is $WEBUI_DOUBLE_DATA_DIR
(the fixture points it at a tmp_path folder) or a new temporary folder, never the
repository; models_path is $WEBUI_DOUBLE_MODELS_DIR or <data_path>/models. Unlike the
host, sys.argv is left alone (pytest owns it): launch_utils and shared_cmd_options read
$COMMANDLINE_ARGS themselves. Forge flavour: extensions_builtin_dir is
tests/webui_double/forge/extensions-builtin (Forge's built-in extensions' stand-ins).
"""

import os
import tempfile
from pathlib import Path


def normalized_filepath(filepath):
    return str(Path(filepath).absolute())


cwd = os.getcwd()
modules_path, script_path = (str(folder) for folder in Path(__file__).resolve().parents[:2])
data_path = os.environ.get("WEBUI_DOUBLE_DATA_DIR") or tempfile.mkdtemp(prefix="webui-double-")
os.makedirs(data_path, exist_ok=True)
models_path = os.environ.get("WEBUI_DOUBLE_MODELS_DIR") or os.path.join(data_path, "models")
extensions_dir, default_output_dir = (os.path.join(data_path, x) for x in ("extensions", "outputs"))
# A1111: absent in the double. Forge: the stand-ins of Forge's built-in extensions.
from modules.double_flavour import FORGE  # noqa: E402

extensions_builtin_dir = os.path.join(script_path, "forge" if FORGE else "", "extensions-builtin")
