"""The clip embedding index of an action model."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ml.weights import VideoModelWeights
from search.index import Fold, Training, VectorIndex


@functools.cache
def _index(path: Path, dim: int, factory: str, keep: int, training: Training, fold: Fold) -> VectorIndex:
    return VectorIndex(path, dim, factory, keep, training, fold)


def clip_index(weights: VideoModelWeights) -> VectorIndex:
    """The FAISS index of clip embeddings of the action model ``weights``: one index per model version
    (``clips-<name>-<sha256[:8]>.faiss``), as two weight files embed clips in two spaces no search compares.

    Args:
        weights: the action model's metadata (``indexer.runtime.model_weights()`` for the configured one).
    """
    path = Path(settings.HL_INDEX_DIR) / f"clips-{weights.name}-{weights.file.short_sha}.faiss"
    training = Training(
        settings.HL_FAISS_CLIP_TRAINED_FACTORY,
        settings.HL_FAISS_CLIP_TRAIN_ROWS,
        settings.HL_FAISS_RETRAIN_GROWTH,
        settings.HL_FAISS_CLIP_NPROBE,
        settings.HL_FAISS_TRAIN_SAMPLE,
    )
    factory, keep = settings.HL_FAISS_CLIP_FACTORY, settings.HL_INDEX_KEEP_SNAPSHOTS
    fold = Fold(settings.HL_FAISS_DELTA_ROWS, settings.HL_FAISS_DELTA_SHARE)
    return _index(path, weights.embedding_dim, factory, keep, training, fold)
