"""How many faces go into one face pass, and what happens when a pass runs out of memory.

A generation starts at ``--facepop-face-batch`` faces per pass. When a pass runs out of
GPU memory, the batch is halved and tried again, down to one face per pass; the size that
worked stays for the rest of the generation (later images and batches start there) and is
said once in the console. If not even one face fits, every image of the generation gets
plain img2img. The WebUI's progress count follows: a failed try is no job, and each
change of plan adds or removes the passes it changes (docs/design.md section 4).
"""

from __future__ import annotations

import gc
import logging
import math
import re
from collections.abc import Callable
from typing import Any

from lib_facepop.errors import FacePopError

log = logging.getLogger(__name__)

# How backends word it when the exception is a plain RuntimeError: CUDA/HIP/MPS/XPU/NPU
# "... out of memory", the CPU allocator's "not enough memory", DirectML's "not enough GPU
# video memory", the WebUI's split attention "Not enough memory, use lower resolution",
# cuBLAS/cuDNN "..._ALLOC_FAILED".
_OUT_OF_MEMORY = re.compile(r"out of memory|not enough (?:\w+ ){0,3}memory|_ALLOC_FAILED",
                            re.IGNORECASE)
_CHAIN_LIMIT = 8


class FacePassOutOfMemoryError(FacePopError):
    """Not even one face fits in memory: the image gets plain img2img."""


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) says memory ran out.

    torch's OutOfMemoryError is known by its class name, so torch need not be imported.
    """
    current: BaseException | None = error
    for _ in range(_CHAIN_LIMIT):
        if current is None:
            return False
        if isinstance(current, MemoryError) or any(
                cls.__name__ == "OutOfMemoryError" for cls in type(current).__mro__):
            return True
        if isinstance(current, RuntimeError) and _OUT_OF_MEMORY.search(str(current)):
            return True
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    return False


def describe_error(error: BaseException) -> str:
    """The first line of an error, short enough for one console line."""
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def _faces(count: int) -> str:
    return f"{count} face" if count == 1 else f"{count} faces"


class FaceBatching:
    """The most faces one face pass takes, for one generation.

    ``limit`` starts at ``max_faces`` and only ever goes down; 0 means not even one face
    fits. ``state`` is the WebUI's progress (``job_count``): the passes counted for an
    image at the start (``counted_passes``) are corrected as the plan changes, so that
    the count ends equal to the passes that really ran.
    """

    def __init__(self, max_faces: int, state: Any,
                 free_memory: Callable[[], None] | None = None) -> None:
        self.max_faces = max(1, int(max_faces))
        self.limit = self.max_faces
        self.state = state
        self.free_memory = free_memory
        self._failure: tuple[int, str] | None = None  # the last size that failed, and why
        self._announced = self.max_faces

    def counted_passes(self, faces: int) -> int:
        """The passes an image with this many faces is counted for when the job starts."""
        return math.ceil(faces / self.max_faces)

    def passes(self, faces: int) -> int:
        """The passes this many faces take at the current limit."""
        return math.ceil(faces / self.limit) if self.limit else 0

    def begin_image(self, faces: int) -> None:
        """Before the first pass of an image: bring its counted passes to the current plan.

        Raises FacePassOutOfMemoryError when not even one face fits (said once already)."""
        self._add_jobs(self.passes(faces) - self.counted_passes(faces))
        if not self.limit:
            raise FacePassOutOfMemoryError("not even one face fits in memory")

    def batch_size(self, remaining: int) -> int:
        return min(self.limit, remaining)

    def succeeded(self, face_size: tuple[int, int]) -> None:
        """A pass worked: if it ran smaller than before, say so once."""
        if self._failure is None or self.limit >= self._announced:
            return
        self._announced = self.limit
        width, height = face_size
        faces, reason = self._failure
        log.warning("FacePop: the face pass ran out of memory with %s at %dx%d (%s); %s "
                    "per pass from now on in this generation (--facepop-face-batch %d "
                    "avoids the failed try)", _faces(faces), width, height, reason,
                    _faces(self.limit), self.limit)

    def out_of_memory(self, size: int, remaining: int, face_size: tuple[int, int],
                      reason: str) -> None:
        """A pass of ``size`` faces (``remaining`` faces of the image still to do, those
        included) ran out of memory: free what it left, halve the limit, correct the
        progress count. Raises FacePassOutOfMemoryError when ``size`` was one face."""
        before = self.passes(remaining)
        self._failure = (size, reason)
        self.limit = math.ceil(size / 2) if size > 1 else 0
        self._add_jobs(self.passes(remaining) - before)
        gc.collect()  # what the failed pass's frames held, before the host frees its cache
        if self.free_memory is not None:
            self.free_memory()
        if self.limit:
            return
        width, height = face_size
        log.warning("FacePop: not even one face at %dx%d fits in memory for the face "
                    "pass (%s); the images of this generation get plain img2img. A smaller "
                    "face width and height may fit.", width, height, reason)
        raise FacePassOutOfMemoryError(f"one face at {width}x{height} does not fit in memory")

    def _add_jobs(self, count: int) -> None:
        state = self.state
        if count and getattr(state, "job_count", -1) >= 0:
            state.job_count = max(0, state.job_count + count)
