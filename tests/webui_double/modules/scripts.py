"""Stands in for modules/scripts.py (A1111 v1.10.1): scripts, their UI arguments and hooks.

As in the host:
- load_scripts() lists the scripts/ folder of the WebUI root (here: Loopback and SD
  upscale) and of each active extension, then modules/processing_scripts (Comments,
  Sampler, Seed), and runs every file as a module of its own
  (script_loading.load_module, so not in sys.modules). While a
  file runs, its extension folder is sys.path[0] and basedir(); both are put back
  afterwards, so an extension's own packages import at the top of its script but not
  lazily inside a hook.
- ScriptRunner.initialize_scripts(is_img2img) makes one object per Script class; show()
  puts it into alwayson_scripts (AlwaysVisible) or selectable_scripts (other true values).
- UI arguments: inputs[0] is the script dropdown; each script's ui() controls follow,
  script.args_from/args_to mark its slice, script.name is title().lower(), api_info
  describes the controls, infotext_fields / paste_field_names are collected.
  setup_ui_for_section(section) places the always-on scripts of one page section,
  setup_ui() those of section None, the dropdown, then the selectable scripts.
- Hook dispatchers call the always-on scripts that override the hook, in order, with
  p.script_args[args_from:args_to]; an exception is reported ("Error running <hook>:
  <file>") and the next script still runs. setup_scrips(p, is_ui=False) (API jobs)
  skips setup_for_ui_only scripts. ordered_scripts() caches its list per hook in
  callback_map, rebuilt only when the number of always-on scripts changes.

Forge main, where it differs: load_scripts() puts the folder of every script it lists on
sys.path for good (so an extension's packages import from a hook too), the Script class
has process_before_every_sampling (ScriptRunner.process_before_every_sampling calls every
always-on script, in list order) and postprocess_batch_list, and PostprocessImageArgs
carry the image's index.

Differences: load_scripts(paths=None, *, include_builtin=True) can load chosen script
files (their extension folder: the parent of their scripts/ folder), with or without the
built-in ones. Only the hooks listed on Script exist (the sampling, mask-blend, batch-list,
after-composite and component hooks are left out). Also left out:
metadata.ini ordering, user callback order, postprocessing (extras) scripts, and the
selectable scripts' group-visibility entries in infotext_fields.
"""

import collections
import contextlib
import inspect
import os
import re
import sys

import gradio as gr

from modules import errors, extensions, script_callbacks, script_loading, shared
from modules import paths as webui_paths  # (load_scripts has a `paths` argument)
from modules.double_flavour import FORGE

AlwaysVisible = object()


class PostprocessImageArgs:
    def __init__(self, image, index=None):
        self.image = image  # a hook may replace it
        if FORGE:
            self.index = index  # the image's place in the job (Forge)


class PostprocessBatchListArgs:
    def __init__(self, images):
        self.images = images


class PostProcessMaskOverlayArgs:
    def __init__(self, index, mask_for_overlay, overlay_image):
        self.index = index  # the image's place in its batch
        self.mask_for_overlay, self.overlay_image = mask_for_overlay, overlay_image


class Script:
    name = None  # title().lower(), once the UI is made
    section = None  # page section of an always-on script's controls (None: with the scripts)
    filename = None
    args_from = args_to = None
    alwayson = False
    is_txt2img = is_img2img = False
    tabname = None
    group = None
    create_group = True
    infotext_fields = None  # [(component, infotext key or reader)], usually set by ui()
    paste_field_names = None
    api_info = None
    setup_for_ui_only = False  # True: no setup() for API requests
    controls = None

    # What a script overrides. The base versions do nothing (title() must be given).
    def title(self):
        raise NotImplementedError(f"{type(self).__name__} has no title()")

    def show(self, is_img2img): return True
    def ui(self, is_img2img): ...
    def run(self, p, *args): ...
    def setup(self, p, *args): ...
    def before_process(self, p, *args): ...
    def process(self, p, *args): ...
    def before_process_batch(self, p, *args, **kwargs): ...
    def process_batch(self, p, *args, **kwargs): ...
    def postprocess_batch(self, p, *args, **kwargs): ...
    def postprocess_image(self, p, pp: PostprocessImageArgs, *args): ...
    def postprocess_maskoverlay(self, p, ppmo: PostProcessMaskOverlayArgs, *args): ...
    # Forge's extra hooks (A1111 v1.10.1 has postprocess_batch_list too; the double calls it
    # in the Forge flavour only)
    def process_before_every_sampling(self, p, *args, **kwargs): ...
    def postprocess_batch_list(self, p, pp, *args, **kwargs): ...
    def postprocess(self, p, processed, *args): ...
    def describe(self): return ""

    def elem_id(self, item_id):
        """script_[<tab>_]<title as an identifier>_<item_id>; the tab only for a script that
        shows the same way in both tabs."""
        slug = re.sub(r"[^a-z_0-9]", "", re.sub(r"\s", "_", self.title().lower()))
        tab = f"{self.tabname or 'txt2img'}_" if self.show(True) == self.show(False) else ""
        return f"script_{tab}{slug}_{item_id}"


