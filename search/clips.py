"""The clip embedding index of an action model."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from ml.weights import VideoModelWeights
from search.index import VectorIndex


@functools.cache
def _index(path: Path, dim: int, factory: str, keep: int) -> VectorIndex:
    return VectorIndex(path, dim, factory, keep)


def clip_index(weights: VideoModelWeights) -> VectorIndex:
    """The FAISS index of clip embeddings of the action model ``weights`` (one file per model family).

    Args:
        weights: the action model's metadata (``indexer.runtime.model_weights()`` for the configured one).
    """
    path = Path(settings.HL_INDEX_DIR) / f"clips-{weights.name}.faiss"
    return _index(path, weights.embedding_dim, settings.HL_FAISS_CLIP_FACTORY, settings.HL_INDEX_KEEP_SNAPSHOTS)
