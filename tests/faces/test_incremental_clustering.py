"""Clustering a new game's unknown face tracks is incremental: same people as a full re-cluster, cost bounded.

Face tracks carry real dlib descriptors of the shared photos (``../shared/data/faces``), and copies
of them with a little noise (the same face seen again), placed on clips of games made in the database.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from highlights import people
from highlights.models import FaceTrack, Game, Person
from indexer import runtime
from ml.faces import load_image
from tests.descriptors import near
from tests.faces.rows import clip_row, track_row

IDENTITIES = ("person_01", "person_03", "person_05")


@pytest.fixture(scope="module")
def descriptors(face_photos: dict[str, list[Path]], faces_env: Path) -> dict[str, list[np.ndarray]]:
    detect = runtime.face_recognizer().detect_and_describe
    return {i: [detect(load_image(p))[0].descriptor for p in face_photos[i]] for i in IDENTITIES}


def _tracks(name: str, faces: list[tuple[str, np.ndarray]]) -> tuple[Game, dict[int, str]]:
    """A game whose tracks show ``faces`` one second apart (never in the same frames), and track id → identity."""
    game = Game.objects.create(sha256=f"{abs(hash(name)):064d}"[:64], source_path=f"/nowhere/{name}.mp4", title=name)
    clip = clip_row(game, 0, 600_000)
    return game, {track_row(game, clip, 1000 * i, vector).pk: identity for i, (identity, vector) in enumerate(faces)}


def _partition(track_ids: list[int]) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for pk, person in FaceTrack.objects.filter(pk__in=track_ids).values_list("pk", "person_id"):
        assert person is not None
        groups.setdefault(person, set()).add(pk)
    return {frozenset(g) for g in groups.values()}


@pytest.fixture
def clean(faces_env: Path) -> None:
    Game.objects.all().delete()
    Person.objects.all().delete()


def test_a_new_game_joins_the_people_of_earlier_games_as_a_full_recluster_would(
    descriptors: dict[str, list[np.ndarray]], clean: None
) -> None:
    game, first = _tracks("Game one", [(i, descriptors[i][k]) for i in IDENTITIES[:2] for k in range(3)])
    people.index_game_tracks(game.pk)
    twin_game, second = _tracks("Game two", [(i, v) for i in IDENTITIES for v in descriptors[i][3:6]])
    # a look-alike in the same frames as one of person_01's tracks of game two: never the same person
    twin = track_row(twin_game, twin_game.clips.get(), 100, descriptors["person_01"][3] + np.float32(0.01))
    result = people.index_game_tracks(twin_game.pk)
    assert result.tracks_moved == len(second) + 1
    every = [*first, *second, twin.pk]
    incremental = _partition(every)
    for identity in IDENTITIES:  # one person per identity across both games
        members = {pk for pk, who in {**first, **second}.items() if who == identity}
        assert any(members <= group for group in incremental)
    twin_track = FaceTrack.objects.get(pk=twin.pk)
    rival = FaceTrack.objects.get(game=twin_game, start_ms=0)
    assert twin_track.person_id != rival.person_id
    assert people.cluster_people().tracks_considered == len(every)  # the full re-cluster: every track
    assert _partition(every) == incremental


def test_the_cost_of_clustering_a_game_does_not_grow_with_the_archive(
    descriptors: dict[str, list[np.ndarray]], clean: None
) -> None:
    real = [(i, v) for i in IDENTITIES for v in descriptors[i][:4]]
    considered = []
    archive = 0
    for size in (4, 12):
        while archive < size:
            faces = [(i, near(v, seed=archive * 100 + k)) for k, (i, v) in enumerate(real)]
            people.index_game_tracks(_tracks(f"Old {archive}", faces)[0].pk)
            archive += 1
        game, new = _tracks(f"New {size}", [(i, near(v, seed=9000 + size)) for i, v in real[::4]])
        result = people.index_game_tracks(game.pk)
        assert result.tracks_moved == len(new)
        considered.append(result.tracks_considered)
    tracks = FaceTrack.objects.count()
    assert tracks == 12 * len(real) + 2 * 3
    # the new game's 3 tracks and at most 16 placed neighbours each, with an archive of 48 or 144 tracks
    assert considered[0] == considered[1] <= 3 + 3 * people._NEIGHBOURS, considered
    assert people.cluster_people().tracks_considered == tracks  # a full re-cluster touches them all
