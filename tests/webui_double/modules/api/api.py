"""Stands in for the img2img and txt2img parts of modules/api/api.py (A1111 v1.10.1).

Api(app) is made once at start-up. It makes the script UI if there is none (as with
--nowebui) and computes each tab's default script args right then, calling every script's
ui() inside a gr.Blocks (twice per script, as the host does); requests never call ui().
Given a FastAPI app it adds POST /sdapi/v1/txt2img and /sdapi/v1/img2img (the JSON body
is not validated).

text2imgapi() is img2imgapi() without images and masks, on the txt2img runner, its
default script args and its paste fields ("txt2img"), with the txt2img output folders.

img2imgapi(), as in the host: init_images are required (404); the `infotext` field is
applied (fields with an api name the request didn't set are set from it, converted to the
request field's type, else to type(component.value); settings with an infotext label
become override_settings; script args it mentions replace the defaults; no
infotext_pasted callbacks); save_images false (the default) means do_not_save_samples and
do_not_save_grid; script args = defaults, then the selected script's, then each always-on
script's "args" index by index (unknown name or a selectable one: 422); p.is_api = True;
state.begin/end around the job; images come back as base64 PNG (infotext in the PNG)
with `parameters` and info = Processed.js().

Authentication, as in the host: with --api-auth "user:pass[,user2:pass2]" (parsed when
Api is made; split at "," then ":") every route Api adds through its add_api_route has
the dependency Depends(self.auth): HTTP Basic credentials, the password compared with
compare_digest; no credentials get FastAPI's HTTPBasic 401 ("Not authenticated"), wrong
ones 401 "Incorrect username or password", both raised with WWW-Authenticate: Basic.
Routes an extension adds itself (app.add_api_route from on_app_started) get nothing.
api_middleware(app), installed by Api: the handlers for HTTPException and any other
exception answer JSON {"error", "detail", "body", "errors"} with the exception's status
(500 if it has none) and without its headers (so a 401 reaches the client without
WWW-Authenticate). The img2img route's endpoint takes the raw request and builds the
request model itself: FastAPI runs the auth dependency first, as it does in the host for
a well-formed JSON body (the host's pydantic body makes FastAPI answer 422 for a body that
is not JSON at all before auth; the double reaches auth first). Left out: task queue,
progress, the timing/logging middleware, image URLs and the other routes.
"""

import base64
import io
import threading
from secrets import compare_digest

import fastapi
import gradio as gr
import modules.api.models as models
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from modules import images, infotext_utils, processing, scripts, sd_samplers, shared
from PIL import PngImagePlugin

_BASIC_CREDENTIALS = fastapi.Depends(HTTPBasic())  # (inline in the host's auth())


def _refuse(status, detail):
    return fastapi.HTTPException(status_code=status, detail=detail)


def script_name_to_index(name, scripts):
    titles = [s.title().lower() for s in scripts]
    if str(name).lower() not in titles:
        raise _refuse(422, f"Script '{name}' not found")
    return titles.index(name.lower())


def validate_sampler_name(name):
    if name not in sd_samplers.all_samplers_map:
        raise _refuse(400, "Sampler not found")
    return name


def decode_base64_to_image(encoding):
    if encoding.startswith(("http://", "https://")):
        raise _refuse(500, "Requests not allowed")  # (the host may download; no network here)
    data = encoding.split(",", 1)[1] if encoding.startswith("data:image/") else encoding
    try:
        return images.read(io.BytesIO(base64.b64decode(data)))
    except Exception as e:
        raise _refuse(500, "Invalid encoded image") from e


def encode_pil_to_base64(image):
    if isinstance(image, (str, bytes)):  # already encoded
        return image
    if shared.opts.samples_format.lower() != "png":
        raise _refuse(500, "Invalid image format")  # (JPEG/WEBP with EXIF: left out)
    texts = {k: v for k, v in image.info.items() if isinstance(k, str) and isinstance(v, str)}
    chunk = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        chunk.add_text(key, value)
    with io.BytesIO() as out:
        image.save(out, format="PNG", pnginfo=chunk if texts else None)
        return base64.b64encode(out.getvalue())


def api_middleware(app):
    """The host's error handlers: JSON with the status, the exception's headers dropped."""

    def handle_exception(request: fastapi.Request, e: Exception):
        err = {"error": type(e).__name__, "detail": vars(e).get("detail", ""),
               "body": vars(e).get("body", ""), "errors": str(e)}
        return JSONResponse(status_code=vars(e).get("status_code", 500),
                            content=jsonable_encoder(err))

    app.add_exception_handler(Exception, handle_exception)
    app.add_exception_handler(fastapi.HTTPException, handle_exception)


