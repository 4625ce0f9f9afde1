"""``facepop schema`` and ``facepop check``: what the settings are, and whether MediaPipe
really detects faces here."""

from __future__ import annotations

import argparse
import json

from lib_facepop.settings import json_schema


def schema_command(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def check_command(args: argparse.Namespace) -> int:
    from lib_facepop.detect.graph_check import check_mediapipe

    print(check_mediapipe())
    return 0
