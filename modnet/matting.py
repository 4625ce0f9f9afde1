"""Portrait matting with a MODNet ONNX model on ONNX Runtime (numpy + OpenCV; no torch).

Use :func:`load_matting_session` to get one cached session per model file, then
``session.predict(rgb)`` for an H x W x 3 uint8 RGB image -> H x W float32 matte in [0, 1].
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modnet.errors import ModnetDependencyError, ModnetInputError, ModnetModelError
from modnet.preprocess import (
    REFERENCE_SHORT_SIDE,
    SIZE_MULTIPLE,
    check_rgb_image,
    matte_to_image_size,
    network_input_size,
    to_network_input,
)
from modnet.signature import ModnetSignature, SignatureError, check_modnet_signature

logger = logging.getLogger(__name__)

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
#: Most images :meth:`MattingSession.predict_batch` runs at once on a GPU. On the CPU it runs
#: one at a time: batching gains nothing there, and peak memory grows with the batch.
MAX_GPU_BATCH = 8
_SESSION_CACHE_SIZE = 2
_ORT_LOG_ERRORS_ONLY = 3


def choose_providers(available: Sequence[str]) -> list[str]:
    """ONNX Runtime providers to ask for: CUDA first when available, CPU always."""
    if CUDA_PROVIDER in available:
        return [CUDA_PROVIDER, CPU_PROVIDER]
    return [CPU_PROVIDER]


def provider_settings(providers: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
    """Providers with their options. CUDA grows its memory arena only by what a run needs
    (by default it doubles), to leave the GPU memory to Stable Diffusion."""
    return [
        (name, {"arena_extend_strategy": "kSameAsRequested"} if name == CUDA_PROVIDER else {})
        for name in providers
    ]


class MattingSession:
    """A MODNet ONNX model loaded into ONNX Runtime.

    ``providers`` defaults to :func:`choose_providers` over what onnxruntime reports.
    Raises :class:`ModnetModelError` naming the file when it is missing, not a valid ONNX
    model, or not MODNet-like (one float input N x 3 x H x W, a float output N x 1 x H x W),
    and :class:`ModnetDependencyError` when onnxruntime is not installed.
    """

    def __init__(
        self, model_path: str | os.PathLike[str], *, providers: Sequence[str] | None = None
    ) -> None:
        self.model_path = Path(model_path)
        ort = _import_onnxruntime()
        if not self.model_path.is_file():
            raise ModnetModelError(self.model_path, "ONNX model file not found")
        requested = (
            list(providers)
            if providers is not None
            else choose_providers(ort.get_available_providers())
        )
        options = ort.SessionOptions()
        options.log_severity_level = _ORT_LOG_ERRORS_ONLY
        # Without the CPU arena, the memory of a run is given back after it instead of being
        # kept for the life of the session (about 140 MB at 512 px); the cost is small.
        options.enable_cpu_mem_arena = False
        try:
            self._session = ort.InferenceSession(
                str(self.model_path),
                sess_options=options,
                providers=provider_settings(requested),
            )
        except Exception as exc:  # onnxruntime raises its own types (InvalidProtobuf, Fail...)
            raise ModnetModelError(
                self.model_path, f"not a valid ONNX model: {_one_line(exc)}"
            ) from exc
        try:
            self.signature: ModnetSignature = check_modnet_signature(
                self._session.get_inputs(), self._session.get_outputs()
            )
        except SignatureError as exc:
            raise ModnetModelError(self.model_path, f"not a MODNet model: {exc}") from exc
        self.provider: str = self._session.get_providers()[0]
        self.max_batch: int = self.signature.fixed_batch or (
            1 if self.provider == CPU_PROVIDER else MAX_GPU_BATCH
        )
        logger.info("MODNet matting runs on %s (%s)", self.provider, self.model_path)

    def predict(self, rgb: np.ndarray, *, short_side: int = REFERENCE_SHORT_SIDE) -> np.ndarray:
        """Alpha matte of an RGB uint8 image (H, W, 3): float32 (H, W) in [0, 1].

        The network runs with the image's short side scaled to about ``short_side`` pixels
        (512, MODNet's training size, by default; smaller is faster and coarser), both sides
        multiples of 32; the matte is resized back to H x W.
        Raises :class:`ModnetInputError` for anything but an H x W x 3 uint8 array with sides
        of 8 to 16384 pixels.
        """
        return self.predict_batch([rgb], short_side=short_side)[0]

    def predict_batch(
        self, images: Sequence[np.ndarray], *, short_side: int = REFERENCE_SHORT_SIDE
    ) -> list[np.ndarray]:
        """Mattes of several RGB uint8 images, in order, as :meth:`predict` makes them; images
        that run at the same network size share a batch of up to :attr:`max_batch` images
        (1 on the CPU, :data:`MAX_GPU_BATCH` on a GPU, or a model's fixed batch size)."""
        if short_side < SIZE_MULTIPLE:
            raise ModnetInputError(f"short_side must be at least {SIZE_MULTIPLE}, got {short_side}")
        checked = [check_rgb_image(image) for image in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, image in enumerate(checked):
            groups.setdefault(self._network_size(image, short_side), []).append(index)
        mattes: dict[int, np.ndarray] = {}
        for size, indices in groups.items():
            for start in range(0, len(indices), self.max_batch):
                chunk = indices[start : start + self.max_batch]
                batch = np.stack([to_network_input(checked[i], size) for i in chunk])
                for index, matte in zip(chunk, self._run(batch), strict=True):
                    mattes[index] = matte_to_image_size(matte[0], checked[index].shape[:2])
        return [mattes[index] for index in range(len(checked))]

    def _network_size(self, image: np.ndarray, short_side: int) -> tuple[int, int]:
        if self.signature.fixed_size is not None:
            return self.signature.fixed_size
        return network_input_size(image.shape[0], image.shape[1], short_side=short_side)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        count = batch.shape[0]
        fixed_batch = self.signature.fixed_batch
        if fixed_batch is not None and count < fixed_batch:  # pad a model's fixed batch
            padding = np.zeros((fixed_batch - count, *batch.shape[1:]), dtype=batch.dtype)
            batch = np.concatenate([batch, padding])
        try:
            (matte,) = self._session.run(
                [self.signature.output_name], {self.signature.input_name: batch}
            )
        except Exception as exc:  # onnxruntime's runtime errors, e.g. a broken graph
            raise ModnetModelError(self.model_path, f"inference failed: {_one_line(exc)}") from exc
        expected = (batch.shape[0], 1, batch.shape[2], batch.shape[3])
        if matte.shape != expected:
            raise ModnetModelError(
                self.model_path,
                f"not a MODNet model: output of shape {matte.shape} for an input of shape "
                f"{batch.shape} (expected {expected})",
            )
        return matte[:count]


def load_matting_session(model_path: str | os.PathLike[str]) -> MattingSession:
    """The :class:`MattingSession` of a model file, created once per process and reused.

    The cache key is the resolved path with the file's modification time and size, so a
    replaced file gets a new session. Raises like :class:`MattingSession`.
    """
    resolved = Path(model_path).resolve()
    try:
        stat = resolved.stat()
    except FileNotFoundError:
        raise ModnetModelError(resolved, "ONNX model file not found") from None
    return _cached_session(str(resolved), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=_SESSION_CACHE_SIZE)
def _cached_session(resolved_path: str, mtime_ns: int, size: int) -> MattingSession:
    del mtime_ns, size  # part of the cache key only
    return MattingSession(resolved_path)


def clear_session_cache() -> None:
    """Forget the cached sessions (their memory is freed once no caller holds them)."""
    _cached_session.cache_clear()


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModnetDependencyError(
            "MODNet matting needs onnxruntime: pip install onnxruntime "
            "(or onnxruntime-gpu for CUDA)"
        ) from exc
    return onnxruntime


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
