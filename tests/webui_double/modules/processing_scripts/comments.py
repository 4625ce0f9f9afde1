"""Stands in for modules/processing_scripts/comments.py.

A1111 v1.10.1: the built-in always-on "Comments" script. With opts.enable_prompt_comments
(on by default) its process() removes `#` comments (from a # to the end of its line; a
line that starts with # goes entirely) from p.all_prompts, p.all_negative_prompts,
p.main_prompt and p.main_negative_prompt. Being a built-in processing script it is loaded
after the extensions' scripts, so their process() runs first and sees the prompts with
comments. The token counter callback and hires prompts are left out.

Forge main: no script at all: strip_comments() (which checks opts.enable_prompt_comments
itself) is called when styles are applied to a prompt (modules/styles.py), i.e. in every
job's setup_prompts(), before any script's process() sees the prompts.
"""

import re

from modules import scripts, shared
from modules.double_flavour import FORGE


def strip_comments(text):
    if FORGE and not shared.opts.enable_prompt_comments:
        return text
    text = re.sub(r"(^|\n)#[^\n]*(\n|$)", "\n", text)  # a whole comment line
    return re.sub(r"#[^\n]*(\n|$)", "\n", text)  # a comment after text on its line


if not FORGE:
    class ScriptStripComments(scripts.Script):
        def title(self):
            return "Comments"

        def show(self, is_img2img):
            return scripts.AlwaysVisible

        def process(self, p, *args):
            if not shared.opts.enable_prompt_comments:
                return
            p.all_prompts = [strip_comments(text) for text in p.all_prompts]
            p.all_negative_prompts = [strip_comments(text) for text in p.all_negative_prompts]
            p.main_prompt = strip_comments(p.main_prompt)
            p.main_negative_prompt = strip_comments(p.main_negative_prompt)
