"""Running independent graph calls side by side on a few threads.

MediaPipe releases the GIL while a graph runs, so two graphs on two threads take about half
the wall-clock time of one after the other. One graph object must not run twice at once
(LockedGraph serialises it), so every worker gets its own copy: a task is handed the
number of a free copy, and the cached loaders in mediapipe_runtime build each copy once per
process. Nothing here lives longer than one ``map`` call.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from lib_facepop.detect.mediapipe_runtime import MAX_GRAPH_COPIES

Item = TypeVar("Item")
Result = TypeVar("Result")


def default_workers() -> int:
    """As many workers as there are cores, up to the number of graph copies."""
    return max(1, min(MAX_GRAPH_COPIES, os.cpu_count() or 1))


def map_with_copies(task: Callable[[int, Item], Result], items: Sequence[Item],
                    workers: int) -> list[Result]:
    """``[task(copy, item) for item in items]``, run on up to ``workers`` threads; ``copy``
    is the graph copy (0 .. workers-1) that the task may use, never used by two tasks at
    the same time."""
    workers = max(1, min(workers, MAX_GRAPH_COPIES, len(items)))
    if workers == 1:
        return [task(0, item) for item in items]
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    for copy in range(workers):
        free.put(copy)

    def run(item: Item) -> Result:
        copy = free.get()
        try:
            return task(copy, item)
        finally:
            free.put(copy)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="facepop-detect") as pool:
        return list(pool.map(run, items))
