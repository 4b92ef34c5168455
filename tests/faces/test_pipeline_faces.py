"""The ``faces`` step on real footage: tracks on the press conference, none on broadcast, enrol → index → search."""

from __future__ import annotations

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import ffmpeg
import pytest
from django.conf import settings
from django.core.management import call_command

from highlights.models import Assignment, Clip, FaceScan, FaceTrack, Game, IndexJob
from indexer.steps import STEP_NAMES
from search.faces import face_track_index


@pytest.fixture(scope="module")
def speaker_photo(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full-resolution still of the press-conference speaker, cut with ffmpeg (his enrolment photo)."""
    photo = tmp_path_factory.mktemp("photos") / "speaker.jpg"
    (
        ffmpeg.input(str(video_dir / "press_conference_face_12s.mp4"), ss=9.0)
        .output(str(photo), vframes=1, format="image2", vcodec="mjpeg")
        .run(capture_stdout=True, capture_stderr=True)
    )
    return photo


@pytest.fixture(scope="module")
def press(command: Callable[..., dict[str, Any]], speaker_photo: Path, video_dir: Path) -> dict[str, Any]:
    """Enrol the speaker, then index the press conference."""
    enrolled = command("enroll_person", "--name", "Press Speaker", "--number", "7", "--json", str(speaker_photo))
    indexed = command("index_game", str(video_dir / "press_conference_face_12s.mp4"), "--json")
    return {"person_id": enrolled["person_id"], **indexed}


@pytest.fixture(scope="module")
def broadcast(command: Callable[..., dict[str, Any]], video_dir: Path) -> dict[str, Any]:
    return command("index_game", str(video_dir / "basketball_nba_broadcast_5s.mp4"), "--json")


def test_faces_step_runs_between_index_and_thumbnails(press: dict[str, Any]) -> None:
    assert STEP_NAMES[STEP_NAMES.index("index") + 1] == "faces"
    assert STEP_NAMES[-1] == "thumbnails"
    job = IndexJob.objects.filter(game_id=press["game_id"]).earliest("created_at")
    assert job.status == IndexJob.Status.SUCCEEDED
    assert "faces" in job.timings


def test_press_conference_yields_face_tracks_of_the_speaker(press: dict[str, Any]) -> None:
    game = Game.objects.get(pk=press["game_id"])
    tracks = list(FaceTrack.objects.filter(game=game))
    assert tracks, "the speaker's face is in close-up for 11 s"
    assert Clip.objects.filter(game=game).count() == FaceScan.objects.filter(clip__game=game).count()
    for track in tracks:
        assert track.clip.start_ms <= track.start_ms <= track.end_ms <= track.clip.end_ms
        assert track.embedding_vector().shape == (128,)
        assert track.faces.count() >= 2
        assert (Path(settings.MEDIA_ROOT) / track.thumbnail.name).stat().st_size > 1000
        for face in track.faces.all():  # boxes in the video's own pixels (720 x 960 portrait)
            assert face.x >= 0 and face.x + face.w <= 720 + 2
            assert face.y >= 0 and face.y + face.h <= 960 + 2
            assert face.w > 100
            assert 0.0 < face.quality <= 1.0
    assert sum(t.end_ms - t.start_ms for t in tracks) > 0.5 * sum(c.end_ms - c.start_ms for c in game.clips.all())


def test_enrolled_player_is_identified_on_the_tracks(press: dict[str, Any]) -> None:
    tracks = FaceTrack.objects.filter(game_id=press["game_id"])
    assert {t.person_id for t in tracks} == {press["person_id"]}
    assert {t.source for t in tracks} == {Assignment.AUTO}
    assert all(t.distance is not None and t.distance < 0.6 for t in tracks)
    index = face_track_index()
    assert sorted(index.load().ids().tolist()) == sorted(FaceTrack.objects.values_list("pk", flat=True))


def _search(text: str) -> list[dict[str, Any]]:
    out = StringIO()
    call_command("search", text, "--json", stdout=out)
    return json.loads(out.getvalue())["hits"]


def test_search_by_player_name_returns_the_clips_with_his_face(
    press: dict[str, Any], broadcast: dict[str, Any]
) -> None:
    with_face = set(FaceTrack.objects.filter(game_id=press["game_id"]).values_list("clip_id", flat=True))
    assert with_face
    assert {h["clip_id"] for h in _search('player:"Press Speaker"')} == with_face
    assert {h["clip_id"] for h in _search("speaker")} == with_face
    assert {h["clip_id"] for h in _search("#7")} == with_face
    assert _search("player:nobody") == []


def test_broadcast_footage_is_scanned_and_has_no_faces(broadcast: dict[str, Any]) -> None:
    scans = FaceScan.objects.filter(clip__game_id=broadcast["game_id"])
    assert scans.count() == len(broadcast["clips"]) > 0
    assert all(s.frames >= 1 for s in scans)
    assert not FaceTrack.objects.filter(game_id=broadcast["game_id"]).exists()


def test_reindexing_never_duplicates_tracks(
    press: dict[str, Any], command: Callable[..., dict[str, Any]], video_dir: Path
) -> None:
    before = sorted(FaceTrack.objects.filter(game_id=press["game_id"]).values_list("pk", flat=True))
    again = command("index_game", str(video_dir / "press_conference_face_12s.mp4"), "--json")
    assert again["game_id"] == press["game_id"]
    assert sorted(FaceTrack.objects.filter(game_id=press["game_id"]).values_list("pk", flat=True)) == before
    assert FaceScan.objects.filter(clip__game_id=press["game_id"]).count() == len(again["clips"])
