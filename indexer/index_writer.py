"""The single writer of the FAISS indexes (clips, face tracks, person photos), and checks against PostgreSQL.

Every process may read an index (``search.clips``, ``search.faces``), but only one at a time
writes it: writers hold a PostgreSQL advisory lock for the length of a transaction
(``LockKey.CLIP_INDEX`` for the clip index, ``LockKey.PEOPLE`` for the face indexes, which people's
writers share), so workers on any number of machines sharing the index volume take turns. Each
write publishes a new version; readers reload when the version changes. A game's write adds to the
index's small exact delta and leaves its base file alone until the delta is folded in
(``search.index``: ``HL_FAISS_DELTA_ROWS``, ``HL_FAISS_DELTA_SHARE``). PostgreSQL is the
source of truth: the rows' embeddings (``embedding_vector()``) are written under their primary keys,
the ids of rows deleted since the last write come from their tombstones (``IndexTombstone``, written by
PostgreSQL triggers), so a game's write reads its own rows and those few ids, never every id of the table;
``rebuild_clip_index`` regenerates the clip index from the Clip rows, ``check_clip_index`` compares
the two sets of ids.

Training is the writer's too: an index stays exact until its rows reach the training size
(``HL_FAISS_CLIP_TRAIN_ROWS``, ``HL_FAISS_FACE_TRAIN_ROWS``); the write that reaches it, and any
write after the rows grew ``HL_FAISS_RETRAIN_GROWTH`` times since the last training, rebuilds the
index from PostgreSQL instead: the coarse quantiser and codec are trained on a random sample of
the rows (``HL_FAISS_TRAIN_SAMPLE``), then every row is added in batches, as a new base with an
empty delta.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import QuerySet

from highlights.locks import LockKey, advisory_lock
from highlights.models import Clip, EmbeddingMixin, FaceTrack, IndexTombstone, PersonPhoto
from indexer import runtime
from search.clips import clip_index
from search.faces import face_track_index, person_photo_index
from search.index import VectorIndex


@dataclass(frozen=True)
class IndexCheck:
    """How the clip index compares with the database.

    ``missing``: clips in the database absent from the index; ``extra``: ids in the index with no
    clip of the current model version. A job between its ``clips`` and ``index`` steps shows as
    missing until its ``index`` step runs.
    """

    ok: bool
    missing: int
    extra: int
    version: int
    vectors: int


_BATCH = 10_000  # rows read from PostgreSQL and added to a rebuilt index at a time


def _batches(rows: QuerySet) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(ids (B,), vectors (B, D) float32)`` of every row of ``rows``, ``_BATCH`` rows at a time."""
    ids: list[int] = []
    vectors: list[bytes | memoryview] = []
    for pk, embedding in rows.values_list("pk", "embedding").iterator(_BATCH):
        ids.append(pk)
        vectors.append(embedding)
        if len(ids) == _BATCH:
            yield np.array(ids, np.int64), EmbeddingMixin.embedding_matrix(vectors)
            ids, vectors = [], []
    if ids:
        yield np.array(ids, np.int64), EmbeddingMixin.embedding_matrix(vectors)


def _ids(rows: QuerySet) -> np.ndarray:
    """The primary keys of ``rows`` as ``(N,)`` int64, in no particular order (the writer sorts them).

    PostgreSQL joins them into one comma-separated text that NumPy parses in C: a million ids in 0.28 s, where
    iterating the ORM's rows into ``np.fromiter`` took 0.76 s, once per indexed game at a million clips.
    """
    try:
        sql, params = rows.values_list("pk", flat=True).query.sql_with_params()
    except EmptyResultSet:  # Django knows there is no row without asking
        return np.empty(0, np.int64)
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"SELECT coalesce(string_agg(u.id::text, ','), '') FROM ({sql}) u(id)", params)
        return np.fromstring(cursor.fetchone()[0], dtype=np.int64, sep=",")


def _rebuild(index: VectorIndex, rows: QuerySet) -> int:
    """Replace ``index`` with the vectors of ``rows``, trained on a random sample of them when they are enough.

    Returns:
        The snapshot version written. The caller holds the writers' lock.
    """
    sample = None
    if index.training is not None and index.trains(rows.count()):
        sampled = rows.order_by("?").values_list("embedding", flat=True)[: index.training.sample]
        sample = EmbeddingMixin.embedding_matrix(list(sampled))
    return index.rebuild(_batches(rows.order_by("pk")), sample)


def _write(index: VectorIndex, wanted: QuerySet, removed: np.ndarray, rows: QuerySet) -> None:
    """Add or replace the vectors of the rows ``wanted`` and remove the ids ``removed``; the caller holds the lock.

    The first write of an index builds it from all its ``rows`` (the clips stored before new weights' or a
    renamed index's first game, or only that game's on a new archive). When the index then holds enough vectors
    to be trained (or grew enough since its training), it is rebuilt trained from all its ``rows`` instead: the
    write before is a delta of one game's rows, and the count the published snapshot's own, so no write counts
    the table.
    """
    if not index.version():
        _rebuild(index, rows)
        return
    vectors = {row.pk: row.embedding_vector() for row in wanted.only("pk", "embedding")}
    index.sync(vectors, removed)
    if index.needs_training(index.load().ntotal):
        _rebuild(index, rows)


