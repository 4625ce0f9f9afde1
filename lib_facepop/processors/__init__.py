"""Face processors: what turns aligned faces into new faces (identity, stylize, shift; the
WebUI's pass lives in webui/, a WebUI server's in api_client/face_pass.py)."""

from lib_facepop.processors.base import FacePassParams, FaceProcessor, FaceTask, IdentityProcessor

__all__ = ["FacePassParams", "FaceProcessor", "FaceTask", "IdentityProcessor"]
