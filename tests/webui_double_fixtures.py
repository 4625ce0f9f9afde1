"""The `webui` pytest fixture: code under test runs inside the WebUI test double
(tests/webui_double), a fresh one for every test, of the A1111 v1.10.1 flavour or, with
the fixture parametrized indirectly (``@both_flavours``, or
``pytest.mark.parametrize("webui", ["forge"], indirect=True)``), of the Forge (main)
flavour: $WEBUI_DOUBLE_FLAVOUR is set for the double (modules/double_flavour.py) and
tests/webui_double/forge (modules_forge, backend, Forge's built-in extensions) is on
sys.path too. ``webui.flavour`` says which; ``webui.install_controlnet()`` installs the
ControlNet stand-in where the host needs one (A1111: sd-webui-controlnet; Forge's
ControlNet is built in).

Use it from a test module (``from tests.webui_double_fixtures import webui``) or a conftest
(``pytest_plugins = ["tests.webui_double_fixtures"]``).

While a test runs:
- tests/webui_double is first on sys.path: `modules.*` and `launch` are the double's,
  imported on first use;
- the WebUI's data folder (outputs, params.txt, extensions/, config) is tmp_path/"webui";
  $COMMANDLINE_ARGS is "" (see set_commandline_args); run_pip calls made by install.py
  subprocesses go to tmp_path/"pip-log.jsonl";
- install_extension(path) links an extension folder into the double's extensions/ and
  makes the extension's top-level packages (e.g. lib_facepop) importable ONLY through that
  link, as in the host: the checkout pytest put on sys.path no longer provides them, so a
  script that imports its package lazily inside a hook fails as it would in the WebUI.
  Import what the test itself needs from those packages at the top of the test module;
  inside the test the extension's copies are other module objects.
Afterwards every `modules`, `modules.*` and `launch` module leaves sys.modules, so do the
modules imported from linked extensions (the ones put aside at install come back), and
sys.path / sys.meta_path are restored.

WebUIDouble (other attributes fall through to the double's modules: webui.processing is
modules.processing, webui.launch is launch, ...):
- module(name); root, data_path, pip_log; reports (errors.reports); process_images_log
- set_commandline_args(text); install_extension(path, name=None) -> the link
- load_scripts(paths=None, *, include_builtin=True); create_ui() -> img2img ScriptRunner
- load_extension(path, name=None) and load_script_files(paths, *, include_builtin=True)
  -> img2img ScriptRunner (install/load + UI)
- start(app=None, *, nowebui=False, api=True) -> (app, img2img ScriptRunner)
- ui_args(runner=None, overrides=None, selected=None) -> the script args the UI sends
- run_img2img(init_img, *, mask=None, ..., script_args=None, batch_input_dir=None, ...)
  -> the Generate button's tuple (img2img, inpaint upload, or the Batch tab)
- run_txt2img(*, prompt="", ..., enable_hr=False, ..., script_args=None) -> the txt2img
  Generate button's tuple; txt2img_ui_args(overrides=None) -> its script args
- api(app=None) -> Api; api_img2img(payload), api_txt2img(payload) -> response dict
- app_started(app=None, demo=None); paste(infotext, fields=None) -> list of gr.update dicts
- run_install(extension_dir) -> CompletedProcess; read_pip_log() -> list of dicts
"""

from __future__ import annotations

import base64
import importlib
import importlib.machinery
import io
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

DOUBLE_ROOT = Path(__file__).resolve().parent / "webui_double"

# names in an extension's folder that are not packages it provides
_NOT_PACKAGES = {"tests", "scripts", "install", "preload", "setup", "conftest"}
FLAVOURS = ("a1111", "forge")
CONTROLNET_STAND_IN = Path(__file__).resolve().parent / "stand_ins" / "sd-webui-controlnet"

both_flavours = pytest.mark.parametrize("webui", FLAVOURS, indirect=True)
"""Runs a test in the A1111 and in the Forge flavour of the double."""


def pytest_generate_tests(metafunc) -> None:
    """The `webui` of a test runs in the flavours its ``@pytest.mark.webui_flavours(...)``
    names, else in those of its module's WEBUI_FLAVOURS (else A1111 only), unless the test
    parametrizes `webui` itself."""
    if "webui" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else ""
        if "webui" in ([n.strip() for n in names.split(",")] if isinstance(names, str)
                       else list(names)):
            return
    chosen = metafunc.definition.get_closest_marker("webui_flavours")
    flavours = chosen.args if chosen else getattr(metafunc.module, "WEBUI_FLAVOURS", None)
    if flavours:
        metafunc.parametrize("webui", list(flavours), indirect=True)


