"""PNG plots of a model evaluation.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``, rendered by the Agg
canvas), not pyplot: no global state and no display, so web and worker processes can draw safely.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ml.metrics import Evaluation, precision_recall_curve


def confusion_matrix_png(evaluation: Evaluation, path: Path) -> Path:
    """Draw the confusion matrix (rows: true class, columns: predicted class, counts in the cells) to ``path``."""
    k = len(evaluation.labels)
    fig = Figure(figsize=(1.2 * k + 2.5, 1.0 * k + 2.0))
    ax = fig.subplots()
    ax.imshow(evaluation.confusion, cmap="Blues")
    ax.set_xticks(range(k), evaluation.labels, rotation=45, ha="right")
    ax.set_yticks(range(k), evaluation.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = max(int(evaluation.confusion.max()), 1)
    for (i, j), count in np.ndenumerate(evaluation.confusion):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > top / 2 else "black")
    ax.set_title(f"top-1 {evaluation.top1:.3f}, mAP {evaluation.mean_ap:.3f}")
    return _save(fig, path)


def precision_recall_png(evaluation: Evaluation, path: Path) -> Path:
    """Draw each class's one-vs-rest precision-recall curve to ``path``."""
    fig = Figure(figsize=(6, 5))
    ax = fig.subplots()
    for i, report in enumerate(evaluation.classes):
        if report.average_precision is None:
            continue
        precision, recall = precision_recall_curve(evaluation.scores[:, i], evaluation.y_true == i)
        ax.step(
            np.r_[0.0, recall],
            np.r_[1.0, precision],
            where="post",
            label=f"{report.label} (AP {report.average_precision:.2f})",
        )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(loc="lower left", fontsize="small")
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path
