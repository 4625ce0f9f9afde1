"""Stands in for modules/gradio_extensions.py (Forge main, gradio 4): the shim that lets
gradio 3 code build under gradio 4. Each gradio component and layout class gets an
__init__ that takes `source=` as `sources=[...]` and DROPS every keyword its signature
lacks, with a GradioDeprecationWarning ("unexpected argument for <Class>: <name>")
instead of an error, so a wrong keyword builds a component without it. (gradio 3's
components take **kwargs: nothing is dropped there; gradio 3.41 warns "unused kwarg"
itself.) The tooltip, events and `_js` repairs are left out.

Difference: Forge applies it once, for good, when the UI module is imported; the double
applies it only while modules.ui.create_ui() runs in the Forge flavour (forge_shim()),
so other tests see gradio unchanged.
"""

import contextlib
import inspect
import warnings

import gradio as gr


class GradioDeprecationWarning(DeprecationWarning):
    pass


def _repaired(grclass, original):
    def repaired_init(self, *args, tooltip=None, source=None, **kwargs):
        if source:
            kwargs["sources"] = [source]
        allowed = inspect.signature(original).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in allowed.values())
        fixed = {}
        for name, value in kwargs.items():
            if takes_any or name in allowed:
                fixed[name] = value
            else:
                warnings.warn(f"unexpected argument for {grclass.__name__}: {name}",
                              GradioDeprecationWarning, stacklevel=2)
        original(self, *args, **fixed)

    return repaired_init


@contextlib.contextmanager
def forge_shim():
    classes = {getattr(gr, name, None) for name in
               (*gr.components.__all__, *getattr(gr.layouts, "__all__", ()))}
    replaced = []
    for grclass in classes:
        if not isinstance(grclass, type):
            continue
        if not getattr(grclass, "EVENTS", None) and not issubclass(grclass,
                                                                    gr.blocks.BlockContext):
            continue
        original = grclass.__dict__.get("__init__")
        if original is None:
            continue
        grclass.__init__ = _repaired(grclass, original)
        replaced.append((grclass, original))
    try:
        yield
    finally:
        for grclass, original in replaced:
            grclass.__init__ = original
