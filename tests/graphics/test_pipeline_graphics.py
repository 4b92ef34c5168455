"""Issue #12 end to end: the shared broadcast clips indexed with the real OCR, and a constructed score change.

Each clip is indexed once per module through ``manage.py index_game --json`` in local mode (real
PostgreSQL, I3D, PP-OCRv4), then its readings, links, sport and search results are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg
import numpy as np
import pytest
from django.test import Client

from highlights.models import Appearance, Clip, Event, Game, GameState, IndexJob, Person

pytestmark = pytest.mark.slow

SCORE_CHANGE_S = 8.0  # the constructed bug's first row goes from 0 to 1 here


@pytest.fixture(scope="module")
def indexed(manage: Callable[..., Any], video_dir: Path) -> Callable[[str], dict[str, Any]]:
    """Index a shared clip (once per module) and return ``index_game --json``'s output."""
    done: dict[str, dict[str, Any]] = {}

    def run(name: str) -> dict[str, Any]:
        if name not in done:
            done[name] = manage("index_game", str(video_dir / name))
        return done[name]

    return run


def _hits(manage: Callable[..., Any], text: str) -> set[int]:
    return {h["clip_id"] for h in manage("search", text)["hits"]}


def _clips(result: dict[str, Any]) -> set[int]:
    return {c["id"] for c in result["clips"]}


def test_tennis_players_are_linked_to_the_clip_and_searchable(
    indexed: Callable[[str], dict[str, Any]], manage: Callable[..., Any]
) -> None:
    novak = Person.objects.create(name="Novak Djokovic")  # known before indexing: "DJOKOVIC" on the bug is him
    tennis = indexed("tennis_atp_hardcourt_5s.mp4")
    assert tennis["sport"] == "tennis"
    players = " ".join(tennis["graphics"]["players"]).lower()
    assert "novak djokovic" in players and "wawrinka" in players
    assert Appearance.objects.filter(game_id=tennis["game_id"], person=novak).exists()
    assert tennis["graphics"]["states"] >= 1
    for name in ("Djokovic", "Wawrinka"):
        linked = set(
            Appearance.objects.filter(
                game_id=tennis["game_id"], person__name__icontains=name, source="graphics"
            ).values_list("clip_id", flat=True)
        )
        assert linked == _clips(tennis), f"{name} is on screen for the whole clip"
        assert _hits(manage, name) == _clips(tennis)
    assert _hits(manage, "player:djokovic") == _clips(tennis)


def test_baseball_teams_batter_count_and_home_away(
    indexed: Callable[[str], dict[str, Any]], manage: Callable[..., Any]
) -> None:
    baseball = indexed("baseball_mlb_pitch_7s.mp4")
    assert baseball["sport"] == "baseball"
    assert {"LAD", "MIL"} <= set(baseball["graphics"]["teams"])
    assert any("aguilar" in p.lower() for p in baseball["graphics"]["players"])
    states = GameState.objects.filter(game_id=baseball["game_id"])
    assert any((s.fields.get("balls"), s.fields.get("strikes")) == (1, 2) for s in states)
    assert any("aguilar" in str(s.fields.get("batter", "")).lower() for s in states)
    game = Game.objects.get(pk=baseball["game_id"])
    assert {game.home_team, game.away_team} == {"Los Angeles Dodgers", "Milwaukee Brewers"}
    assert _hits(manage, "LAD") == _clips(baseball)
    aguilar = set(
        Appearance.objects.filter(game_id=baseball["game_id"], person__name__icontains="aguilar").values_list(
            "clip_id", flat=True
        )
    )
    assert aguilar and aguilar <= _clips(baseball)
    assert _hits(manage, "Aguilar") == aguilar
    assert _hits(manage, "Dodgers") == _clips(baseball)


def test_nba_clock_falls_about_one_second_per_second_and_score_is_2_2(
    indexed: Callable[[str], dict[str, Any]],
) -> None:
    nba = indexed("basketball_nba_broadcast_5s.mp4")
    assert nba["sport"] == "basketball"
    states = list(GameState.objects.filter(game_id=nba["game_id"]).exclude(clock_s=None))
    assert len(states) >= 2, "the clock ticks on screen"
    times = np.array([s.time_ms / 1000 for s in states])
    clock = np.array([s.clock_s for s in states])
    slope = np.polyfit(times, clock, 1)[0]
    assert -1.3 < slope < -0.7
    assert any((s.score_a, s.score_b) == (2, 2) for s in states)


def test_soccer_teams_score_and_sport(indexed: Callable[[str], dict[str, Any]], manage: Callable[..., Any]) -> None:
    soccer = indexed("soccer_laliga_wide_21s.mp4")
    assert soccer["sport"] == "soccer"
    game = Game.objects.get(pk=soccer["game_id"])
    teams = {t.lower() for t in [*soccer["graphics"]["teams"], game.home_team, game.away_team]}
    assert {"real madrid", "sevilla fc"} <= teams  # as read, or through the team table from the bug's codes
    assert GameState.objects.filter(game_id=soccer["game_id"], score_a=0, score_b=0).exists()
    assert _hits(manage, "Real Madrid") == _clips(soccer)


