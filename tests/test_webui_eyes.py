"""The eyes pass inside the WebUI (the A1111 v1.10.1 test double): a second nested job per
image, with the eyes' own size, prompts and sampling, and no always-on scripts."""

from __future__ import annotations

import numpy as np
from PIL import Image

from lib_facepop.detect import DetectionOptions, SinglePassDetector
from lib_facepop.settings import FacePopSettings
from tests.facepop_webui import (
    FACE_SETTINGS,
    ROOT,
    face_pass_scripts,
    facepop_args,
    passes,
    pixel,
    probe_extension,
    progress_recorder,
    recorded_progress,
)
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

EYES = dict(FACE_SETTINGS, eyes_pass=True, eyes_prompt="clear iris", eyes_steps=9,
            eyes_cfg_scale=4.0, eyes_denoising_strength=1.0, face_pass_scripts="probe")


def test_eyes_pass_is_a_second_nested_job_with_its_own_params(webui, astronaut, tmp_path
                                                              ) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action=None))
    (image, *_), *_ = webui.run_img2img(
        Image.fromarray(astronaut), script_args=facepop_args(webui, **EYES), prompt="photo",
        denoising_strength=1.0, width=512, height=512)
    main, nested = passes(webui)
    assert len(main) == 1 and len(nested) == 2
    face_pass, eyes_pass = nested
    seed = main[0]["seeds"][0]
    assert (face_pass["width"], face_pass["height"]) == (256, 256)
    assert face_pass["alwayson_scripts"] == face_pass_scripts(webui, "Probe")
    assert (eyes_pass["width"], eyes_pass["height"]) == (512, 256)
    assert (eyes_pass["steps"], eyes_pass["cfg_scale"], eyes_pass["denoising_strength"]) == (
        9, 4.0, 1.0)
    assert eyes_pass["prompts"] == ["clear iris"] and eyes_pass["seeds"] == [seed]
    # no IP-Adapter face painted into the eyes; only the WebUI's Comments script
    assert eyes_pass["alwayson_scripts"] == face_pass_scripts(webui)

    # The eyes in the result are the eyes pass's; the rest of the face the face pass's.
    (face,) = SinglePassDetector().detect(astronaut, DetectionOptions.from_settings(
        FacePopSettings()))
    eyes_colour = tuple(webui.processing.expected_colour(seed, "clear iris"))
    face_colour = tuple(webui.processing.expected_colour(seed, "photo"))
    for iris in (468, 473):
        x, y = face.mesh[iris]
        assert pixel(image, (int(x), int(y))) == eyes_colour
    mouth = face.landmarks["mouth"]
    assert pixel(image, (int(mouth[0]), int(mouth[1]))) == face_colour
    assert np.asarray(image).shape == astronaut.shape


def test_the_progress_count_includes_the_eyes_passes(webui, three_faces, tmp_path) -> None:
    webui.set_commandline_args("--facepop-face-batch 2")
    webui.load_extension(ROOT)
    recorder, recorded = progress_recorder(tmp_path, "counter")
    webui.load_extension(recorder)
    settings = dict(EYES, face_pass_scripts="counter")
    webui.run_img2img(three_faces, script_args=facepop_args(webui, **settings), prompt="photo",
                      denoising_strength=1.0, width=1536, height=512, n_iter=2)
    _, nested = passes(webui)
    # per batch: 3 faces in passes of 2 and 1, then their eyes in passes of 2 and 1
    assert [(entry["width"], entry["batch_size"]) for entry in nested] == [
        (256, 2), (256, 1), (512, 2), (512, 1)] * 2
    counts = recorded_progress(recorded)
    # from the first face pass on, the count holds both batches, their face and eyes passes
    assert counts[0] == [1, 2 + 8]
    assert counts[-1] == [2 + 8, 2 + 8]  # (the user's job, at its end: all of them ran)
