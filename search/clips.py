"""The clip embedding index of the configured action model."""

from __future__ import annotations

import functools
from pathlib import Path

from django.conf import settings

from indexer.runtime import model_weights
from search.index import VectorIndex


@functools.cache
def _index(path: Path, dim: int, factory: str, keep: int) -> VectorIndex:
    return VectorIndex(path, dim, factory, keep)


def clip_index() -> VectorIndex:
    """The FAISS index of clip embeddings for ``HL_ACTION_MODEL`` (one file per model family)."""
    weights = model_weights()
    path = Path(settings.HL_INDEX_DIR) / f"clips-{weights.name}.faiss"
    return _index(path, weights.embedding_dim, settings.HL_FAISS_CLIP_FACTORY, settings.HL_INDEX_KEEP_SNAPSHOTS)
