"""Self-tests of the A1111 v1.10.1 test double (tests/webui_double): each checks one host
behaviour the double imitates, so it fails if that imitation breaks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.webui_double_fixtures import webui  # noqa: F401 (the fixture)

RECORDER = '''
import sys

import gradio as gr
import lazypkg  # imported at the top: found in the extension folder, on sys.path right now
from modules import script_callbacks, scripts

CALLS = []
UI_CALLS = []
PASTED = []
PATH_AT_IMPORT = list(sys.path)
LAZYPKG_FILE = lazypkg.__file__

script_callbacks.on_infotext_pasted(lambda text, params: PASTED.append(text), name="recorder")


class Recorder(scripts.Script):
    def title(self):
        return "Recorder"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        UI_CALLS.append(is_img2img)
        enabled = gr.Checkbox(value=False, label="Enabled")
        self.infotext_fields = [(enabled, "Recorder enabled")]
        return [enabled, gr.Slider(0, 10, value=3, step=1, label="N")]

    def setup(self, p, *args):
        CALLS.append(("setup", args, None))

    def before_process(self, p, *args):
        CALLS.append(("before_process", args, None))

    def process(self, p, *args):
        CALLS.append(("process", args, None))

    def before_process_batch(self, p, *args, **kwargs):
        CALLS.append(("before_process_batch", args, kwargs["batch_number"]))

    def process_batch(self, p, *args, **kwargs):
        CALLS.append(("process_batch", args, kwargs["batch_number"]))

    def postprocess_batch(self, p, *args, **kwargs):
        CALLS.append(("postprocess_batch", args, len(kwargs["images"])))

    def postprocess_image(self, p, pp, *args):
        CALLS.append(("postprocess_image", args, p.batch_index))

    def postprocess(self, p, processed, *args):
        CALLS.append(("postprocess", args, len(processed.images)))
'''

BROKEN = '''
from modules import processing, scripts


class Broken(scripts.Script):
    def title(self):
        return "Broken"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def process(self, p, *args):
        raise ValueError("boom in process")

    def postprocess_image(self, p, pp, *args):
        import lazypkg  # the extension folder is no longer on sys.path here

    def postprocess(self, p, processed, *args):
        p2 = processing.StableDiffusionProcessingImg2Img(
            init_images=[processed.images[0]], width=16, height=16, prompt="nested", seed=1,
            do_not_save_samples=True, do_not_save_grid=True)
        processing.process_images(p2)
'''


def _extension(tmp_path: Path, name: str, script: str) -> Path:
    root = tmp_path / name
    (root / "scripts").mkdir(parents=True)
    (root / "scripts" / f"{name}.py").write_text(textwrap.dedent(script))
    (root / "lazypkg").mkdir()
    (root / "lazypkg" / "__init__.py").write_text("VALUE = 1\n")
    return root


def _solid(colour, size=(32, 32)) -> Image.Image:
    return Image.new("RGB", size, tuple(colour))


def _expected(init_rgb, seed, prompt, d, expected_colour):
    colour = np.array(expected_colour(seed, prompt), dtype=np.float64)
    return tuple(int(v) for v in np.floor(np.asarray(init_rgb) * (1 - d) + colour * d + 0.5))


def _calls(script) -> list:
    """The CALLS list of the module the script was loaded from (not in sys.modules)."""
    return type(script).setup.__globals__["CALLS"]


def _p(webui, **kwargs):  # noqa: F811 (the fixture)
    kwargs.setdefault("width", 32)
    kwargs.setdefault("height", 32)
    kwargs.setdefault("outpath_samples", str(webui.data_path / "samples"))
    kwargs.setdefault("outpath_grids", str(webui.data_path / "grids"))
    return webui.processing.StableDiffusionProcessingImg2Img(**kwargs)


def test_hook_order_and_arg_slices(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(_extension(tmp_path, "recorder", RECORDER))
    recorder = runner.script("Recorder")
    assert runner.inputs[recorder.args_from:recorder.args_to] == recorder.controls
    assert recorder.name == "recorder" and recorder.alwayson
    # the real load order (extensions, then the processing scripts) and argument layout
    # (UI sections in page order: sampler, seed; section-None scripts come last)
    assert [s.title() for s in runner.alwayson_scripts] == [
        "Recorder", "Comments", "Sampler", "Seed"]
    spans = {s.title(): (s.args_from, s.args_to) for s in runner.alwayson_scripts}
    assert spans == {"Sampler": (1, 4), "Seed": (4, 10), "Recorder": (10, 12),
                     "Comments": (12, 12)}
    # then the selectable scripts' (the WebUI root's scripts/): Loopback, SD upscale, X/Y/Z
    loopback, upscale, xyz = (runner.script(t) for t in ("Loopback", "SD upscale", "X/Y/Z plot"))
    assert runner.selectable_scripts == [loopback, upscale, xyz]
    assert [(s.args_from, s.args_to) for s in (loopback, upscale, xyz)] == [
        (12, 16), (16, 20), (20, 38)]
    assert len(runner.inputs) == 38

    p = _p(webui, init_images=[_solid((10, 20, 30))], prompt="x", seed=7, steps=9,
           batch_size=2, n_iter=2)
    p.scripts = runner
    # UI mode: the built-in Seed and Sampler scripts' setup() overwrite p.seed and p.steps
    p.script_args = webui.ui_args(overrides={"Recorder": [True, 5], "Seed": [70]})
    assert (p.seed, p.steps, p.sampler_name) == (70, 20, "DPM++ 2M")
    processed = webui.processing.process_images(p)

    calls = _calls(recorder)
    assert all(args == (True, 5) for _, args, _ in calls)
    batch = ["before_process_batch", "process_batch", "postprocess_batch",
             "postprocess_image", "postprocess_image"]
    assert [name for name, _, _ in calls] == [
        "setup", "before_process", "process", *batch, *batch, "postprocess"]
    assert [extra for name, _, extra in calls if name == "before_process_batch"] == [0, 1]
    assert [extra for name, _, extra in calls if name == "postprocess_image"] == [0, 1, 0, 1]
    assert calls[-1][2] == 5  # grid first, then 4 images
    assert processed.all_seeds == [70, 71, 72, 73] and p.seed == 70


def test_hook_exception_is_reported_and_generation_goes_on(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(_extension(tmp_path, "broken", BROKEN))
    p = _p(webui, init_images=[_solid((1, 2, 3))], prompt="x", seed=3)
    p.scripts = runner
    p.script_args = webui.ui_args()
    processed = webui.processing.process_images(p)

    assert len(processed.images) == 1
    messages = [r.message for r in webui.reports]
    assert any(m.startswith("Error running process: ") and m.endswith("broken.py")
               for m in messages)
    lazy = [r for r in webui.reports if r.message.startswith("Error running postprocess_image")]
    assert lazy and isinstance(lazy[0].exception, ModuleNotFoundError)
    log = webui.process_images_log
    assert [entry["nested"] for entry in log] == [False, True]
    assert "Broken" in log[0]["alwayson_scripts"] and log[1]["alwayson_scripts"] == []


def test_bad_number_of_init_images_and_mixed_sizes(webui):  # noqa: F811
    p = _p(webui, init_images=[_solid((0, 0, 0))] * 3, batch_size=2, prompt="x", seed=1)
    with pytest.raises(RuntimeError, match="bad number of images passed: 3; expecting 2 or less"):
        webui.processing.process_images(p)

    # resize mode 3 keeps each init image's own size until after encoding: np.array fails
    mixed = [_solid((0, 0, 0), (32, 32)), _solid((0, 0, 0), (40, 32))]
    p = _p(webui, init_images=mixed, batch_size=2, resize_mode=3, prompt="x", seed=1)
    with pytest.raises(ValueError):
        webui.processing.process_images(p)

    p = _p(webui, init_images=[_solid((0, 0, 0))] * 2, batch_size=4, prompt="x", seed=1,
           do_not_save_samples=True)
    webui.processing.process_images(p)
    entry = webui.process_images_log[-1]
    assert entry["batch_size"] == 2 and entry["batches"][0]["seeds"] == [1, 2]


def test_list_prompts_and_seeds_per_item(webui):  # noqa: F811
    processing = webui.processing
    inits = [(200, 10, 10), (10, 200, 10)]
    p = _p(webui, init_images=[_solid(c) for c in inits], batch_size=2, prompt=["red", "green"],
           seed=[10, 20], denoising_strength=0.4)
    processed = processing.process_images(p)

    assert len(processed.images) == 3  # the grid comes first
    for i, (init, seed, prompt) in enumerate(zip(inits, [10, 20], ["red", "green"], strict=True)):
        image = processed.images[i + 1]
        assert image.getpixel((5, 5)) == _expected(init, seed, prompt, 0.4,
                                                   processing.expected_colour)
        assert f"Seed: {seed}," in processed.infotexts[i + 1]
        assert processed.infotexts[i + 1].startswith(prompt + "\n")
    assert p.seed == [10, 20] and processed.seed == 10


def test_mask_invert_and_overlay_restore_protected_pixels(webui):  # noqa: F811
    rng = np.random.default_rng(0)
    original = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    p = _p(webui, init_images=[Image.fromarray(original)], mask=Image.fromarray(mask),
           inpainting_mask_invert=1, inpaint_full_res=False, inpainting_fill=1, mask_blur=4,
           denoising_strength=1.0, width=64, height=64, prompt="x", seed=4)
    out = np.asarray(webui.processing.process_images(p).images[0])

    colour = webui.processing.expected_colour(4, "x")
    # exact beyond the blur kernel's reach (radius 10 for mask_blur 4); +-1 closer to the edge
    np.testing.assert_array_equal(out[27:37, 27:37], original[27:37, 27:37])
    assert np.abs(out[20:44, 20:44].astype(int) - original[20:44, 20:44]).max() <= 1
    assert not np.array_equal(out[20:44, 20:44], original[20:44, 20:44])
    assert tuple(out[2, 2]) == colour and tuple(out[60, 40]) == colour
    assert p.extra_generation_params["Mask mode"] == "Inpaint not masked"


def test_api_init_script_args_dict_in_position_0(webui, tmp_path):  # noqa: F811
    from fastapi import HTTPException

    runner = webui.load_extension(_extension(tmp_path, "recorder", RECORDER))
    recorder = runner.script("Recorder")
    settings = {"enabled": True, "faces": 2}
    response = webui.api_img2img({
        "init_images": [_solid((5, 5, 5))], "width": 32, "height": 32, "seed": 1,
        "alwayson_scripts": {"recorder": {"args": [settings]}}, "unknown_field": 1})

    calls = _calls(recorder)
    # position 1 keeps the ui() default; setup() runs for API requests too (not UI-only)
    assert [(name, args) for name, args, _ in calls][:3] == [
        ("setup", (settings, 3)), ("before_process", (settings, 3)), ("process", (settings, 3))]
    assert len(response["images"]) == 1 and '"seed": 1' in response["info"]
    # API mode: the built-in scripts' setup() is skipped; sampler_index defaults to Euler
    assert webui.process_images_log[-1]["sampler_name"] == "Euler"

    api = webui.api()
    with pytest.raises(HTTPException) as error:
        api.init_script_args(_Request({"nope": {"args": []}}), api.default_script_arg_img2img,
                             None, None, runner)
    assert error.value.status_code == 422
    assert api.get_script("RECORDER", runner) is recorder


def test_api_defaults_from_ui_at_start_and_infotext_by_type(webui, tmp_path):  # noqa: F811
    webui.install_extension(_extension(tmp_path, "recorder", RECORDER))
    _, runner = webui.start()
    recorder = runner.script("Recorder")
    module = type(recorder).setup.__globals__
    # create_ui: once per tab; Api(app): twice per tab, for the default script args
    assert module["UI_CALLS"] == [False, True, False, False, True, True]
    webui.api_img2img({"init_images": [_solid((5, 5, 5))], "width": 32, "height": 32,
                       "infotext": "x\nSteps: 3, Seed: 123, Recorder enabled: False"})

    assert len(module["UI_CALLS"]) == 6 and module["PASTED"] == []  # no ui(), no callbacks
    # a script's value is converted with type(component.value): bool("False") is True
    assert _calls(recorder)[0] == ("setup", (True, 3), None)
    entry = webui.process_images_log[-1]
    assert (entry["seeds"], entry["steps"], entry["is_api"]) == ([123], 3, True)
    # the infotext's Sampler field (no "Sampler" key: the first sampler) beats sampler_index
    assert entry["sampler_name"] == "DPM++ 2M"


class _Request:
    def __init__(self, alwayson_scripts):
        self.alwayson_scripts = alwayson_scripts
        self.script_args = []


def test_infotext_create_parse_round_trip(webui):  # noqa: F811
    import gradio as gr

    processing, infotext_utils = webui.processing, webui.infotext_utils
    p = _p(webui, init_images=[_solid((0, 0, 0))], prompt="a face\nsecond line",
           negative_prompt="blurry", seed=42, do_not_save_samples=True,
           extra_generation_params={
               "FacePop": "on, 2: faces", "FacePop strength": 0.5, "Dropped": None,
               "FacePop index": lambda **kw: f"i{kw['index']}", "Gone": lambda **kw: None})
    text = processing.process_images(p).infotexts[0]

    assert text.startswith("a face\nsecond line\nNegative prompt: blurry\nSteps: 50, Sampler: ")
    assert 'FacePop: "on, 2: faces"' in text and "Dropped" not in text and "Gone" not in text
    assert ", Schedule type: Karras," in text and text.endswith("Version: v1.10.1")
    params = infotext_utils.parse_generation_parameters(text)
    assert params["Prompt"] == "a face\nsecond line" and params["Negative prompt"] == "blurry"
    assert params["FacePop"] == "on, 2: faces" and params["FacePop strength"] == "0.5"
    assert params["FacePop index"] == "i0" and params["Seed"] == "42"
    assert params["Size-1"] == "32" and params["Mask mode"] == "Inpaint masked"

    # the paste button: values converted to the type of the component's current value
    with gr.Blocks():
        fields = [(gr.Checkbox(value=True), "Flag"), (gr.Slider(0, 9, value=1, step=1), "Count"),
                  (gr.Textbox(value=""), "Missing"), (gr.Number(value=None), "Steps")]
    updates = infotext_utils.paste_func(fields, "x\nFlag: False, Count: 3, Steps: 2")
    assert [u.get("value", "no change") for u in updates] == [False, 3.0, "no change",
                                                              "no change"]
    assert type(updates[1]["value"]) is float  # an int slider's value is pasted as float()


def test_save_image_writes_png_with_parameters(webui):  # noqa: F811
    images = webui.images
    image = _solid((9, 8, 7), (16, 16))
    out = webui.data_path / "saved"
    first, txt = images.save_image(image, str(out), "", seed=123, prompt="p", info="my infotext")
    assert txt is None and Path(first).name == "00000-123.png"  # in a [date] sub-folder
    assert Path(first).parent.parent == out
    (Path(first).parent / "00041-other.png").touch()  # numbering continues after the largest
    second, _ = images.save_image(image, str(out), "", seed=123, prompt="p", info="x")
    assert Path(second).name == "00042-123.png"
    named, _ = images.save_image(image, str(out), "grid", seed=5, prompt="a b", save_to_dirs=False)
    assert Path(named).name == "grid-0000-5.png" and Path(named).parent == out
    with Image.open(first) as saved:
        assert saved.info["parameters"] == "my infotext"
        assert images.read_info_from_image(saved)[0] == "my infotext"


def test_skipped_batch_returns_init_and_is_not_saved(webui, tmp_path):  # noqa: F811
    shared = webui.shared
    init = (50, 60, 70)
    p = _p(webui, init_images=[_solid(init)], n_iter=3, prompt="x", seed=1, denoising_strength=1)

    runner = webui.scripts.ScriptRunner()
    p.scripts = runner
    p.script_args = (0,)
    original = runner.before_process_batch

    def before_process_batch(p, **kwargs):
        original(p, **kwargs)
        if kwargs["batch_number"] == 1:
            shared.state.skip()

    runner.before_process_batch = before_process_batch
    processed = webui.processing.process_images(p)

    colour = webui.processing.expected_colour
    assert processed.images[1].getpixel((0, 0)) == colour(1, "x")
    assert processed.images[2].getpixel((0, 0)) == init  # the skipped batch
    assert processed.images[3].getpixel((0, 0)) == colour(3, "x")  # skip is reset per batch
    saved = sorted(Path(p.outpath_samples).rglob("*.png"))
    assert len(saved) == 2


def test_lazy_import_fails_and_preload_flags(webui, tmp_path, monkeypatch):  # noqa: F811
    import sys

    root = _extension(tmp_path, "flags", RECORDER)
    # like the repository under pytest: the extension's checkout is on sys.path and its
    # package was imported before the test; inside the double only the link provides it
    monkeypatch.syspath_prepend(str(root))
    __import__("lazypkg")
    (root / "preload.py").write_text(
        "def preload(parser):\n    parser.add_argument('--flags-batch', type=int, default=8)\n")
    link = webui.install_extension(root)
    webui.set_commandline_args("--flags-batch 3 --skip-install")
    assert webui.shared.cmd_opts.flags_batch == 3
    assert webui.launch.args.skip_install and webui.launch.run_pip("install x", "x") is None
    assert webui.launch_utils.run_pip_calls == []

    runner = webui.create_ui() if webui.load_scripts() is None else None
    recorder = runner.script("Recorder")
    import_path = type(recorder).setup.__globals__["PATH_AT_IMPORT"]
    assert import_path[0] == str(link)  # the extension folder, during the import only
    assert str(link) not in sys.path and webui.scripts.basedir() == webui.paths.script_path
    assert type(recorder).setup.__globals__["LAZYPKG_FILE"].startswith(str(link))
    assert "lazypkg" not in sys.modules or sys.modules["lazypkg"].__file__.startswith(str(link))
    sys.modules.pop("lazypkg", None)
    with pytest.raises(ModuleNotFoundError):
        __import__("lazypkg")


REINIT = '''
from PIL import Image
from modules import scripts


class Reinit(scripts.Script):
    def title(self):
        return "Reinit"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def before_process_batch(self, p, *args, **kwargs):
        if kwargs["batch_number"] == 1:
            p.init_images = [Image.new("RGB", (32, 32), (0, 0, 250))]
            p.init(p.all_prompts, p.all_seeds, p.all_subseeds)
            kwargs["seeds"][0] = 999  # the same list as p.seeds
'''


def test_reinit_in_before_process_batch_and_late_seed_change(webui, tmp_path):  # noqa: F811
    processing = webui.processing
    runner = webui.load_script_files([_extension(tmp_path, "reinit", REINIT)
                                      / "scripts" / "reinit.py"])
    p = _p(webui, init_images=[_solid((250, 0, 0))], n_iter=2, prompt="x", denoising_strength=0.5)
    p.scripts = runner
    p.script_args = webui.ui_args(overrides={"Seed": [30]})
    processed = processing.process_images(p)

    first, second = processed.images[1], processed.images[2]
    assert first.getpixel((3, 3)) == _expected((250, 0, 0), 30, "x", 0.5,
                                               processing.expected_colour)
    # the new init image is used, but the noise still comes from seed 31: the batch's
    # generators were made from p.seeds before before_process_batch ran
    assert second.getpixel((3, 3)) == _expected((0, 0, 250), 31, "x", 0.5,
                                                processing.expected_colour)
    # p.seeds is a slice: the infotext says 999, Processed.all_seeds still 31
    assert "Seed: 999," in processed.infotexts[2] and processed.all_seeds == [30, 31]


def test_install_py_runs_in_a_subprocess_and_run_pip_is_recorded(webui, tmp_path):  # noqa: F811
    root = _extension(tmp_path, "installer", RECORDER)
    (root / "install.py").write_text(textwrap.dedent('''
        import launch
        import lazypkg  # the extension's own folder is sys.path[0] for `python install.py`

        if not launch.is_installed("surely-not-installed-package"):
            launch.run_pip("install surely-not-installed-package==1.0", "surely")
    '''))
    link = webui.install_extension(root)
    assert webui.run_install(link).returncode == 0
    calls = [c for c in webui.read_pip_log() if c["kind"] == "run_pip"]
    assert [c["command"] for c in calls] == ["install surely-not-installed-package==1.0"]

    webui.set_commandline_args("--skip-install")
    webui.pip_log.unlink()
    assert webui.run_install(link).returncode == 0
    assert webui.read_pip_log() == []


def test_sampler_out_of_memory_leaves_process_images_as_in_the_host(webui):  # noqa: F811
    processing, state = webui.processing, webui.shared.state
    processing.limit_sampler_memory(2 * 32 * 32)  # two 32x32 items fit
    state.begin("test")
    state.job_count = 5
    before = webui.shared.opts.samples_format
    p = _p(webui, init_images=[_solid((9, 9, 9))] * 3, batch_size=3, prompt="x", seed=1,
           override_settings={"samples_format": "jpg"})
    with pytest.raises(RuntimeError, match="out of memory") as caught:
        processing.process_images(p)
    error = caught.value
    assert type(error).__name__ == "OutOfMemoryError"
    entry = processing.process_images_log[-1]
    assert entry["error"].startswith("OutOfMemoryError: CUDA out of memory")
    assert [batch["batch_number"] for batch in entry["batches"]] == [0]
    assert (state.job_no, state.job_count) == (0, 5)  # no nextjob() for the failed batch
    assert webui.shared.opts.samples_format == before  # process_images' finally ran
    assert p.sampler is not None  # closing the job is the caller's business

    # While the failed batch's traceback lives, its memory stays taken.
    one = _p(webui, init_images=[_solid((9, 9, 9))], prompt="x", seed=1)
    with pytest.raises(RuntimeError, match="out of memory"):
        processing.process_images(one)
    del error, caught
    two = _p(webui, init_images=[_solid((9, 9, 9))] * 2, batch_size=2, prompt="x", seed=1)
    processed = processing.process_images(two)
    assert len(processed.images) == 3 and processing.process_images_log[-1]["error"] is None
    assert state.job_no == 1

    # A sampler with Skip set stops before the UNet runs: nothing to run out of.
    skipping = _p(webui, init_images=[_solid((9, 9, 9))] * 3, batch_size=3, prompt="x", seed=1)
    skipping.scripts = runner = webui.scripts.ScriptRunner()
    skipping.script_args = (0,)
    runner.before_process_batch = lambda p, **kwargs: state.skip()
    processing.process_images(skipping)
    assert processing.process_images_log[-1]["batches"][0]["skipped"]
    # Other backends say it in a plain RuntimeError's message.
    processing.limit_sampler_memory(0, error=lambda message: RuntimeError(
        "MPS backend out of memory (MPS allocated: 8.00 GB)"))
    with pytest.raises(RuntimeError, match=r"^MPS backend out of memory"):
        processing.process_images(_p(webui, init_images=[_solid((9, 9, 9))], prompt="x"))
    processing.limit_sampler_memory(None)
    processing.process_images(_p(webui, init_images=[_solid((9, 9, 9))] * 3, batch_size=3,
                                 prompt="x", seed=1))


def test_colour_correction_is_made_at_the_first_init_and_kept_by_a_second(webui):  # noqa: F811
    processing = webui.processing
    webui.shared.opts.img2img_color_correction = True
    red, green = _solid((200, 40, 40)), _solid((40, 200, 40))
    p = _p(webui, init_images=[red], prompt="x", seed=3, denoising_strength=0.5)
    processing.process_images(p)
    assert webui.process_images_log[-1]["batches"][0]["color_correction_targets"] == [0]
    assert p.color_corrections is None  # the host drops them when the batches end

    p = _p(webui, init_images=[red], prompt="x", seed=3, denoising_strength=0.5)
    p.init([""], [3], [3])
    p.init_images = [green]
    p.init([""], [3], [3])  # a second init keeps the first one's target
    assert np.array_equal(p.color_corrections[0], processing.setup_color_correction(red))

    # the result is pulled towards the target's colours
    webui.shared.opts.img2img_color_correction = False
    plain = processing.process_images(_p(webui, init_images=[green], prompt="x", seed=3,
                                         denoising_strength=0.5)).images[0]
    p = _p(webui, init_images=[green], prompt="x", seed=3, denoising_strength=0.5)
    p.color_corrections = [processing.setup_color_correction(red)]
    corrected = processing.process_images(p).images[0]
    assert corrected.getpixel((5, 5)) != plain.getpixel((5, 5))
    assert corrected.getpixel((5, 5))[0] > corrected.getpixel((5, 5))[1]  # red wins


def test_loopback_keeps_the_first_pictures_colour_target(webui):  # noqa: F811
    runner = webui.load_script_files([webui.root / "scripts" / "loopback.py"],
                                     include_builtin=False)
    assert runner.script("Loopback") is not None
    webui.shared.opts.img2img_color_correction = True
    args = webui.ui_args(runner, {"Loopback": [3, 0.5, "Linear", "None"]}, "Loopback")
    noise = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    webui.run_img2img(Image.fromarray(noise), width=32, height=32, prompt="x",
                      script_args=args)
    targets = [job["batches"][0]["color_correction_targets"]
               for job in webui.process_images_log]
    assert targets == [[0], [-1], [-1]]  # later loops: the first picture's, not their own


def test_return_and_save_mask_give_the_mask_for_the_overlay(webui):  # noqa: F811
    opts = webui.shared.opts
    opts.return_mask = opts.save_mask = opts.return_mask_composite = True
    mask = np.zeros((32, 32), np.uint8)
    mask[8:24, 8:24] = 255
    p = _p(webui, init_images=[_solid((10, 10, 10))], mask=Image.fromarray(mask),
           inpaint_full_res=False, inpainting_fill=1, mask_blur=0, prompt="x", seed=1,
           do_not_save_grid=True)
    processed = webui.processing.process_images(p)
    _, returned, composite = processed.images
    assert returned.mode == "RGB" and returned.getpixel((16, 16)) == (255, 255, 255)
    assert returned.getpixel((2, 2)) == (0, 0, 0)
    assert composite.mode == "RGBA" and composite.getpixel((2, 2))[3] == 0
    saved = sorted(path.name for path in (webui.data_path / "samples").rglob("*.png"))
    assert len(saved) == 2 and saved[1].endswith("-mask.png")

    opts.save_mask = False  # without a mask nothing more comes out
    plain = webui.processing.process_images(_p(webui, init_images=[_solid((10, 10, 10))],
                                               prompt="x", seed=1, do_not_save_grid=True))
    assert len(plain.images) == 1