class Api:
    def __init__(self, app=None, queue_lock=None):
        if shared.cmd_opts.api_auth:
            self.credentials = {}
            for auth in shared.cmd_opts.api_auth.split(","):
                user, password = auth.split(":")
                self.credentials[user] = password
        self.app, self.queue_lock = app, queue_lock or threading.RLock()
        if app is not None:
            api_middleware(app)
            self.add_api_route("/sdapi/v1/txt2img", self._serve_txt2img, methods=["POST"])
            self.add_api_route("/sdapi/v1/img2img", self._serve_img2img, methods=["POST"])
        runners = scripts.scripts_txt2img, scripts.scripts_img2img
        if not all(r.scripts for r in runners):
            from modules import ui

            ui.create_ui()
        for runner, is_img2img in zip(runners, (False, True), strict=True):
            if not runner.scripts:
                runner.initialize_scripts(is_img2img)
        self.default_script_arg_txt2img = self.init_default_script_args(runners[0])
        self.default_script_arg_img2img = self.init_default_script_args(runners[1])

    def add_api_route(self, path, endpoint, **kwargs):
        if shared.cmd_opts.api_auth:
            return self.app.add_api_route(path, endpoint,
                                          dependencies=[fastapi.Depends(self.auth)], **kwargs)
        return self.app.add_api_route(path, endpoint, **kwargs)

    def auth(self, credentials: HTTPBasicCredentials = _BASIC_CREDENTIALS):
        known = self.credentials.get(credentials.username)
        if known is not None and compare_digest(credentials.password, known):
            return True
        raise fastapi.HTTPException(status_code=401, detail="Incorrect username or password",
                                    headers={"WWW-Authenticate": "Basic"})

    async def _serve_txt2img(self, request: fastapi.Request):
        body = models.StableDiffusionTxt2ImgProcessingAPI(**await request.json())
        answer = self.text2imgapi(body).dict()
        return {**answer, "images": [x.decode("ascii") for x in answer["images"]]}

    async def _serve_img2img(self, request: fastapi.Request):
        body = models.StableDiffusionImg2ImgProcessingAPI(**await request.json())
        answer = self.img2imgapi(body).dict()
        return {**answer, "images": [x.decode("ascii") for x in answer["images"]]}

    def get_selectable_script(self, script_name, script_runner):
        if not script_name:
            return None, None
        position = script_name_to_index(script_name, script_runner.selectable_scripts)
        return script_runner.selectable_scripts[position], position

    def get_script(self, script_name, script_runner):
        if not script_name:
            return None, None  # (a pair here, as in the host)
        return script_runner.scripts[script_name_to_index(script_name, script_runner.scripts)]

    def init_default_script_args(self, script_runner):
        ends = [s.args_to for s in script_runner.scripts if s.args_to is not None]
        defaults = [0] + [None] * (max([1, *ends]) - 1)
        with gr.Blocks():  # ui() makes components, which need a Blocks around them
            for each in script_runner.scripts:
                if each.ui(each.is_img2img):  # called a second time for the values
                    made = each.ui(each.is_img2img)
                    defaults[each.args_from:each.args_to] = [c.value for c in made]
        return defaults

    def init_script_args(self, request, default_script_args, selectable_scripts, selectable_idx,
                         script_runner, *, input_script_args=None):
        args = list(default_script_args)
        for position, value in (input_script_args or {}).items():
            args[position] = value
        if selectable_scripts:
            args[selectable_scripts.args_from:selectable_scripts.args_to] = request.script_args
            args[0] = selectable_idx + 1
        for name, entry in (request.alwayson_scripts or {}).items():
            script = self.get_script(name, script_runner)
            if script is None:
                raise _refuse(422, f"always on script {name} not found")
            if script.alwayson is False:
                raise _refuse(422, "Cannot have a selectable script in the always on scripts "
                                   "params")
            if "args" in entry:  # named without "args": its defaults stay
                given = entry["args"][:script.args_to - script.args_from]
                args[script.args_from:script.args_from + len(given)] = given
        return args

    def apply_infotext(self, request, tabname, *, script_runner=None, mentioned_script_args=None):
        if not request.infotext:
            return {}
        fields = infotext_utils.paste_fields[tabname]["fields"]
        given = request.dict(exclude_unset=True)
        found = infotext_utils.parse_generation_parameters(request.infotext)

        def read(field):
            value = found.get(field.label) if field.function is None else field.function(found)
            known = request.__fields__.get(field.api)
            wanted = known.type_ if known is not None else type(field.component.value)
            if value is None or wanted is type(None):
                return None
            if isinstance(value, dict) and value.get("__type__") == "generic_update":
                value = value.get("value")  # a gr.update(...) from a reader
            return value if value is None or isinstance(value, wanted) else wanted(value)

        updates = {f.api: read(f) for f in fields if f.api and f.api not in given}
        for name, value in updates.items():
            if value is not None:
                setattr(request, name, value)
        request.override_settings = request.override_settings or {}
        for _, setting, value in infotext_utils.get_override_settings(found):
            request.override_settings.setdefault(setting, value)
        if script_runner is None or mentioned_script_args is None:
            return found
        where = {id(component): i for i, component in enumerate(script_runner.inputs)}
        for field in (f for f in fields if id(f.component) in where):
            value = read(field)
            if value is not None:
                mentioned_script_args[where[id(field.component)]] = value
        return found

    def _run(self, p, runner, chosen, args_for_scripts, tab):
        """The job of a request, as both routes run it."""
        p.is_api, p.scripts = True, runner
        p.outpath_samples = getattr(shared.opts, f"outdir_{tab}_samples")
        p.outpath_grids = getattr(shared.opts, f"outdir_{tab}_grids")
        state = shared.state
        try:
            state.begin(job=f"scripts_{tab}")
            if chosen is None:
                p.script_args = tuple(args_for_scripts)
                return processing.process_images(p)
            p.script_args = args_for_scripts
            return runner.run(p, *args_for_scripts)
        finally:
            state.end()
            shared.total_tqdm.clear()  # (the progress bar stub)
            p.close()

    def _job_fields(self, req, excluded):
        """The job's constructor arguments from a request: the sampler checked, saving as
        asked, the API's own fields left out."""
        sampler, scheduler = sd_samplers.get_sampler_and_scheduler(
            req.sampler_name or req.sampler_index, req.scheduler)
        job = req.copy(update={"sampler_name": validate_sampler_name(sampler),
                               "do_not_save_samples": not req.save_images,
                               "do_not_save_grid": not req.save_images})
        job.sampler_index = None if job.sampler_name else job.sampler_index
        if scheduler != "Automatic" and not job.scheduler:
            job.scheduler = scheduler
        return job, {k: v for k, v in vars(job).items() if k not in (
            "script_name", "script_args", "alwayson_scripts", "infotext", "save_images",
            "send_images", *excluded)}

    def text2imgapi(self, txt2imgreq: models.StableDiffusionTxt2ImgProcessingAPI):
        req = txt2imgreq
        runner = scripts.scripts_txt2img
        from_infotext = {}
        self.apply_infotext(req, "txt2img", script_runner=runner,
                            mentioned_script_args=from_infotext)
        chosen, chosen_index = self.get_selectable_script(req.script_name, runner)
        job, fields = self._job_fields(req, ())
        args_for_scripts = self.init_script_args(req, self.default_script_arg_txt2img, chosen,
                                                 chosen_index, runner,
                                                 input_script_args=from_infotext)
        with self.queue_lock:
            p = processing.StableDiffusionProcessingTxt2Img(sd_model=shared.sd_model, **fields)
            outcome = self._run(p, runner, chosen, args_for_scripts, "txt2img")
        encoded = [encode_pil_to_base64(x) for x in _with_extra_images(outcome)] \
            if job.send_images else []
        return models.TextToImageResponse(images=encoded, parameters=vars(req), info=outcome.js())

    def img2imgapi(self, img2imgreq: models.StableDiffusionImg2ImgProcessingAPI):
        req = img2imgreq
        if req.init_images is None:
            raise _refuse(404, "Init image not found")
        mask = decode_base64_to_image(req.mask) if req.mask else req.mask
        runner = scripts.scripts_img2img
        from_infotext = {}
        self.apply_infotext(req, "img2img", script_runner=runner,
                            mentioned_script_args=from_infotext)
        chosen, chosen_index = self.get_selectable_script(req.script_name, runner)
        job, fields = self._job_fields(req.copy(update={"mask": mask}), ("include_init_images",))
        args_for_scripts = self.init_script_args(req, self.default_script_arg_img2img, chosen,
                                                 chosen_index, runner,
                                                 input_script_args=from_infotext)

        with self.queue_lock:
            p = processing.StableDiffusionProcessingImg2Img(sd_model=shared.sd_model, **fields)
            p.init_images = [decode_base64_to_image(x) for x in req.init_images]
            outcome = self._run(p, runner, chosen, args_for_scripts, "img2img")

        encoded = [encode_pil_to_base64(x) for x in _with_extra_images(outcome)] \
            if job.send_images else []
        if not req.include_init_images:
            req.init_images = req.mask = None
        return models.ImageToImageResponse(images=encoded, parameters=vars(req), info=outcome.js())


def _with_extra_images(outcome):
    """The images, then (Forge) Processed.extra_images as PIL images (process_extra_images)."""
    from modules.double_flavour import FORGE
    from PIL import Image

    if not FORGE:
        return list(outcome.images)
    return list(outcome.images) + [x if isinstance(x, Image.Image) else Image.fromarray(x)
                                   for x in outcome.extra_images]
