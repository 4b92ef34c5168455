"""Classification metrics for action classifiers: per-class precision, recall and F1, top-1 accuracy, mAP.

Definitions follow the usual ones (as in scikit-learn): precision = TP / (TP + FP), recall =
TP / (TP + FN), F1 their harmonic mean (0 where both are 0), each class's average precision (AP)
the area under its precision-recall curve as the step sum ``Σ (R_n − R_{n−1}) · P_n`` over the
score-ranked list (no interpolation), and mAP the mean AP over the classes that have positives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ClassReport", "Evaluation", "average_precision", "evaluate_predictions", "precision_recall_curve"]


@dataclass(frozen=True)
class ClassReport:
    """Metrics of one class; ``average_precision`` is None without positives."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    average_precision: float | None


@dataclass(frozen=True)
class Evaluation:
    """Metrics of a set of predictions.

    Attributes:
        labels: class names, index i = column i of the probabilities.
        classes: one report per class, in ``labels`` order.
        top1: fraction of rows whose most probable class is the true one.
        mean_ap: mean AP over classes with positives.
        macro_f1: mean F1 over classes with positives.
        confusion: ``(K, K)`` counts, row = true class, column = predicted class.
        count: rows evaluated.
        y_true: ``(N,)`` the true class indices evaluated.
        scores: ``(N, K)`` the probabilities evaluated (for precision-recall curves).
    """

    labels: tuple[str, ...]
    classes: tuple[ClassReport, ...]
    top1: float
    mean_ap: float
    macro_f1: float
    confusion: np.ndarray
    count: int
    y_true: np.ndarray
    scores: np.ndarray

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (confusion matrix as nested lists, no per-row scores), figures to 4 decimals."""
        return {
            "labels": list(self.labels),
            "count": self.count,
            "top1": round(self.top1, 4),
            "mAP": round(self.mean_ap, 4),
            "macro_f1": round(self.macro_f1, 4),
            "classes": [
                {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(c).items()} for c in self.classes
            ],
            "confusion": self.confusion.tolist(),
        }


def precision_recall_curve(scores: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every cut of the score-ranked list (ties broken by order).

    Args:
        scores: ``(N,)`` scores, higher = more likely positive.
        positives: ``(N,)`` bool, the true class membership.

    Returns:
        ``(precision, recall)``, each ``(N,)`` float64, for the top 1, 2, ..., N rows.
    """
    order = np.argsort(-scores, kind="stable")
    hits = np.cumsum(positives[order].astype(np.float64))
    precision = hits / np.arange(1, len(scores) + 1)
    recall = hits / max(float(positives.sum()), 1.0)
    return precision, recall


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float | None:
    """Area under the precision-recall curve as ``Σ (R_n − R_{n−1}) · P_n``; None when there are no positives."""
    if not positives.any():
        return None
    precision, recall = precision_recall_curve(scores, positives)
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def evaluate_predictions(y_true: np.ndarray, probs: np.ndarray, labels: Sequence[str]) -> Evaluation:
    """Evaluate class probabilities against true classes.

    Args:
        y_true: ``(N,)`` int true class indices.
        probs: ``(N, K)`` class probabilities (or any scores, higher = more likely).
        labels: K class names.

    Returns:
        The metrics.

    Raises:
        ValueError: shapes disagree or there are no rows.
    """
    if probs.ndim != 2 or probs.shape != (len(y_true), len(labels)) or len(y_true) == 0:
        raise ValueError(f"expected (N, {len(labels)}) probabilities for N = {len(y_true)} > 0, got {probs.shape}")
    k = len(labels)
    y_pred = probs.argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    reports = []
    for i, label in enumerate(labels):
        tp = int(confusion[i, i])
        predicted, support = int(confusion[:, i].sum()), int(confusion[i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        ap = average_precision(probs[:, i], y_true == i)
        reports.append(ClassReport(label, precision, recall, f1, support, ap))
    present = [r for r in reports if r.support]
    return Evaluation(
        labels=tuple(labels),
        classes=tuple(reports),
        top1=float((y_pred == y_true).mean()),
        mean_ap=float(np.mean([r.average_precision for r in present])),
        macro_f1=float(np.mean([r.f1 for r in present])),
        confusion=confusion,
        count=len(y_true),
        y_true=np.asarray(y_true),
        scores=probs,
    )
