"""Stands in for modules/cmd_args.py (A1111 v1.10.1): the argparse `parser` that
launch_utils and shared_cmd_options parse and extensions' preload(parser) extend.

Only flags the double reads are declared (host spelling and defaults), plus common
GPU/optimisation switches, accepted and ignored. A flag the host doesn't know makes
shared_cmd_options exit, as the host's parser does.
"""

import argparse
import os

from modules.paths_internal import data_path

parser = argparse.ArgumentParser()

_SWITCHES = (
    # read by the double
    "skip-install", "api", "nowebui", "no-prompt-history", "hide-ui-dir-config",
    "disable-all-extensions", "disable-extra-extensions", "use-textbox-seed",
    "enable-console-prompts", "share", "listen", "enable-insecure-extension-access",
    "unix-filenames-sanitization", "freeze-settings",
    # accepted, without effect here
    "skip-torch-cuda-test", "skip-python-version-check", "skip-prepare-environment",
    "skip-version-check", "skip-load-model-at-start", "xformers", "no-half", "no-half-vae",
    "medvram", "medvram-sdxl", "lowvram", "upcast-sampling", "api-log", "no-hashing",
)
for _switch in _SWITCHES:
    parser.add_argument(f"--{_switch}", action="store_true")
for _name, _type, _default in (
        ("ui-settings-file", str, os.path.join(data_path, "config.json")),
        ("api-auth", str, None), ("ngrok", str, None), ("server-name", str, None),
        ("port", int, None), ("filenames-max-length", int, 128), ("loglevel", str, None)):
    parser.add_argument(f"--{_name}", type=_type, default=_default)
