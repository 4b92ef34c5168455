"""Evaluating a registered model, or the action model itself, on a manifest of labelled video spans.

The manifest is a CSV with the header ``path,start_s,end_s,label`` (times in seconds; relative paths
from the manifest's folder). Metrics are :func:`ml.metrics.evaluate_predictions`' (top-1, per-class
precision/recall/F1, average precision, confusion matrix).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from highlights.learning.datasets import Span, crnn_inputs
from highlights.learning.errors import LearningError
from highlights.learning.networks import crnn_proba, load_network
from highlights.learning.params import CRNNParams
from highlights.models import ActionClassifier
from indexer import runtime
from indexer.stages.probe import probe_video
from indexer.stages.spans import span_frames
from ml.heads import predict_proba
from ml.metrics import ClassReport, Evaluation, evaluate_predictions
from ml.preprocessing import l2_normalize


def stored_evaluation(model: ActionClassifier) -> Evaluation:
    """The registered metrics as an :class:`Evaluation` for ``highlights.plots.confusion_matrix_png``.

    Per-row scores are not stored, so ``y_true`` and ``scores`` are empty (no precision-recall curves).

    Raises:
        LearningError: the model's metrics hold no confusion matrix.
    """
    m = model.metrics
    if "confusion" not in m or "labels" not in m:
        raise LearningError(f"{model} has no stored confusion matrix")
    k = len(m["labels"])
    return Evaluation(
        labels=tuple(m["labels"]),
        classes=tuple(ClassReport(**c) for c in m.get("classes", [])),
        top1=float(m.get("top1", 0.0)),
        mean_ap=float(m.get("mAP", 0.0)),
        macro_f1=float(m.get("macro_f1", 0.0)),
        confusion=np.array(m["confusion"], dtype=np.int64).reshape(k, k),
        count=int(m.get("count", 0)),
        y_true=np.zeros(0, dtype=np.int64),
        scores=np.zeros((0, k), dtype=np.float32),
    )


@dataclass(frozen=True)
class ManifestRow:
    """One evaluation clip: a video, a span in seconds and its true label."""

    path: Path
    start_s: float
    end_s: float
    label: str

    def span(self) -> Span:
        """The row's span, with the video's frame size read by ffprobe.

        Raises:
            indexer.errors.CorruptVideoError: the file is not a readable video.
        """
        probe = probe_video(self.path)
        return Span(self.path, probe.width, probe.height, self.start_s, self.end_s)


def read_manifest(path: Path) -> list[ManifestRow]:
    """Rows of a CSV with the header ``path,start_s,end_s,label`` (relative paths from the manifest's folder).

    Raises:
        LearningError: the file is missing, lacks a column, or a row has an unusable value.
    """
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"path", "start_s", "end_s", "label"} - set(reader.fieldnames or [])
            if missing:
                raise LearningError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rows = [
                ManifestRow(
                    (path.parent / r["path"]).resolve(), float(r["start_s"]), float(r["end_s"]), r["label"].strip()
                )
                for r in reader
            ]
    except OSError as exc:
        raise LearningError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise LearningError(f"{path}: {exc}") from exc
    if not rows:
        raise LearningError(f"{path} has no rows")
    return rows


def _action_model_windows(span: Span) -> tuple[np.ndarray, np.ndarray]:
    """The configured action model on the span cut into non-overlapping windows: ``(probs (K,), embedding (D,))``."""
    recognizer = runtime.action_recognizer()
    window = settings.HL_WINDOW_FRAMES
    windows = max(1, round((span.end_s - span.start_s) * settings.HL_SAMPLE_FPS / window))
    frames = span_frames(
        span.path,
        width=span.width,
        height=span.height,
        start_s=span.start_s,
        end_s=span.end_s,
        count=windows * window,
        short_side=runtime.decode_short_side(),
    )
    probs, embeddings = recognizer(frames.reshape(windows, window, *frames.shape[1:]))
    return probs.mean(axis=0), l2_normalize(embeddings.mean(axis=0))


def evaluate_manifest(rows: Sequence[ManifestRow], model: ActionClassifier | None = None) -> Evaluation:
    """Evaluate a registered model, or the configured action model, on labelled spans of videos.

    Args:
        rows: the evaluation clips.
        model: a registered model whose classes include every row's label; None evaluates the action
            model itself (labels must be its class names, e.g. Kinetics-400's ``"playing tennis"``),
            scored over the manifest's labels only.

    Raises:
        LearningError: a row's label is not one of the model's classes, or a head's parent is not the
            configured action model.
        indexer.errors.CorruptVideoError: a video cannot be decoded.
    """
    classes = list(model.classes) if model else sorted({r.label for r in rows})
    known = set(classes) & (set(model.classes) if model else set(runtime.model_weights().categories))
    unknown = sorted({r.label for r in rows} - known)
    if unknown:
        raise LearningError(f"label(s) {', '.join(unknown)} are not classes of {model or 'the action model'}")
    is_head = model is not None and model.kind == ActionClassifier.Kind.HEAD
    if is_head and model.parent != runtime.model_weights().version:
        raise LearningError(f"{model} reads {model.parent} embeddings; set HL_ACTION_MODEL to that model")
    y = np.array([classes.index(r.label) for r in rows])
    spans = [r.span() for r in rows]
    if model is not None and model.kind != ActionClassifier.Kind.HEAD:
        network = load_network(model)
        two_stream = model.kind == ActionClassifier.Kind.TWO_STREAM
        x = crnn_inputs(spans, CRNNParams.from_dict(model.params), two_stream=two_stream)
        return evaluate_predictions(y, crnn_proba(network, x), classes)
    outputs = [_action_model_windows(s) for s in spans]
    if model is not None:
        probs = predict_proba(load_network(model), np.stack([e for _, e in outputs]), placement=runtime.placement())
        return evaluate_predictions(y, probs, classes)
    columns = [runtime.model_weights().categories.index(c) for c in classes]
    scores = np.stack([p[columns] for p, _ in outputs])
    return evaluate_predictions(y, scores / scores.sum(axis=1, keepdims=True), classes)
