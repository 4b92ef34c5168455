"""Celery tasks: thin, named, idempotent wrappers taking an IndexJob primary key.

One task per pipeline step of ``indexer.steps.STEPS``, named ``indexer.<step>``, with the step's
time limits and retry policy: retryable errors are retried with exponential backoff and jitter;
permanent errors (corrupt file, missing weights) fail the job at once. ``acks_late`` is safe
because every step is idempotent: a worker child killed mid-step leaves the message
unacknowledged and another worker redoes the step without duplicating clips. A job whose whole
worker died (its message held unacknowledged until the visibility timeout) is re-dispatched by
``indexer.recover_stalled_jobs``, which Celery beat runs periodically.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.exceptions import Ignore
from django.conf import settings

from highlights.models import IndexJob
from indexer import index_writer, recovery
from indexer.pipeline import RETRY_POLICY, retry_options, run_step
from indexer.steps import STEPS, Step


class StepTask(Task):
    """Marks the IndexJob failed when a step finally fails (retries exhausted included)."""

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        job = IndexJob.objects.filter(pk=args[0]).first()
        if job is not None:
            job.fail(f"{type(exc).__name__}: {exc}")


def _step_task(step: Step) -> Task:
    """Register the Celery task of ``step``: runs it, and drops a duplicate delivery with the rest of its chain."""

    def run(job_id: int) -> None:
        if not run_step(job_id, step.name):
            raise Ignore()  # a duplicate delivery: acknowledged, and the rest of its chain is not sent

    run.__name__ = run.__qualname__ = step.name
    run.__doc__ = f"{step.title} (pipeline step ``{step.name}``)."
    return shared_task(
        name=step.task_name,
        base=StepTask,
        soft_time_limit=step.soft_time_limit_s,
        time_limit=step.time_limit_s,
        **retry_options(step.retry),
    )(run)


STEP_TASKS: dict[str, Task] = {s.name: _step_task(s) for s in STEPS}
"""The step tasks by step name."""


@shared_task(name="indexer.prune_clip_index", soft_time_limit=600, time_limit=660, **RETRY_POLICY)
def prune_clip_index() -> int:
    """Drop deleted clips from the FAISS clip index (after a game is deleted); idempotent."""
    return index_writer.prune_clip_index()


@shared_task(name="indexer.prune_face_track_index", soft_time_limit=600, time_limit=660, **RETRY_POLICY)
def prune_face_track_index() -> int:
    """Drop deleted face tracks from the FAISS face-track index (after a game is deleted); idempotent."""
    return index_writer.prune_face_track_index()


@shared_task(name="indexer.recover_stalled_jobs", soft_time_limit=120, time_limit=180)
def recover_stalled_jobs() -> list[int]:
    """Re-dispatch running jobs that no live worker holds and nobody advanced for ``HL_JOB_STALL_S``."""
    return recovery.recover_jobs(stalled_after_s=settings.HL_JOB_STALL_S)
