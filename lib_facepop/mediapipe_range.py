"""The mediapipe releases FacePop runs with, and the one its WebUI installer picks.

Standard library only: the installer reads this before the WebUI's packages are
guaranteed to be importable. The table of checked mediapipe/protobuf pairings is in
docs/design.md section 4 (docs/webui.md, Install, for users).
"""

from __future__ import annotations

import re

OLDEST_MEDIAPIPE = "0.10.11"
NEWEST_MEDIAPIPE = "0.10.21"
"""The newest release that still ships the face models FacePop's graphs run."""

MEDIAPIPE_CHOICE = "0.10.14"
"""What FacePop installs when mediapipe is missing, outside the range, or failing: inside
ADetailer's range (0.10.13 to 0.10.15), so neither extension replaces the other's, and it
runs FacePop's graphs under protobuf 3.20 (the WebUI's pin) and 4."""

OLDEST_PROTOBUF = "3.20"
NEWEST_PROTOBUF_MAJOR = 4
"""FacePop's graphs are checked under protobuf 3.20.x and 4.25.x."""


def release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string ("0.10.14" -> (0, 10, 14)); local tags and
    pre-release suffixes are ignored."""
    numbers = []
    for part in version.split("+")[0].split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
    return tuple(numbers)


def mediapipe_in_range(version: str) -> bool:
    return release(OLDEST_MEDIAPIPE) <= release(version) <= release(NEWEST_MEDIAPIPE)


def protobuf_supported(version: str) -> bool:
    return release(OLDEST_PROTOBUF) <= release(version) < (NEWEST_PROTOBUF_MAJOR + 1,)


def supported_text() -> str:
    return (f"mediapipe {OLDEST_MEDIAPIPE} to {NEWEST_MEDIAPIPE} with protobuf 3.20 or "
            f"{NEWEST_PROTOBUF_MAJOR}")
