"""Workers hand freed heap memory back to the OS after every task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from celery.signals import task_postrun

from highlights.celery import release_freed_memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS in /proc/self/status")


def test_freed_heap_memory_is_returned_after_a_task() -> None:
    assert release_freed_memory in [ref() for _, ref in task_postrun.receivers], "connected to task_postrun"
    # 300 MB of 100 KB buffers (below glibc's mmap threshold, so they live in the heap); the last one
    # stays alive, so the freed ones sit below it and free() alone cannot give them back.
    buffers = [np.ones(100_000 // 8) for _ in range(3000)]
    last = buffers[-1]
    del buffers
    before = _rss_mb()

    release_freed_memory()

    assert before - _rss_mb() > 150, "most of the 300 MB left the process"
    assert last.sum() == 12_500
