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
from django.test import override_settings

from highlights.models import FaceTrack, Game
from indexer import index_writer
from search.faces import face_track_index
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
