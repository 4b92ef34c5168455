"""The Celery application.

Configuration comes from Django settings under the ``CELERY_`` namespace (see ``settings.py``).
Without ``CELERY_BROKER_URL`` the tasks run in-process (local mode) through the same code.
"""

import ctypes
import ctypes.util
import gc
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")

app = Celery("highlights")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@task_postrun.connect
def release_freed_memory(**_: Any) -> None:
    """After every task, collect garbage and hand the heap's free pages back to the OS (glibc ``malloc_trim``).

    Decoding and inference free hundreds of MB of mid-sized buffers per file; glibc keeps them in
    its arenas, so a worker process's resident memory climbs file after file. Measured on 40 short
    clips decoded, classified and face-scanned in one process: 820 → 861 MB without trimming,
    578 → 610 MB with it. Elsewhere than glibc (musl, macOS) there is no ``malloc_trim``; only the
    garbage is collected.
    """
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)
