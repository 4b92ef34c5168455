"""Celery tasks: thin, named, idempotent wrappers taking an IndexJob primary key.

Each step task runs one pipeline step (``indexer.pipeline``). Retryable errors are retried with
exponential backoff and jitter; permanent errors (corrupt file, missing weights) fail the job at
once. ``acks_late`` is safe because every step is idempotent: a worker child killed mid-step leaves
the message unacknowledged and another worker redoes the step without duplicating clips. A job whose
whole worker died (its message held unacknowledged until the visibility timeout) is re-dispatched
by ``indexer.recover_stalled_jobs``, which Celery beat runs periodically.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.exceptions import Ignore
from django.conf import settings

from indexer import recovery
from indexer.pipeline import RETRYABLE_ERRORS, fail, run_step


class StepTask(Task):
    """Marks the IndexJob failed when a step finally fails (retries exhausted included)."""

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        fail(args[0], f"{type(exc).__name__}: {exc}")


_STEP_OPTIONS = {
    "base": StepTask,
    "autoretry_for": RETRYABLE_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def _step(job_id: int, step: str) -> None:
    if not run_step(job_id, step):
        raise Ignore()  # a duplicate delivery: acknowledged, and the rest of its chain is not sent


@shared_task(name="indexer.probe", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def probe(job_id: int) -> None:
    """Probe the file, hash it, and attach the job to its (de-duplicated) Game."""
    _step(job_id, "probe")


@shared_task(name="indexer.analyse", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, **_STEP_OPTIONS)
def analyse(job_id: int) -> None:
    """Decode once: action windows, motion, shots, audio excitement."""
    _step(job_id, "analyse")


@shared_task(name="indexer.save_clips", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def save_clips(job_id: int) -> None:
    """Turn windows into clips with highlight scores and store them."""
    _step(job_id, "clips")


@shared_task(name="indexer.read_score_bug", soft_time_limit=3 * 3600, time_limit=3 * 3600 + 60, **_STEP_OPTIONS)
def read_score_bug(job_id: int) -> None:
    """Read the score bug: game states, scoring events, players and teams from the broadcast graphics."""
    _step(job_id, "graphics")


@shared_task(name="indexer.update_index", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def update_index(job_id: int) -> None:
    """Bring the FAISS clip index in line with the database."""
    _step(job_id, "index")


@shared_task(name="indexer.detect_faces", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, **_STEP_OPTIONS)
def detect_faces(job_id: int) -> None:
    """Find, track and describe faces in the clips, then identify and cluster the new tracks."""
    _step(job_id, "faces")


@shared_task(name="indexer.make_thumbnails", soft_time_limit=1800, time_limit=1860, **_STEP_OPTIONS)
def make_thumbnails(job_id: int) -> None:
    """Cut a thumbnail per clip; the last step marks the job succeeded."""
    _step(job_id, "thumbnails")


@shared_task(name="indexer.recover_stalled_jobs", soft_time_limit=120, time_limit=180)
def recover_stalled_jobs() -> list[int]:
    """Re-dispatch running jobs that no live worker holds and nobody advanced for ``HL_JOB_STALL_S``."""
    return recovery.recover_jobs(stalled_after_s=settings.HL_JOB_STALL_S)
