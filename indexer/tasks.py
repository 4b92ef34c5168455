"""Celery tasks: thin, named, idempotent wrappers taking an IndexJob primary key.

Each task runs one pipeline step (``indexer.pipeline``). Retryable errors are retried with
exponential backoff and jitter; permanent errors (corrupt file, missing weights) fail the job at
once. ``acks_late`` is safe because every step is idempotent: a worker killed mid-step leaves the
message unacknowledged and another worker redoes the step without duplicating clips.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

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


@shared_task(name="indexer.probe", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def probe(job_id: int) -> None:
    """Probe the file, hash it, and attach the job to its (de-duplicated) Game."""
    run_step(job_id, "probe")


@shared_task(name="indexer.analyse", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, **_STEP_OPTIONS)
def analyse(job_id: int) -> None:
    """Decode once: action windows, motion, shots, audio excitement."""
    run_step(job_id, "analyse")


@shared_task(name="indexer.save_clips", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def save_clips(job_id: int) -> None:
    """Turn windows into clips with highlight scores and store them."""
    run_step(job_id, "clips")


@shared_task(name="indexer.update_index", soft_time_limit=600, time_limit=660, **_STEP_OPTIONS)
def update_index(job_id: int) -> None:
    """Bring the FAISS clip index in line with the database."""
    run_step(job_id, "index")


@shared_task(name="indexer.detect_faces", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, **_STEP_OPTIONS)
def detect_faces(job_id: int) -> None:
    """Find, track and describe faces in the clips, then identify and cluster the new tracks."""
    run_step(job_id, "faces")


@shared_task(name="indexer.make_thumbnails", soft_time_limit=1800, time_limit=1860, **_STEP_OPTIONS)
def make_thumbnails(job_id: int) -> None:
    """Cut a thumbnail per clip; the last step marks the job succeeded."""
    run_step(job_id, "thumbnails")
