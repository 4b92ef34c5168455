"""Celery tasks of the product app: thin, named wrappers taking a primary key.

``highlights.render_reel`` runs on its own ``render`` queue (``settings.CELERY_TASK_ROUTES``), so
long encodes never hold up indexing or light work, under the indexer's retry policy; training and CRNN
labelling decode video and run on the ``ingest`` queue.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from highlights import dispatch, learning, services
from highlights.rendering import RenderError
from indexer.pipeline import RETRY_POLICY


class RenderTask(Task):
    """Marks the reel failed when its render finally fails (retries exhausted, time limit, any other error)."""

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        message = str(exc) if isinstance(exc, RenderError) else f"{type(exc).__name__}: {exc}"
        services.mark_render_failed(args[0], message)


@shared_task(name="highlights.render_reel", base=RenderTask, soft_time_limit=3600, time_limit=3660, **RETRY_POLICY)
def render_reel(reel_id: int) -> None:
    """Render the current version of a reel to MP4 (does nothing when that version is rendered).

    Idempotent per reel version, so it is acknowledged late and requeued when its process dies; a
    render whose whole worker died is recognised by its stale heartbeat (``services.request_render``).
    """
    services.render_reel(reel_id)


@shared_task(name="highlights.apply_highlight_head", soft_time_limit=1800, time_limit=1860, acks_late=True)
def apply_highlight_head(model_id: int) -> None:
    """Re-score every stored clip embedding with a registered head and store its labels (idempotent)."""
    learning.apply_head(model_id)


@shared_task(name="highlights.label_game_with_crnn", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, acks_late=True)
def label_game_with_crnn(model_id: int, game_id: int) -> None:
    """Decode a game's clips and label them with a registered CRNN (idempotent); runs on the ``ingest`` queue."""
    learning.label_game_with_crnn(model_id, game_id)


@shared_task(name="highlights.train_classifier", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, acks_late=True)
def train_classifier(job_id: int) -> None:
    """Train the model of a training job (progress on its row), then queue the labelling its activation calls for.

    Acknowledged late: a job whose worker died mid-training is redelivered and trained again from the
    start; a finished job is left as it is.
    """
    activation = learning.run_training_job(job_id)
    if activation is not None:
        dispatch.send_labelling(activation.labelling)
