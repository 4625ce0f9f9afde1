"""MODNet portrait matting for FacePop: architecture, checkpoint -> ONNX export, ONNX inference.

Inference needs only onnxruntime, numpy and OpenCV; importing this package never imports torch.
Typical use::

    from modnet import ModnetError, load_matting_session, resolve_modnet_model

    model_path = resolve_modnet_model(models_dir)      # None when no MODNet file is there
    if model_path is not None:
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
from modnet.model_files import (
    DEFAULT_CHECKPOINT_NAME,
    DEFAULT_ONNX_NAME,
    converted_onnx_path,
    ensure_onnx_for_checkpoint,
    resolve_modnet_model,
)

__all__ = [
    "DEFAULT_CHECKPOINT_NAME",
    "DEFAULT_ONNX_NAME",
    "MattingSession",
    "ModnetDependencyError",
    "ModnetError",
    "ModnetInputError",
    "ModnetModelError",
    "choose_providers",
    "clear_session_cache",
    "converted_onnx_path",
    "ensure_onnx_for_checkpoint",
    "load_matting_session",
    "resolve_modnet_model",
]
