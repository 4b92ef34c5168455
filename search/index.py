"""FAISS vector indexes whose ids are database primary keys.

Each index is built from a factory string (``"IDMap2,Flat"`` by default) with the inner-product
metric over L2-normalised float32 vectors, i.e. cosine similarity. ``IDMap2`` keeps the int64
ids (Clip primary keys) and can reconstruct vectors by id.

Snapshots are versioned: the single writer (callers serialise writers with a PostgreSQL advisory
lock) writes ``clips-i3d.v00000042.faiss`` to a temporary file and renames it, then replaces the
small ``clips-i3d.version`` pointer the same way, then points ``clips-i3d.faiss`` (a hard link, for
tools and backups) at it, and prunes all but the newest few versions. Snapshot files never change
once written, so every process (web, workers) reads the pointer and reloads only when the version
changes; a reader never sees a half-written index.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

import faiss
import numpy as np

from ml.files import atomic_write

logger = logging.getLogger(__name__)


class VectorIndex:
    """One on-disk FAISS index of ``dim``-dimensional vectors keyed by database ids, in versioned snapshots.

    Args:
        path: the newest snapshot's stable name (``var/index/clips-i3d.faiss``); versions, the
            pointer and temporary files live beside it.
        dim: vector size (1024 for I3D clip embeddings).
        factory: FAISS index factory string; must start with ``IDMap2``.
        keep: older versions kept after a save, for readers still opening them.
    """

    def __init__(self, path: Path, dim: int, factory: str = "IDMap2,Flat", keep: int = 3) -> None:
        self.path = Path(path)
        self.dim = dim
        self.factory = factory
        self.keep = keep
        self._lock = threading.Lock()
        self._index: faiss.Index | None = None
        self._version = 0

    @property
    def version_path(self) -> Path:
        """The pointer file holding the newest version number."""
        return self.path.with_suffix(".version")

    def snapshot_path(self, version: int) -> Path:
        """The immutable snapshot file of ``version``."""
        return self.path.with_suffix(f".v{version:08d}.faiss")

    def version(self) -> int:
        """The newest saved version (0: nothing saved yet)."""
        try:
            return int(self.version_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def empty(self) -> faiss.Index:
        """A new, empty index built from the factory string."""
        return faiss.index_factory(self.dim, self.factory, faiss.METRIC_INNER_PRODUCT)

    def load(self) -> faiss.Index:
        """The newest snapshot (cached until the version changes), or an empty index if none exists.

        Raises:
            ValueError: the snapshot holds vectors of another dimension.
        """
        with self._lock:
            for _ in range(3):  # a writer may prune the version read a moment ago: read the pointer again
                version = self.version()
                if version == 0:
                    return self.empty()
                if self._index is not None and version == self._version:
                    return self._index
                snapshot = self.snapshot_path(version)
                if not snapshot.exists():
                    continue
                index = faiss.read_index(str(snapshot))
                if index.d != self.dim:
                    raise ValueError(f"{snapshot} holds {index.d}-d vectors, expected {self.dim}")
                self._index, self._version = index, version
                return index
            raise FileNotFoundError(f"{self.snapshot_path(self.version())}: snapshot missing")

    def save(self, index: faiss.Index) -> int:
        """Write ``index`` as the next version, publish it atomically, and prune old versions.

        Returns:
            The new version number.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        version = self.version() + 1
        snapshot = self.snapshot_path(version)
        with atomic_write(snapshot) as tmp:
            faiss.write_index(index, str(tmp))
        with atomic_write(self.version_path) as tmp:
            tmp.write_text(f"{version}\n")
        with atomic_write(self.path) as tmp:
            _link_or_copy(snapshot, tmp)
        kept = {self.snapshot_path(v) for v in range(version - self.keep, version + 1)}
        for old in set(self.path.parent.glob(self.path.stem + ".v*.faiss")) - kept:
            old.unlink(missing_ok=True)
        return version

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
        index = faiss.clone_index(self.load()) if self.version() else self.empty()
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

    def rebuild(self, vectors: dict[int, np.ndarray]) -> int:
        """Replace the whole index with ``vectors`` (id → ``(dim,)`` float32) as a new version.

        Returns:
            The new version number. Callers serialise writers, as for :meth:`sync`.
        """
        index = self.empty()
        if vectors:
            ids = np.fromiter(vectors.keys(), dtype=np.int64, count=len(vectors))
            matrix = np.stack([vectors[i] for i in ids.tolist()]).astype(np.float32)
            faiss.normalize_L2(matrix)
            index.add_with_ids(matrix, ids)
        return self.save(index)

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


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink()  # atomic_write's empty placeholder: a hard link needs the name free
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, target)
