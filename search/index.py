"""FAISS vector indexes whose ids are database primary keys.

Each index is built from a factory string with the inner-product metric over L2-normalised
float32 vectors, i.e. cosine similarity. Small indexes are exact (``"IDMap2,Flat"`` by default:
``IDMap2`` keeps the int64 ids, the Clip or FaceTrack primary keys). Once the rows reach
:attr:`Training.min_rows` the writer trains an inverted-file index (``"IVF1024,SQ8"``: a k-means
coarse quantiser of 1024 lists, 8-bit scalar-quantised codes; H. Jégou, M. Douze, C. Schmid,
"Product quantization for nearest neighbor search", TPAMI 2011, for the IVF layout), which keeps
the ids in its inverted lists, and trains it again each time the rows grow by
:attr:`Training.growth`. Queries visit :attr:`Training.nprobe` lists.

Snapshots are versioned: the single writer (callers serialise writers with a PostgreSQL advisory
lock) writes ``clips-i3d.v00000042.faiss`` to a temporary file and renames it, then replaces the
small ``clips-i3d.version`` pointer the same way (``"<version> <rows at training>"``; 0 rows: exact),
then points ``clips-i3d.faiss`` (a hard link, for tools and backups) at it, and prunes all but the
newest few versions. Snapshot files never change once written, so every process (web, workers)
reads the pointer and reloads only when the version changes; a reader never sees a half-written
index. Readers open snapshots memory-mapped and read-only (``IO_FLAG_MMAP | IO_FLAG_READ_ONLY``:
an IVF index's inverted lists stay in the page cache, shared by every process on the machine);
only the writer reads a private copy to modify.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ml.files import atomic_write

logger = logging.getLogger(__name__)

_READ_FLAGS = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
FILTER_CANDIDATES = 20  # eligible vectors per hit a filtered query on a trained index should scan (measured)


@contextmanager
def _one_thread() -> Iterator[None]:
    """FAISS's OpenMP on one thread within the block, for the calling thread only (OpenMP's ``nthreads-var``).

    One query at a time runs faster and far cheaper on one thread: 30 000 x 1024-d ``IDMap2,Flat``,
    a similar-clips query took 8.3 ms of CPU on one thread and 19.8 ms on two (2 cores; a loaded
    machine: 16 vs 48 ms wall); ``../shared/FACTS.md``: 100 k x 128-d Flat 4.7 vs 7.1 ms p50. The
    writer's training and batch adds keep every thread.
    """
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


@dataclass(frozen=True)
class Training:
    """When and how an index leaves exact search for a trained inverted-file index.

    Attributes:
        factory: FAISS factory string of the trained index, an IVF without ``IDMap`` (``"IVF1024,SQ8"``).
        min_rows: rows from which the index is trained (below: exact search).
        growth: the index is trained again when its rows reach this factor of the rows it was trained at.
        nprobe: inverted lists visited per query.
        sample: most vectors the k-means and the codec are trained on (a random sample of the rows).
    """

    factory: str
    min_rows: int
    growth: float = 4.0
    nprobe: int = 32
    sample: int = 100_000


class VectorIndex:
    """One on-disk FAISS index of ``dim``-dimensional vectors keyed by database ids, in versioned snapshots.

    Args:
        path: the newest snapshot's stable name (``var/index/clips-i3d.faiss``); versions, the
            pointer and temporary files live beside it.
        dim: vector size (1024 for I3D clip embeddings).
        factory: FAISS index factory string of the exact index; must start with ``IDMap2``.
        keep: older versions kept after a save, for readers still opening them.
        training: when to train an inverted-file index (``None``: always exact).
    """

    def __init__(
        self, path: Path, dim: int, factory: str = "IDMap2,Flat", keep: int = 3, training: Training | None = None
    ) -> None:
        self.path = Path(path)
        self.dim = dim
        self.factory = factory
        self.keep = keep
        self.training = training
        self._lock = threading.Lock()
        self._index: faiss.Index | None = None
        self._version = 0

    @property
    def version_path(self) -> Path:
        """The pointer file holding the newest version number and the rows it was trained at."""
        return self.path.with_suffix(".version")

    def snapshot_path(self, version: int) -> Path:
        """The immutable snapshot file of ``version``."""
        return self.path.with_suffix(f".v{version:08d}.faiss")

    def _pointer(self) -> tuple[int, int]:
        try:
            fields = self.version_path.read_text().split()
        except FileNotFoundError:
            return 0, 0
        return (int(fields[0]) if fields else 0), (int(fields[1]) if len(fields) > 1 else 0)

    def version(self) -> int:
        """The newest saved version (0: nothing saved yet)."""
        return self._pointer()[0]

    def trained_rows(self) -> int:
        """Rows the newest snapshot's inverted-file index was trained at (0: the snapshot is exact)."""
        return self._pointer()[1]

    def trains(self, rows: int) -> bool:
        """Whether an index of ``rows`` vectors is a trained inverted-file index rather than an exact one."""
        return self.training is not None and rows >= self.training.min_rows

    def needs_training(self, rows: int) -> bool:
        """Whether the writer must (re)build the index trained, now that it holds ``rows`` vectors.

        True when an exact index reached :attr:`Training.min_rows`, or a trained one grew by
        :attr:`Training.growth` since it was trained.
        """
        if self.training is None or not self.trains(rows):
            return False
        trained = self.trained_rows()
        return trained == 0 or rows >= trained * self.training.growth

    def empty(self) -> faiss.Index:
        """A new, empty exact index built from the factory string."""
        return faiss.index_factory(self.dim, self.factory, faiss.METRIC_INNER_PRODUCT)

    def load(self) -> faiss.Index:
        """The newest snapshot, memory-mapped read-only (cached until the version changes), or an empty index.

        Raises:
            ValueError: the snapshot holds vectors of another dimension.
            FileNotFoundError: the pointer names a snapshot that stays missing.
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
                index = faiss.read_index(str(snapshot), _READ_FLAGS)
                if index.d != self.dim:
                    raise ValueError(f"{snapshot} holds {index.d}-d vectors, expected {self.dim}")
                self._index, self._version = index, version
                return index
            raise FileNotFoundError(f"{self.snapshot_path(self.version())}: snapshot missing")

    def _writable(self) -> faiss.Index:
        """A private in-memory copy of the newest snapshot to modify (the writer's), or an empty exact index."""
        version = self.version()
        return faiss.read_index(str(self.snapshot_path(version))) if version else self.empty()

    def save(self, index: faiss.Index, trained_rows: int = 0) -> int:
        """Write ``index`` as the next version, publish it atomically, and prune old versions.

        Args:
            index: the index to publish.
            trained_rows: rows an inverted-file index was trained at (0: ``index`` is exact).

        Returns:
            The new version number.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        version = self.version() + 1
        snapshot = self.snapshot_path(version)
        with atomic_write(snapshot) as tmp:
            faiss.write_index(index, str(tmp))
        with atomic_write(self.version_path) as tmp:
            tmp.write_text(f"{version} {trained_rows}\n")
        with atomic_write(self.path) as tmp:
            _link_or_copy(snapshot, tmp)
        kept = {self.snapshot_path(v) for v in range(version - self.keep, version + 1)}
        for old in set(self.path.parent.glob(self.path.stem + ".v*.faiss")) - kept:
            old.unlink(missing_ok=True)
        return version

    @staticmethod
    def ids(index: faiss.Index) -> np.ndarray:
        """The int64 ids held by an ``IDMap2`` or inverted-file index, ``(N,)``."""
        if isinstance(index, faiss.IndexIDMap2):
            return faiss.vector_to_array(index.id_map).astype(np.int64)
        lists = faiss.extract_index_ivf(index).invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(lists.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def sync(self, wanted: dict[int, np.ndarray], keep: Collection[int]) -> tuple[int, int]:
        """Make the snapshot hold exactly ``keep`` ∪ ``wanted`` ids, then save it (trained or not, as it was).

        Args:
            wanted: id → ``(dim,)`` float32 vector to (re)insert.
            keep: ids that must stay; every other id in the snapshot is removed.

        Returns:
            ``(added, removed)`` counts.

        Callers serialise writers (a PostgreSQL advisory lock): this is a read-modify-write. They
        call :meth:`rebuild` instead when :meth:`needs_training` says so.
        """
        index = self._writable()
        present = self.ids(index)
        kept = np.fromiter(keep, dtype=np.int64, count=len(keep))
        ids = np.fromiter(wanted.keys(), dtype=np.int64, count=len(wanted))
        stale = present[~np.isin(present, kept) | np.isin(present, ids)]  # numpy: millions of ids at scale
        removed = int(index.remove_ids(faiss.IDSelectorBatch(stale))) if len(stale) else 0
        if wanted:
            vectors = np.stack([wanted[i] for i in ids.tolist()]).astype(np.float32)
            faiss.normalize_L2(vectors)
            index.add_with_ids(vectors, ids)
        self.save(index, self.trained_rows())
        return len(wanted), removed

    def rebuild(self, batches: Iterable[tuple[np.ndarray, np.ndarray]], sample: np.ndarray | None = None) -> int:
        """Replace the whole index with the vectors of ``batches`` as a new version.

        Args:
            batches: ``(ids (B,) int64, vectors (B, dim) float32)`` pairs, added one at a time (the
                rows never need to fit in memory together).
            sample: ``(S, dim)`` float32 training vectors: given (and :attr:`training` set), the new
                index is the trained inverted-file index; ``None``: exact.

        Returns:
            The new version number. Callers serialise writers, as for :meth:`sync`.
        """
        trained = sample is not None and self.training is not None
        if trained:
            index = faiss.index_factory(self.dim, self.training.factory, faiss.METRIC_INNER_PRODUCT)
            sample = np.array(sample, dtype=np.float32)
            faiss.normalize_L2(sample)
            index.train(sample)
        else:
            index = self.empty()
        for ids, vectors in batches:
            matrix = np.array(vectors, dtype=np.float32)
            faiss.normalize_L2(matrix)
            index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))
        return self.save(index, index.ntotal if trained else 0)

    def search(
        self,
        vector: np.ndarray,
        k: int,
        exclude: Collection[int] = (),
        allowed: Collection[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest ids by cosine similarity, best first, among ``allowed`` and leaving out ``exclude``.

        The query runs on one FAISS thread (:func:`_one_thread`). Both restrictions are applied inside
        FAISS with an ``IDSelector`` (a bitmap of the allowed ids), so ``k`` hits come back whenever
        ``k`` eligible vectors exist. On a trained index a filtered query visits at least enough lists
        to scan about ``FILTER_CANDIDATES · k`` eligible vectors (a broad filter keeps ``nprobe``; one
        player's few clips make it visit every list), and every list when that found fewer than ``k``.

        Args:
            vector: ``(dim,)`` float32 query.
            k: how many hits to return.
            exclude: ids not to return (e.g. the query clip itself, rejected clips).
            allowed: the only ids that may be returned (a filter's clips); ``None``: any.
        """
        index = self.load()
        if index.ntotal == 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1).copy()
        faiss.normalize_L2(query)
        selector, eligible, bitmap = None, 0, None
        if allowed is not None:
            ids = np.fromiter(allowed, dtype=np.int64) if not isinstance(allowed, np.ndarray) else allowed
            bits = np.zeros(int(ids.max(initial=0)) + 2, bool)
            bits[ids] = True
            bits[[i for i in exclude if 0 <= i < len(bits)]] = False
            eligible = int(bits.sum())
            if eligible == 0:
                return []
            bitmap = np.packbits(bits, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # n: bytes
        elif exclude:
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.array(sorted(exclude), dtype=np.int64)))
        k = min(k, index.ntotal)
        with _one_thread():
            if isinstance(index, faiss.IndexIDMap2):
                scores, ids = index.search(query, k, params=faiss.SearchParameters(sel=selector))
            else:
                nlist = faiss.extract_index_ivf(index).nlist
                nprobe = self.training.nprobe if self.training is not None else 1
                if eligible:
                    nprobe = max(nprobe, math.ceil(nlist * FILTER_CANDIDATES * k / eligible))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=min(nprobe, nlist))
                scores, ids = index.search(query, k, params=params)
                if (ids[0] < 0).any() and nprobe < nlist:
                    every = faiss.SearchParametersIVF(sel=selector, nprobe=nlist)
                    scores, ids = index.search(query, k, params=every)
        del bitmap  # the selector reads it during the searches above
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink()  # atomic_write's empty placeholder: a hard link needs the name free
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, target)
