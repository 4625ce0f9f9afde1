"""What each face's pass gets: prompt, negative prompt, seed and sampling overrides."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lib_facepop.processors.base import FacePassParams, FaceTask
from lib_facepop.settings import FacePopSettings

PROMPT_SEPARATOR = "[SEP]"
FACE_PROMPT_TOKEN = "[PROMPT]"
"""In the eyes prompts: the face's own prompt (or negative prompt)."""
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class MainJob:
    """What the user's own job says, which the face pass inherits unless overridden."""

    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0


def split_prompts(text: str, count: int, fallback: str) -> list[str]:
    """One prompt per face from ``text`` split at [SEP].

    Face i takes part i; faces beyond the last part take the last part; a blank part (or a
    blank text) means ``fallback``, the main prompt.
    """
    if count <= 0:
        return []
    parts = [part.strip() for part in text.split(PROMPT_SEPARATOR)] if text.strip() else [""]
    chosen = [parts[min(i, len(parts) - 1)] for i in range(count)]
    return [part if part else fallback for part in chosen]


def face_seeds(mode: str, image_seed: int, count: int, rng: random.Random | None = None
               ) -> list[int]:
    """Seeds of the faces of one image; see the ``face_seed_mode`` setting."""
    if mode == "increment":
        return [(image_seed + i) % (MAX_SEED + 1) for i in range(count)]
    if mode == "same":
        return [image_seed] * count
    if mode == "random":
        source = rng or random.SystemRandom()
        return [source.randint(0, MAX_SEED) for _ in range(count)]
    raise ValueError(f"unknown face seed mode {mode!r}")


def face_pass_params(settings: FacePopSettings) -> FacePassParams:
    if not settings.separate_face_processing:
        return FacePassParams()
    return FacePassParams(steps=settings.face_steps, cfg_scale=settings.face_cfg_scale,
                          denoising_strength=settings.face_denoising_strength,
                          distilled_cfg_scale=settings.face_distilled_cfg_scale)


def build_tasks(
    images: Sequence[np.ndarray],
    settings: FacePopSettings,
    job: MainJob,
    rng: random.Random | None = None,
) -> list[FaceTask]:
    """The face tasks of one image, in face order."""
    count = len(images)
    if settings.separate_face_processing:
        prompts = split_prompts(settings.face_prompt, count, job.prompt)
        negatives = split_prompts(settings.face_negative_prompt, count, job.negative_prompt)
    else:
        prompts = [job.prompt] * count
        negatives = [job.negative_prompt] * count
    seeds = face_seeds(settings.face_seed_mode, job.seed, count, rng)
    return [FaceTask(index=i, image=image, prompt=prompts[i], negative_prompt=negatives[i],
                     seed=seeds[i]) for i, image in enumerate(images)]


def eyes_pass_params(settings: FacePopSettings) -> FacePassParams:
    """The eyes pass always uses its own steps, CFG and denoising, and no always-on
    scripts (see FacePassParams.always_on_scripts)."""
    return FacePassParams(steps=settings.eyes_steps, cfg_scale=settings.eyes_cfg_scale,
                          denoising_strength=settings.eyes_denoising_strength,
                          always_on_scripts=False)


def build_eyes_tasks(images: Sequence[np.ndarray], face_tasks: Sequence[FaceTask],
                     settings: FacePopSettings) -> list[FaceTask]:
    """The eyes tasks of one image: eyes crop i belongs to ``face_tasks[i]``, whose index
    and seed it keeps. Prompts come from the eyes prompts ([SEP] per face; [PROMPT] and a
    blank part stand for the face's own prompt)."""
    count = len(images)
    prompts = split_prompts(settings.eyes_prompt, count, FACE_PROMPT_TOKEN)
    negatives = split_prompts(settings.eyes_negative_prompt, count, FACE_PROMPT_TOKEN)
    return [FaceTask(index=face.index, image=image,
                     prompt=prompts[i].replace(FACE_PROMPT_TOKEN, face.prompt).strip(" ,"),
                     negative_prompt=negatives[i].replace(FACE_PROMPT_TOKEN,
                                                          face.negative_prompt).strip(" ,"),
                     seed=face.seed)
            for i, (image, face) in enumerate(zip(images, face_tasks, strict=True))]
