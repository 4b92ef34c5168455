"""Few-shot heads on stored clip embeddings: a linear probe or a small MLP, trained in seconds on the CPU.

The indexing pipeline already stores an L2-normalised embedding per clip and per analysis window
(I3D-RGB: 1024-d pooled ``Mixed_5c``; SlowFast R50: 2304-d). A new action needs only a head
on those features: no video is decoded again, and the head re-scores a whole archive with one matrix
product. This is the linear-evaluation protocol of transfer learning (a "linear probe" on frozen
features), with an optional hidden layer for classes that are not linearly separable.

Training is full-batch AdamW on class-balanced cross-entropy (inverse class frequency), since
editors' examples are few and unbalanced. Inputs are scaled by ``sqrt(D)`` so that unit-norm
embeddings have per-dimension values of order 1 and a small learning rate converges in a few
hundred steps.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the PyTorch convention)
from torch import Tensor, nn

from ml.device import CPU_FP32, Placement

__all__ = ["EmbeddingHead", "balanced_class_weights", "cross_val_proba", "predict_proba", "train_head"]


class EmbeddingHead(nn.Module):
    """Linear (``hidden = 0``) or one-hidden-layer MLP classifier on ``(B, D)`` embeddings.

    Args:
        in_features: D, the embedding size.
        num_classes: K, the labels to predict.
        hidden: width of the hidden layer; 0 makes the head a linear probe.
        dropout: dropout on the (scaled) input and the hidden layer, during training only.
    """

    def __init__(self, in_features: int, num_classes: int, *, hidden: int = 0, dropout: float = 0.2) -> None:
        super().__init__()
        self.scale = math.sqrt(in_features)
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        layers.append(nn.Linear(hidden or in_features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, D)`` float32 L2-normalised embeddings → logits ``(B, K)``."""
        return self.net(x * self.scale)


def balanced_class_weights(y: Tensor, num_classes: int) -> Tensor:
    """Inverse-frequency loss weights ``(K,)`` float32, mean 1 over the classes present (0 for absent ones).

    Args:
        y: ``(N,)`` int64 class indices.
        num_classes: K.
    """
    counts = torch.bincount(y, minlength=num_classes).float()
    weights = torch.where(counts > 0, counts.sum() / counts.clamp(min=1), torch.zeros_like(counts))
    return weights / weights[counts > 0].mean()


def train_head(
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    *,
    hidden: int = 0,
    epochs: int = 300,
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    seed: int = 0,
) -> tuple[EmbeddingHead, list[float]]:
    """Train a head on embeddings with full-batch AdamW and class-balanced cross-entropy.

    Args:
        x: ``(N, D)`` float32 L2-normalised embeddings.
        y: ``(N,)`` int class indices in ``[0, num_classes)``.
        num_classes: K.
        hidden: hidden width (0: linear probe).
        epochs: full-batch steps.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay (the regulariser that matters with few examples).
        seed: seeds the initialisation and dropout, so the same data gives the same head.

    Returns:
        ``(head, losses)``: the head in ``eval()`` mode and the training loss of every step.

    Raises:
        ValueError: ``x`` is not ``(N, D)``, ``y`` disagrees with it, or a label is out of range.
    """
    if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"expected (N, D) embeddings and N labels, got {x.shape} and {len(y)}")
    if int(np.min(y)) < 0 or int(np.max(y)) >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}), got {sorted(set(np.asarray(y).tolist()))}")
    torch.manual_seed(seed)
    head = EmbeddingHead(x.shape[1], num_classes, hidden=hidden)
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    targets = torch.from_numpy(np.asarray(y, dtype=np.int64))
    weights = balanced_class_weights(targets, num_classes)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    head.train()
    losses: list[float] = []
    for _ in range(epochs):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(head(inputs), targets, weight=weights)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return head.eval(), losses


@torch.inference_mode()
def predict_proba(
    head: nn.Module, x: np.ndarray, *, batch_size: int = 65536, placement: Placement = CPU_FP32
) -> np.ndarray:
    """Class probabilities ``(N, K)`` float32 of ``(N, D)`` embeddings, in batches of ``batch_size`` rows.

    The head is moved to ``placement``'s device and run at its precision (autocast).
    """
    head.eval().to(placement.device)
    parts = []
    for i in range(0, len(x), batch_size):
        rows = torch.from_numpy(np.array(x[i : i + batch_size], dtype=np.float32)).to(placement.device)
        with placement.autocast():
            logits = head(rows)
        parts.append(torch.softmax(logits.float(), dim=1).cpu())
    return torch.cat(parts).numpy() if parts else np.zeros((0, 0), dtype=np.float32)


def cross_val_proba(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    num_classes: int,
    *,
    folds: int = 5,
    seed: int = 0,
    hidden: int = 0,
    epochs: int = 300,
) -> np.ndarray:
    """Out-of-fold class probabilities: each row is predicted by a head trained without its group.

    Rows of one group (the windows of one clip) always fall in the same fold, so a clip is never
    scored by a head that saw its own windows. With ``folds`` at least the number of groups this is
    leave-one-group-out.

    Args:
        x: ``(N, D)`` float32 embeddings.
        y: ``(N,)`` int class indices.
        groups: ``(N,)`` group id of every row (e.g. the clip's primary key).
        num_classes: K.
        folds: number of folds (capped at the number of groups).
        seed: seeds the fold assignment and the heads.
        hidden, epochs: as for :func:`train_head`.

    Returns:
        ``(N, K)`` float32 probabilities.

    Raises:
        ValueError: fewer than 2 groups.
    """
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ValueError("cross-validation needs at least 2 groups (clips)")
    folds = min(folds, len(unique))
    fold_of = dict(
        zip(np.random.default_rng(seed).permutation(unique).tolist(), np.arange(len(unique)) % folds, strict=True)
    )
    row_fold = np.array([fold_of[g] for g in groups.tolist()])
    out = np.zeros((len(x), num_classes), dtype=np.float32)
    for fold in range(folds):
        test = row_fold == fold
        head, _ = train_head(x[~test], y[~test], num_classes, hidden=hidden, epochs=epochs, seed=seed)
        out[test] = predict_proba(head, x[test])
    return out
