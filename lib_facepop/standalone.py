"""Assembling a pipeline for standalone use (the CLI), outside the WebUI."""

from __future__ import annotations

import random
from pathlib import Path

from lib_facepop.detect import create_detector
from lib_facepop.face_pass import MAX_SEED, MainJob
from lib_facepop.masks import create_mask_source
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import FaceProcessor, IdentityProcessor
from lib_facepop.processors.stylize import StylizeProcessor
from lib_facepop.processors.webui_client import ServerJob, WebUIServerProcessor
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools


def build_pipeline(
    settings: FacePopSettings,
    *,
    server: str | None = None,
    processor: str = "none",
    prompt: str = "",
    negative_prompt: str = "",
    seed: int = -1,
    timeout: float = 600.0,
    modnet: Path | None = None,
    models_dir: Path | None = None,
    tools: FaceTools | None = None,
) -> tuple[FacePipeline, MainJob]:
    """The pipeline and main job for a standalone run.

    With ``server`` the faces go to a running WebUI; otherwise ``processor`` names a local
    one ("none" returns faces unchanged, "stylize" paints them). ``tools`` are the face
    restorers and upscalers at hand (none by default: restoration is announced once and
    skipped, small faces are enlarged with Lanczos).
    """
    face_processor: FaceProcessor
    if server:
        job = ServerJob(steps=settings.face_steps, cfg_scale=settings.face_cfg_scale,
                        denoising_strength=settings.face_denoising_strength)
        face_processor = WebUIServerProcessor(server, job, timeout=timeout)
    elif processor == "stylize":
        face_processor = StylizeProcessor()
    else:
        face_processor = IdentityProcessor()
    mask_source = create_mask_source(settings, model_file=modnet, models_dir=models_dir)
    pipeline = FacePipeline(create_detector(settings), mask_source, face_processor,
                            tools=tools)
    main_seed = seed if seed >= 0 else random.SystemRandom().randint(0, MAX_SEED)
    return pipeline, MainJob(prompt=prompt, negative_prompt=negative_prompt, seed=main_seed)
