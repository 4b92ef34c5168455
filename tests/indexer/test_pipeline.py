"""End-to-end indexing of real footage in local mode: clips, predictions, FAISS, thumbnails, idempotency, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from highlights.models import Clip, ClipPrediction, Game, IndexJob
from indexer import runtime
from search.clips import clip_index
from search.index import VectorIndex

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tennis(index_game: Callable[..., dict[str, Any]], video_dir: Path) -> dict[str, Any]:
    return index_game(video_dir / "tennis_atp_hardcourt_5s.mp4", "--title", "ATP hard court")


@pytest.fixture(scope="module")
def three_games(
    tennis: dict[str, Any], index_game: Callable[..., dict[str, Any]], video_dir: Path
) -> dict[str, dict[str, Any]]:
    return {
        "tennis": tennis,
        "clay": index_game(video_dir / "tennis_atp_clay_6s.mp4"),
        "baseball": index_game(video_dir / "baseball_mlb_pitch_7s.mp4", "--sport", "baseball", "--home", "Red Sox"),
    }


def test_index_game_json_reports_real_labels_and_clips(tennis: dict[str, Any]) -> None:
    assert set(tennis) == {"game_id", "duration_s", "wall_s", "sport", "top_classes", "graphics", "events", "clips"}
    assert tennis["sport"] == "tennis"
    assert tennis["top_classes"][0][0] == "playing tennis"
    assert len(tennis["top_classes"]) == 5
    assert tennis["duration_s"] == pytest.approx(5.1, abs=0.1)
    assert tennis["clips"], "a 5 s rally yields at least one clip"
    for clip in tennis["clips"]:
        assert 0.0 <= clip["start_s"] < clip["end_s"] <= tennis["duration_s"] + 0.5
        assert 0.0 <= clip["highlight_score"] <= 1.0
    assert any(c["model_class"] == "playing tennis" for c in tennis["clips"])


def test_rows_stored_with_game_facts_predictions_and_thumbnails(tennis: dict[str, Any]) -> None:
    game = Game.objects.get(pk=tennis["game_id"])
    assert (game.status, game.sport, game.title) == (Game.Status.INDEXED, "tennis", "ATP hard court")
    assert (game.width, game.height, game.has_audio) == (1920, 1080, True)
    assert game.fps == pytest.approx(30.0)
    assert game.shots.count() >= 1
    job = IndexJob.objects.filter(game=game).earliest("created_at")
    assert (job.status, job.progress, job.error) == (IndexJob.Status.SUCCEEDED, 100, "")
    assert set(job.timings) >= {"probe", "analyse", "clips", "graphics", "index", "thumbnails"}
    assert job.model_versions["action"].startswith("i3d_rgb_kinetics400@af5c50f0")
    for clip in game.clips.all():
        assert ClipPrediction.objects.filter(clip=clip).count() == 5
        assert clip.embedding_vector().shape == (1024,)
        assert (Path(settings.MEDIA_ROOT) / clip.thumbnail.name).stat().st_size > 1000
    rally = game.clips.filter(model_class="playing tennis").first()
    assert rally is not None
    assert rally.action is not None
    assert rally.action.name == "rally"


def test_reindexing_the_same_file_is_idempotent(
    tennis: dict[str, Any], index_game: Callable[..., dict[str, Any]], video_dir: Path
) -> None:
    before = sorted(Clip.objects.filter(game_id=tennis["game_id"]).values_list("pk", flat=True))
    again = index_game(video_dir / "tennis_atp_hardcourt_5s.mp4")
    assert again["game_id"] == tennis["game_id"]
    assert sorted(c["id"] for c in again["clips"]) == before
    assert Game.objects.filter(sha256=Game.objects.get(pk=tennis["game_id"]).sha256).count() == 1
    assert IndexJob.objects.filter(game_id=tennis["game_id"]).count() >= 2


def test_faiss_ids_equal_clip_ids_after_reload(three_games: dict[str, dict[str, Any]]) -> None:
    index = clip_index(runtime.model_weights())
    reloaded = VectorIndex(index.path, index.dim, index.factory).load()
    assert sorted(reloaded.ids().tolist()) == sorted(Clip.objects.values_list("pk", flat=True))


def test_search_command_matches_words_and_ranks_by_highlight_score(three_games: dict[str, dict[str, Any]]) -> None:
    out = StringIO()
    call_command("search", "tennis", "--json", stdout=out)
    hits = json.loads(out.getvalue())["hits"]
    tennis_games = {three_games["tennis"]["game_id"], three_games["clay"]["game_id"]}
    assert hits
    assert {h["game_id"] for h in hits} == tennis_games
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert set(hits[0]) == {"clip_id", "game_id", "start_s", "end_s", "model_class", "score", "matched", "play_id"}
    assert (hits[0]["matched"], hits[0]["play_id"]) == ("", None)  # no event asked for: no match reason, no play

    out = StringIO()
    call_command("search", "red sox hitting", "--json", stdout=out)
    hits = json.loads(out.getvalue())["hits"]
    assert hits
    assert all(h["game_id"] == three_games["baseball"]["game_id"] for h in hits)


def test_similar_finds_the_other_tennis_match_first(three_games: dict[str, dict[str, Any]]) -> None:
    query = next(c for c in three_games["tennis"]["clips"] if c["model_class"] == "playing tennis")
    out = StringIO()
    call_command("similar", str(query["id"]), "--k", "3", "--json", stdout=out)
    hits = json.loads(out.getvalue())["hits"]
    assert hits
    assert query["id"] not in {h["clip_id"] for h in hits}
    assert hits[0]["game_id"] in {three_games["clay"]["game_id"], three_games["tennis"]["game_id"]}
    baseball = [h for h in hits if h["game_id"] == three_games["baseball"]["game_id"]]
    assert all(h["score"] < hits[0]["score"] for h in baseball)


def _make_bad_inputs(folder: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    files = {
        "zero-length": b"",
        "truncated": data[: len(data) // 3],
        "not-a-video": b"this is a text file, not a video\n" * 100,
        "random-bytes": os.urandom(200_000),
    }
    paths = {}
    for name, content in files.items():
        paths[name] = folder / f"{name}.mp4"
        paths[name].write_bytes(content)
    return paths


@pytest.mark.parametrize("kind", ["zero-length", "truncated", "not-a-video", "random-bytes"])
def test_bad_input_fails_its_own_job_readably_and_leaves_the_rest_intact(
    kind: str, tennis: dict[str, Any], index_game: Callable[..., dict[str, Any]], video_dir: Path, tmp_path: Path
) -> None:
    clips_before = sorted(Clip.objects.values_list("pk", flat=True))
    index_file = clip_index(runtime.model_weights()).path
    index_bytes = index_file.read_bytes()
    bad = _make_bad_inputs(tmp_path, video_dir / "baseball_mlb_pitch_7s.mp4")[kind]

    with pytest.raises(CommandError) as excinfo:
        index_game(bad)

    assert excinfo.value.returncode == 2
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(bad) in message
    job = IndexJob.objects.filter(source_path=str(bad)).latest("created_at")
    assert job.status == IndexJob.Status.FAILED
    assert job.error
    assert "\n" not in job.error
    assert sorted(Clip.objects.values_list("pk", flat=True)) == clips_before
    assert index_file.read_bytes() == index_bytes


def test_manage_py_exit_status_2_and_one_stderr_line_for_an_empty_file(tmp_path: Path, weights_dir: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    env = {**os.environ, "HL_EMBEDDED_DB_NAME": "highlights_cli_test", "HL_VAR_DIR": str(tmp_path / "var")}
    env["HL_WEIGHTS_DIR"] = str(weights_dir)
    env.pop("DATABASE_URL", None)
    base = [sys.executable, "manage.py"]
    subprocess.run([*base, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    try:
        proc = subprocess.run(
            [*base, "index_game", str(empty), "--json"], cwd=ROOT, env=env, capture_output=True, text=True
        )
    finally:
        subprocess.run([*base, "embedded_postgres", "stop"], cwd=ROOT, env=env, capture_output=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "empty" in lines[0]


def test_an_animated_gif_indexes_through_pyav(
    index_game: Callable[..., dict[str, Any]], animated_gif: Path, video_dir: Path
) -> None:
    mp4 = index_game(video_dir / "basketball_nba_broadcast_5s.mp4")
    gif = index_game(animated_gif)
    game = Game.objects.get(pk=gif["game_id"])
    assert game.status == Game.Status.INDEXED
    assert gif["top_classes"][0][0] == mp4["top_classes"][0][0] == "playing basketball"
    assert gif["clips"]
    assert gif["duration_s"] == pytest.approx(mp4["duration_s"], abs=0.2)
    for clip in game.clips.all():
        assert (Path(settings.MEDIA_ROOT) / clip.thumbnail.name).stat().st_size > 1000
        assert clip.face_scans.exists()  # the faces step decoded the GIF too


def test_an_interlaced_ts_is_deinterlaced_and_labels_at_least_as_well_as_before(
    index_game: Callable[..., dict[str, Any]], interlaced_ts: Path
) -> None:
    from indexer import runtime
    from indexer.stages.analysis import AnalysisParams, analyse_video
    from indexer.stages.probe import probe_video

    indexed = index_game(interlaced_ts)
    label, probability = indexed["top_classes"][0]
    assert label == "playing basketball"  # the progressive original's label
    assert Game.objects.get(pk=indexed["game_id"]).status == Game.Status.INDEXED
    probe = probe_video(interlaced_ts)
    assert probe.interlaced
    params = AnalysisParams(
        sample_fps=settings.HL_SAMPLE_FPS,
        window_frames=settings.HL_WINDOW_FRAMES,
        overlap=settings.HL_WINDOW_OVERLAP,
        short_side=runtime.decode_short_side(),
        batch_windows=settings.HL_BATCH_WINDOWS,
    )
    recognizer = runtime.action_recognizer()
    woven = analyse_video(interlaced_ts, replace(probe, interlaced=False), recognizer, params)  # the frames as stored
    probabilities = dict(woven.video_classes(recognizer.categories, k=len(recognizer.categories)))
    assert probability > probabilities[label]  # combing costs the model confidence; deinterlacing wins it back
