"""Stands in for modules/sd_samplers.py and sd_schedulers.py (A1111 v1.10.1): the
samplers' and schedulers' names, each sampler's default scheduler, and the name handling
of the UI, the API and processing. Nothing samples here (processing.py paints);
create_sampler() only checks the name. Sampler aliases are left out.
"""

import collections
import logging

from modules import shared

SamplerData = collections.namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])
Scheduler = collections.namedtuple("Scheduler", ["name", "label", "aliases"], defaults=[None])

# k-diffusion samplers: default scheduler (None: the model's own sigmas); then the others
_K_DIFFUSION = {"DPM++ 2M": "karras", "DPM++ SDE": "karras", "DPM++ 2M SDE": "exponential",
                "DPM++ 2M SDE Heun": "exponential", "DPM++ 2S a": "karras",
                "DPM++ 3M SDE": "exponential", "Euler a": None, "Euler": None, "LMS": None,
                "Heun": None, "DPM2": "karras", "DPM2 a": "karras", "DPM fast": None,
                "DPM adaptive": None, "Restart": "karras"}
_OTHERS = ("DDIM", "DDIM CFG++", "PLMS", "UniPC")
all_samplers = [SamplerData(name, None, [], {"scheduler": default, "k_diffusion": True})
                for name, default in _K_DIFFUSION.items()]
all_samplers += [SamplerData(name, None, [], {"k_diffusion": False}) for name in _OTHERS]
all_samplers += [SamplerData("LCM", None, [], {"k_diffusion": True})]
all_samplers_map = {s.name: s for s in all_samplers}
samplers = samplers_for_img2img = all_samplers

schedulers = [Scheduler(name, label) for name, label in (
    ("automatic", "Automatic"), ("uniform", "Uniform"), ("karras", "Karras"),
    ("exponential", "Exponential"), ("polyexponential", "Polyexponential"))]
schedulers.append(Scheduler("sgm_uniform", "SGM Uniform", ["SGMUniform"]))
schedulers += [Scheduler(name, label) for name, label in (
    ("kl_optimal", "KL Optimal"), ("align_your_steps", "Align Your Steps"), ("simple", "Simple"),
    ("normal", "Normal"), ("ddim", "DDIM"), ("beta", "Beta"))]
schedulers_map = {**{s.name: s for s in schedulers}, **{s.label: s for s in schedulers}}


def visible_samplers():
    return [x for x in samplers if x.name not in shared.opts.hide_samplers]


def find_sampler_config(name):
    return all_samplers_map.get(name) if name is not None else all_samplers[0]


def create_sampler(name, model):
    found = find_sampler_config(name)
    assert found is not None, f"bad sampler name: {name}"
    return found


def get_sampler_and_scheduler(sampler_name, scheduler_name, *, convert_automatic=True):
    """(sampler name, scheduler label). A name like "DPM++ 2M Karras" (older infotexts) names
    both; an unknown sampler is the first one, an unknown scheduler Automatic; with
    convert_automatic a sampler's own default scheduler is given as Automatic."""
    name = sampler_name or samplers[0].name
    scheduler = schedulers_map.get(scheduler_name, schedulers[0])
    for candidate in schedulers:  # every scheduler is tried on what is left of the name
        for spelling in (candidate.label, candidate.name, *(candidate.aliases or ())):
            if name.endswith(f" {spelling}"):
                scheduler, name = candidate, name[:-len(spelling) - 1]
                break
    sampler = all_samplers_map.get(name, samplers[0])
    if convert_automatic and sampler.options.get("scheduler") == scheduler.name:
        scheduler = schedulers[0]
    return sampler.name, scheduler.label


def get_sampler_from_infotext(d: dict):
    sampler, _ = get_sampler_and_scheduler(d.get("Sampler"), d.get("Schedule type"))
    return sampler


def get_scheduler_from_infotext(d: dict):
    _, scheduler = get_sampler_and_scheduler(d.get("Sampler"), d.get("Schedule type"))
    return scheduler


def fix_p_invalid_sampler_and_scheduler(p):
    given = p.sampler_name, p.scheduler
    p.sampler_name, p.scheduler = get_sampler_and_scheduler(*given, convert_automatic=False)
    if given != (p.sampler_name, p.scheduler):
        logging.warning(f'Sampler Scheduler autocorrection: "{given[0]}" -> "{p.sampler_name}", '
                        f'"{given[1]}" -> "{p.scheduler}"')


def schedule_label(p):
    """Double only: the "Schedule type" a k-diffusion sampler writes into the infotext as it
    samples (for Automatic: the sampler's default scheduler), or None."""
    found = find_sampler_config(p.sampler_name)
    if found is None or not found.options["k_diffusion"]:
        return None
    name = p.scheduler if p.scheduler not in (None, "Automatic") else found.options.get("scheduler")
    chosen = schedulers_map.get(name)
    return chosen.label if chosen is not None and chosen.label != "Automatic" else None
