"""Stands in for modules/api/models.py (A1111 v1.10.1), with light classes instead of
pydantic models.

StableDiffusionImg2ImgProcessingAPI and StableDiffusionTxt2ImgProcessingAPI, the bodies of
POST /sdapi/v1/img2img and /sdapi/v1/txt2img, are made as the host makes them: one field
per constructor argument of StableDiffusionProcessingImg2Img / ...Txt2Img (the double's
subset of them) except the ones the API may not set, with the dataclass default (None
where the class has a property), plus the API's own fields. As with
pydantic v1: unknown keys are dropped silently, defaults are copies, copy(update=...),
dict(exclude_unset=...), __fields__[name].type_ and vars() behave alike. Unlike it,
values are not checked or converted (the host answers 422 to e.g. a list prompt).
"""

import collections
import dataclasses
import typing
from typing import Any, ClassVar

from modules.processing import (
    StableDiffusionProcessingImg2Img,
    StableDiffusionProcessingTxt2Img,
)

API_NOT_ALLOWED = {"self", "kwargs", "sd_model", "outpath_samples", "outpath_grids",
                   "sampler_index", "extra_generation_params", "overlay_images",
                   "do_not_reload_embeddings", "seed_enable_extras", "prompt_for_display",
                   "sampler_noise_scheduler_override", "ddim_discretize"}


class _Record:
    def __init__(self, **values):
        self.__dict__.update(values)

    def dict(self):
        return {k: v.dict() if isinstance(v, _Record) else v for k, v in vars(self).items()}


class ScriptArg(_Record):
    def __init__(self, label=None, value=None, minimum=None, maximum=None, step=None,
                 choices=None):
        super().__init__(label=label, value=value, minimum=minimum, maximum=maximum, step=step,
                         choices=choices)


class ScriptInfo(_Record):
    def __init__(self, name=None, is_alwayson=None, is_img2img=None, args=None):
        super().__init__(name=name, is_alwayson=is_alwayson, is_img2img=is_img2img,
                         args=list(args or []))

    def dict(self):
        return {**super().dict(), "args": [a.dict() for a in self.args]}


class TextToImageResponse(_Record):
    def __init__(self, images=None, parameters=None, info=None):
        super().__init__(images=images, parameters=parameters, info=info)


class ImageToImageResponse(_Record):
    def __init__(self, images=None, parameters=None, info=None):
        super().__init__(images=images, parameters=parameters, info=info)


ModelField = collections.namedtuple("ModelField", ["type_", "default"])  # what the API reads


class RequestModel:
    __slots__ = ("__dict__", "_set")
    __fields__: ClassVar[dict[str, ModelField]] = {}

    def __init__(self, **data):
        object.__setattr__(self, "_set", {k for k in data if k in self.__fields__})
        for name, spec in self.__fields__.items():
            value = data.get(name, spec.default)
            self.__dict__[name] = value.copy() if isinstance(value, (list, dict)) else value

    def copy(self, *, update=None):
        twin = object.__new__(type(self))
        object.__setattr__(twin, "_set", self._set | set(update or {}))
        twin.__dict__.update({**self.__dict__, **(update or {})})
        return twin

    def dict(self, *, exclude_unset=False):
        return {k: v for k, v in self.__dict__.items() if k in self._set or not exclude_unset}


def _field_type(annotation):
    """pydantic v1's type_ of a field: the item type of list[X], the value type of
    dict[K, V], the class itself for a plain class, else Any."""
    arguments = typing.get_args(annotation)
    if typing.get_origin(annotation) in (list, dict) and arguments:
        return _field_type(arguments[-1])
    return annotation if isinstance(annotation, type) else Any


def _request_model(name, cls, extra_fields):
    fields = {}
    for f in dataclasses.fields(cls):
        if f.init and f.name not in API_NOT_ALLOWED:
            default = None if isinstance(f.default, property) else f.default
            fields[f.name] = ModelField(_field_type(f.type), default)
    fields.update({key: ModelField(kind, default) for key, kind, default in extra_fields})
    return type(name, (RequestModel,), {"__fields__": fields, "__slots__": ()})


StableDiffusionImg2ImgProcessingAPI = _request_model(
    "StableDiffusionProcessingImg2Img", StableDiffusionProcessingImg2Img, [
        ("sampler_index", str, "Euler"), ("init_images", list, None),
        ("denoising_strength", float, 0.75), ("mask", str, None),
        ("include_init_images", bool, False), ("script_name", str, None),
        ("script_args", list, []), ("send_images", bool, True), ("save_images", bool, False),
        ("alwayson_scripts", dict, {}), ("force_task_id", str, None), ("infotext", str, None)])

StableDiffusionTxt2ImgProcessingAPI = _request_model(
    "StableDiffusionProcessingTxt2Img", StableDiffusionProcessingTxt2Img, [
        ("sampler_index", str, "Euler"), ("script_name", str, None),
        ("script_args", list, []), ("send_images", bool, True), ("save_images", bool, False),
        ("alwayson_scripts", dict, {}), ("force_task_id", str, None), ("infotext", str, None)])
