"""Alignment of play-by-play events to video time on constructed graphics timelines (pure logic).

The timelines are built here, state by state, as the graphics stage reports them (one state per change);
the feeds are real samples where the test needs no graphics (offset alignment) and constructed otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from indexer.stages.alignment import AlignmentParams, align_events, consistent_readings
from indexer.stages.playbyplay import Pitch, PlayByPlay, PlayEvent, read_play_by_play

T0 = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)


@dataclass(frozen=True)
class State:
    """Stands in for ``indexer.stages.graphics.GameState`` (only what alignment reads)."""

    time_ms: int
    period: int | None = None
    half: str | None = None
    clock_s: float | None = None
    fields: dict[str, object] = field(default_factory=dict)
    sides: tuple[Side, ...] = ()


@dataclass(frozen=True)
class Side:
    """Stands in for ``indexer.stages.graphics.Side``."""

    name: str
    score: int | None


def _event(
    type_: str, period: int | None, clock_s: float | None, wall_s: float | None = None, **kw: object
) -> PlayEvent:
    wall = T0 + timedelta(seconds=wall_s) if wall_s is not None else None
    base = {"points": 0, "side": None, "team": None, "player": None, "score": None, "description": type_, "raw": {}}
    return PlayEvent(type=type_, period=period, clock_s=clock_s, wall_time=wall, **(base | kw))  # type: ignore[arg-type]


def _feed(events: list[PlayEvent], counts_down: bool | None) -> PlayByPlay:
    return PlayByPlay("csv", events, None, None, counts_down, {})


def _basketball_timeline() -> list[State]:
    """Q1 clock 12:00 → 11:40 over video 10-30 s; stopped at 11:40 until 60 s; runs again to 11:20 at 80 s.

    During the stoppage a replay (62-66 s) shows the old clock 11:55 → 11:51, and one reading is an OCR misread.
    """
    states = [State(int((10 + i) * 1000), 1, clock_s=720.0 - i) for i in range(21)]  # 720 .. 700 at 10 .. 30 s
    states.append(State(45_000, 1, clock_s=100.0))  # misread
    states += [State(int((61 + i) * 1000), 1, clock_s=699.0 - i) for i in range(20)]  # 699 .. 680 at 61 .. 80 s
    states += [State(int((62 + i) * 1000) + 500, 1, clock_s=715.0 - i) for i in range(5)]  # replay: old clock
    return sorted(states, key=lambda s: s.time_ms)


def test_clock_alignment_survives_a_stoppage_a_replay_and_a_misread() -> None:
    events = [
        _event("two_pointer", 1, 710.0, wall_s=100.0),  # clock running: video 20 s
        _event("foul", 1, 700.0, wall_s=115.0),  # the whistle stops the clock at 11:40: video 30 s
        _event("free_throw", 1, 700.0, wall_s=140.0),  # 25 s later by the wall clock, clock still stopped: 55 s
        _event("three_pointer", 1, 690.5, wall_s=172.0),  # between readings 691 (69 s) and 690 (70 s): 69.5 s
        _event("dunk", 1, 600.0, wall_s=300.0),  # long after the last reading: not placed
        _event("period_start", 2, 720.0),  # no readings in period 2
    ]

    result = align_events(_feed(events, True), _basketball_timeline())

    assert result.method == "clock"
    assert [e.time_ms for e in result.events] == [20_000, 30_000, 55_000, 69_500, None, None]
    assert result.residuals_s[:2] == [0.0, 0.0]
    assert result.residuals_s[3] == pytest.approx(0.5)
    assert result.residuals_s[4:] == [None, None]
    assert result.summary() == {"events": 6, "aligned": 4, "unaligned": 2, "median_residual_s": pytest.approx(0.25)}


def test_events_the_graphics_cannot_place_fall_back_to_the_offset() -> None:
    events = [
        _event("two_pointer", 1, 710.0, wall_s=100.0),  # on the clock: video 20 s
        _event("dunk", 2, 700.0, wall_s=900.0),  # period 2 has no readings: by the wall clock from the first event
        _event("foul", 2, 650.0),  # neither a reading nor a wall clock
    ]

    result = align_events(_feed(events, True), _basketball_timeline(), offset_s=20.0)

    assert [e.time_ms for e in result.events] == [20_000, 820_000, None]
    assert result.methods == ["clock", "offset", None]
    assert result.residuals_s == [0.0, None, None]
    assert result.method == "clock"  # ties go to the graphics, tried first


def test_without_wall_clock_a_second_event_at_a_stopped_clock_is_not_guessed() -> None:
    events = [_event("foul", 1, 700.0), _event("free_throw", 1, 700.0), _event("free_throw", 1, 700.0)]

    result = align_events(_feed(events, True), _basketball_timeline())

    assert [e.time_ms for e in result.events] == [30_000, None, None]


def test_free_throws_at_a_stopped_clock_without_wall_clock_follow_the_score_on_the_bug() -> None:
    # the foul stops the clock at 11:40 (video 30 s); the bug shows 0-1 at 40 s and 0-2 at 50 s
    timeline = _basketball_timeline()
    timeline += [
        State(40_000, 1, clock_s=700.0, sides=(Side("GSW", 1), Side("BKN", 0))),
        State(50_000, 1, clock_s=700.0, sides=(Side("GSW", 2), Side("BKN", 0))),
    ]
    timeline.sort(key=lambda s: s.time_ms)
    events = [
        _event("foul", 1, 700.0),
        _event("free_throw", 1, 700.0, points=1, score=(0, 1)),
        _event("missed_free_throw", 1, 700.0),
        _event("free_throw", 1, 700.0, points=1, score=(0, 2)),
    ]

    result = align_events(_feed(events, True), timeline)

    assert [e.time_ms for e in result.events] == [30_000, 39_000, None, 49_000]  # 1 s before the bug changed


def test_the_replay_and_the_misread_are_outliers_of_the_fitted_chain() -> None:
    timeline = _basketball_timeline()
    times = np.array([s.time_ms / 1000 for s in timeline])
    clocks = np.array([s.clock_s for s in timeline])

    keep = consistent_readings(times, clocks, counts_down=True, tolerance_s=1.5)

    assert sorted(clocks[keep].tolist()) == list(range(680, 721))  # every live reading once
    assert not {45.0, 62.5, 63.5, 64.5, 65.5, 66.5} & set(times[keep].tolist())  # not the misread, not the replay
    assert np.all(np.diff(times[keep]) > 0)


def test_a_soccer_clock_counts_up_and_a_timeline_without_periods_still_aligns() -> None:
    timeline = [State(int(t * 1000), None, clock_s=4700.0 + t) for t in range(0, 30)]  # 78:20 at 0 s
    events = [_event("goal", 2, 4710.0), _event("shot", 2, 4725.0), _event("shot", 2, 4800.0)]

    result = align_events(_feed(events, False), timeline)

    assert [e.time_ms for e in result.events] == [10_000, 25_000, None]


def _broadcast_clock(feed: PlayByPlay, lead_s: float, seed: int = 0) -> list[State]:
    """A graphics timeline simulated from a real feed's own clock and wall-clock times.

    Video time is the feed's wall clock minus its first action plus ``lead_s``. Between two actions the clock
    stands still, then runs down 1 s per s to reach the second action's clock at its wall time. The bug is
    sampled at 2 Hz and shows whole seconds rounded up (tenths under a minute); a state is emitted when the
    display changes. Fifteen replays per period show, for 3 s, the clock of 30 changes earlier, and twenty OCR
    misreads show random clocks.
    """
    rng = np.random.default_rng(seed)
    start = min(e.wall_time for e in feed.events if e.wall_time)
    states: list[State] = []
    for period in sorted({e.period for e in feed.events if e.period}):
        acts = [e for e in feed.events if e.period == period]
        knots: list[tuple[float, float]] = []
        for a, b in pairwise(acts):
            ta, tb = ((x.wall_time - start).total_seconds() + lead_s for x in (a, b))  # type: ignore[operator]
            ran = a.clock_s - b.clock_s  # type: ignore[operator]
            knots += [(ta, a.clock_s), (max(ta, tb - ran), a.clock_s), (tb, b.clock_s)]  # type: ignore[list-item]
        kt, kc = (np.array(v) for v in zip(*sorted(knots, key=lambda k: k[0]), strict=True))
        live: list[State] = []
        for t in np.arange(kt[0], kt[-1] + 0.5, 0.5):
            c = float(np.interp(t, kt, kc))
            shown = float(math.ceil(c - 1e-9)) if c >= 60 else math.ceil(c * 10 - 1e-9) / 10
            if not live or live[-1].clock_s != shown:
                live.append(State(round(t * 1000), period, clock_s=shown))
        states += live
        for k in rng.integers(30, len(live), size=15):
            old = live[k - 30 : k - 24]  # the clock as it read 30 changes before
            states += [State(live[k].time_ms + 200 + j * 500, period, clock_s=o.clock_s) for j, o in enumerate(old)]
        for k in rng.integers(0, len(live), size=20):
            states.append(State(live[k].time_ms + 250, period, clock_s=float(rng.integers(0, 720))))
    return sorted(states, key=lambda s: s.time_ms)


def test_the_real_nba_feed_on_a_simulated_broadcast_clock(shared_dir: Path) -> None:
    feed = read_play_by_play(shared_dir / "data" / "plays" / "nba_cdn_playbyplay_0022000001_excerpt.json")
    start = min(e.wall_time for e in feed.events if e.wall_time)
    truth = [(e.wall_time - start).total_seconds() + 30.0 for e in feed.events]  # type: ignore[operator]
    timeline = _broadcast_clock(feed, lead_s=30.0)

    with_wall = align_events(feed, timeline)
    no_wall = align_events(replace(feed, events=[replace(e, wall_time=None) for e in feed.events]), timeline)

    for result, least in ((with_wall, len(feed.events)), (no_wall, 0.75 * len(feed.events))):
        errors = [abs(e.time_ms / 1000 - t) for e, t in zip(result.events, truth, strict=True) if e.time_ms is not None]
        assert result.method == "clock"
        assert len(errors) >= least
        assert max(errors) <= 1.0  # at most the display's second plus the 2 Hz sampling
        assert float(np.median(errors)) <= 0.5


# ---------------------------------------------------------------------------------------------- baseball


def _at_bat(
    batter: str, inning: int, half: str, outs: int, counts: list[tuple[int, int]], walls: list[float]
) -> PlayEvent:
    pitches = tuple(
        Pitch(balls=b, strikes=s, outs=outs, wall_time=T0 + timedelta(seconds=w), description="pitch")
        for (b, s), w in zip(counts, walls, strict=True)
    )
    return _event("home_run", inning, None, wall_s=walls[-1], player=batter, half=half, pitches=pitches)


def _bug(time_s: float, inning: int, half: str, batter: str, balls: int, strikes: int, outs: int) -> State:
    fields: dict[str, object] = {"batter": batter, "balls": balls, "strikes": strikes, "outs": outs}
    return State(int(time_s * 1000), inning, half, None, fields)


def test_baseball_pitch_by_pitch_from_the_count_on_the_bug() -> None:
    # Recorded video starts 1000 s of wall clock after T0 minus 100 s: wall w is video w - 900.
    aguilar = _at_bat("Jesús Aguilar", 5, "top", 2, [(0, 0), (1, 0), (1, 1), (1, 2)], [1000, 1020, 1041, 1060])
    other = _at_bat("Nobody Else", 6, "bottom", 0, [(0, 0)], [1500])  # no graphics of that half-inning
    timeline = [
        _bug(95.0, 5, "top", "5.AGUILAR", 0, 0, 2),
        _bug(101.0, 5, "top", "5.AGUILAR", 1, 0, 2),  # the count changes 1 s after each pitch
        _bug(121.0, 5, "top", "5.AGUILAR", 1, 1, 2),
        _bug(142.5, 5, "top", "5.AGUILAR", 1, 2, 2),  # bug late by 1.5 s here: offsets 100, 100, 100.5
        _bug(190.0, 5, "bottom", "BICHETTE", 0, 0, 0),
    ]

    result = align_events(_feed([aguilar, other], None), timeline)

    assert result.method == "count"
    assert result.events[0].time_ms == 1060_000 - 900_000  # the deciding pitch: wall 1060 → video 160 s
    assert result.residuals_s[0] == 0.0  # the bug shows 1-2 with 2 outs for Aguilar at 160 s
    assert result.events[1].time_ms is None
    assert result.summary()["unaligned"] == 1


def test_one_count_on_screen_is_placed_by_the_offset_and_verified_by_the_bug() -> None:
    # a 7 s clip showing Aguilar at 1-2 with 2 outs throughout: no change of count to measure an offset from
    aguilar = _at_bat("Jesús Aguilar", 5, "top", 2, [(0, 0), (1, 0), (1, 1), (1, 2)], [1000, 1020, 1041, 1060])
    timeline = [_bug(0.0, 5, "top", "5.AGUILAR", 1, 2, 2)]

    placed = align_events(_feed([aguilar], None), timeline, offset_s=-57.0)  # first pitch 57 s before the clip
    wrong = align_events(_feed([aguilar], None), timeline, offset_s=-67.0)  # would put the pitch before it
    unverified = align_events(_feed([aguilar], None), [_bug(0.0, 5, "top", "5.AGUILAR", 0, 2, 2)], offset_s=-57.0)

    assert (placed.method, placed.events[0].time_ms, placed.residuals_s) == ("count", 3000, [0.0])
    assert wrong.events[0].time_ms is None
    assert unverified.method == "offset"  # the bug never shows 1-2: the count cannot confirm it
    assert unverified.residuals_s == [None]


def test_a_bug_showing_only_batter_and_count_still_verifies_but_another_inning_does_not() -> None:
    # the shared MLB clip's bug as read: "5 AGUILAR 0FOR1 .145AVG | LAD 0 1-2 | MIL 0 PITCHES 60" (no inning, outs)
    aguilar = _at_bat("Jesús Aguilar", 5, "top", 2, [(0, 0), (1, 0), (1, 1), (1, 2)], [1000, 1020, 1041, 1060])
    bare = [State(0, None, None, None, {"batter": "AGUILAR", "balls": 1, "strikes": 2, "pitch_count": 60})]
    other_inning = [_bug(0.0, 6, "top", "AGUILAR", 1, 2, 2)]

    assert align_events(_feed([aguilar], None), bare, offset_s=-57.0).events[0].time_ms == 3000
    assert align_events(_feed([aguilar], None), other_inning, offset_s=-57.0).method == "offset"


def _broadcast_counts(feed: PlayByPlay, seed: int = 0) -> tuple[list[State], list[float]]:
    """A baseball bug timeline simulated from a real GUMBO feed's pitches, and the truth: each event's video time.

    Video time is the wall clock from the first pitch plus 20 s, minus 90 s per earlier half-inning (each
    break cut from the recording, so the offset changes per half-inning). Each batter appears on the bug 8 s
    before his first pitch; the count, outs and batter change 0.5-1.5 s after each pitch that changes them.
    Twelve misreads show a random count for 1 s.
    """
    rng = np.random.default_rng(seed)
    start = feed.events[0].pitches[0].wall_time
    halves = list(dict.fromkeys((e.period, e.half) for e in feed.events))
    cut = {h: 20.0 - 90.0 * i for i, h in enumerate(halves)}

    def video(e: PlayEvent, wall: datetime) -> float:
        return (wall - start).total_seconds() + cut[(e.period, e.half)]  # type: ignore[operator]

    states: list[State] = []
    for e in feed.events:
        name = str(e.player).split()[-1].upper()

        def shown(t: float, pitch: Pitch, e: PlayEvent = e, name: str = name) -> State:
            fields: dict[str, object] = {"batter": name, "balls": pitch.balls, "strikes": pitch.strikes}
            return State(round(t * 1000), e.period, e.half, None, fields | {"outs": pitch.outs})

        states.append(shown(video(e, e.pitches[0].wall_time) - 8.0, e.pitches[0]))  # type: ignore[arg-type]
        for before, after in pairwise(e.pitches):
            if (before.balls, before.strikes, before.outs) != (after.balls, after.strikes, after.outs):
                states.append(shown(video(e, before.wall_time) + rng.uniform(0.5, 1.5), after))  # type: ignore[arg-type]
    states.sort(key=lambda s: s.time_ms)
    for k in rng.integers(1, len(states) - 1, size=12):
        wrong = {"balls": int(rng.integers(0, 4)), "strikes": int(rng.integers(0, 3))}
        if states[k].time_ms + 4000 < states[k + 1].time_ms:
            states += [replace(states[k], time_ms=states[k].time_ms + 3000, fields=states[k].fields | wrong),
                       replace(states[k], time_ms=states[k].time_ms + 4000)]  # fmt: skip
    truth = [video(e, e.pitches[-1].wall_time) for e in feed.events]  # type: ignore[arg-type]
    return sorted((s for s in states if s.time_ms >= 0), key=lambda s: s.time_ms), truth


def test_the_real_mlb_feed_pitch_by_pitch_on_a_simulated_bug(shared_dir: Path) -> None:
    feed = read_play_by_play(shared_dir / "data" / "plays" / "mlb_gumbo_744914_excerpt.json")
    timeline, truth = _broadcast_counts(feed)

    result = align_events(feed, timeline)

    errors = [abs(e.time_ms / 1000 - t) for e, t in zip(result.events, truth, strict=True) if e.time_ms is not None]
    assert result.method == "count"
    assert len(errors) == len(feed.events) == 36
    assert max(errors) <= 0.5  # the bug's 0.5-1.5 s lag against the assumed 1 s
    [homer] = [e for e, t in zip(result.events, truth, strict=True) if e.type == "home_run"]
    assert homer.player == "Jeremy Peña" and homer.time_ms is not None


def test_a_pitch_whose_count_the_bug_never_shows_there_is_not_placed() -> None:
    peña = _at_bat("Jeremy Peña", 5, "top", 2, [(0, 0), (0, 1)], [1000, 1020])
    timeline = [
        _bug(95.0, 5, "top", "PEÑA", 0, 0, 2),
        _bug(101.0, 5, "top", "PEÑA", 0, 1, 2),
        _bug(105.0, 5, "top", "PEÑA", 0, 0, 0),  # the bug moved on long before wall 1020 (video 120 s)
    ]

    result = align_events(_feed([peña], None), timeline, params=AlignmentParams(max_residual_s=3.0))

    assert result.events[0].time_ms is None
    assert result.method == "none"


def test_another_batter_on_the_bug_does_not_match() -> None:
    event = _at_bat("Jeremy Peña", 5, "top", 2, [(0, 0), (1, 0)], [1000, 1020])
    timeline = [_bug(95.0, 5, "top", "BREGMAN", 0, 0, 2), _bug(101.0, 5, "top", "BREGMAN", 1, 0, 2)]

    assert align_events(_feed([event], None), timeline).aligned == 0


# ---------------------------------------------------------------------------------------------- offset


def test_offset_alignment_of_the_real_mlb_feed_by_its_wall_clock(shared_dir: Path) -> None:
    feed = read_play_by_play(shared_dir / "data" / "plays" / "mlb_gumbo_744914_excerpt.json")

    result = align_events(feed, [], offset_s=12.5)

    assert result.method == "offset"
    assert result.aligned == len(feed.events) == 36
    first_pitch = feed.events[0].pitches[0].wall_time
    [homer] = [e for e in result.events if e.type == "home_run"]
    assert homer.time_ms == round((12.5 + (homer.wall_time - first_pitch).total_seconds()) * 1000)
    assert result.median_residual_s is None  # no graphics reading supports an offset
    times = [e.time_ms for e in result.events]
    assert times == sorted(times) and times[0] > 12_500


def test_offset_alignment_of_statsbomb_by_time_into_the_period(shared_dir: Path) -> None:
    feed = read_play_by_play(shared_dir / "data" / "plays" / "statsbomb_events_3788741_excerpt.json")

    result = align_events(feed, [], offset_s=3.0)

    goal = next(e for e in result.events if e.type == "goal")
    first = feed.events[0]
    assert goal.time_ms == round((3.0 + goal.period_time_s - first.period_time_s) * 1000)  # type: ignore[operator]
    assert result.aligned == len(feed.events)  # the excerpt is all in period 2


def test_a_feed_without_a_continuous_time_base_stays_unaligned_with_an_offset(shared_dir: Path) -> None:
    feed = read_play_by_play(shared_dir / "data" / "plays" / "nba_stats_playbyplayv2_0021600270.json")

    result = align_events(feed, [], offset_s=0.0)

    assert (result.method, result.aligned, result.median_residual_s) == ("none", 0, None)
    assert all(e.time_ms is None for e in result.events)


def test_events_before_the_start_of_the_video_are_not_placed() -> None:
    events = [_event("foul", 1, 700.0, wall_s=0.0), _event("dunk", 1, 690.0, wall_s=30.0)]

    result = align_events(_feed(events, True), [], offset_s=-10.0)  # the recording started 10 s after the foul

    assert [e.time_ms for e in result.events] == [None, 20_000]
