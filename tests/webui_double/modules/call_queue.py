"""Stands in for modules/call_queue.py (A1111 v1.10.1): how the UI runs a job.

wrap_gradio_gpu_call(func) holds the queue lock, calls state.begin(<the "task(...)" first
argument, if any>), func, then state.end() (which an exception skips, as in the host);
afterwards the Skip/Interrupt/stop flags, job_count and job are cleared in any case. An
exception is reported ("Error completing request", errors.report) and the call returns
extra_outputs (default [None, ""]) plus an HTML error instead. The time taken is appended
to the last item. Progress tracking and memory statistics are left out.
"""

import functools
import html
import threading
import time

from modules import shared
from modules.errors import report

queue_lock = threading.RLock()


def wrap_gradio_gpu_call(func, extra_outputs=None):
    @functools.wraps(func)
    def in_queue(*args, **kwargs):
        first = args[0] if args else None
        task = first if isinstance(first, str) and first[:5] == "task(" and first[-1:] == ")" \
            else None
        with queue_lock:
            shared.state.begin(job=task)
            outcome = func(*args, **kwargs)
            shared.state.end()
        return outcome

    return wrap_gradio_call(in_queue, extra_outputs=extra_outputs, add_stats=True)


def wrap_gradio_call(func, extra_outputs=None, add_stats=False):
    @functools.wraps(func)
    def resetting(*args, **kwargs):
        try:
            return func(*args, **kwargs)  # and then, whatever happened:
        finally:
            state = shared.state
            state.skipped = state.interrupted = state.stopping_generation = False
            state.job_count, state.job = 0, ""

    return wrap_gradio_call_no_job(resetting, extra_outputs, add_stats)


def wrap_gradio_call_no_job(func, extra_outputs=None, add_stats=False):
    @functools.wraps(func)
    def reporting(*args, extra_outputs_array=extra_outputs, **kwargs):
        began = time.perf_counter()
        try:
            outputs = list(func(*args, **kwargs))
        except Exception as e:
            report(f"Error completing request\nArguments: {args} {kwargs}"[:131072],
                          exc_info=True)
            problem = html.escape(f"{type(e).__name__}: {e}")
            outputs = [*(extra_outputs_array or [None, ""]), f"<div class='error'>{problem}</div>"]
        if add_stats:
            taken = time.perf_counter() - began
            outputs[-1] += (f"<div class='performance'><p class='time'>Time taken: {taken:.1f} "
                            "sec.</p></div>")
        return tuple(outputs)

    return reporting
