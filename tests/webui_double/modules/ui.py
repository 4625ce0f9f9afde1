"""Stands in for the script part of modules/ui.py create_ui() (A1111 v1.10.1).

create_ui() resets the paste fields and runs the on_ui_settings callbacks (the host
registers its settings first), then for txt2img and for img2img: scripts_current is the
tab's runner, initialize_scripts(is_img2img) runs, and the runner's UI is made section by
section in page order (the host's sections, sections only scripts name, then "scripts":
setup_ui() with the section-None always-on scripts, the dropdown and the selectable
scripts); the tab's infotext fields become its paste fields ("inpaint" shares img2img's).
Nothing else of the page is made (so the host's own paste fields, prompt, size, ..., are
missing) and opts.ui_reorder_list is not read. Returns a gr.Blocks with both tabs. Forge:
the UI is made under Forge's gradio shim (modules/gradio_extensions.py).
"""

import contextlib

import gradio as gr

from modules import infotext_utils, script_callbacks, scripts

_PAGE = ("prompt", "image", "inpaint", "sampler", "accordions", "checkboxes", "dimensions",
         "cfg", "denoising", "seed", "batch", "override_settings")


def ordered_ui_categories():
    named_by_scripts = {}
    for each in scripts.scripts_txt2img.scripts + scripts.scripts_img2img.scripts:
        if isinstance(each.section, str) and each.section not in _PAGE:
            named_by_scripts.setdefault(each.section)
    return [*_PAGE, *named_by_scripts, "scripts"]


def _tab(runner, is_img2img):
    scripts.scripts_current = runner
    runner.initialize_scripts(is_img2img=is_img2img)
    name = "img2img" if is_img2img else "txt2img"
    with gr.Tab(name, id=name):
        runner.prepare_ui()
        for section in ordered_ui_categories():
            if section == "scripts":
                runner.setup_ui()
            runner.setup_ui_for_section(section)
    for tab in (name, "inpaint") if is_img2img else (name,):
        infotext_utils.add_paste_fields(tab, None, list(runner.infotext_fields))


def create_ui():
    from modules.double_flavour import FORGE

    if FORGE:  # Forge's gradio shim (see modules/gradio_extensions.py)
        from modules.gradio_extensions import forge_shim
    infotext_utils.reset()
    script_callbacks.ui_settings_callback()  # the settings are registered first
    with forge_shim() if FORGE else contextlib.nullcontext(), \
            gr.Blocks(analytics_enabled=False) as demo:
        _tab(scripts.scripts_txt2img, is_img2img=False)
        _tab(scripts.scripts_img2img, is_img2img=True)
    scripts.scripts_current = None  # (no tab is being made any more)
    return demo
