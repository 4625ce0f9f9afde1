"""Out of GPU memory in the face pass (the A1111 v1.10.1 test double): the batch of faces is
halved and retried down to one face per pass, the size that worked is kept for the rest
of the generation, and a face that does not fit alone leaves its image to plain img2img.

The double's sampler needs batch_size * width * height "pixels" of memory out of what
``limit_sampler_memory`` gives it (the main pass included), and raises torch's
OutOfMemoryError, as the host lets it leave process_images, when that is more than what
is free. Four astronauts (256 px tiles, 2x2) make a 512x512 main pass; their faces are
processed at 512x512 each, so the budget in faces is easy to set.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib_facepop.webui.face_batch import is_out_of_memory
from tests.facepop_webui import ROOT, passes, pixel
from tests.facepop_webui import colour as _colour
from tests.facepop_webui import generate as _generate
from tests.helpers import write_extension
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

TILE = 256
FACE = 512 * 512  # the memory one face needs in the double's sampler
MAIN = 512 * 512  # and the main pass (one 512x512 image)
# The astronaut's face centre in a 256 px tile (see test_detect.py for the 512 px photo).
CENTRES = [(112 + x, 62 + y) for y in (0, TILE) for x in (0, TILE)]
BACKGROUND = (20, 245)  # bottom-left of the first tile: her suit
SETTINGS = {"enabled": True, "face_width": 512, "face_height": 512,
            "face_order": "left_to_right", "mask_source": "ellipse",
            "face_pass_scripts": "progress", "colour_match": False}


@pytest.fixture(scope="module")
def four_faces(astronaut) -> Image.Image:
    tile = np.asarray(Image.fromarray(astronaut).resize((TILE, TILE), Image.LANCZOS))
    return Image.fromarray(np.vstack([np.hstack([tile, tile])] * 2))


def _progress_recorder(tmp_path: Path) -> Path:
    """An always-on script (allowed in the face pass) that writes (job_no, job_count) after
    every batch of every pass, main and nested."""
    target = tmp_path / "progress.jsonl"
    return write_extension(tmp_path, "progress", f"""
        import json

        from modules import scripts, shared


        class Progress(scripts.Script):
            def title(self):
                return "Progress"

            def show(self, is_img2img):
                return scripts.AlwaysVisible

            def postprocess_batch(self, p, *args, **kwargs):
                state = shared.state
                with open({str(target)!r}, "a") as f:
                    f.write(json.dumps([state.job_no, state.job_count]) + "\\n")
    """)


def _progress(tmp_path: Path) -> list[list[int]]:
    lines = (tmp_path / "progress.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _run(webui, image, tmp_path, *, memory: int, settings=None, error=None, **kwargs):
    webui.load_extension(ROOT)
    webui.load_extension(_progress_recorder(tmp_path))
    if webui.forge and error is None:
        # Forge's attention catches an OOM and slices (the double: half the memory), so the
        # same batches fail there with half as much (docs/design.md section 4a).
        memory //= 2
    webui.processing.limit_sampler_memory(memory, error=error)
    return _generate(webui, image, settings=dict(SETTINGS, **(settings or {})), **kwargs)


def _outputs(images, count: int) -> list[Image.Image]:
    return [im for im in images if im.size == (2 * TILE, 2 * TILE)][-count:]


def _face_colours(webui, image_seed: int) -> set[tuple[int, int, int]]:
    return {_colour(webui, image_seed + i, "photo") for i in range(4)}


def _memory_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("lib_facepop") and "memory" in r.getMessage()]


def _assert_progress_consistent(tmp_path: Path, *, expected_total: int) -> None:
    progress = _progress(tmp_path)
    assert all(0 < done <= total for done, total in progress), progress
    assert progress[-1] == [expected_total, expected_total]


def test_out_of_memory_halves_the_batch_and_keeps_the_size_that_worked(
        webui, four_faces, tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO):
        images = _run(webui, four_faces, tmp_path, memory=2 * FACE + FACE // 2, n_iter=2)

    main, nested = passes(webui)
    assert [(e["batch_size"], e["error"] is not None) for e in nested] == [
        (4, True), (2, False), (2, False),  # batch 1: 4 fails, then halves
        (2, False), (2, False)]  # batch 2 starts at the size that worked
    assert "out of memory" in nested[0]["error"]
    assert main[0]["error"] is None and len(main[0]["batches"]) == 2
    for output, image_seed in zip(_outputs(images, 2), main[0]["seeds"], strict=True):
        faces = {pixel(output, centre) for centre in CENTRES}
        assert faces == _face_colours(webui, image_seed)  # every face, each its own pass
        assert pixel(output, BACKGROUND) == _colour(webui, image_seed, "photo")
    (message,) = _memory_messages(caplog)
    assert "4 faces" in message and "2 faces per pass" in message
    assert not [r for r in caplog.records if "FacePop failed" in r.getMessage()]
    # 2 main batches and 4 face passes that worked; the failed attempt is no job.
    _assert_progress_consistent(tmp_path, expected_total=2 + 4)
    assert webui.reports == []


@pytest.mark.parametrize(("faces", "fit", "expected"), [
    (3, 2, [(3, True), (2, False), (1, False)]),
    (5, 3, [(5, True), (3, False), (2, False)]),
])
def test_out_of_memory_halves_an_odd_batch_rounding_up(webui, astronaut, tmp_path, faces,
                                                       fit, expected) -> None:
    """Halving 3 faces gives passes of 2 and 1 (rounding down would make 1, 1, 1); 5 give
    3 and 2 (down: 2, 2, 1)."""
    tile = np.asarray(Image.fromarray(astronaut).resize((TILE, TILE), Image.LANCZOS))
    row = Image.fromarray(np.hstack([tile] * faces))
    (image,) = _run(webui, row, tmp_path, memory=fit * FACE + FACE // 2,
                    settings={"max_faces": faces})
    main, nested = passes(webui)
    assert [(e["batch_size"], e["error"] is not None) for e in nested] == expected
    centres = [(112 + i * TILE, 62) for i in range(faces)]
    seed = main[0]["seeds"][0]
    assert {pixel(image, c) for c in centres} == {_colour(webui, seed + i, "photo")
                                                  for i in range(faces)}
    _assert_progress_consistent(tmp_path, expected_total=1 + len(expected) - 1)


def test_out_of_memory_goes_down_to_one_face_per_pass(webui, four_faces, tmp_path,
                                                      caplog) -> None:
    with caplog.at_level(logging.INFO):
        (image,) = _run(webui, four_faces, tmp_path, memory=FACE + FACE // 2)

    main, nested = passes(webui)
    assert [(e["batch_size"], e["error"] is not None) for e in nested] == [
        (4, True), (2, True), (1, False), (1, False), (1, False), (1, False)]
    assert {pixel(image, c) for c in CENTRES} == _face_colours(webui, main[0]["seeds"][0])
    (message,) = _memory_messages(caplog)
    assert "1 face per pass" in message
    _assert_progress_consistent(tmp_path, expected_total=1 + 4)


def test_memory_is_freed_between_the_failed_pass_and_its_retry(webui, four_faces, tmp_path,
                                                               monkeypatch) -> None:
    log = webui.process_images_log
    after_failure = []

    def torch_gc() -> None:  # the host's devices.torch_gc, recording when it runs
        after_failure.append(bool(log) and log[-1]["error"] is not None)

    monkeypatch.setattr(webui.devices, "torch_gc", torch_gc)
    _run(webui, four_faces, tmp_path, memory=2 * FACE + FACE // 2)
    # The host calls it at the start of every process_images; FacePop once more after the
    # failed pass, before it retries.
    assert after_failure.count(True) == 1


@pytest.mark.parametrize("message", [
    "DefaultCPUAllocator: not enough memory: you tried to allocate 1073741824 bytes.",
    "Could not allocate tensor with 471859200 bytes. There is not enough GPU video memory "
    "available!",
])
def test_other_backends_out_of_memory_is_retried_too(webui, four_faces, tmp_path,
                                                     message) -> None:
    (image,) = _run(webui, four_faces, tmp_path, memory=2 * FACE + FACE // 2,
                    error=lambda _: RuntimeError(message))
    main, nested = passes(webui)
    assert [e["batch_size"] for e in nested] == [4, 2, 2]
    assert nested[0]["error"] == f"RuntimeError: {message}"
    assert {pixel(image, c) for c in CENTRES} == _face_colours(webui, main[0]["seeds"][0])


def test_a_single_face_out_of_memory_gives_plain_img2img(webui, four_faces, tmp_path,
                                                         caplog) -> None:
    # > MAIN (Forge: its sliced attention needs half of it, so more than twice MAIN)
    face = 1200 if webui.forge else 600
    with caplog.at_level(logging.INFO):
        images = _run(webui, four_faces, tmp_path, memory=MAIN, n_iter=2,
                      denoising_strength=0.5,
                      settings={"face_width": face, "face_height": face})

    main, nested = passes(webui)
    # Batch 1: 4, 2 and 1 face fail; batch 2 does not try again.
    assert [(e["batch_size"], e["error"] is not None) for e in nested] == [
        (4, True), (2, True), (1, True)]
    assert not main[0]["image_mask_given"] and main[0]["error"] is None
    source = np.asarray(four_faces, dtype=float)
    for output, seed in zip(_outputs(images, 2), main[0]["seeds"], strict=True):
        colour = np.asarray(_colour(webui, seed, "photo"), dtype=float)
        for x, y in [*CENTRES, BACKGROUND]:  # plain img2img of the original image
            expected = tuple(int(v) for v in np.floor(source[y, x] * 0.5 + colour * 0.5 + 0.5))
            assert pixel(output, (x, y)) == expected
    (message,) = _memory_messages(caplog)
    assert f"{face}x{face}" in message and "plain img2img" in message
    assert not [r for r in caplog.records if "FacePop failed" in r.getMessage()]
    _assert_progress_consistent(tmp_path, expected_total=2)
    assert webui.reports == []


def test_a_failure_that_is_not_out_of_memory_is_not_retried(webui, four_faces, tmp_path,
                                                            caplog) -> None:
    with caplog.at_level(logging.ERROR):
        _run(webui, four_faces, tmp_path, memory=2 * FACE + FACE // 2,
             error=lambda _: RuntimeError("cuDNN error: CUDNN_STATUS_EXECUTION_FAILED"))
    main, nested = passes(webui)
    assert [e["batch_size"] for e in nested] == [4]
    assert not main[0]["image_mask_given"]
    failures = [r for r in caplog.records if "FacePop failed" in r.getMessage()]
    assert len(failures) == 1 and "CUDNN_STATUS_EXECUTION_FAILED" in caplog.text


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def _torch_out_of_memory() -> BaseException:
    torch = pytest.importorskip("torch")
    return torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.")


@pytest.mark.parametrize("error", [
    _torch_out_of_memory,
    lambda: RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be reported "
                         "asynchronously"),
    lambda: RuntimeError("MPS backend out of memory (MPS allocated: 17.00 GB, other "
                         "allocations: 1.20 GB, max allowed: 18.13 GB)."),
    lambda: RuntimeError("XPU out of memory. Tried to allocate 1.00 GiB"),
    lambda: RuntimeError("[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not "
                         "enough memory: you tried to allocate 4294967296 bytes."),
    lambda: RuntimeError("Could not allocate tensor with 471859200 bytes. There is not "
                         "enough GPU video memory available!"),
    lambda: RuntimeError("Not enough memory, use lower resolution (max approx. 1024x1024). "
                         "Need: 0.9GB free, Have:0.5GB free"),
    lambda: RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling "
                         "`cublasCreate(handle)`"),
    lambda: MemoryError(),
    lambda: _chained(RuntimeError("sampling failed"), RuntimeError("HIP out of memory.")),
])
def test_out_of_memory_is_recognised(error) -> None:
    assert is_out_of_memory(error())


@pytest.mark.parametrize("error", [
    RuntimeError("cuDNN error: CUDNN_STATUS_EXECUTION_FAILED"),
    RuntimeError("The size of tensor a (4) must match the size of tensor b (2)"),
    ValueError("out of memory"),  # not an error a backend raises for memory
    KeyError("memory"),
])
def test_other_errors_are_not_out_of_memory(error) -> None:
    assert not is_out_of_memory(error)
