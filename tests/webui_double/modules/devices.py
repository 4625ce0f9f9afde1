"""Stands in for modules/devices.py (A1111 v1.10.1) on a machine without torch: device
names, and autocast() / without_autocast() as context managers that change nothing."""

import contextlib

cpu = device = "cpu"
dtype = dtype_vae = dtype_unet = "float32"
unet_needs_upcast = fp8 = False


def autocast(disable=False):
    return contextlib.nullcontext()  # (there is no mixed precision to switch on)


without_autocast = autocast


def torch_gc():
    """Forge: backend.memory_management.soft_empty_cache(). A1111: nothing to do: in the
    double's memory model (processing.limit_sampler_memory), what nothing refers to any
    more is free already, and what is still referred to (a traceback's tensors)
    torch_gc() cannot free in the host either."""
    from modules.double_flavour import FORGE

    if FORGE:
        from backend import memory_management

        memory_management.soft_empty_cache()