def test_practice_video_has_no_states_no_error_and_is_basketball(indexed: Callable[[str], dict[str, Any]]) -> None:
    practice = indexed("basketball_practice_shots_51s.mp4")
    assert practice["sport"] == "basketball"
    assert practice["graphics"] == {"teams": [], "players": [], "states": 0}
    assert practice["events"] == []
    job = IndexJob.objects.filter(game_id=practice["game_id"]).latest("created_at")
    assert (job.status, job.error) == (IndexJob.Status.SUCCEEDED, "")
    assert "graphics" in job.timings


SPORTS = {
    "baseball_mlb_pitch_7s.mp4": "baseball",
    "basketball_nba_broadcast_5s.mp4": "basketball",
    "basketball_practice_shots_51s.mp4": "basketball",
    "press_conference_face_12s.mp4": "other",
    "soccer_laliga_wide_21s.mp4": "soccer",
    "tennis_atp_clay_6s.mp4": "tennis",
    "tennis_atp_hardcourt_5s.mp4": "tennis",
    "walking_plaza_5s.mp4": "other",
}


def test_every_shared_clip_gets_its_sport(indexed: Callable[[str], dict[str, Any]], video_dir: Path) -> None:
    assert set(SPORTS) == {p.name for p in video_dir.glob("*.mp4")}
    assert {name: indexed(name)["sport"] for name in SPORTS} == SPORTS


@pytest.fixture(scope="module")
def score_change(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 s of the practice footage with a drawn score bug "LAD 0 / MIL 0" whose LAD score turns 1 at 8 s."""
    out = tmp_path_factory.mktemp("constructed") / "score_change.mp4"
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    text = {"fontfile": font, "fontsize": 26, "fontcolor": "white"}
    video = (
        ffmpeg.input(str(video_dir / "basketball_practice_shots_51s.mp4"), t=16)
        .video.drawbox(16, 16, 150, 76, color="black@0.85", t="fill")
        .drawtext(text="LAD", x=26, y=22, **text)
        .drawtext(text="MIL", x=26, y=56, **text)
        .drawtext(text="0", x=130, y=22, enable=f"lt(t,{SCORE_CHANGE_S})", **text)
        .drawtext(text="1", x=130, y=22, enable=f"gte(t,{SCORE_CHANGE_S})", **text)
        .drawtext(text="0", x=130, y=56, **text)
    )
    ffmpeg.output(video, str(out), vcodec="libx264", preset="veryfast", crf=18, pix_fmt="yuv420p").run(
        quiet=True, overwrite_output=True
    )
    return out


def test_constructed_score_change_is_an_event_linked_to_a_clip_and_searchable(
    score_change: Path, manage: Callable[..., Any]
) -> None:
    result = manage("index_game", str(score_change))
    assert [e["side"] for e in result["events"]] == ["LAD"]
    event = result["events"][0]
    assert abs(event["t_s"] - SCORE_CHANGE_S) <= 1.0
    assert event["score"] == [1, 0]
    assert event["type"] == "run"  # both codes are MLB teams: the graphics make it baseball
    row = Event.objects.get(game_id=result["game_id"])
    assert row.clip_id in _clips(result)
    assert row.team is not None and row.team.code == "LAD"
    clip = Clip.objects.get(pk=row.clip_id)
    assert clip.start_ms <= row.time_ms
    assert _hits(manage, "scoring plays") >= {row.clip_id}
    assert row.clip_id in _hits(manage, "LAD runs")
    assert _hits(manage, "LAD runs") <= _clips(result)

    page = Client().get(f"/games/{result['game_id']}/").content.decode()
    assert 'class="event"' in page and "LAD 1–0 MIL" in page


def test_reindexing_never_duplicates_graphics_rows(
    indexed: Callable[[str], dict[str, Any]], manage: Callable[..., Any], video_dir: Path
) -> None:
    baseball = indexed("baseball_mlb_pitch_7s.mp4")
    game_id = baseball["game_id"]
    before = (
        GameState.objects.filter(game_id=game_id).count(),
        Appearance.objects.filter(game_id=game_id).count(),
        Event.objects.filter(game_id=game_id).count(),
    )
    again = manage("index_game", str(video_dir / "baseball_mlb_pitch_7s.mp4"))
    assert again["game_id"] == game_id
    assert again["graphics"] == baseball["graphics"]
    after = (
        GameState.objects.filter(game_id=game_id).count(),
        Appearance.objects.filter(game_id=game_id).count(),
        Event.objects.filter(game_id=game_id).count(),
    )
    assert after == before
