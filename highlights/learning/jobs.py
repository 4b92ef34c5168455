"""Training jobs: a row per training requested from the labels page, run by a worker with its progress recorded.

:func:`request_training` checks what can be checked at once (labels, kind, verified clips) and adds
the row; the caller dispatches ``highlights.train_classifier`` with its primary key on commit.
:func:`run_training_job` is that task's body.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from highlights.learning.datasets import verified_examples
from highlights.learning.errors import LearningError
from highlights.learning.registry import Activation
from highlights.learning.taxonomy import action_set_key
from highlights.learning.training import check_kind, train_model
from highlights.models import ActionClassifier, TrainingJob
from indexer import runtime
from indexer.errors import CorruptVideoError

logger = logging.getLogger(__name__)


def request_training(labels: Sequence[str], kind: str, *, user: AbstractBaseUser | None = None) -> TrainingJob:
    """Add a queued training job for ``labels`` (the caller dispatches it once the transaction commits).

    Raises:
        LearningError: an unknown kind, labels that cannot form an action set, or a label without a
            verified clip (of the configured action model, for a head).
    """
    check_kind(kind)
    key = action_set_key(labels)
    parent = runtime.model_weights().version if kind == ActionClassifier.Kind.HEAD else None
    verified_examples(key.split(","), model_version=parent)
    return TrainingJob.objects.create(action_set=key, kind=kind, created_by=user)


def run_training_job(job_id: int) -> Activation | None:
    """Train the job's model, recording progress on the row; idempotent once the job finished.

    A training that cannot be done as asked (:class:`LearningError`, an undecodable clip) fails the
    job with its message and returns ``None``; any other error fails the job and is raised.

    Returns:
        The activation of the registered version (its labelling is for the caller to dispatch), or
        ``None`` when the job had finished already or failed.
    """
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update(of=("self",)).select_related("created_by").get(pk=job_id)
        if job.is_finished:
            return None
        job.start()
    try:
        activation = train_model(job.action_set.split(","), job.kind, user=job.created_by, progress=job.advance)
    except (LearningError, CorruptVideoError) as exc:
        job.fail(str(exc))
        return None
    except Exception as exc:
        job.fail(f"{type(exc).__name__}: {exc}")
        raise
    job.succeed(activation.model)
    logger.info("%s registered %s", job, activation.model)
    return activation
