"""The extension's other parts in the WebUI double: installer, flags, API over HTTP, and
a host whose panel can't be built."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import runpy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib_facepop import mediapipe_check
from lib_facepop.mediapipe_check import CheckOutcome, MediapipeCheck
from lib_facepop.settings import FacePopSettings
from tests.helpers import post_json, serving
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

ROOT = Path(__file__).resolve().parents[1]
A1111_HOST = {"torch": "2.1.2+cu121", "numpy": "1.26.2", "protobuf": "3.20.0",
              "gradio": "3.41.2", "opencv-python": "4.8.0.76", "pillow": "9.5.0"}
COMPLETE = dict(A1111_HOST, mediapipe="0.10.11", onnx="1.16.2", onnxruntime="1.23.2",
                matplotlib="3.8", attrs="23", flatbuffers="24", **{"absl-py": "2"})
PASSING = MediapipeCheck(CheckOutcome.PASSED, "MediaPipe 0.10.14 with protobuf 3.20.0: face "
                                              "detection, face mesh, face landmarks and "
                                              "selfie segmentation work")


def _run_installer(webui, monkeypatch, installed: dict[str, str],
                   check: MediapipeCheck = PASSING) -> list[dict]:
    """install.py as the host runs it, against a host with these distributions, where
    FacePop's MediaPipe check (in a new Python, for real) would answer ``check``."""
    def version(name: str) -> str:
        if name in installed:
            return installed[name]
        raise importlib.metadata.PackageNotFoundError(name)

    launch_utils = webui.module("modules.launch_utils")
    launch_utils.run_pip_calls.clear()
    constraints = []
    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(mediapipe_check, "run_check", lambda *args, **kwargs: check)
    original_run = launch_utils.run

    def run(command, *args, **kwargs):
        if " -c " in command:  # read the constraints file while it exists
            path = command.split(' -c "', 1)[1].split('"', 1)[0]
            constraints.append(Path(path).read_text())
        return original_run(command, *args, **kwargs)

    monkeypatch.setattr(launch_utils, "run", run)
    runpy.run_path(str(ROOT / "install.py"), run_name="__main__")
    return [dict(call, constraints=text) for call, text in
            zip(launch_utils.run_pip_calls, constraints, strict=True)]


def _commands(calls: list[dict]) -> list[str]:
    return [call["command"].split(" -c ")[0] for call in calls]


def test_installer_installs_whats_missing_pinned_and_holds_the_host(webui, monkeypatch, capsys):
    calls = _run_installer(webui, monkeypatch, A1111_HOST)
    assert _commands(calls) == [
        "install --no-deps mediapipe==0.10.14",
        "install absl-py attrs>=19.1.0 flatbuffers>=2.0 matplotlib",
        "install --no-deps onnx==1.16.2",
        # torch 2.1's CUDA build brings cuDNN 8, which the GPU build can't load
        "install onnxruntime==1.23.2",
    ]
    for call in calls:
        assert "torch==2.1.2+cu121" in call["constraints"]
        assert "numpy==1.26.2" in call["constraints"]
        assert "protobuf==3.20.0" in call["constraints"]
        assert "opencv-python==4.8.0.76" in call["constraints"]
    # after installing mediapipe, the check runs again and its answer is shown
    assert f"FacePop: {PASSING.message}" in capsys.readouterr().out


