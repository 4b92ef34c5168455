"""The dispatch layer: every Celery message the project sends leaves from here, once its transaction commits.

Domain code (``services``, ``learning``, ``backfill``, ``people``) changes rows and never enqueues
work; the caller — a view, an API view, a management command, a task — hands what must run to one
of these functions. This module owns the pipeline canvas, the broker priorities and the one
on-commit send (:func:`send_on_commit`). Signatures name their tasks (Celery's stable dotted
names), so this module imports no task module and any task may dispatch through it; the task
modules are registered in every process by the apps' ``ready()``.

In local mode (no broker, ``task_always_eager``) a message runs in-process when it is sent.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from celery import chain, signature
from celery.canvas import Signature
from django.db import transaction

from highlights.learning import Labelling
from highlights.models import IndexJob, Reel, TrainingJob
from indexer.errors import IndexingError
from indexer.steps import STEPS, Step

logger = logging.getLogger(__name__)

# Redis priority of a job's first step (0 is served first). A started job's later steps carry no
# priority, i.e. 0, so workers finish started jobs before they start new files.
BROKER_PRIORITY = {IndexJob.Priority.HIGH: 1, IndexJob.Priority.NORMAL: 4, IndexJob.Priority.LOW: 8}


def send_on_commit(message: Signature, **options: Any) -> None:
    """Send ``message`` (a signature or canvas) once the current transaction commits; at once outside one.

    Args:
        message: what to send.
        options: ``apply_async`` options (``priority``, ``countdown`` ...).
    """
    transaction.on_commit(partial(message.apply_async, **options))


def canvas(job_id: int, first_step: Step | None = None) -> chain:
    """The Celery chain that indexes one job's video, from ``first_step`` (default: the first) to the last step.

    Each link is the step's task (``indexer.<step>``) with the job's primary key, immutable: a
    step's return value is not passed on.
    """
    steps = STEPS[STEPS.index(first_step) :] if first_step else STEPS
    return chain(*(signature(s.task_name, args=(job_id,), immutable=True) for s in steps))


def index_job(job: IndexJob) -> None:
    """Send a new job's pipeline at the job's priority, on commit (see ``services.create_index_job``)."""
    _send_steps(canvas(job.pk), {"priority": BROKER_PRIORITY[IndexJob.Priority(job.priority)]})


def resume_job(job: IndexJob, first_step: Step, *, queued: bool) -> None:
    """Send a recovered job's remaining steps from ``first_step``, on commit.

    Args:
        job: the job (``IndexJob.resume`` gave ``first_step``).
        first_step: the first step not completed.
        queued: whether the job never started; a started job's steps go without a priority,
            which sorts first (see ``settings.CELERY_BROKER_TRANSPORT_OPTIONS``).
    """
    options = {"priority": BROKER_PRIORITY[IndexJob.Priority(job.priority)]} if queued else {}
    _send_steps(canvas(job.pk, first_step), options)


def _send_steps(steps: chain, options: dict[str, Any]) -> None:
    """Send a job's steps on commit. In local mode they run here, and a failing step raises.

    A failing step has already marked its job failed with a readable message (as on a worker), so
    the error is logged and the caller (a request, a command) reads the job instead of a traceback.
    """

    def send() -> None:
        try:
            steps.apply_async(**options)
        except IndexingError as exc:
            logger.info("local mode: %s", exc)  # the job row holds the message

    transaction.on_commit(send)


def render_reel(reel: Reel) -> None:
    """Send the render of a reel queued by ``services.request_render``, on commit (``render`` queue)."""
    send_on_commit(signature("highlights.render_reel", args=(reel.pk,)))


def prune_indexes() -> None:
    """After ``services.delete_game``: drop the deleted clips and face tracks from the FAISS clip and face-track
    indexes, on commit (``default`` queue)."""
    send_on_commit(signature("indexer.prune_clip_index"))
    send_on_commit(signature("indexer.prune_face_track_index"))


def send_labelling(labelling: Labelling | None) -> None:
    """Send the labelling a registry change calls for (``learning.Activation.labelling``), on commit.

    A head re-scores the whole archive in one task (no video decoded); a CRNN decodes video, so it
    labels only the games an operator names, one task per game (``ingest`` queue). ``None``: nothing to send.
    """
    if labelling is None:
        return
    if labelling.game_ids is None:
        send_on_commit(signature("highlights.apply_highlight_head", args=(labelling.model_id,)))
        return
    for game_id in labelling.game_ids:
        send_on_commit(signature("highlights.label_game_with_crnn", args=(labelling.model_id, game_id)))


def send_training(job: TrainingJob) -> None:
    """Send a training job queued from the labels page (``learning.request_training``), on commit (``ingest`` queue)."""
    send_on_commit(signature("highlights.train_classifier", args=(job.pk,)))
