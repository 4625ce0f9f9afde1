"""Choosing the mask source, with fallbacks that never cost a generation its image.

Order: MODNet -> MediaPipe selfie segmentation -> landmark ellipse. The setting says where
to start; "auto" starts at MODNet but expects that its model may not be installed. A source
that can't be had (no model file, a corrupt file, MediaPipe broken) is announced once in
the log with the reason, and the next one takes over for good: as a warning where the user
asked for that source (or put a broken model file in place), at info level where "auto"
simply finds no MODNet model. The source that makes the masks is named once, at info
level. Chains are cached per process by (start, model file and its state), so adding a
model file later is picked up by the next job.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path

from lib_facepop.align import AlignedFace
from lib_facepop.detect import mediapipe_runtime
from lib_facepop.masks.base import FaceMask, MaskSource
from lib_facepop.masks.mattes import ModnetMaskSource, SelfieMaskSource
from lib_facepop.masks.region import EllipseMaskSource
from lib_facepop.settings import FacePopSettings

# modnet is imported here, at import time, not inside a function: inside the WebUI the
# extension's folder is on sys.path only while the WebUI imports scripts/facepop.py.
from modnet import ModnetError, load_matting_session, resolve_modnet_model

log = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path("~/.cache/facepop/models")
FALLBACK_ORDER = ("modnet", "selfie", "ellipse")
AUTO = "auto"
MODELS_DIR_ENV = "FACEPOP_MODELS_DIR"

SourceFactory = Callable[[], MaskSource]


class FallbackMaskSource:
    """Tries its sources in order; the first that works makes the mask."""

    def __init__(self, factories: list[tuple[str, SourceFactory]]) -> None:
        self._factories = list(factories)
        self._sources: dict[str, MaskSource] = {}
        self._failed: set[str] = set()
        self._announced = False

    @property
    def name(self) -> str:
        return next((name for name, _ in self._factories if name not in self._failed),
                    "ellipse")

    def make_mask(self, aligned: AlignedFace, settings: FacePopSettings) -> FaceMask:
        for name, factory in self._factories:
            if name in self._failed:
                continue
            try:
                source = self._sources.get(name)
                if source is None:
                    source = self._sources[name] = factory()
                mask = source.make_mask(aligned, settings)
            except Exception as exc:
                if name == self._factories[-1][0]:
                    raise
                self._fail(name, exc)
                continue
            if not self._announced:
                self._announced = True
                log.info("FacePop: face masks from %s", _LABELS.get(name, name))
            return mask
        raise AssertionError("the last mask source never fails over")

    def fail(self, name: str, reason: str, *, expected: bool = False) -> None:
        """Mark a source unusable before it is tried (e.g. its model file is missing).

        ``expected``: the user did not ask for this source, so its absence is only worth
        an info line."""
        self._fail(name, reason, level=logging.INFO if expected else logging.WARNING)

    def _fail(self, name: str, reason: object, level: int = logging.WARNING) -> None:
        self._failed.add(name)
        following = self.name
        log.log(level, "FacePop: %s masks are unavailable (%s); using %s masks instead",
                _LABELS.get(name, name), reason, _LABELS.get(following, following))


_LABELS = {"modnet": "MODNet", "selfie": "selfie-segmentation", "ellipse": "ellipse"}


def default_models_dir() -> Path:
    """Standalone models folder: $FACEPOP_MODELS_DIR, else ~/.cache/facepop/models."""
    return Path(os.environ.get(MODELS_DIR_ENV) or DEFAULT_MODELS_DIR).expanduser()


def create_mask_source(settings: FacePopSettings, model_file: Path | None = None,
                       models_dir: Path | str | None = None) -> MaskSource:
    """The mask source for these settings, with its fallbacks.

    ``model_file`` names a MODNet file directly; else one is looked for in ``models_dir``
    (default: ``default_models_dir()``).
    """
    start = settings.mask_source
    if start not in (AUTO, "modnet"):
        return _chain(start, None, None)
    location = Path(model_file) if model_file is not None else Path(
        models_dir if models_dir is not None else default_models_dir())
    return _chain(start, str(location.expanduser()), _state_of(location))


def _state_of(location: Path) -> tuple:
    """What makes a cached chain stale: the location's files and their times."""
    try:
        if location.is_dir():
            return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in location.iterdir()
                                if "modnet" in p.name.lower()))
        return (location.stat().st_mtime_ns,)
    except OSError:
        return ()


@functools.lru_cache(maxsize=8)
def _chain(start: str, modnet_location: str | None, _state: tuple | None
           ) -> FallbackMaskSource:
    order = FALLBACK_ORDER[FALLBACK_ORDER.index("modnet" if start == AUTO else start):]
    factories: list[tuple[str, SourceFactory]] = []
    missing_model: str | None = None
    absent = False
    for name in order:
        if name == "modnet":
            # create_mask_source always gives a location when the chain starts at modnet.
            model, missing_model, absent = _modnet_model(Path(modnet_location or ""))
            factories.append((name, functools.partial(_modnet_source, model)))
        elif name == "selfie":
            factories.append((name, _selfie_source))
        else:
            factories.append((name, EllipseMaskSource))
    chain = FallbackMaskSource(factories)
    if missing_model:
        # "auto" expects that MODNet may not be installed; a broken file is always news.
        chain.fail("modnet", missing_model, expected=start == AUTO and absent)
    return chain


def _modnet_model(location: Path) -> tuple[Path | None, str | None, bool]:
    """(the MODNet model file to use, None, False) or (None, why there is none, whether
    simply no model file is there)."""
    try:
        model = resolve_modnet_model(location)
    except ModnetError as exc:
        return None, str(exc), False
    if model is None:
        return None, (f"no MODNet model file in {location}; put "
                      f"modnet_photographic_portrait_matting.onnx or the official .ckpt "
                      f"there"), True
    return model, None, False


def _modnet_source(model: Path | None) -> MaskSource:
    if model is None:
        raise FileNotFoundError("no MODNet model file")
    return ModnetMaskSource(load_matting_session(model))


def _selfie_source() -> MaskSource:
    mediapipe_runtime.selfie_segmentation()
    return SelfieMaskSource()


def forget_mask_sources() -> None:
    """Drop the cached chains (and what they learnt about failing sources)."""
    _chain.cache_clear()
