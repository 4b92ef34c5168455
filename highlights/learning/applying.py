"""Applying registered models to the archive: heads re-score stored clip embeddings, CRNNs decode games again.

These run inside Celery tasks (``highlights.tasks``) and in the pipeline's clips step; nothing here
enqueues anything: :func:`request_crnn_labelling` returns the labelling for the caller to dispatch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
from django.db import transaction
from django.db.models import QuerySet

from highlights.learning.datasets import Span, crnn_inputs
from highlights.learning.errors import LearningError
from highlights.learning.networks import crnn_proba, load_network
from highlights.learning.params import CRNNParams
from highlights.learning.registry import Labelling
from highlights.learning.taxonomy import BACKGROUND
from highlights.models import ActionClassifier, Clip, Game, LearnedAction
from indexer import runtime
from ml.heads import predict_proba

logger = logging.getLogger(__name__)

#: Clip embeddings scored per matrix product when a head is applied to the archive.
APPLY_BATCH = 4096


def _write_predictions(model: ActionClassifier, clip_ids: Sequence[int], probs: np.ndarray) -> int:
    """Replace the model's labels of ``clip_ids`` by each clip's top class (none when it is ``(other)``)."""
    top = probs.argmax(axis=1)
    rows = [
        LearnedAction(clip_id=pk, model=model, action=model.classes[i], probability=float(probs[n, i]))
        for n, (pk, i) in enumerate(zip(clip_ids, top, strict=True))
        if model.classes[i] != BACKGROUND
    ]
    with transaction.atomic():
        LearnedAction.objects.filter(model=model, clip_id__in=clip_ids).delete()
        LearnedAction.objects.bulk_create(rows)
    return len(rows)


def apply_head(model_id: int) -> int:
    """Score every stored clip embedding of the head's parent model and store the predicted labels.

    Returns:
        Clips given one of the labels (the others fell in ``(other)``).

    Raises:
        LearningError: the model is not a head, or its weights file is missing or altered.
    """
    model = ActionClassifier.objects.get(pk=model_id)
    if model.kind != ActionClassifier.Kind.HEAD:
        raise LearningError(f"{model} is not a head: apply it to games with request_crnn_labelling()")
    labelled = _score_clips(model, Clip.objects.all())
    logger.info("%s labelled %d clip(s)", model, labelled)
    return labelled


def apply_active_heads(game_id: int) -> int:
    """Label one game's clips with every active head (the pipeline's clips step calls this; idempotent).

    Returns:
        Clips given a label, summed over the heads.
    """
    heads = ActionClassifier.objects.filter(is_active=True, kind=ActionClassifier.Kind.HEAD)
    return sum(_score_clips(model, Clip.objects.filter(game_id=game_id)) for model in heads)


def _score_clips(model: ActionClassifier, clips: QuerySet[Clip]) -> int:
    """Score ``clips`` of the head's parent model in batches of ``APPLY_BATCH`` embeddings; store the labels."""
    rows = clips.filter(model_version=model.parent).order_by("pk").only("pk", "embedding")
    if not rows.exists():
        return 0
    head = load_network(model)
    labelled, ids, vectors = 0, [], []
    for clip in rows.iterator(chunk_size=APPLY_BATCH):
        ids.append(clip.pk)
        vectors.append(clip.embedding_vector())
        if len(ids) == APPLY_BATCH:
            probs = predict_proba(head, np.stack(vectors), placement=runtime.placement())
            labelled += _write_predictions(model, ids, probs)
            ids, vectors = [], []
    if ids:
        probs = predict_proba(head, np.stack(vectors), placement=runtime.placement())
        labelled += _write_predictions(model, ids, probs)
    return labelled


def label_game_with_crnn(model_id: int, game_id: int) -> int:
    """Run a registered CRNN over every clip of a game (decoding each clip's frames) and store the labels.

    Returns:
        Clips given one of the labels.

    Raises:
        LearningError: the model is a head, or its weights file is missing or altered.
        indexer.errors.CorruptVideoError: the game's video cannot be decoded.
    """
    model = ActionClassifier.objects.get(pk=model_id)
    if model.kind == ActionClassifier.Kind.HEAD:
        raise LearningError(f"{model} is a head: it is applied to the whole archive by apply_head()")
    network = load_network(model)
    clips = list(Clip.objects.filter(game_id=game_id).select_related("game").order_by("start_ms"))
    if not clips:
        return 0
    params = CRNNParams.from_dict(model.params)
    spans = [Span.of_clip(c, params.input_size) for c in clips]
    x = crnn_inputs(spans, params, two_stream=model.kind == ActionClassifier.Kind.TWO_STREAM)
    return _write_predictions(model, [c.pk for c in clips], crnn_proba(network, x))


def request_crnn_labelling(model: ActionClassifier, games: Iterable[Game]) -> Labelling:
    """The labelling of ``games`` by a registered CRNN, one task per game, for the caller to dispatch on commit.

    Raises:
        LearningError: the model is a head (activating it re-scores the whole archive).
    """
    if model.kind == ActionClassifier.Kind.HEAD:
        raise LearningError(f"{model} is a head: it is applied to the whole archive when activated")
    return Labelling(model.pk, tuple(g.pk for g in games))