@pytest.mark.webui_flavours("forge")
def test_installer_in_a_forge_venv_after_its_first_launch(webui, monkeypatch):
    """Forge's first launch put the newest mediapipe and the CPU onnxruntime there; with a
    torch whose CUDA build brings cuDNN 9 the GPU build replaces the CPU one (docs/forge.md)."""
    forge = dict(COMPLETE, torch="2.4.1+cu124", gradio="4.40.0", pydantic="2.8.2",
                 fastapi="0.104.1", mediapipe="1.2.3", onnxruntime="1.20.1")
    calls = _run_installer(webui, monkeypatch, forge)
    assert _commands(calls) == ["install --no-deps mediapipe==0.10.14",
                                "install onnxruntime-gpu==1.23.2"]
    for pin in ("gradio==4.40.0", "pydantic==2.8.2", "fastapi==0.104.1", "protobuf==3.20.0"):
        assert all(pin in call["constraints"] for call in calls)
    log = [(entry["kind"], entry["command"]) for entry in webui.read_pip_log()]
    uninstall = next(i for i, (kind, command) in enumerate(log)
                     if kind == "run" and command.endswith("pip uninstall -y onnxruntime"))
    gpu = next(i for i, (kind, command) in enumerate(log)
               if kind == "run_pip" and "onnxruntime-gpu" in command)
    assert uninstall < gpu  # the CPU build goes first (the same module)

    webui.module("modules.launch_utils").run_pip_calls.clear()
    calls = _run_installer(webui, monkeypatch, dict(forge, torch="2.3.1+cu121"))
    assert _commands(calls) == ["install --no-deps mediapipe==0.10.14"]  # CPU build kept


def test_installer_does_nothing_with_skip_install_or_when_all_is_there(webui, monkeypatch):
    assert _run_installer(webui, monkeypatch, COMPLETE) == []
    webui.set_commandline_args("--skip-install")
    assert _run_installer(webui, monkeypatch, A1111_HOST) == []


def test_installer_leaves_adetailers_mediapipe_alone_when_facepops_check_passes(
        webui, monkeypatch, capsys):
    assert _run_installer(webui, monkeypatch, dict(COMPLETE, mediapipe="0.10.15")) == []
    assert capsys.readouterr().out == ("FacePop: mediapipe 0.10.15 runs FacePop's graphs; "
                                       "left as it is\n")


def test_installer_replaces_a_mediapipe_that_fails_facepops_check(webui, monkeypatch, capsys):
    failing = MediapipeCheck(CheckOutcome.FAILED, "MediaPipe 0.10.18 with protobuf 3.20.0 "
                                                  "can't run FacePop's face mesh graph")
    calls = _run_installer(webui, monkeypatch, dict(COMPLETE, mediapipe="0.10.18"), failing)
    assert _commands(calls) == ["install --no-deps mediapipe==0.10.14"]
    out = capsys.readouterr().out
    assert f"FacePop: {failing.message}" in out
    assert "FacePop: MediaPipe still doesn't run FacePop's graphs" in out


def test_installer_leaves_mediapipe_alone_when_the_check_cant_tell(webui, monkeypatch, capsys):
    unknown = MediapipeCheck(CheckOutcome.UNKNOWN,
                             "FacePop's MediaPipe check took longer than 120 s")
    assert _run_installer(webui, monkeypatch, dict(COMPLETE, mediapipe="0.10.14"),
                          unknown) == []
    assert capsys.readouterr().out == (f"FacePop: {unknown.message}; mediapipe 0.10.14 is "
                                       f"left as it is\n")


def test_the_installer_runs_in_its_own_process_as_the_host_runs_it(webui):
    """With this environment's mediapipe (it passes FacePop's real check) and everything
    else installed, the installer installs nothing."""
    done = webui.run_install(ROOT)
    assert done.returncode == 0, done.stderr
    assert [c for c in webui.read_pip_log() if c["kind"] == "run_pip"] == []


def test_the_installer_in_its_own_process_replaces_a_broken_mediapipe(webui, tmp_path,
                                                                      monkeypatch):
    """A mediapipe whose import fails (found first on the WebUI's path) fails the real
    check, so the installer installs FacePop's choice, and says why."""
    shadow = tmp_path / "shadow" / "mediapipe"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("DLL load failed")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "shadow"))
    done = webui.run_install(ROOT)
    assert done.returncode == 0, done.stderr
    pip = [c["command"].split(" -c ")[0] for c in webui.read_pip_log() if c["kind"] == "run_pip"]
    assert pip == ["install --no-deps mediapipe==0.10.14"]
    assert "can't be imported (ImportError: DLL load failed)" in done.stdout


