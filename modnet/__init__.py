"""MODNet portrait matting for FacePop: architecture, checkpoint -> ONNX export, ONNX inference.

Inference needs only onnxruntime, numpy and OpenCV; importing this package never imports torch.
Typical use::

    from modnet import ModnetError, load_matting_session

    try:
        matte = load_matting_session(model_path).predict(rgb_uint8)  # H x W float32
    except ModnetError:
        ...  # fall back to another mask source

The torch-based parts live in ``modnet.architecture``, ``modnet.checkpoint`` and
``modnet.export`` (also a command line: ``python -m modnet.export --help``).
"""

from modnet.errors import (
    ModnetDependencyError,
    ModnetError,
    ModnetInputError,
    ModnetModelError,
)
from modnet.matting import (
    MattingSession,
    choose_providers,
    clear_session_cache,
    load_matting_session,
)

__all__ = [
    "MattingSession",
    "ModnetDependencyError",
    "ModnetError",
    "ModnetInputError",
    "ModnetModelError",
    "choose_providers",
    "clear_session_cache",
    "load_matting_session",
]
