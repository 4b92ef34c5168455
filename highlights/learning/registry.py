"""The model registry: each training is the next version of its action set, one version per action set is active.

Versions are numbered under a PostgreSQL advisory lock per action set (``LockKey.MODEL_REGISTRY``),
so two trainings of one action set that finish together get consecutive versions. Nothing here
enqueues work: activating a head calls for re-scoring the archive, which :class:`Activation` names
for the caller to dispatch once the transaction commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from highlights.learning.datasets import Examples
from highlights.learning.errors import LearningError
from highlights.learning.taxonomy import BACKGROUND, action_set_key
from highlights.locks import LockKey, advisory_lock
from highlights.models import ActionClassifier
from ml.files import atomic_write
from ml.weights import sha256_file

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class Labelling:
    """Clips a registered model must label, for the caller to dispatch after commit.

    Attributes:
        model_id: the ``ActionClassifier`` primary key.
        game_ids: the games a CRNN labels (one task per game); ``None`` for a head, which re-scores
            every stored clip embedding of its parent model in one task.
    """

    model_id: int
    game_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Activation:
    """A model made the active version of its action set, and the labelling that calls for (``None``: nothing)."""

    model: ActionClassifier
    labelling: Labelling | None


def register(
    examples: Examples,
    kind: str,
    network: torch.nn.Module,
    *,
    parent: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    user: AbstractBaseUser | None = None,
) -> Activation:
    """Save a trained network as the next version of its action set and make it the active one.

    The weights file ``HL_MODELS_DIR/<action set>/v<N>-<kind>.pt`` holds ``{"state_dict": ...}`` only
    (read back with ``torch.load(weights_only=True)``); classes and hyperparameters live in the row.
    The version is read and the row written under the action set's advisory lock, held to commit.
    """
    key = ",".join(name for name in examples.classes if name != BACKGROUND)
    with advisory_lock(LockKey.MODEL_REGISTRY, key):
        latest = ActionClassifier.objects.filter(action_set=key).aggregate(v=Max("version"))["v"]
        version = (latest or 0) + 1
        relpath = Path(_slug(key)) / f"v{version}-{kind}.pt"
        dest = Path(settings.HL_MODELS_DIR) / relpath
        with atomic_write(dest) as tmp:
            torch.save({"state_dict": network.state_dict()}, tmp)
        model = ActionClassifier.objects.create(
            action_set=key,
            classes=examples.classes,
            kind=kind,
            version=version,
            parent=parent,
            weights_path=str(relpath),
            sha256=sha256_file(dest),
            params=params,
            metrics=metrics,
            created_by=user,
        )
        model.training_clips.set(examples.clips)
        activation = activate(model)
    logger.info("registered %s", model)
    return activation


def _slug(action_set: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in action_set.lower())[:80] or "labels"


def activate(model: ActionClassifier) -> Activation:
    """Make ``model`` the active version of its action set.

    Returns:
        The activation; for a head its labelling re-scores the archive (the caller dispatches it on
        commit). A CRNN's labels come from :func:`highlights.learning.applying.request_crnn_labelling`
        on the games an operator selects.
    """
    with transaction.atomic():
        ActionClassifier.objects.filter(action_set=model.action_set, is_active=True).exclude(pk=model.pk).update(
            is_active=False
        )
        ActionClassifier.objects.filter(pk=model.pk).update(is_active=True)
        model.is_active = True
    labelling = Labelling(model.pk) if model.kind == ActionClassifier.Kind.HEAD else None
    return Activation(model, labelling)


def rollback(action_set: str) -> Activation:
    """Re-activate the version before the active one of an action set (its predictions are still stored).

    Raises:
        LearningError: the action set has no active version, or no older one.
    """
    key = action_set_key(action_set.split(","))
    active = ActionClassifier.objects.filter(action_set=key, is_active=True).first()
    if active is None:
        raise LearningError(f"no active model for {key}")
    previous = ActionClassifier.objects.filter(action_set=key, version__lt=active.version).order_by("-version").first()
    if previous is None:
        raise LearningError(f"{active} is the first version of {key}: nothing to roll back to")
    return activate(previous)
