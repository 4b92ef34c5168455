"""FAISS vector indexes whose ids are database primary keys.

Each index is built from a factory string with the inner-product metric over L2-normalised
float32 vectors, i.e. cosine similarity. Small indexes are exact (``"IDMap2,Flat"`` by default:
``IDMap2`` keeps the int64 ids, the Clip or FaceTrack primary keys). Once the rows reach
:attr:`Training.min_rows` the writer trains an inverted-file index (``"IVF1024,SQ8"``: a k-means
coarse quantiser of 1024 lists, 8-bit scalar-quantised codes; H. Jégou, M. Douze, C. Schmid,
"Product quantization for nearest neighbor search", TPAMI 2011, for the IVF layout), which keeps
the ids in its inverted lists, and trains it again each time the rows grow by
:attr:`Training.growth`. Queries visit :attr:`Training.nprobe` lists.

A version is a large immutable **base** plus a small exact **delta** and a **removed-id** list
(the log-structured merge of P. O'Neil et al., "The log-structured merge-tree", Acta Informatica
1996, as search engines apply it to their segments)::

    clips-i3d.version                "<version> <rows at training> <base version>" (0 rows: exact base)
    clips-i3d.v00000040.faiss        a base: the trained IVF or the exact index, written by a training
                                     or a fold, shared by every later version until the next one
    clips-i3d.v00000042.delta.faiss  version 42's delta: ``IDMap2,Flat`` of the rows added since its base
    clips-i3d.v00000042.removed.npy  version 42's removed list: sorted int64 ids of the base that are
                                     deleted or superseded (a re-added id lives in the delta only)
    clips-i3d.faiss                  a hard link to the newest base (for tools and backups)

A version whose base is itself (``<base version>`` = ``<version>``, and the two-field pointer written
before deltas existed) has an empty delta and no removed ids, and no delta files. The single writer
(callers serialise writers with a PostgreSQL advisory lock) writes each file to a temporary name and
renames it (``ml.files.atomic_write``), then replaces the pointer the same way, and only then prunes
the files no version among the newest :attr:`VectorIndex.keep` + 1 references; files never change
once written, so a reader never sees a half-written version, and a crash before the pointer leaves the
previous version visible. A game's write (:meth:`VectorIndex.sync`) reads only the delta and the
removed list (and the base's ids, never its vectors), and writes a new delta and removed list; it
**folds** them into a new base (a private copy of the base, the removed ids removed, the delta's
vectors added) once either passes :attr:`Fold.rows` or :attr:`Fold.share` of the base's rows.

Every process (web, workers) reads the pointer and reloads only what changed: the base is cached by
its own version, so a new delta does not re-map it. Readers open files memory-mapped and read-only
(an IVF index's inverted lists with ``IO_FLAG_MMAP``, exact indexes' vectors with ``IO_FLAG_MMAP_IFC``):
the pages stay in the page cache, shared by every process on the machine. A query searches the base
with the removed ids excluded inside FAISS, the delta exactly, and merges the two by score.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from ml.files import atomic_write

logger = logging.getLogger(__name__)

_READ_FLAGS = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY  # a trained (IVF) file
_READ_EXACT_FLAGS = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY  # an exact file (IDMap2 over flat codes)
DELTA_FACTORY = "IDMap2,Flat"
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


@dataclass(frozen=True)
class Fold:
    """When the writer folds the delta and the removed list into a new base.

    A write folds once the delta's rows or the removed ids exceed ``min(rows, share · base rows)``:
    a small base is simply rewritten (an empty base at every write), a large one keeps a delta of at
    most ``rows``. The delta is searched exactly (1024-d, one thread: 10 000 rows added 2.7 ms to
    the p50 of a query) and rewritten whole by every write (4 KB a row at 1024-d), the base by every
    fold, so ``rows`` trades the delta's search and write cost against the folds'
    (``benchmarks/vector_bench.py sync``: at 1 M rows a game's write went from 1 037 MB and 1.85 s to
    42 MB and 0.24 s amortised).

    Attributes:
        rows: most rows the delta (or ids the removed list) may hold.
        share: most rows the delta may hold as a fraction of the base's rows.
    """

    rows: int = 10_000
    share: float = 0.05

    def limit(self, base_rows: int) -> int:
        """The most rows the delta (or the removed list) may hold beside a base of ``base_rows`` rows."""
        return min(self.rows, int(self.share * base_rows))


def _index_ids(index: faiss.Index) -> np.ndarray:
    """The int64 ids held by an ``IDMap2`` or inverted-file index, ``(N,)``; reads no vectors."""
    if isinstance(index, faiss.IndexIDMap2):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    lists = faiss.extract_index_ivf(index).invlists
    parts = [
        faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
        for i in range(lists.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)


def _as_ids(ids: Collection[int] | np.ndarray) -> np.ndarray:
    if isinstance(ids, np.ndarray):
        return ids.astype(np.int64, copy=False)
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


@dataclass(eq=False)
class Snapshot:
    """One published version, as a reader holds it: the base, the delta and the base's removed ids.

    The files stay readable while held, even once the writer prunes them (memory-mapped pages of
    an unlinked file stay valid), so a reader may finish with version ``v`` while ``v + 1`` appears.

    Attributes:
        version: the version number (0: nothing saved yet, both indexes empty).
        base: the base index, exact (``IDMap2``) or trained (IVF).
        delta: the exact ``IDMap2,Flat`` index of the rows added since the base.
        removed: sorted ``(R,)`` int64 ids of the base hidden from queries (deleted or in the delta).
        nprobe: inverted lists a trained base's query visits.
        base_version: the version that wrote the base (``version``: the delta is empty).
        trained_rows: rows the base was trained at (0: exact).
    """

    version: int
    base: faiss.Index
    delta: faiss.Index
    removed: np.ndarray
    nprobe: int = 1
    base_version: int = 0
    trained_rows: int = 0
    _not_removed: faiss.IDSelector | None = field(default=None, repr=False)

    @property
    def ntotal(self) -> int:
        """The vectors visible to queries: the base's less the removed ones, plus the delta's."""
        return self.base.ntotal - len(self.removed) + self.delta.ntotal

    def ids(self) -> np.ndarray:
        """The visible ids ``(N,)`` int64: the base's less the removed ones, then the delta's."""
        base = _index_ids(self.base)
        return np.concatenate([base[~_member(base, self.removed)], _index_ids(self.delta)])

    def _selectors(
        self, exclude: Collection[int], allowed: Collection[int] | np.ndarray | None
    ) -> tuple[faiss.IDSelector | None, faiss.IDSelector | None, int | None, list[np.ndarray]]:
        """``(base selector, delta selector, eligible ids in the base, bitmaps the selectors read)``.

        ``eligible`` is ``None`` without ``allowed``; the selectors are ``None`` when nothing is left out.
        """
        if allowed is not None:
            ids = _as_ids(allowed)
            ids = ids[ids >= 0]  # a negative index would set a bit from the end
            bits = np.zeros(int(ids.max(initial=0)) + 2, bool)
            bits[ids] = True
            bits[[i for i in exclude if 0 <= i < len(bits)]] = False
            delta_bitmap = np.packbits(bits, bitorder="little")
            bits[self.removed[self.removed < len(bits)]] = False
            base_bitmap = np.packbits(bits, bitorder="little")
            base = faiss.IDSelectorBitmap(len(base_bitmap), faiss.swig_ptr(base_bitmap))  # n: bytes
            delta = faiss.IDSelectorBitmap(len(delta_bitmap), faiss.swig_ptr(delta_bitmap))
            return base, delta, int(bits.sum()), [base_bitmap, delta_bitmap]
        delta = None
        if exclude:
            delta = faiss.IDSelectorNot(faiss.IDSelectorBatch(np.array(sorted(exclude), dtype=np.int64)))
        if not len(self.removed):
            return delta, delta, None, []
        if self._not_removed is None:  # built once per version: a hash set of up to Fold.rows ids
            self._not_removed = faiss.IDSelectorNot(faiss.IDSelectorBatch(self.removed))
        base = self._not_removed if delta is None else faiss.IDSelectorAnd(self._not_removed, delta)
        return base, delta, None, []

    def search(
        self,
        vector: np.ndarray,
        k: int,
        exclude: Collection[int] = (),
        allowed: Collection[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """This version's hits for :meth:`VectorIndex.search` (same arguments and result).

        The base is searched with the removed ids excluded inside
        FAISS, the delta exactly with the same filter; hits are merged by score (an id is never in
        both: a re-added id is among the base's removed ones).
        """
        if self.ntotal == 0:
            return []
        query = np.ascontiguousarray(vector, dtype=np.float32).reshape(1, -1).copy()
        faiss.normalize_L2(query)
        base_selector, delta_selector, eligible, bitmaps = self._selectors(exclude, allowed)
        hits: list[tuple[int, float]] = []
        visible = self.base.ntotal - len(self.removed)
        with _one_thread():
            if visible and eligible != 0:
                hits += self._search_base(query, min(k, visible), base_selector, eligible or 0)
            if self.delta.ntotal:
                params = faiss.SearchParameters(sel=delta_selector)
                scores, ids = self.delta.search(query, min(k, self.delta.ntotal), params=params)
                hits += [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
        del bitmaps  # the selectors read them during the searches above
        return sorted(hits, key=lambda hit: -hit[1])[:k]

    def _search_base(
        self, query: np.ndarray, k: int, selector: faiss.IDSelector | None, eligible: int
    ) -> list[tuple[int, float]]:
        """The base's hits; on a trained base a filtered query visits enough lists (see :meth:`VectorIndex.search`)."""
        if isinstance(self.base, faiss.IndexIDMap2):
            scores, ids = self.base.search(query, k, params=faiss.SearchParameters(sel=selector))
        else:
            nlist = faiss.extract_index_ivf(self.base).nlist
            nprobe = self.nprobe
            if eligible:
                nprobe = max(nprobe, math.ceil(nlist * FILTER_CANDIDATES * k / eligible))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=min(nprobe, nlist))
            scores, ids = self.base.search(query, k, params=params)
            if (ids[0] < 0).any() and nprobe < nlist:
                every = faiss.SearchParametersIVF(sel=selector, nprobe=nlist)
                scores, ids = self.base.search(query, k, params=every)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


