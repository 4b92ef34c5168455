"""FAISS vector indexes whose ids are database primary keys.

Each index is built from a factory string (``"IDMap2,Flat"`` by default) with the inner-product
metric over L2-normalised float32 vectors, i.e. cosine similarity. ``IDMap2`` keeps the int64
ids (Clip primary keys) and can reconstruct vectors by id. Snapshots are written to a temporary
file in the same folder and renamed over the old one (``os.replace``), so a reader never sees a
half-written index; readers reload when the file's modification stamp changes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

import faiss
import numpy as np

logger = logging.getLogger(__name__)


class VectorIndex:
    """One on-disk FAISS index of ``dim``-dimensional vectors keyed by database ids.

    Args:
        path: the snapshot file (``var/index/clips.faiss``).
        dim: vector size (1024 for I3D clip embeddings).
        factory: FAISS index factory string; must start with ``IDMap2``.
    """

    def __init__(self, path: Path, dim: int, factory: str = "IDMap2,Flat") -> None:
        self.path = Path(path)
        self.dim = dim
        self.factory = factory
        self._lock = threading.Lock()
        self._index: faiss.Index | None = None
        self._stamp: tuple[int, int] | None = None

    def empty(self) -> faiss.Index:
        """A new, empty index built from the factory string."""
        return faiss.index_factory(self.dim, self.factory, faiss.METRIC_INNER_PRODUCT)

    def load(self) -> faiss.Index:
        """The newest snapshot (cached until the file changes), or an empty index if none exists."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                return self.empty()
            stamp = (st.st_mtime_ns, st.st_ino)
            if self._index is None or stamp != self._stamp:
                index = faiss.read_index(str(self.path))
                if index.d != self.dim:
                    raise ValueError(f"{self.path} holds {index.d}-d vectors, expected {self.dim}")
                self._index, self._stamp = index, stamp
            return self._index

    def save(self, index: faiss.Index) -> None:
        """Write ``index`` as the new snapshot atomically (temp file in the same folder, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".part", dir=self.path.parent)
        os.close(fd)
        try:
            faiss.write_index(index, tmp)
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @staticmethod
    def ids(index: faiss.Index) -> np.ndarray:
        """The int64 ids held by an ``IDMap2`` index, ``(N,)``."""
        return faiss.vector_to_array(index.id_map).astype(np.int64)

    def sync(self, wanted: dict[int, np.ndarray], keep: set[int]) -> tuple[int, int]:
        """Make the snapshot hold exactly ``keep`` ∪ ``wanted`` ids, then save it.

        Args:
            wanted: id → ``(dim,)`` float32 vector to (re)insert.
            keep: ids that must stay; every other id in the snapshot is removed.

        Returns:
            ``(added, removed)`` counts.

        Callers serialise writers (a PostgreSQL advisory lock): this is a read-modify-write.
        """
        index = faiss.clone_index(self.load()) if self.path.exists() else self.empty()
        present = set(self.ids(index).tolist())
        stale = (present - keep) | (present & wanted.keys())
        removed = int(index.remove_ids(faiss.IDSelectorBatch(np.array(sorted(stale), dtype=np.int64)))) if stale else 0
        if wanted:
            ids = np.fromiter(wanted.keys(), dtype=np.int64, count=len(wanted))
            vectors = np.stack([wanted[i] for i in ids.tolist()]).astype(np.float32)
            faiss.normalize_L2(vectors)
            index.add_with_ids(vectors, ids)
        self.save(index)
        return len(wanted), removed

    def search(self, vector: np.ndarray, k: int, exclude: set[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` nearest ids by cosine similarity, best first, leaving out ``exclude``.

        Args:
            vector: ``(dim,)`` float32 query.
            k: how many hits to return.
            exclude: ids not to return (e.g. the query clip itself).
        """
        index = self.load()
        if index.ntotal == 0:
            return []
        exclude = exclude or set()
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1).copy()
        faiss.normalize_L2(query)
        scores, ids = index.search(query, min(k + len(exclude), index.ntotal))
        hits = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0 and int(i) not in exclude]
        return hits[:k]