class ScriptBuiltinUI(Script):
    setup_for_ui_only = True

    def show(self, is_img2img):
        return AlwaysVisible

    def elem_id(self, item_id):
        return f"{self.tabname or 'txt2img'}_{item_id}"


ScriptFile = collections.namedtuple("ScriptFile", ["basedir", "filename", "path"])
ScriptClassData = collections.namedtuple("ScriptClassData",
                                         ["script_class", "path", "basedir", "module"])

scripts_data = []
current_basedir = webui_paths.script_path  # while no script file runs
scripts_txt2img = scripts_img2img = scripts_current = scripts_postproc = None


def basedir():
    """The folder of the extension whose script file is running now (else the WebUI root)."""
    return current_basedir


def list_scripts(scriptdirname, extension, *, include_extensions=True):
    root = os.path.join(webui_paths.script_path, scriptdirname)
    names = sorted(os.listdir(root)) if os.path.isdir(root) else []
    listed = [ScriptFile(webui_paths.script_path, n, os.path.join(root, n)) for n in names
              if n.lower().endswith(extension) and os.path.isfile(os.path.join(root, n))]
    for owner in extensions.active() if include_extensions else []:
        listed += owner.list_files(scriptdirname, extension)
    return listed


def _given_files(files):
    """ScriptFiles for <extension>/scripts/<name>.py paths."""
    for path in map(os.path.abspath, files):
        yield ScriptFile(os.path.dirname(os.path.dirname(path)), os.path.basename(path), path)


def load_scripts(paths=None, *, include_builtin=True):
    global current_basedir, scripts_txt2img, scripts_img2img
    root = webui_paths.script_path
    files = list_scripts("scripts", ".py") if paths is None else list(_given_files(paths))
    if include_builtin:
        files += list_scripts("modules/processing_scripts", ".py", include_extensions=False)
    scripts_data.clear()
    script_callbacks.clear_callbacks()  # the files register their callbacks again

    if FORGE:  # Forge puts every script folder on sys.path for good, then loads
        for file in files:
            if file.basedir not in sys.path:
                sys.path = [file.basedir, *sys.path]
    outer_path = sys.path
    for file in files:
        if file.basedir != root:
            sys.path = [file.basedir, *outer_path]
        current_basedir = file.basedir
        try:
            module = script_loading.load_module(file.path)
            scripts_data.extend(ScriptClassData(value, file.path, file.basedir, module)
                                for value in vars(module).values()
                                if inspect.isclass(value) and issubclass(value, Script))
        except Exception:
            errors.report(f"Error loading script: {file.filename}", exc_info=True)
        finally:
            sys.path, current_basedir = outer_path, root
    scripts_txt2img, scripts_img2img = ScriptRunner(), ScriptRunner()


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):
    try:
        result = func(*args, **kwargs)
    except Exception:
        errors.report(f"Error calling: {filename}/{funcname}", exc_info=True)  # and go on
        result = default
    return result