def test_models_dir_flag_points_facepop_at_its_models(webui, astronaut, tmp_path, random_onnx):
    import shutil

    models = tmp_path / "facepop-models"
    models.mkdir()
    shutil.copy(random_onnx, models / "modnet_photographic_portrait_matting.onnx")
    webui.set_commandline_args(f"--facepop-models-dir {models}")
    webui.load_extension(ROOT)
    settings = FacePopSettings(enabled=True, face_width=256, face_height=256, debug=True,
                               output_folder=str(tmp_path / "out"))
    webui.shared.opts.samples_save = True
    webui.run_img2img(Image.fromarray(astronaut), prompt="photo", width=512, height=512,
                      script_args=webui.ui_args(overrides={"FacePop":
                                                           settings.to_positional()}))
    (record,) = (tmp_path / "out" / "debug").glob("*/run.json")
    assert json.loads(record.read_text())["face_pass"][0]["mask_source"] == "modnet"


def test_the_webuis_img2img_route_refuses_bad_facepop_args_over_http(webui, astronaut):
    import base64
    import io

    webui.install_extension(ROOT)
    app, _ = webui.start()
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format="PNG")
    body = {"init_images": [base64.b64encode(buffer.getvalue()).decode()], "prompt": "photo",
            "steps": 2, "denoising_strength": 0.5, "width": 512, "height": 512}
    with serving(app) as base:
        status, reply = post_json(f"{base}/sdapi/v1/img2img", dict(
            body, alwayson_scripts={"FacePop": {"args": [{"enabled": True, "max_faces": -2}]}}))
        assert status == 422 and reply["field"] == "max_faces"
        assert webui.process_images_log == []  # refused before any generation started

        status, reply = post_json(f"{base}/sdapi/v1/img2img", dict(
            body, alwayson_scripts={"FacePop": {"args": [{"enabled": True,
                                                          "face_width": 256,
                                                          "face_height": 256}]}}))
        assert status == 200 and len(reply["images"]) == 1
        assert [entry["nested"] for entry in webui.process_images_log] == [False, True]


def test_a_host_where_the_panel_cant_be_built_gets_a_message_and_no_facepop(
        webui, astronaut, caplog):
    runner = webui.load_extension(ROOT)
    script = runner.script("FacePop")
    namespace = type(script).ui.__globals__

    def unbuildable(gr, enable_accordion=None):
        raise TypeError("Slider() got an unexpected keyword argument 'step'")

    original = namespace["build_panel"]
    namespace["build_panel"] = unbuildable
    try:
        import gradio as gr

        with caplog.at_level(logging.ERROR), gr.Blocks():
            controls = script.ui(True)
    finally:
        namespace["build_panel"] = original
    assert len(controls) == 1 and "FacePop can't build its panel" in controls[0].value
    assert script.unavailable is not None
    assert sum("can't build its panel" in r.getMessage() for r in caplog.records) == 1
    webui.processing.reset_process_images_log()
    # Even with args that would turn FacePop on, it stays off.
    args = FacePopSettings(enabled=True, face_width=256, face_height=256).to_positional()
    webui.run_img2img(Image.fromarray(astronaut), prompt="photo", width=512, height=512,
                      script_args=webui.ui_args(overrides={"FacePop": args}))
    assert [entry["nested"] for entry in webui.process_images_log] == [False]


def test_faces_of_a_batch_share_one_pass_per_image_not_per_face(webui, astronaut):
    webui.load_extension(ROOT)
    image = Image.fromarray(np.hstack([astronaut, astronaut]))
    settings = FacePopSettings(enabled=True, face_width=256, face_height=256)
    webui.run_img2img(image, prompt="photo", width=1024, height=512, batch_size=2,
                      script_args=webui.ui_args(overrides={"FacePop":
                                                           settings.to_positional()}))
    nested = [entry for entry in webui.process_images_log if entry["nested"]]
    assert [entry["batch_size"] for entry in nested] == [2, 2]