def _of_double(module_name: str, module: Any = None) -> bool:
    if module_name in ("modules", "launch") or module_name.startswith("modules."):
        return True
    file = vars(module).get("__file__") if hasattr(module, "__dict__") else None
    return isinstance(file, str) and _key(file).startswith(_key(str(DOUBLE_ROOT)) + os.sep)


def _key(folder: str) -> str:
    return os.path.normcase(os.path.abspath(folder or os.getcwd()))


class _ExtensionPackageFinder:
    """A sys.meta_path finder for the top-level packages of installed extensions: they are
    looked up on sys.path without the extensions' own checkouts, i.e. only where the host
    would find them (the extension's link, while load_scripts puts it on sys.path)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.checkouts: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname not in self.names:
            return None  # submodules and other names: the normal finders
        allowed = [entry for entry in sys.path if _key(entry) not in self.checkouts]
        spec = importlib.machinery.PathFinder.find_spec(fullname, allowed)
        if spec is None:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return spec


def _packages_in(folder: Path) -> set[str]:
    found = set()
    for entry in folder.iterdir():
        name = entry.stem if entry.suffix == ".py" else entry.name
        if name.startswith((".", "_")) or name in _NOT_PACKAGES:
            continue
        if entry.suffix == ".py" or (entry / "__init__.py").is_file():
            found.add(name)
    return found


def _base64(image) -> str:
    if isinstance(image, str):
        return image
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class WebUIDouble:
    """What the `webui` fixture yields; see the module docstring."""

    def __init__(self, data_path: Path, pip_log: Path, monkeypatch: pytest.MonkeyPatch,
                 flavour: str = "a1111"):
        self.root, self.data_path, self.pip_log = DOUBLE_ROOT, data_path, pip_log
        self.flavour = flavour
        self._monkeypatch = monkeypatch
        self._finder = _ExtensionPackageFinder()
        self._put_aside: dict[str, Any] = {}
        self._links: list[Path] = []
        self._api = None

    def module(self, name: str):
        """The double's module `name` ("modules.processing", "launch", ...)."""
        return importlib.import_module(name)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        full = "launch" if name == "launch" else f"modules.{name}"
        try:
            return self.module(full)
        except ModuleNotFoundError as exc:
            if exc.name == full:
                raise AttributeError(name) from exc
            raise

    @property
    def reports(self) -> list:
        """Every errors.report()/display() of the double since the test began."""
        return self.module("modules.errors").reports

    @property
    def process_images_log(self) -> list[dict]:
        """modules.processing.process_images_log: one entry per process_images() call."""
        return self.module("modules.processing").process_images_log

    # -------------------------------------------------------------- setting up

    def set_commandline_args(self, text: str) -> None:
        """Sets $COMMANDLINE_ARGS; if the double is imported already, cmd_opts and
        launch.args are parsed again, in place."""
        self._monkeypatch.setenv("COMMANDLINE_ARGS", text)
        if "modules.shared_cmd_options" in sys.modules:
            sys.modules["modules.shared_cmd_options"].reparse()
        if "modules.launch_utils" in sys.modules:
            launch_utils = sys.modules["modules.launch_utils"]
            parsed = launch_utils.cmd_args.parser.parse_known_args(shlex.split(text))[0]
            vars(launch_utils.args).clear()
            vars(launch_utils.args).update(vars(parsed))

    def install_extension(self, path, name: str | None = None) -> Path:
        """Links the folder `path` into the double's extensions/ (as `name`, default its own
        name), and from now on its top-level packages import only through the link. If
        the double is imported already, the extension's preload.py runs now (else when
        modules.shared_cmd_options is first imported, as in the host)."""
        source = Path(path).resolve()
        folder = self.data_path / "extensions"
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / (name or source.name)
        if not link.exists():
            link.symlink_to(source, target_is_directory=True)
        packages = _packages_in(source)
        self._finder.names |= packages
        self._finder.checkouts |= {_key(str(path)), _key(str(source))}
        for loaded in [m for m in sys.modules if m.partition(".")[0] in packages]:
            self._put_aside[loaded] = sys.modules.pop(loaded)
        self._links.append(link)
        if "modules.shared_cmd_options" in sys.modules:
            sys.modules["modules.shared_cmd_options"].preload_extension(str(link))
        return link

    @property
    def forge(self) -> bool:
        return self.flavour == "forge"

    def install_controlnet(self) -> None:
        """The ControlNet a user of this host has: A1111 the sd-webui-controlnet stand-in
        (installed now), Forge its built-in one (nothing to install)."""
        if not self.forge:
            self.install_extension(CONTROLNET_STAND_IN, name="sd-webui-controlnet")

    def load_scripts(self, paths=None, *, include_builtin: bool = True) -> None:
        """extensions.list_extensions(), then scripts.load_scripts(paths, ...)."""
        self.module("modules.extensions").list_extensions()
        self.module("modules.scripts").load_scripts(paths, include_builtin=include_builtin)

    def create_ui(self):
        """modules.ui.create_ui(); returns the img2img ScriptRunner."""
        self.module("modules.ui").create_ui()
        return self.module("modules.scripts").scripts_img2img

    def load_extension(self, path, name: str | None = None):
        """install_extension + load_scripts() + create_ui(); the img2img ScriptRunner."""
        self.install_extension(path, name)
        self.load_scripts()
        return self.create_ui()

    def load_script_files(self, paths, *, include_builtin: bool = True):
        """load_scripts([those files]) + create_ui(); the img2img ScriptRunner."""
        self.load_scripts([str(p) for p in paths], include_builtin=include_builtin)
        return self.create_ui()

    def start(self, app=None, *, nowebui: bool = False, api: bool = True):
        """The host's start-up after initialize(): extensions listed and scripts loaded,
        then as webui.py does it: before_ui callbacks, create_ui() (with on_ui_settings),
        Api(app) when `api` (--api), app_started(demo, app); or with nowebui=True
        (--nowebui): Api(app) (which makes the script UI itself), before_ui callbacks,
        app_started(None, app). `app` defaults to a new FastAPI. Returns (app, runner)."""
        if app is None:
            from fastapi import FastAPI

            app = FastAPI()
        callbacks = self.module("modules.script_callbacks")
        self.load_scripts()
        demo = None
        if nowebui:
            self._api = self.module("modules.api.api").Api(app)
            callbacks.before_ui_callback()
        else:
            callbacks.before_ui_callback()
            demo = self.module("modules.ui").create_ui()
            if api:
                self._api = self.module("modules.api.api").Api(app)
        callbacks.app_started_callback(demo, app)
        return app, self.module("modules.scripts").scripts_img2img

    # -------------------------------------------------------------- generating

    def ui_args(self, runner=None, overrides: dict | None = None,
                selected: str | None = None) -> tuple:
        """The script args the UI sends: the script dropdown first (0, or the index + 1 of
        the selectable script titled `selected`), then each control's current value;
        `overrides` maps a script title to a list of its args (from its first) or to
        {index within the script: value}."""
        runner = runner or self.module("modules.scripts").scripts_img2img
        args = [0, *(getattr(control, "value", None) for control in runner.inputs[1:])]
        if selected is not None:
            chosen = runner.script(selected)
            if chosen is None or chosen not in runner.selectable_scripts:
                raise KeyError(f"no selectable script titled {selected!r}")
            args[0] = runner.selectable_scripts.index(chosen) + 1
        for title, values in (overrides or {}).items():
            script = runner.script(title)
            if script is None:
                raise KeyError(f"no script titled {title!r}")
            count = script.args_to - script.args_from
            for index, value in values.items() if isinstance(values, dict) else enumerate(values):
                if not 0 <= index < count:
                    raise IndexError(f"{title!r} has {count} args")
                args[script.args_from + index] = value
        return tuple(args)

    def run_img2img(self, init_img, *, mask=None, prompt: str = "", negative_prompt: str = "",
                    batch_size: int = 1, n_iter: int = 1, cfg_scale: float = 7.0,
                    denoising_strength: float = 0.75, width: int = 512, height: int = 512,
                    resize_mode: int = 0, mask_blur: int = 4, inpainting_fill: int = 1,
                    inpaint_full_res: bool = False, inpaint_full_res_padding: int = 32,
                    inpainting_mask_invert: int = 0, override_settings_texts=(),
                    script_args: tuple | None = None, batch_input_dir: str | None = None,
                    batch_output_dir: str = "", batch_mask_dir: str = "",
                    scale_by: float | None = None):
        """What the img2img Generate button does: modules.img2img.img2img through
        call_queue.wrap_gradio_gpu_call, with the UI's defaults (inpainting_fill 1
        "original", "Whole picture", padding 32: not the dataclass defaults). With a mask
        it is the "inpaint upload" tab; with `batch_input_dir` the Batch tab ("from dir",
        `init_img` unused), with "Resize by" `scale_by` when given. script_args default to
        ui_args(). Returns the tuple (images, generation info JSON, info HTML, comments
        HTML); an exception is reported and turned into an error HTML, as in the UI."""
        img2img, call_queue = self.module("modules.img2img"), self.module("modules.call_queue")
        generate = call_queue.wrap_gradio_gpu_call(img2img.img2img, extra_outputs=[None, "", ""])
        tab = 5 if batch_input_dir is not None else 0 if mask is None else 4
        return generate(
            "task(double)", None, tab, prompt, negative_prompt, [], init_img, None, None, None,
            None, init_img, mask, mask_blur, 0, inpainting_fill, n_iter, batch_size, cfg_scale,
            1.5, denoising_strength, int(scale_by is not None), height, width, scale_by or 1.0,
            resize_mode, inpaint_full_res, inpaint_full_res_padding, inpainting_mask_invert,
            batch_input_dir or "", batch_output_dir, batch_mask_dir,
            list(override_settings_texts), False, [], "", "", [],
            *(self.ui_args() if script_args is None else script_args))

    def txt2img_ui_args(self, overrides: dict | None = None) -> tuple:
        """ui_args() of the txt2img tab's ScriptRunner."""
        return self.ui_args(self.module("modules.scripts").scripts_txt2img, overrides)

    def run_txt2img(self, *, prompt: str = "", negative_prompt: str = "", batch_size: int = 1,
                    n_iter: int = 1, cfg_scale: float = 7.0, width: int = 512, height: int = 512,
                    enable_hr: bool = False, denoising_strength: float = 0.7,
                    hr_scale: float = 2.0, hr_upscaler: str = "Latent",
                    hr_second_pass_steps: int = 0, hr_resize_x: int = 0, hr_resize_y: int = 0,
                    hr_prompt: str = "", hr_negative_prompt: str = "",
                    override_settings_texts=(), script_args: tuple | None = None):
        """What the txt2img Generate button does: modules.txt2img.txt2img through
        call_queue.wrap_gradio_gpu_call, with the UI's defaults (hires fix off, denoising
        0.7, "Latent", "Use same ..."). script_args default to txt2img_ui_args(). Returns
        the tuple (images, generation info JSON, info HTML, comments HTML)."""
        txt2img, call_queue = self.module("modules.txt2img"), self.module("modules.call_queue")
        generate = call_queue.wrap_gradio_gpu_call(txt2img.txt2img, extra_outputs=[None, "", ""])
        return generate(
            "task(double)", None, prompt, negative_prompt, [], n_iter, batch_size, cfg_scale,
            height, width, enable_hr, denoising_strength, hr_scale, hr_upscaler,
            hr_second_pass_steps, hr_resize_x, hr_resize_y, "Use same checkpoint",
            "Use same sampler", "Use same scheduler", hr_prompt, hr_negative_prompt,
            list(override_settings_texts),
            *(self.txt2img_ui_args() if script_args is None else script_args))

    def api(self, app=None):
        """The Api (made once per test, as the host makes it once at start-up; making it
        computes the default script args). Pass a FastAPI app to get its route."""
        if self._api is None or app is not None:
            self._api = self.module("modules.api.api").Api(app)
        return self._api

    def api_img2img(self, payload: dict) -> dict:
        """POST /sdapi/v1/img2img without HTTP: `payload` is the JSON body (PIL images in
        init_images / mask are turned into base64 first). Returns the response as a dict,
        images as base64 str; raises the route's HTTPException (status_code, detail)."""
        body = dict(payload)
        if body.get("init_images") is not None:
            body["init_images"] = [_base64(x) for x in body["init_images"]]
        if body.get("mask") is not None:
            body["mask"] = _base64(body["mask"])
        request = self.module("modules.api.models").StableDiffusionImg2ImgProcessingAPI(**body)
        response = self.api().img2imgapi(request).dict()
        response["images"] = [x.decode("ascii") if isinstance(x, bytes) else x
                              for x in response["images"]]
        return response

    def api_txt2img(self, payload: dict) -> dict:
        """POST /sdapi/v1/txt2img without HTTP: `payload` is the JSON body. Returns the
        response as a dict, images as base64 str; raises the route's HTTPException."""
        request = self.module("modules.api.models").StableDiffusionTxt2ImgProcessingAPI(
            **payload)
        response = self.api().text2imgapi(request).dict()
        response["images"] = [x.decode("ascii") if isinstance(x, bytes) else x
                              for x in response["images"]]
        return response

    def app_started(self, app=None, demo=None) -> None:
        """script_callbacks.app_started_callback(demo, app), as the host calls it."""
        self.module("modules.script_callbacks").app_started_callback(demo, app)

    def paste(self, infotext: str, fields=None) -> list:
        """What the UI's paste does with `infotext`: parse it, run the infotext_pasted
        callbacks, one gr.update per (component, key) of `fields` (default: the img2img
        ScriptRunner's infotext_fields)."""
        if fields is None:
            fields = self.module("modules.scripts").scripts_img2img.infotext_fields
        return self.module("modules.infotext_utils").paste_func(fields, infotext)

    def run_install(self, extension_dir) -> Any:
        """extension_dir/install.py run as the host runs it (a new process, PYTHONPATH = the
        WebUI root); returns the CompletedProcess. Its run_pip calls: read_pip_log()."""
        return self.module("modules.launch_utils").run_extension_installer(str(extension_dir))

    def read_pip_log(self) -> list[dict]:
        """The run / run_pip calls recorded by install.py subprocesses (and this process)."""
        return self.module("modules.launch_utils").read_pip_log(str(self.pip_log))

    # -------------------------------------------------------------- teardown

    def _close(self) -> None:
        links = [_key(str(link)) + os.sep for link in self._links]
        for name, loaded in list(sys.modules.items()):
            file = getattr(loaded, "__file__", None)
            from_link = bool(file) and any(_key(file).startswith(link) for link in links)
            if from_link or name.partition(".")[0] in self._finder.names:
                del sys.modules[name]
        sys.modules.update(self._put_aside)
        self._put_aside.clear()


