"""The single writer of the FAISS indexes (clips, face tracks, person photos), and checks against PostgreSQL.

Every process may read an index (``search.clips``, ``search.faces``), but only one at a time
writes it: writers hold a PostgreSQL advisory lock for the length of a transaction
(``LockKey.CLIP_INDEX`` for the clip index, ``LockKey.PEOPLE`` for the face indexes, which people's
writers share), so workers on any number of machines sharing the index volume take turns. Each
write publishes a new version; readers reload when the version changes. A game's write adds to the
index's small exact delta and leaves its base file alone until the delta is folded in
(``search.index``: ``HL_FAISS_DELTA_ROWS``, ``HL_FAISS_DELTA_SHARE``). PostgreSQL is the
source of truth: the rows' embeddings (``embedding_vector()``) are written under their primary keys,
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
from django.db import connections
from django.db.models import QuerySet

from highlights.locks import LockKey, advisory_lock
from highlights.models import Clip, EmbeddingMixin, FaceTrack, PersonPhoto
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


def _sync(index: VectorIndex, key: LockKey, wanted: QuerySet, keep: QuerySet) -> None:
    """Under lock ``key``: add or replace the vectors of the rows ``wanted``; drop ids not among the rows ``keep``.

    When the rows ``keep`` reach the training size (or grew enough since the last training), the
    index is rebuilt trained from ``keep`` instead (``wanted`` are among them).
    """
    with advisory_lock(key):
        if index.needs_training(keep.count()):
            _rebuild(index, keep)
            return
        vectors = {row.pk: row.embedding_vector() for row in wanted.only("pk", "embedding")}
        index.sync(vectors, _ids(keep))  # no set of a million ints


def _current_clips() -> QuerySet[Clip]:
    return Clip.objects.filter(model_version=runtime.model_weights().version).order_by("pk")


def sync_game_clips(game_id: int) -> None:
    """Put one game's clips into the configured model's clip index and drop ids of clips no longer stored."""
    clips = _current_clips()
    _sync(clip_index(runtime.model_weights()), LockKey.CLIP_INDEX, clips.filter(game_id=game_id), clips)


def sync_game_face_tracks(game_id: int) -> None:
    """Put one game's face tracks into the face-track index and drop ids of deleted tracks."""
    tracks = FaceTrack.objects.all()
    _sync(face_track_index(), LockKey.PEOPLE, tracks.filter(game_id=game_id), tracks)


def sync_person_photos() -> None:
    """Bring the person-photo index in line with every enrolled reference photo."""
    photos = PersonPhoto.objects.all()
    _sync(person_photo_index(), LockKey.PEOPLE, photos, photos)


def rebuild_clip_index() -> tuple[int, int]:
    """Regenerate the configured model's clip index from the Clip rows, as a new snapshot version.

    The index is trained (a new coarse quantiser on a fresh sample) when the clips reach the training size.

    Returns:
        ``(version, vectors)``: the snapshot version written and how many vectors it holds.
    """
    with advisory_lock(LockKey.CLIP_INDEX):
        clips = _current_clips()
        return _rebuild(clip_index(runtime.model_weights()), clips), clips.count()


def prune_clip_index() -> int:
    """Remove from the clip index the ids of clips no longer in the database (a deleted game's), as a new snapshot.

    Returns:
        How many ids were removed (0 writes no snapshot).
    """
    index = clip_index(runtime.model_weights())
    with advisory_lock(LockKey.CLIP_INDEX):
        if not index.version():
            return 0
        keep = _ids(_current_clips())
        if np.isin(index.load().ids(), keep).all():
            return 0
        return index.sync({}, keep)[1]


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
