"""The single index writer trains the face-track index from a size on and retrains it as the rows grow.

Real PostgreSQL (the committed test database) and real FAISS; the sizes are lowered through settings
so the thresholds are crossed with a few hundred rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from highlights.models import Clip, FaceTrack, Game, IndexTombstone
from indexer import index_writer, runtime
from search.clips import clip_index
from search.faces import face_track_index
from search.index import VectorIndex
from tests.descriptors import near, unit
from tests.faces.rows import clip_row, track_row


@pytest.fixture
def small_training(committed_env: Path) -> Iterator[None]:
    with override_settings(
        HL_FAISS_FACE_TRAINED_FACTORY="IVF8,Flat",
        HL_FAISS_FACE_TRAIN_ROWS=200,
        HL_FAISS_TRAIN_SAMPLE=150,
        HL_FAISS_RETRAIN_GROWTH=2.0,
        HL_FAISS_FACE_NPROBE=8,
    ):
        yield
    Game.objects.all().delete()


def _game(number: int, tracks: int) -> Game:
    game = Game.objects.create(sha256=f"{number:064x}", source_path=f"/nowhere/{number}.mp4", title=f"Game {number}")
    clip = clip_row(game, 0, 3_600_000)
    people = [unit(p) for p in range(20)]
    for i in range(tracks):
        track_row(game, clip, 1000 * i, near(people[i % 20], seed=number * 10_000 + i, scale=0.05))
    return game


def test_the_writer_trains_at_the_threshold_adds_in_between_and_retrains_when_the_rows_doubled(
    small_training: None,
) -> None:
    index = face_track_index()
    index_writer.sync_game_face_tracks(_game(1, 150).pk)
    assert index.trained_rows() == 0 and isinstance(index.load().base, faiss.IndexIDMap2)  # small: exact

    index_writer.sync_game_face_tracks(_game(2, 100).pk)  # 250 rows: trained from PostgreSQL
    assert index.trained_rows() == 250
    assert faiss.extract_index_ivf(index.load().base).nlist == 8
    assert sorted(index.load().ids().tolist()) == sorted(FaceTrack.objects.values_list("pk", flat=True))

    index_writer.sync_game_face_tracks(_game(3, 100).pk)  # 350 rows: added to the trained index
    assert index.trained_rows() == 250
    track = FaceTrack.objects.filter(game__title="Game 3").first()
    assert index.search(track.embedding_vector(), 1)[0][0] == track.pk

    index_writer.sync_game_face_tracks(_game(4, 150).pk)  # 500 rows = 2 x 250: trained again
    assert index.trained_rows() == 500
    assert sorted(index.load().ids().tolist()) == sorted(FaceTrack.objects.values_list("pk", flat=True))


def test_the_writers_id_reads_are_the_rows_ids(small_training: None) -> None:
    tracks = FaceTrack.objects.filter(game=_game(7, 12))
    ids = index_writer._ids(tracks)
    assert ids.dtype == np.int64 and sorted(ids.tolist()) == sorted(tracks.values_list("pk", flat=True))
    assert len(ids) == 12
    assert index_writer._ids(tracks.none()).shape == (0,)
    assert index_writer._ids(tracks.filter(pk__lt=0)).shape == (0,)  # a query PostgreSQL answers with no row


def _tombstones(kind: IndexTombstone.Kind) -> set[int]:
    return set(IndexTombstone.objects.filter(kind=kind).values_list("row_id", flat=True))


def test_deleted_tracks_leave_the_index_at_the_next_write_through_their_tombstones(
    small_training: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, tracks = face_track_index(), IndexTombstone.Kind.FACE_TRACKS
    first = _game(1, 30)
    for game in (first, _game(2, 20)):
        index_writer.sync_game_face_tracks(game.pk)
    gone = set(FaceTrack.objects.filter(game=first).values_list("pk", flat=True))
    clip = first.clips.get().pk
    deleted = Game.objects.filter(pk=first.pk)
    with transaction.atomic():  # a delete rolled back leaves no tombstone
        deleted.delete()
        transaction.set_rollback(True)
    assert not _tombstones(tracks)
    deleted.delete()  # the game's clip and, by cascade, its 30 tracks
    assert _tombstones(tracks) == gone and clip in _tombstones(IndexTombstone.Kind.CLIPS)

    def failing(self: VectorIndex, wanted: object, removed: object) -> tuple[int, int]:
        raise OSError("disk full")

    with monkeypatch.context() as patched:  # a write that fails keeps the tombstones for the next one
        patched.setattr(VectorIndex, "sync", failing)
        with pytest.raises(OSError, match="disk full"):
            index_writer.sync_game_face_tracks(_game(3, 10).pk)
    assert _tombstones(tracks) == gone and gone <= set(index.load().ids().tolist())

    fourth = _game(4, 10)
    with CaptureQueriesContext(connection) as queries:
        index_writer.sync_game_face_tracks(fourth.pk)
    assert sorted(index.load().ids().tolist()) == sorted(
        FaceTrack.objects.exclude(game__title="Game 3").values_list("pk", flat=True)
    )
    assert not _tombstones(tracks) and clip in _tombstones(IndexTombstone.Kind.CLIPS)  # the clip index's to take
    read = [q["sql"] for q in queries if "highlights_facetrack" in q["sql"]]
    assert read and all('"game_id" =' in sql for sql in read)  # the game's own tracks, not every id of the table


def test_a_prune_drops_a_deleted_games_tracks_from_the_face_track_index(small_training: None) -> None:
    index, first = face_track_index(), _game(5, 20)
    for game in (first, _game(6, 10)):
        index_writer.sync_game_face_tracks(game.pk)
    Game.objects.filter(pk=first.pk).delete()  # as services.delete_game, then dispatch.prune_indexes
    assert index_writer.prune_face_track_index() == 20
    assert sorted(index.load().ids().tolist()) == sorted(FaceTrack.objects.values_list("pk", flat=True))
    version = index.version()
    assert index_writer.prune_face_track_index() == 0 and index.version() == version  # nothing deleted since


def _clips(game: Game, n: int, rng: np.random.Generator) -> set[int]:
    """``n`` clips of ``game`` by the configured action model, with random embeddings of its size."""
    weights = runtime.model_weights()
    return {
        Clip.objects.create(
            game=game,
            start_ms=1000 * i,
            end_ms=1000 * i + 900,
            model_class="dunking basketball",
            confidence=0.5,
            highlight_score=0.5,
            model_version=weights.version,
            pipeline_version="test",
            embedding=rng.standard_normal(weights.embedding_dim).astype(np.float32).tobytes(),
        ).pk
        for i in range(n)
    }


def test_the_clip_index_drops_deleted_clips_by_tombstone_at_a_write_or_a_prune_and_a_rebuild_clears_them(
    small_training: None,
) -> None:
    rng, index = np.random.default_rng(8), clip_index(runtime.model_weights())
    first, second, third = (_game(10 + n, 0) for n in range(3))
    kept = {game.pk: _clips(game, 4, rng) for game in (first, second)}
    assert not index.version()
    index_writer.sync_game_clips(first.pk)  # the index's first write reads every stored clip (an upgrade's)
    assert set(index.load().ids().tolist()) == kept[first.pk] | kept[second.pk]
    index_writer.sync_game_clips(second.pk)
    assert set(index.load().ids().tolist()) == kept[first.pk] | kept[second.pk]

    Game.objects.filter(pk=first.pk).delete()
    assert index_writer.prune_clip_index() == 4
    assert set(index.load().ids().tolist()) == kept[second.pk] and index_writer.check_clip_index().ok
    version = index.version()
    assert index_writer.prune_clip_index() == 0 and index.version() == version  # nothing deleted: no snapshot

    with connection.cursor() as cursor:  # raw SQL leaves tombstones too
        cursor.execute("DELETE FROM highlights_clip WHERE game_id = %s", [second.pk])
    newest = _clips(third, 3, rng)
    index_writer.sync_game_clips(third.pk)
    assert set(index.load().ids().tolist()) == newest

    Game.objects.filter(pk=third.pk).delete()
    assert _tombstones(IndexTombstone.Kind.CLIPS) >= newest
    stored = _clips(_game(13, 0), 2, rng)  # not written yet: the rebuild reads it from PostgreSQL
    assert index_writer.rebuild_clip_index()[1] == 2
    assert not _tombstones(IndexTombstone.Kind.CLIPS) and set(index.load().ids().tolist()) == stored