@pytest.fixture
def webui(request, tmp_path, monkeypatch):
    """A fresh test double for one test (A1111 v1.10.1 unless parametrized with "forge");
    see the module docstring."""
    flavour = getattr(request, "param", "a1111")
    if flavour not in FLAVOURS:
        raise ValueError(f"no {flavour!r} flavour of the double")
    path_list, path_entries = sys.path, list(sys.path)
    finders = list(sys.meta_path)
    outside = {name: sys.modules.pop(name) for name, module in list(sys.modules.items())
               if _of_double(name, module)}

    data_path = tmp_path / "webui"
    data_path.mkdir()
    pip_log = tmp_path / "pip-log.jsonl"
    for variable, value in (("WEBUI_DOUBLE_DATA_DIR", str(data_path)),
                            ("WEBUI_DOUBLE_PIP_LOG", str(pip_log)), ("COMMANDLINE_ARGS", ""),
                            ("WEBUI_DOUBLE_FLAVOUR", flavour)):
        monkeypatch.setenv(variable, value)
    for variable in ("WEBUI_DOUBLE_MODELS_DIR", "IGNORE_CMD_ARGS_ERRORS"):
        monkeypatch.delenv(variable, raising=False)

    double = WebUIDouble(data_path, pip_log, monkeypatch, flavour)
    sys.path.insert(0, str(DOUBLE_ROOT))
    if flavour == "forge":
        sys.path.insert(1, str(DOUBLE_ROOT / "forge"))
    sys.meta_path.insert(0, double._finder)
    try:
        yield double
    finally:
        for name in [name for name, module in list(sys.modules.items())
                     if _of_double(name, module)]:
            del sys.modules[name]
        double._close()
        sys.modules.update(outside)
        sys.path = path_list
        sys.path[:] = path_entries
        sys.meta_path[:] = finders