def _tombstones(kind: IndexTombstone.Kind) -> np.ndarray:
    """Take the ids of the rows of ``kind`` deleted since the last write: ``(R,)`` int64, in no order.

    ``DELETE ... RETURNING`` in the caller's transaction: a write that fails rolls back and leaves them for the next.
    Read before the rows to write: a row deleted after this read keeps its tombstone for the next write, where a
    tombstone read after the rows (their delete committing in between) would be removed here and the row added back.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {IndexTombstone._meta.db_table} WHERE kind = %s RETURNING row_id", [kind.value])
        return np.fromiter((pk for (pk,) in cursor.fetchall()), np.int64)


def _current_clips() -> QuerySet[Clip]:
    return Clip.objects.filter(model_version=runtime.model_weights().version).order_by("pk")


def sync_game_clips(game_id: int) -> None:
    """Put one game's clips into the configured model's clip index and remove the clips deleted since the last write
    (:class:`highlights.models.IndexTombstone`)."""
    with advisory_lock(LockKey.CLIP_INDEX):
        clips = _current_clips()
        removed = _tombstones(IndexTombstone.Kind.CLIPS)
        _write(clip_index(runtime.model_weights()), clips.filter(game_id=game_id), removed, clips)


def sync_game_face_tracks(game_id: int) -> None:
    """Put one game's face tracks into the face-track index and remove the tracks deleted since the last write."""
    with advisory_lock(LockKey.PEOPLE):
        tracks = FaceTrack.objects.all()
        removed = _tombstones(IndexTombstone.Kind.FACE_TRACKS)
        _write(face_track_index(), tracks.filter(game_id=game_id), removed, tracks)


def sync_person_photos() -> None:
    """Bring the person-photo index in line with every enrolled reference photo (hundreds: compared whole)."""
    index = person_photo_index()
    with advisory_lock(LockKey.PEOPLE):
        photos = PersonPhoto.objects.all()
        _write(index, photos, np.setdiff1d(index.load().ids(), _ids(photos)), photos)


def rebuild_clip_index() -> tuple[int, int]:
    """Regenerate the configured model's clip index from the Clip rows, as a new snapshot version.

    The index is trained (a new coarse quantiser on a fresh sample) when the clips reach the training size.

    The clips' tombstones go too: the new index holds the rows stored now (and after a ``TRUNCATE ... RESTART
    IDENTITY`` a tombstone from before could name a new clip).

    Returns:
        ``(version, vectors)``: the snapshot version written and how many vectors it holds.
    """
    with advisory_lock(LockKey.CLIP_INDEX):
        _tombstones(IndexTombstone.Kind.CLIPS)
        clips = _current_clips()
        return _rebuild(clip_index(runtime.model_weights()), clips), clips.count()


def _prune(index: VectorIndex, key: LockKey, kind: IndexTombstone.Kind) -> int:
    """Under lock ``key``: remove from ``index`` the rows of ``kind`` deleted since its last write; how many."""
    with advisory_lock(key):
        removed = _tombstones(kind)
        if not index.version() or not len(removed):
            return 0
        return index.sync({}, removed)[1]


def prune_clip_index() -> int:
    """Remove from the clip index the clips deleted since its last write (a deleted game's), as a new snapshot.

    Returns:
        How many ids were removed (no deleted clip: no snapshot is written).
    """
    return _prune(clip_index(runtime.model_weights()), LockKey.CLIP_INDEX, IndexTombstone.Kind.CLIPS)


def prune_face_track_index() -> int:
    """Remove from the face-track index the tracks deleted since its last write (a deleted game's), as a new
    snapshot: until then they would take places among an identification's nearest candidates.

    Returns:
        How many ids were removed (no deleted track: no snapshot is written).
    """
    return _prune(face_track_index(), LockKey.PEOPLE, IndexTombstone.Kind.FACE_TRACKS)


def check_clip_index() -> IndexCheck:
    """Compare the ids in the newest clip index snapshot with the Clip primary keys in the database."""
    index = clip_index(runtime.model_weights())
    with advisory_lock(LockKey.CLIP_INDEX):  # no writer is between reading the rows and publishing a snapshot
        database_ids = set(_ids(_current_clips()).tolist())
        snapshot = index.load()
        index_ids = set(snapshot.ids().tolist())
        version = index.version()
    missing, extra = len(database_ids - index_ids), len(index_ids - database_ids)
    ok = not missing and not extra
    return IndexCheck(ok=ok, missing=missing, extra=extra, version=version, vectors=len(index_ids))
