"""Exceptions that FacePop raises on purpose, each with a message meant for a user."""

from __future__ import annotations


class FacePopError(Exception):
    """Base class of every error FacePop raises deliberately."""


class SettingsError(FacePopError, ValueError):
    """A setting is unknown, of the wrong type or out of range.

    ``field`` names the offending setting so that callers (the HTTP API, the CLI) can point
    at it; the message always names it too.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ImageError(FacePopError, ValueError):
    """An input image can't be read or has a shape FacePop can't work with."""


class DetectorUnavailableError(FacePopError, RuntimeError):
    """MediaPipe can't be imported or can't run a detection in this environment."""
