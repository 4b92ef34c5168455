"""Parse tests for indexer.stages.playbyplay on the real samples in ../shared/data/plays (see its MANIFEST).

SoccerNet has no real sample at hand (no public repository commits a ``Labels-v2.json``): its test is written
from the documented format, and says so. The CSV is the project's own documented format.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.stages.playbyplay import (
    EVENT_TYPES,
    FORMATS,
    PlayByPlay,
    PlayByPlayError,
    bug_sides,
    detect_format,
    parse_play_by_play,
    read_play_by_play,
)

SAMPLES = {
    "mlb": "mlb_gumbo_744914_excerpt.json",
    "nba": "nba_cdn_playbyplay_0022000001_excerpt.json",
    "nba-stats": "nba_stats_playbyplayv2_0021600270.json",
    "statsbomb": "statsbomb_events_3788741_excerpt.json",
}


@pytest.fixture(scope="module")
def plays_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "plays"


@pytest.mark.parametrize(("fmt", "name"), SAMPLES.items())
def test_auto_detection_and_taxonomy_on_every_real_sample(plays_dir: Path, fmt: str, name: str) -> None:
    data = (plays_dir / name).read_bytes()
    assert detect_format(data) == fmt
    parsed = read_play_by_play(plays_dir / name)
    assert parsed.format == fmt
    assert parsed.events
    assert {e.type for e in parsed.events} <= EVENT_TYPES.keys()
    assert all(e.source == "play_by_play" and e.time_ms is None for e in parsed.events)
    json.dumps([e.raw for e in parsed.events])  # the raw records can be stored as JSON


def test_mlb_feed_counts_and_the_one_home_run(plays_dir: Path) -> None:
    feed = read_play_by_play(plays_dir / SAMPLES["mlb"], "mlb")

    assert (feed.home, feed.away, feed.clock_counts_down) == ("TOR", "HOU", None)
    assert len(feed.events) == 36
    # the MANIFEST's counts by result.event, kept in the raw record
    assert Counter(e.raw["result"]["event"] for e in feed.events) == {
        "Strikeout": 8, "Groundout": 8, "Pop Out": 6, "Flyout": 5, "Lineout": 3, "Walk": 3, "Single": 2, "Home Run": 1,
    }  # fmt: skip
    assert Counter(e.type for e in feed.events) == {
        "field_out": 22, "strikeout": 8, "walk": 3, "single": 2, "home_run": 1,
    }  # fmt: skip
    assert sum(len(e.pitches) for e in feed.events) == 137
    [homer] = [e for e in feed.events if e.type == "home_run"]
    assert (homer.player, homer.period, homer.half, homer.team, homer.side) == ("Jeremy Peña", 5, "top", "HOU", "away")
    assert (homer.points, homer.score) == (1, (0, 1))  # (home, away): TOR 0, HOU 1
    assert homer.raw["about"]["atBatIndex"] == 29
    assert [(p.balls, p.strikes, p.outs, p.description) for p in homer.pitches] == [(0, 0, 2, "In play, run(s)")]
    assert homer.wall_time == datetime(2024, 7, 1, 20, 31, 16, 293000, tzinfo=UTC)
    assert homer.pitches[0].play_id == "8d9fb40f-1623-449c-bc5f-016dc6625e3c"
    assert sum(e.points for e in feed.events) == 1  # the only run of innings 1-5


def test_mlb_pitches_carry_the_count_before_each_pitch(plays_dir: Path) -> None:
    first = read_play_by_play(plays_dir / SAMPLES["mlb"]).events[0]
    assert first.player == "Alex Bregman"
    # the feed gives the count after each pitch (1-0, 1-1, 1-1 in play); the bug shows the count before it
    assert [(p.balls, p.strikes) for p in first.pitches] == [(0, 0), (1, 0), (1, 1)]
    assert first.pitches[0].wall_time == datetime(2024, 7, 1, 19, 28, 4, 55000, tzinfo=UTC)


def test_nba_cdn_shots_scores_and_clock(plays_dir: Path) -> None:
    feed = read_play_by_play(plays_dir / SAMPLES["nba"])
    counts = Counter(e.type for e in feed.events)

    # MANIFEST: 55 made (13 three-pointers, 27 twos, 15 free throws), 64 missed shots
    assert (counts["three_pointer"], counts["two_pointer"] + counts["dunk"], counts["free_throw"]) == (13, 27, 15)
    assert counts["missed_shot"] + counts["missed_free_throw"] == 64
    assert (feed.home, feed.away, feed.clock_counts_down) == ("BKN", "GSW", True)
    curry = next(e for e in feed.events if e.type == "free_throw")
    assert (curry.player, curry.team, curry.side, curry.period, curry.clock_s) == ("S. Curry", "GSW", "away", 1, 698.0)
    assert (curry.points, curry.score) == (1, (0, 1))
    assert curry.wall_time == datetime(2020, 12, 23, 0, 7, 26, tzinfo=UTC)
    last = feed.events[-1]
    assert (last.type, last.period, last.clock_s, last.score) == ("period_end", 2, 0.0, (63, 45))
    made = [e for e in feed.events if e.points]
    assert sum(e.points for e in made if e.side == "home") == 63
    assert sum(e.points for e in made if e.side == "away") == 45
    assert feed.skipped == {"substitution": 52, "stoppage": 4}


def test_nba_stats_rows_whole_game_with_overtime(plays_dir: Path) -> None:
    feed = read_play_by_play(plays_dir / SAMPLES["nba-stats"])

    assert (feed.home, feed.away) == ("OKC", "WAS")
    assert sum(feed.skipped.values()) + len(feed.events) == 540
    assert max(e.period for e in feed.events if e.period) == 5
    first_basket = next(e for e in feed.events if e.points)
    assert (first_basket.type, first_basket.player, first_basket.team, first_basket.side) == (
        "two_pointer", "Markieff Morris", "WAS", "away",
    )  # fmt: skip
    assert (first_basket.clock_s, first_basket.score) == (699.0, (0, 2))
    assert feed.events[-1].score == (126, 115)
    home = sum(e.points for e in feed.events if e.side == "home")
    away = sum(e.points for e in feed.events if e.side == "away")
    assert (home, away) == (126, 115)  # the points per event add up to the final score


def test_statsbomb_goal_by_insigne_at_78_30(plays_dir: Path) -> None:
    feed = read_play_by_play(plays_dir / SAMPLES["statsbomb"])
    counts = Counter(e.type for e in feed.events)

    [goal] = [e for e in feed.events if e.type == "goal"]
    assert (goal.player, goal.team, goal.period, goal.points) == ("Lorenzo Insigne", "Italy", 2, 1)
    assert goal.clock_s == 78 * 60 + 30
    assert goal.period_time_s == pytest.approx(33 * 60 + 30.395)
    assert goal.raw["index"] == 3348
    assert goal.score is None  # StatsBomb events carry no running score
    assert counts["shot"] == 2  # Burak Yılmaz blocked, Merih Demiral off target
    assert counts["foul"] + counts["yellow_card"] + counts["red_card"] == 7  # 7 Foul Committed
    assert (counts["substitution"], counts["period_end"]) == (3, 2)
    assert feed.skipped["Pass"] == 130
    assert sum(feed.skipped.values()) + len(feed.events) == 467


def test_soccernet_labels_from_the_documented_format() -> None:
    # Constructed from the documented Labels-v2.json format (no real file is at hand).
    doc = {
        "UrlLocal": "england_epl/2016-2017/2016-08-14 - 18-00 Arsenal 3 - 4 Liverpool/",
        "gameAwayTeam": "Liverpool",
        "gameHomeTeam": "Arsenal",
        "gameScore": "3 - 4",
        "annotations": [
            {"gameTime": "1 - 05:23", "label": "Kick-off", "position": "323000", "team": "home",
             "visibility": "visible"},
            {"gameTime": "1 - 30:41", "label": "Goal", "position": "1841000", "team": "home", "visibility": "visible"},
            {"gameTime": "2 - 03:10", "label": "Yellow card", "position": "190000", "team": "away",
             "visibility": "not shown"},
            {"gameTime": "2 - 18:02", "label": "Shots on target", "position": "1082000", "team": "away",
             "visibility": "visible"},
        ],
    }  # fmt: skip
    feed = parse_play_by_play(json.dumps(doc))

    assert (feed.format, feed.home, feed.away, feed.clock_counts_down) == ("soccernet", "Arsenal", "Liverpool", False)
    assert [e.type for e in feed.events] == ["kick_off", "goal", "yellow_card", "shot_on_target"]
    goal = feed.events[1]
    assert (goal.period, goal.clock_s, goal.period_time_s) == (1, 1841.0, 1841.0)
    assert (goal.side, goal.team) == ("home", "Arsenal")
    card = feed.events[2]
    assert (card.period, card.clock_s, card.period_time_s, card.team) == (2, 2700.0 + 190.0, 190.0, "Liverpool")
    with pytest.raises(PlayByPlayError, match="gameTime"):
        parse_play_by_play(json.dumps({"annotations": [{"gameTime": "05:23", "label": "Goal"}]}), "soccernet")


def test_csv_documented_header() -> None:
    text = (
        "period,clock,event,player,team,side,home_score,away_score\n"
        "4,2:13,three pointer,Stephen Curry,GSW,away,101,99\n"
        "4,1:58.5,dunk,Nic Claxton,BKN,home,103,99\n"
        "4,0:40,foul,,BKN,home,,\n"
    )
    feed = parse_play_by_play(text)

    assert (feed.format, feed.clock_counts_down) == ("csv", True)
    assert [(e.type, e.points, e.clock_s, e.player, e.score) for e in feed.events] == [
        ("three_pointer", 3, 133.0, "Stephen Curry", (101, 99)),
        ("dunk", 2, 118.5, "Nic Claxton", (103, 99)),
        ("foul", 0, 40.0, None, None),
    ]


def test_csv_clock_direction_is_read_from_the_rows_or_left_unknown() -> None:
    up = parse_play_by_play("period,clock,event\n1,10:00,goal\n1,33:10,goal\n2,50:00,corner\n")
    single = parse_play_by_play("period,clock,event\n1,10:00,dunk\n2,3:00,dunk\n")
    mixed = parse_play_by_play("period,clock,event\n1,10:00,dunk\n1,11:00,dunk\n1,9:00,dunk\n")

    assert (up.clock_counts_down, single.clock_counts_down, mixed.clock_counts_down) == (False, None, None)


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("period,clock,event\n1,12:00,teleport\n", "auto", "line 2: unknown event 'teleport'"),
        ("period,clock,event\nx,12:00,goal\n", "csv", "line 2"),
        ("period,event\n1,goal\n", "csv", "lacks the columns clock"),
        ('{"hello": 1}', "auto", "no known play-by-play format"),
        ("not json, not csv", "auto", "not a play-by-play file"),
        ('{"liveData": {"plays": {"allPlays": [{}]}}}', "mlb", "not a valid mlb file"),
        ('{"game": {"actions": [{"actionType": "2pt", "clock": "11:22", "period": 1}]}}', "nba", "ISO-8601"),
        ("[1, 2]", "statsbomb", "not a valid statsbomb file"),
        ("{}", "xml", "unknown format 'xml'"),
        (
            '{"resultSets": [{"headers": ["PERIOD", "PCTIMESTRING", "EVENTMSGTYPE", "HOMEDESCRIPTION",'
            ' "VISITORDESCRIPTION"], "rowSet": [[1, "12:00"]]}]}',
            "auto",
            "not a valid nba-stats file",
        ),
        (b"period,clock,event\n1,\xff\xfe,goal\n", "csv", "not UTF-8"),
    ],
)
def test_malformed_input_raises_a_readable_value_error(text: str | bytes, fmt: str, message: str) -> None:
    with pytest.raises(PlayByPlayError, match=message) as caught:
        parse_play_by_play(text, fmt)
    assert isinstance(caught.value, ValueError)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PlayByPlayError, match=r"nothing\.json: cannot read"):
        read_play_by_play(tmp_path / "nothing.json")
    assert "csv" in FORMATS


@pytest.mark.parametrize(
    ("home", "away", "names", "expected"),
    [
        ("MIL", "LAD", ["LAD", "MIL"], {"home": 1, "away": 0}),
        ("Real Madrid", "Sevilla", ["REAL MADRID", "SEVILLA FC"], {"home": 0, "away": 1}),
        ("Atlético Madrid", None, ["Other", "ATLETICO MADRID"], {"home": 1, "away": 0}),  # one found: the other
        ("MIL", "LAD", ["NYY", "BOS"], {}),
        ("LA", "LAD", ["LAD", "MIL"], {}),  # "LA" is in "LAD" and the away team is too: ambiguous
        ("MIL", "LAD", ["MIL"], {}),
    ],
)
def test_bug_sides_from_team_names(home: str, away: str | None, names: list[str], expected: dict) -> None:
    assert bug_sides(PlayByPlay("csv", [], home, away, None, {}), names) == expected
