"""Celery tasks of the product app: thin, named wrappers taking a primary key.

``highlights.render_reel`` runs on its own ``render`` queue (``settings.CELERY_TASK_ROUTES``), so
long encodes never hold up indexing or light work; training and CRNN labelling decode video and run
on the ``ingest`` queue.
"""

from __future__ import annotations

from functools import partial

from celery import shared_task
from django.db import transaction

from highlights import learning, services
from highlights.models import TrainingJob


@shared_task(name="highlights.render_reel", soft_time_limit=3600, time_limit=3660, acks_late=True)
def render_reel(reel_id: int) -> None:
    """Render the current version of a reel to MP4 (does nothing when that version is rendered)."""
    services.render_reel(reel_id)


@shared_task(name="highlights.apply_highlight_head", soft_time_limit=1800, time_limit=1860, acks_late=True)
def apply_highlight_head(model_id: int) -> None:
    """Re-score every stored clip embedding with a registered head and store its labels (idempotent)."""
    learning.apply_head(model_id)


@shared_task(name="highlights.label_game_with_crnn", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, acks_late=True)
def label_game_with_crnn(model_id: int, game_id: int) -> None:
    """Decode a game's clips and label them with a registered CRNN (idempotent); runs on the ``ingest`` queue."""
    learning.label_game_with_crnn(model_id, game_id)


@shared_task(
    name="highlights.train_highlight_model", soft_time_limit=6 * 3600, time_limit=6 * 3600 + 60, acks_late=True
)
def train_highlight_model(job_id: int) -> None:
    """Train the model of a training job (progress on its row), then queue the labelling its activation calls for.

    Acknowledged late: a job whose worker died mid-training is redelivered and trained again from the
    start; a finished job is left as it is.
    """
    activation = learning.run_training_job(job_id)
    if activation is not None:
        send_labelling(activation.labelling)


def send_training(job: TrainingJob) -> None:  # moved into the dispatch module at merge
    """Queue a training job once the current transaction commits."""
    transaction.on_commit(partial(train_highlight_model.delay, job.pk))


def send_labelling(labelling: learning.Labelling | None) -> None:  # moved into the dispatch module at merge
    """Queue the labelling a registry change calls for once the current transaction commits (None: nothing).

    A head re-scores the archive in one task; a CRNN labels each game in its own task.
    """
    if labelling is None:
        return
    if labelling.game_ids is None:
        transaction.on_commit(partial(apply_highlight_head.delay, labelling.model_id))
        return
    for game_id in labelling.game_ids:
        transaction.on_commit(partial(label_game_with_crnn.delay, labelling.model_id, game_id))
