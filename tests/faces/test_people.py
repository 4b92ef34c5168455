"""Editors' corrections keep their promises across re-clustering: name, merge, split, not this person, same frame.

Face tracks here carry real dlib descriptors of the shared photos (person_01, person_03), placed on
clips of a game made in the database, so each promise is checked on real embeddings without decoding video.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import CommandError

from highlights import people
from highlights.models import Assignment, FaceTrack, Game, Person
from indexer import runtime
from ml.faces import load_image
from search.faces import face_track_index
from tests.faces.rows import clip_row, track_row


@pytest.fixture(scope="module")
def descriptors(face_photos: dict[str, list[Path]], faces_env: Path) -> dict[str, list[np.ndarray]]:
    face_recognizer = runtime.face_recognizer()
    return {
        identity: [face_recognizer.detect_and_describe(load_image(p))[0].descriptor for p in face_photos[identity]]
        for identity in ("person_01", "person_03")
    }


@pytest.fixture(scope="module")
def tracks(descriptors: dict[str, list[np.ndarray]]) -> dict[str, list[int]]:
    """7 tracks of person_01 and 7 of person_03, one second apart (never in the same frames), indexed."""
    game = Game.objects.create(sha256="f" * 64, source_path="/nowhere/press.mp4", title="Media day")
    clip = clip_row(game, 0, 30_000)
    made = {
        "person_01": [track_row(game, clip, 1000 * i, v).pk for i, v in enumerate(descriptors["person_01"][:7])],
        "person_03": [track_row(game, clip, 15_000 + 1000 * i, v).pk for i, v in enumerate(descriptors["person_03"])],
    }
    people.index_game_tracks(game.pk)  # indexes, identifies (no one named yet) and clusters
    return made


def _people_of(track_ids: list[int]) -> set[int | None]:
    return set(FaceTrack.objects.filter(pk__in=track_ids).values_list("person_id", flat=True))


def test_clustering_finds_two_unnamed_people(tracks: dict[str, list[int]]) -> None:
    first, second = _people_of(tracks["person_01"]), _people_of(tracks["person_03"])
    assert len(first) == 1 and len(second) == 1
    assert first != second and None not in first | second
    assert not Person.objects.get(pk=next(iter(first))).name
    assert set(FaceTrack.objects.filter(pk__in=tracks["person_01"]).values_list("source", flat=True)) == {"cluster"}
    index = face_track_index()
    assert sorted(index.load().ids().tolist()) == sorted(FaceTrack.objects.values_list("pk", flat=True))


def test_naming_a_person_makes_new_faces_follow(
    tracks: dict[str, list[int]], descriptors: dict[str, list[np.ndarray]], command: Callable[..., dict[str, Any]]
) -> None:
    person = next(iter(_people_of(tracks["person_01"])))
    result = command("people", "--json", "name", str(person), "Alice", "--team", "Press")
    assert result == {"person": person, "name": "Alice", "tracks": 7}
    assert set(FaceTrack.objects.filter(pk__in=tracks["person_01"]).values_list("source", flat=True)) == {"editor"}
    game = Game.objects.get(title="Media day")
    newcomer = track_row(game, game.clips.get(), 9000, descriptors["person_01"][7])  # her 8th photo, never seen
    people.index_game_tracks(game.pk)
    newcomer.refresh_from_db()
    assert newcomer.person_id == person
    assert newcomer.source == Assignment.AUTO
    assert newcomer.distance is not None and newcomer.distance < 0.6
    tracks["person_01"].append(newcomer.pk)


def test_not_this_person_sticks_through_reclustering_and_identification(
    tracks: dict[str, list[int]], command: Callable[..., dict[str, Any]]
) -> None:
    alice = Person.objects.get(name="Alice")
    wrong = tracks["person_01"][2]
    assert command("people", "--json", "reject", str(wrong)) == {"rejected": 1}
    for _ in range(2):
        command("people", "--json", "cluster")
        people.identify_tracks()
        track = FaceTrack.objects.get(pk=wrong)
        assert track.person_id != alice.pk
        assert list(track.rejected_people.values_list("pk", flat=True)) == [alice.pk]
    assert FaceTrack.objects.filter(pk__in=tracks["person_01"], person=alice).count() == 7


def test_split_tracks_never_return_and_merge_brings_them_back(
    tracks: dict[str, list[int]], command: Callable[..., dict[str, Any]]
) -> None:
    original = next(iter(_people_of(tracks["person_03"])))
    moved = tracks["person_03"][:2]
    split = command("people", "--json", "split", *map(str, moved), "--name", "Bob")
    assert split["tracks"] == 2
    for _ in range(2):
        command("people", "--json", "cluster")
        assert _people_of(moved) == {split["person"]}
        assert _people_of(tracks["person_03"][2:]) == {original}

    merged = command("people", "--json", "merge", str(original), str(split["person"]))
    assert merged == {"person": original, "name": "Bob", "tracks": 7}
    command("people", "--json", "cluster")
    assert _people_of(tracks["person_03"]) == {original}
    assert not Person.objects.filter(pk=split["person"]).exists()
    assert not FaceTrack.objects.get(pk=moved[0]).rejected_people.exists()


def test_one_person_is_never_tagged_twice_in_the_same_frame(
    tracks: dict[str, list[int]], descriptors: dict[str, list[np.ndarray]], command: Callable[..., dict[str, Any]]
) -> None:
    alice = Person.objects.get(name="Alice")
    game = Game.objects.get(title="Media day")
    # a look-alike seen at the same moment as one of Alice's tracks (a replay inset, a poster)
    twin = track_row(game, game.clips.get(), 1000 * 3 + 100, descriptors["person_01"][3] + np.float32(0.01))
    people.index_game_tracks(game.pk)
    twin.refresh_from_db()
    assert twin.person_id != alice.pk
    with pytest.raises(CommandError, match="appear together"):
        command("people", "--json", "merge", str(alice.pk), str(twin.person_id))
    assert command("people", "--json", "assign", str(alice.pk), str(twin.pk)) == {"assigned": 0}


def test_unknown_ids_fail_readably(command: Callable[..., dict[str, Any]], tracks: dict[str, list[int]]) -> None:
    with pytest.raises(CommandError, match="no face track 999999") as excinfo:
        command("people", "--json", "reject", "999999")
    assert excinfo.value.returncode == 2
    with pytest.raises(CommandError, match="no person 999999"):
        command("people", "--json", "merge", "999999", str(Person.objects.first().pk))
