"""Per-face prompts ([SEP]), seeds and sampling overrides of the face pass."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lib_facepop.face_pass import MainJob, build_tasks, face_seeds, split_prompts
from lib_facepop.settings import FacePopSettings


@pytest.mark.parametrize(("text", "count", "expected"), [
    ("", 3, ["main", "main", "main"]),
    ("   ", 2, ["main", "main"]),
    ("smile", 2, ["smile", "smile"]),
    ("a [SEP] b", 3, ["a", "b", "b"]),
    ("a [SEP]  [SEP] c", 3, ["a", "main", "c"]),
    ("a [SEP] b [SEP] c", 2, ["a", "b"]),
    ("a [SEP] b", 0, []),
])
def test_split_prompts(text, count, expected) -> None:
    assert split_prompts(text, count, "main") == expected


def test_face_seeds_per_mode() -> None:
    assert face_seeds("increment", 100, 3) == [100, 101, 102]
    assert face_seeds("increment", 2**32 - 1, 2) == [2**32 - 1, 0]
    assert face_seeds("same", 100, 3) == [100, 100, 100]
    randoms = face_seeds("random", 100, 3, random.Random(1))
    assert randoms == face_seeds("random", 100, 3, random.Random(1))
    assert len(set(randoms)) == 3 and all(0 <= s < 2**32 for s in randoms)
    with pytest.raises(ValueError):
        face_seeds("sometimes", 1, 1)


def test_build_tasks_uses_face_prompts_only_with_separate_processing() -> None:
    images = [np.zeros((8, 8, 3), np.uint8)] * 2
    job = MainJob(prompt="photo of a man", negative_prompt="cartoon", seed=5)
    on = FacePopSettings(separate_face_processing=True, face_prompt="smile [SEP] frown",
                         face_negative_prompt="", face_seed_mode="same")
    tasks = build_tasks(images, on, job)
    assert [(t.index, t.prompt, t.negative_prompt, t.seed) for t in tasks] == [
        (0, "smile", "cartoon", 5), (1, "frown", "cartoon", 5)]
    off = FacePopSettings(face_prompt="smile")
    assert [t.prompt for t in build_tasks(images, off, job)] == ["photo of a man"] * 2


def test_eyes_tasks_take_the_eyes_prompts_and_the_faces_seeds() -> None:
    from lib_facepop.face_pass import build_eyes_tasks, eyes_pass_params
    from lib_facepop.processors import FacePassParams

    faces = build_tasks([np.zeros((8, 8, 3), np.uint8)] * 3, FacePopSettings(
        separate_face_processing=True, face_prompt="anna [SEP] ben [SEP] cleo",
        face_negative_prompt="cartoon"), MainJob(seed=9))
    eyes = [np.ones((4, 8, 3), np.uint8)] * 3
    settings = FacePopSettings(eyes_prompt="[PROMPT], green eyes [SEP]  [SEP] blue eyes",
                               eyes_negative_prompt="")
    tasks = build_eyes_tasks(eyes, faces, settings)
    assert [(t.index, t.seed) for t in tasks] == [(0, 9), (1, 10), (2, 11)]
    assert [t.prompt for t in tasks] == ["anna, green eyes", "ben", "blue eyes"]
    assert [t.negative_prompt for t in tasks] == ["cartoon"] * 3
    assert all(t.image is e for t, e in zip(tasks, eyes, strict=True))
    assert eyes_pass_params(settings) == FacePassParams(
        steps=30, cfg_scale=7.0, denoising_strength=0.3, always_on_scripts=False)
