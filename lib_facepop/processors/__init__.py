"""Face processors: the WebUI pass, an HTTP client of a WebUI server, identity."""

from lib_facepop.processors.base import FacePassParams, FaceProcessor, FaceTask, IdentityProcessor

__all__ = ["FacePassParams", "FaceProcessor", "FaceTask", "IdentityProcessor"]