class ScriptRunner:
    def __init__(self):
        self.scripts, self.selectable_scripts, self.alwayson_scripts = [], [], []
        self.titles, self.title_map = [], {}
        self.infotext_fields, self.paste_field_names = [], []
        self.inputs = [None]
        self.callback_map = {}

    def initialize_scripts(self, is_img2img):
        for kept in (self.scripts, self.alwayson_scripts, self.selectable_scripts):
            kept.clear()
        self.callback_map = {}
        for data in scripts_data:
            try:
                script = data.script_class()
            except Exception:
                errors.report(f"Error # failed to initialize Script {data.module}: ", exc_info=True)
                continue
            script.filename = data.path
            script.is_img2img, script.is_txt2img = is_img2img, not is_img2img
            script.tabname = ("txt2img", "img2img")[bool(is_img2img)]
            shown = script.show(script.is_img2img)  # (not guarded, as in the host)
            if not shown:
                continue
            script.alwayson = shown is AlwaysVisible
            (self.alwayson_scripts if script.alwayson else self.selectable_scripts).append(script)
            self.scripts += [script]

    # ------------------------------------------------------------------ UI

    def create_script_ui(self, script):
        script.args_from = script.args_to = len(self.inputs)
        try:
            self._add_controls(script)
        except Exception:
            errors.report(f"Error creating UI for {script.name}: ", exc_info=True)  # no args

    def _add_controls(self, script):
        from modules.api.models import ScriptArg, ScriptInfo

        script.controls = controls = wrap_call(script.ui, script.filename, "ui", script.is_img2img)
        if controls is None:
            return
        title = wrap_call(script.title, script.filename, "title", default=script.filename)
        script.name = title.lower()
        described = []
        for control in controls:
            control.custom_script_source = os.path.basename(script.filename)  # file name
            known = {k: getattr(control, k, None) for k in ("value", "minimum", "maximum", "step")}
            arg = ScriptArg(label=control.label or "",
                                   **{k: v for k, v in known.items() if v is not None})
            if getattr(control, "choices", None) is not None:  # gradio 3.41: str or (str, ...)
                arg.choices = [c[0] if isinstance(c, tuple) else c for c in control.choices]
            described.append(arg)
        script.api_info = ScriptInfo(name=script.name, is_img2img=script.is_img2img,
                                            is_alwayson=script.alwayson, args=described)
        self.infotext_fields.extend(script.infotext_fields or [])
        self.paste_field_names.extend(script.paste_field_names or [])
        self.inputs.extend(controls)
        script.args_to = script.args_from + len(controls)

    def setup_ui_for_section(self, section, scriptlist=None):
        for each in self.alwayson_scripts if scriptlist is None else scriptlist:
            if each.alwayson and section != each.section:
                continue
            if each.create_group:
                each.group = gr.Group(visible=each.alwayson)
            with each.group if each.create_group else contextlib.nullcontext():
                self.create_script_ui(each)

    def prepare_ui(self):
        self.inputs = [None]

    def setup_ui(self):
        titles = {id(s): wrap_call(s.title, s.filename, "title") for s in self.scripts}
        self.title_map = {(titles[id(s)] or s.filename).lower(): s for s in self.scripts}
        self.titles = [titles[id(s)] or f"{s.filename} [error]" for s in self.selectable_scripts]
        self.setup_ui_for_section(section=None)  # always-on scripts without a section
        self.inputs[0] = gr.Dropdown(label="Script", elem_id="script_list", value="None",
                                     choices=["None", *self.titles], type="index")
        self.setup_ui_for_section(section=None, scriptlist=self.selectable_scripts)
        self.infotext_fields.append(
            (self.inputs[0], lambda params: gr.update(value=params.get("Script", "None"))))
        return self.inputs

    def script(self, title):
        """The script with this title, in any case (after setup_ui()), or None."""
        return self.title_map.get(str(title).lower())

    def run(self, p, *args):
        """Runs the script chosen in the dropdown (args[0]: its index + 1; 0: none)."""
        if not args[0]:
            return None
        chosen = self.selectable_scripts[args[0] - 1]
        outcome = chosen.run(p, *args[chosen.args_from:chosen.args_to])
        shared.total_tqdm.clear()  # (the progress bar stub)
        return outcome

    # ------------------------------------------------------------------ hooks

    def ordered_callbacks(self, method_name, *, enable_user_sort=True):
        key = f"script_{method_name}"
        known_count, listed = self.callback_map.get(key, (-1, None))
        if listed is None or known_count != len(self.alwayson_scripts):
            plain = getattr(Script, method_name, None)
            overriding = [s for s in self.alwayson_scripts
                          if getattr(type(s), method_name, None) != plain]
            listed = [script_callbacks.ScriptCallback(s.filename, s, type(s).__name__)
                      for s in overriding]
            self.callback_map[key] = (len(self.alwayson_scripts), listed)
        return listed

    def ordered_scripts(self, method_name):
        return [entry.callback for entry in self.ordered_callbacks(method_name)]

    def _call_hook(self, hook, p, *leading, skip_ui_only=False, **kwargs):
        for script in self.ordered_scripts(hook):
            if skip_ui_only and script.setup_for_ui_only:
                continue
            try:
                own = p.script_args[script.args_from:script.args_to]
                getattr(script, hook)(p, *leading, *own, **kwargs)
            except Exception:
                errors.report(f"Error running {hook}: {script.filename}", exc_info=True)

    def setup_scrips(self, p, *, is_ui=True):
        self._call_hook("setup", p, skip_ui_only=not is_ui)

    def before_process(self, p): self._call_hook("before_process", p)
    def process(self, p): self._call_hook("process", p)
    def process_batch(self, p, **kwargs): self._call_hook("process_batch", p, **kwargs)
    def postprocess(self, p, processed): self._call_hook("postprocess", p, processed)

    def before_process_batch(self, p, **kwargs):
        self._call_hook("before_process_batch", p, **kwargs)

    def postprocess_batch(self, p, images, **kwargs):
        self._call_hook("postprocess_batch", p, images=images, **kwargs)

    def postprocess_image(self, p, pp: PostprocessImageArgs):
        self._call_hook("postprocess_image", p, pp)

    def postprocess_maskoverlay(self, p, ppmo: PostProcessMaskOverlayArgs):
        self._call_hook("postprocess_maskoverlay", p, ppmo)

    def postprocess_batch_list(self, p, pp, **kwargs):
        self._call_hook("postprocess_batch_list", p, pp, **kwargs)

    def process_before_every_sampling(self, p, **kwargs):
        """Forge: every always-on script, in list order (no callback ordering), each given
        its args; an exception is reported and the next script runs."""
        for script in self.alwayson_scripts:
            try:
                own = p.script_args[script.args_from:script.args_to]
                script.process_before_every_sampling(p, *own, **kwargs)
            except Exception:
                errors.report(f"Error running process_before_every_sampling: {script.filename}",
                              exc_info=True)