_FILE = re.compile(r"\.v(\d{8})(\.delta\.faiss|\.removed\.npy|\.faiss)$")


class VectorIndex:
    """One on-disk FAISS index of ``dim``-dimensional vectors keyed by database ids, in versions of base + delta.

    Args:
        path: the newest base's stable name (``var/index/clips-i3d.faiss``); versions, the pointer
            and temporary files live beside it.
        dim: vector size (1024 for I3D clip embeddings).
        factory: FAISS index factory string of the exact index; must start with ``IDMap2``.
        keep: older versions kept after a save, for readers still opening them.
        training: when to train an inverted-file index (``None``: always exact).
        fold: when a write folds the delta into a new base.
    """

    def __init__(
        self,
        path: Path,
        dim: int,
        factory: str = "IDMap2,Flat",
        keep: int = 3,
        training: Training | None = None,
        fold: Fold = Fold(),
    ) -> None:
        self.path = Path(path)
        self.dim = dim
        self.factory = factory
        self.keep = keep
        self.training = training
        self.fold = fold
        self._lock = threading.Lock()
        self._base: tuple[int, faiss.Index, np.ndarray | None] | None = None  # (version, index, ids once asked)
        self._snapshot: Snapshot | None = None

    @property
    def version_path(self) -> Path:
        """The pointer file: the newest version, the rows its base was trained at, its base's version."""
        return self.path.with_suffix(".version")

    def snapshot_path(self, version: int) -> Path:
        """The immutable base file written at ``version``."""
        return self.path.with_suffix(f".v{version:08d}.faiss")

    def delta_path(self, version: int) -> Path:
        """The immutable delta file of ``version`` (absent when ``version`` is its own base)."""
        return self.path.with_suffix(f".v{version:08d}.delta.faiss")

    def removed_path(self, version: int) -> Path:
        """The immutable removed-id list of ``version`` (``.npy``, sorted int64; absent with the delta)."""
        return self.path.with_suffix(f".v{version:08d}.removed.npy")

    def _pointer(self) -> tuple[int, int, int]:
        """``(version, rows at training, base version)``; a two-field pointer's base is its version."""
        try:
            fields = [int(f) for f in self.version_path.read_text().split()]
        except FileNotFoundError:
            return 0, 0, 0
        fields += [0] * (2 - len(fields))
        return fields[0], fields[1], fields[2] if len(fields) > 2 else fields[0]

    def version(self) -> int:
        """The newest saved version (0: nothing saved yet)."""
        return self._pointer()[0]

    def trained_rows(self) -> int:
        """Rows the newest base's inverted-file index was trained at (0: the base is exact)."""
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

    def _empty_delta(self) -> faiss.Index:
        return faiss.index_factory(self.dim, DELTA_FACTORY, faiss.METRIC_INNER_PRODUCT)

    def load(self) -> Snapshot:
        """The newest version, memory-mapped read-only (cached until the version changes), or an empty one.

        The base is cached by its own version: a version that only adds a delta maps the delta alone.

        Raises:
            ValueError: the base holds vectors of another dimension.
            FileNotFoundError: the pointer names files that stay missing.
        """
        with self._lock:
            for _ in range(3):  # a writer may prune the version read a moment ago: read the pointer again
                version, trained, base_version = self._pointer()
                if self._snapshot is not None and version == self._snapshot.version:
                    return self._snapshot
                nprobe = self.training.nprobe if self.training is not None else 1
                if version == 0:
                    return Snapshot(0, self.empty(), self._empty_delta(), np.empty(0, np.int64), nprobe)
                try:
                    base = self._load_base(base_version, trained)
                    delta, removed = self._empty_delta(), np.empty(0, np.int64)
                    if base_version != version:
                        delta = faiss.read_index(str(self.delta_path(version)), _READ_EXACT_FLAGS)
                        removed = np.load(self.removed_path(version))
                except FileNotFoundError:
                    continue
                self._snapshot = Snapshot(version, base, delta, removed, nprobe, base_version, trained)
                return self._snapshot
            raise FileNotFoundError(f"{self.snapshot_path(self.version())}: snapshot missing")

    def _load_base(self, version: int, trained: int) -> faiss.Index:
        """The base written at ``version``, memory-mapped (cached). Raises FileNotFoundError, ValueError."""
        if self._base is not None and self._base[0] == version:
            return self._base[1]
        path = self.snapshot_path(version)
        if not path.exists():  # faiss raises RuntimeError on a missing file
            raise FileNotFoundError(path)
        index = faiss.read_index(str(path), _READ_FLAGS if trained else _READ_EXACT_FLAGS)
        if index.d != self.dim:
            raise ValueError(f"{path} holds {index.d}-d vectors, expected {self.dim}")
        self._base = (version, index, None)
        return index

    def _base_ids(self, base: faiss.Index) -> np.ndarray:
        """The sorted ids of the cached base ``base`` (found once per base: the writer asks at every write)."""
        with self._lock:
            if self._base is not None and self._base[1] is base:
                if self._base[2] is None:
                    self._base = (self._base[0], base, np.sort(_index_ids(base)))
                return self._base[2]
        return np.sort(_index_ids(base))

    def save(self, index: faiss.Index, trained_rows: int = 0) -> int:
        """Write ``index`` as the base of the next version (empty delta), publish it atomically, prune.

        Args:
            index: the index to publish.
            trained_rows: rows an inverted-file index was trained at (0: ``index`` is exact).

        Returns:
            The new version number.
        """
        version = self._next_version()
        snapshot = self.snapshot_path(version)
        with atomic_write(snapshot) as tmp:
            faiss.write_index(index, str(tmp))
        self._publish(version, trained_rows, version)
        with atomic_write(self.path) as tmp:
            _link_or_copy(snapshot, tmp)
        return version

    def _save_delta(self, delta: faiss.Index, removed: np.ndarray, trained_rows: int, base_version: int) -> int:
        """Write ``delta`` and ``removed`` as the next version over the base ``base_version``; publish; prune."""
        version = self._next_version()
        with atomic_write(self.delta_path(version)) as tmp:
            faiss.write_index(delta, str(tmp))
        with atomic_write(self.removed_path(version)) as tmp, tmp.open("wb") as out:
            np.save(out, removed)
        self._publish(version, trained_rows, base_version)
        return version

    def _next_version(self) -> int:
        """The version to write next, once the files a crashed write left under that number are removed."""
        version = self.version() + 1
        for path in (self.snapshot_path(version), self.delta_path(version), self.removed_path(version)):
            path.unlink(missing_ok=True)  # never published, so no reader has them
        return version

    def _publish(self, version: int, trained_rows: int, base_version: int) -> None:
        """Point readers at ``version``, then remove the files no kept version references."""
        with atomic_write(self.version_path) as tmp:
            tmp.write_text(f"{version} {trained_rows} {base_version}\n")
        files: dict[tuple[int, str], Path] = {}
        for path in self.path.parent.glob(self.path.stem + ".v*"):
            match = _FILE.search(path.name)
            if match and path.name == self.path.stem + match.group(0):
                files[int(match.group(1)), match.group(2)] = path
        bases = sorted(v for v, kind in files if kind == ".faiss" and v <= version)
        kept = set(range(version - self.keep, version + 1))
        # a version's base is the newest base written at or before it (_next_version removed unpublished ones)
        needed = {max((b for b in bases if b <= v), default=0) for v in kept}
        for (v, kind), path in files.items():
            if v > version or (v not in kept if kind != ".faiss" else v not in needed):
                path.unlink(missing_ok=True)

    def sync(self, wanted: dict[int, np.ndarray], removed: Collection[int] | np.ndarray) -> tuple[int, int]:
        """Add or replace the ``wanted`` vectors and remove the ``removed`` ids, as a new version (trained or not, as
        it was).

        Reads the delta and the removed list and the base's ids (never the base's vectors): ``removed`` and
        ``wanted`` ids of the base join the removed list, those of the delta are removed from it, and ``wanted``
        are added to it. The work grows with the change, not the index: the base's sorted ids are found once per
        base and each changed id is looked up in them (a binary search). When the delta or the removed list then
        pass :meth:`Fold.limit`, they are folded into a new base instead (a private copy of the base), as is the
        first write, which has no base yet.

        Args:
            wanted: id → ``(dim,)`` float32 vector to (re)insert.
            removed: ids to remove (deleted rows: ``highlights.models.IndexTombstone``); an id the index lacks is
                ignored.

        Returns:
            ``(added, removed)`` counts (a replaced id counts in both).

        Callers serialise writers (a PostgreSQL advisory lock): this is a read-modify-write. They
        call :meth:`rebuild` instead when :meth:`needs_training` says so.
        """
        current = self.load()
        ids = np.fromiter(wanted.keys(), dtype=np.int64, count=len(wanted))
        changed = np.union1d(_as_ids(removed), ids)  # sorted, unique
        base_ids = self._base_ids(current.base)
        dropped = changed[_member(changed, base_ids)]
        hidden = np.union1d(current.removed, dropped)
        delta = self._empty_delta()
        if current.delta.ntotal:
            delta = faiss.read_index(str(self.delta_path(current.version)))  # a private copy, small
        present = _index_ids(delta)
        stale = present[_member(present, changed)]
        count = len(hidden) - len(current.removed)
        count += int(delta.remove_ids(faiss.IDSelectorBatch(stale))) if len(stale) else 0
        if wanted:
            vectors = np.stack([wanted[i] for i in ids.tolist()]).astype(np.float32)
            faiss.normalize_L2(vectors)
            delta.add_with_ids(vectors, ids)
        if not current.base_version or max(delta.ntotal, len(hidden)) > self.fold.limit(current.base.ntotal):
            self._fold(current.base_version, delta, hidden, current.trained_rows)
        else:
            self._save_delta(delta, hidden, current.trained_rows, current.base_version)
        return len(wanted), count

    def _fold(self, base_version: int, delta: faiss.Index, removed: np.ndarray, trained_rows: int) -> int:
        """Write base ``base_version`` less ``removed`` plus ``delta``'s vectors as the next version's base."""
        index = faiss.read_index(str(self.snapshot_path(base_version))) if base_version else self.empty()
        if len(removed):
            index.remove_ids(faiss.IDSelectorBatch(removed))
        if delta.ntotal:
            vectors = faiss.downcast_index(delta.index).reconstruct_n(0, delta.ntotal)
            index.add_with_ids(vectors, _index_ids(delta))  # stored normalised
        logger.info("%s: folded %d delta rows and %d removed ids", self.path.name, delta.ntotal, len(removed))
        return self.save(index, trained_rows)

    def rebuild(self, batches: Iterable[tuple[np.ndarray, np.ndarray]], sample: np.ndarray | None = None) -> int:
        """Replace the whole index with the vectors of ``batches`` as a new version (a new base, empty delta).

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

        Searches the newest version (:meth:`load`, :meth:`Snapshot.search`). The query runs on one
        FAISS thread (:func:`_one_thread`). Both restrictions are applied inside FAISS with an
        ``IDSelector`` (a bitmap of the allowed ids), so ``k`` hits come back whenever ``k``
        eligible vectors exist. On a trained base a filtered query visits at least enough lists to
        scan about ``FILTER_CANDIDATES · k`` eligible vectors (a broad filter keeps ``nprobe``; one
        player's few clips make it visit every list), and every list when that found fewer than ``k``.

        Args:
            vector: ``(dim,)`` float32 query.
            k: how many hits to return.
            exclude: ids not to return (e.g. the query clip itself, rejected clips).
            allowed: the only ids that may be returned (a filter's clips); ``None``: any.
        """
        return self.load().search(vector, k, exclude, allowed)


def _member(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Whether each of ``ids`` is in the sorted ``sorted_ids`` (a binary search: millions of ids)."""
    if not len(sorted_ids):
        return np.zeros(len(ids), bool)
    at = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
    return sorted_ids[at] == ids


def _link_or_copy(source: Path, target: Path) -> None:
    target.unlink()  # atomic_write's empty placeholder: a hard link needs the name free
    try:
        os.link(source, target)
    except OSError:  # a filesystem without hard links
        shutil.copyfile(source, target)
