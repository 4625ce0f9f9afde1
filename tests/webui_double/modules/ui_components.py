"""Stands in for modules/ui_components.py (A1111 v1.10.1): InputAccordion only.

An InputAccordion is a hidden checkbox (its value, the script argument, says whether the
accordion is open) paired with a gr.Accordion; `with InputAccordion(...)` enters the
accordion, so the controls made inside go into it. The JavaScript that keeps both in
step, the Form* layout helpers and ToolButton are left out.
"""

import contextlib
import itertools

import gradio as gr

_unnamed = itertools.count()


@contextlib.contextmanager
def _no_pyi_files():
    """gradio 4 writes a .pyi beside the module of every component class it meets; the
    WebUI (Forge) keeps it from writing into its own folders, and so does the double."""
    meta = getattr(gr, "component_meta", None)
    original = getattr(meta, "create_or_modify_pyi", None)
    if original is None:
        yield
        return
    meta.create_or_modify_pyi = lambda *args, **kwargs: None
    try:
        yield
    finally:
        meta.create_or_modify_pyi = original


with _no_pyi_files():
    class InputAccordion(gr.Checkbox):
        def __init__(self, value, **kwargs):
            self.accordion_id = kwargs.get("elem_id") or f"input-accordion-{next(_unnamed)}"
            super().__init__(value, **{**kwargs, "visible": False,
                                       "elem_id": f"{self.accordion_id}-checkbox"})
            self.accordion = gr.Accordion(**{
                **kwargs, "elem_id": self.accordion_id, "open": value,
                "label": kwargs.get("label", "Accordion"), "elem_classes": ["input-accordion"]})

        def extra(self):
            """A column in the accordion's title row."""
            return gr.Column(elem_id=f"{self.accordion_id}-extra",
                             elem_classes="input-accordion-extra", min_width=0)

        def __enter__(self):
            self.accordion.__enter__()
            return self

        def __exit__(self, *exc_info):
            self.accordion.__exit__(*exc_info)

        def get_block_name(self):
            return "checkbox"  # (it is one, whatever it looks like)
