"""Stands in for backend/memory_management.py (Forge main): what FacePop and the double's
sampler use of it.

OOM_EXCEPTION is torch.cuda.OutOfMemoryError (Exception where torch has no CUDA module);
soft_empty_cache() is what devices.torch_gc() calls in Forge; unload_all_models() and
get_torch_device() change nothing here. Forge's attention retries on OOM (empty the cache,
then slice the attention into more and more steps) live in backend/attention.py; the
double's sampler imitates them (modules/processing.py, limit_sampler_memory).
"""

try:
    import torch

    OOM_EXCEPTION = torch.cuda.OutOfMemoryError
except (ImportError, AttributeError):
    OOM_EXCEPTION = Exception

soft_empty_cache_calls = []
"""Test scaffolding: one entry per soft_empty_cache() call."""


def soft_empty_cache(force=False):
    soft_empty_cache_calls.append(force)


def unload_all_models():
    return None


def get_torch_device():
    return "cpu"
