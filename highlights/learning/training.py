"""Training a model for an action set from verified clips: a few-shot head or a fine-tuned CRNN, then registering it.

Both report progress through an optional ``progress(percent, stage)`` callback (the training job
row's progress bar on the labels page): a head takes seconds, a CRNN minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from highlights.learning.datasets import Span, crnn_inputs, embedding_rows, verified_examples
from highlights.learning.errors import LearningError
from highlights.learning.networks import build_crnn, crnn_proba
from highlights.learning.params import CRNNParams, HeadParams
from highlights.learning.registry import Activation, register
from highlights.models import ActionClassifier
from indexer import runtime
from ml.crnn import fine_tune
from ml.heads import cross_val_proba, train_head
from ml.metrics import evaluate_predictions
from ml.mobilenet_v2 import MobileNetV2Weights, mobilenet_v2
from ml.weights import WeightsError

#: ``progress(percent 0-100, stage)``, called as training advances.
Progress = Callable[[int, str], None]


def _ignore(percent: int, stage: str) -> None:
    """The default progress callback: report nothing."""


def train_head_model(
    labels: Sequence[str], *, user: AbstractBaseUser | None = None, progress: Progress = _ignore
) -> Activation:
    """Train, register and activate a few-shot head for ``labels`` on the configured action model's embeddings.

    Raises:
        LearningError: a label has no verified clip, or there are fewer than 2 verified clips.
    """
    parent = runtime.model_weights().version
    examples = verified_examples(labels, model_version=parent)
    if len(examples.clips) < 2:
        raise LearningError("a head needs at least 2 verified clips")
    progress(10, "reading embeddings")
    x, y, groups, is_clip = embedding_rows(examples, settings.HL_HEAD_WINDOWS)
    params = HeadParams(
        in_features=int(x.shape[1]), hidden=settings.HL_HEAD_HIDDEN, epochs=settings.HL_HEAD_EPOCHS, rows=len(y)
    )
    k = len(examples.classes)
    progress(20, "cross-validation")
    held_out = cross_val_proba(x, y, groups, k, hidden=params.hidden, epochs=params.epochs)
    metrics = evaluate_predictions(y[is_clip], held_out[is_clip], examples.classes).to_dict()
    progress(60, "training")
    head, losses = train_head(x, y, k, hidden=params.hidden, epochs=params.epochs)
    metrics.update(split="cross-validation, clips held out", final_loss=round(losses[-1], 4))
    progress(95, "registering")
    return register(
        examples, ActionClassifier.Kind.HEAD, head, parent=parent, params=params.to_dict(), metrics=metrics, user=user
    )


def train_crnn_model(
    labels: Sequence[str],
    *,
    two_stream: bool = False,
    user: AbstractBaseUser | None = None,
    progress: Progress = _ignore,
) -> Activation:
    """Fine-tune, register and activate a CRNN for ``labels`` from the ImageNet MobileNetV2.

    Raises:
        LearningError: a label has no verified clip, fewer than 2 verified clips, or the backbone weights
            are missing (run ``manage.py fetch_weights``).
        indexer.errors.CorruptVideoError: a training clip's video cannot be decoded.
    """
    examples = verified_examples(labels)
    if len(examples.clips) < 2:
        raise LearningError("a CRNN needs at least 2 verified clips")
    spec = MobileNetV2Weights.DEFAULT.value
    try:
        backbone = mobilenet_v2(weights=spec, weights_dir=settings.HL_WEIGHTS_DIR)
    except WeightsError as exc:
        raise LearningError(str(exc)) from exc
    params = CRNNParams.from_settings()
    torch.manual_seed(0)
    model = build_crnn(len(examples.classes), params, backbone=backbone, two_stream=two_stream)
    progress(5, "decoding clips")
    x = crnn_inputs([Span.of_clip(c, params.input_size) for c in examples.clips], params, two_stream=two_stream)
    y = torch.from_numpy(examples.y)
    progress(30, "fine-tuning")

    def on_epoch(done: int, loss: float) -> None:
        progress(30 + 60 * done // params.epochs, f"fine-tuning: epoch {done}/{params.epochs}, loss {loss:.3f}")

    losses = fine_tune(model, x, y, num_classes=len(examples.classes), epochs=params.epochs, on_epoch=on_epoch)
    progress(90, "evaluating")
    probs = crnn_proba(model.eval(), x)
    metrics = evaluate_predictions(examples.y, probs, examples.classes).to_dict()
    metrics.update(split="training clips", losses=[round(v, 4) for v in losses])
    kind = ActionClassifier.Kind.TWO_STREAM if two_stream else ActionClassifier.Kind.CRNN
    progress(95, "registering")
    return register(examples, kind, model, parent=spec.version, params=params.to_dict(), metrics=metrics, user=user)


def check_kind(kind: str) -> None:
    """Raise :class:`LearningError` unless ``kind`` is an ``ActionClassifier.Kind`` value."""
    if kind not in ActionClassifier.Kind.values:
        raise LearningError(f"unknown model kind {kind!r}: use {', '.join(ActionClassifier.Kind.values)}")


def train_model(
    labels: Sequence[str], kind: str, *, user: AbstractBaseUser | None = None, progress: Progress = _ignore
) -> Activation:
    """Train, register and activate a model of ``kind`` (an ``ActionClassifier.Kind`` value) for ``labels``.

    Raises:
        LearningError: see :func:`train_head_model` and :func:`train_crnn_model`; or an unknown kind.
    """
    check_kind(kind)
    if kind == ActionClassifier.Kind.HEAD:
        return train_head_model(labels, user=user, progress=progress)
    two_stream = kind == ActionClassifier.Kind.TWO_STREAM
    return train_crnn_model(labels, two_stream=two_stream, user=user, progress=progress)
