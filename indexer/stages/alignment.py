"""Play-by-play events placed on the video's timeline (a pure stage).

Three ways, tried in this order for each event (the first that places it wins):

1. **Game clock** (basketball, soccer ...): the graphics timeline's ``(period, clock_s)`` readings. Per period
   the readings are fitted piecewise: the longest chain of readings in which the clock never runs backwards
   and never runs faster than the video (plus ``clock_tolerance_s``) is kept, which rejects OCR misreads and
   replays showing an old clock; stoppages are the stretches where the clock stood still. An event at clock
   ``c`` is placed where the kept readings first show ``c`` (interpolated at 1 s per s between readings).
   Several events at the same clock reading are spread by their feed wall clock when the feed has one;
   without it, events sharing a second of running clock (a miss and its rebound) are placed at that
   second, and at a stopped clock (a foul, then its free throws) a scoring event is placed where the bug
   first shows its score (``score_lag_s`` earlier) while the others stay unaligned.
2. **Count** (baseball, pitch by pitch): every pitch is looked up on the bug by its count before the pitch,
   and by batter, inning, half and outs where the bug shows them. A change of count marks the pitch before
   it (``count_lag_s`` earlier); those marks give, per half-inning, the offset between the feed's wall clock
   and video time (median, outliers beyond ``max_offset_spread_s`` rejected); a half-inning without such a
   mark uses ``offset_s`` when given. Every pitch is then placed by its wall clock and kept only if the bug
   shows its count within ``max_residual_s`` of that time; a plate appearance's event sits at its deciding
   (last) pitch.
3. **Offset**: ``offset_s`` is the video time of the feed's first event (baseball: its first pitch); the others
   follow by the feed's own continuous time base: its wall clock, else time into the period (StatsBomb
   ``timestamp``, SoccerNet ``position``, a soccer clock), for the first event's period only.

An event that none of these places keeps ``time_ms = None``: it is never guessed. The residual of a placed
event is the distance, in video seconds, from its time to the graphics reading that supports it (0 when a
reading shows its exact clock or count at that time; for an event sharing a running second with an earlier
one, the length of that second on the video); offset alignment has no reading, so no residual.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

import numpy as np

from indexer.stages.playbyplay import Pitch, PlayByPlay, PlayEvent, ascii_fold


class TimelineSide(Protocol):
    """What alignment reads of one side of the score bug (``indexer.stages.graphics.Side``)."""

    @property
    def score(self) -> int | None:
        """The side's score as read, None when not read."""


class TimelineState(Protocol):
    """What alignment reads of one game state of the graphics timeline (``indexer.stages.graphics.GameState``)."""

    @property
    def sides(self) -> Sequence[TimelineSide]:
        """The two sides in the bug's order."""

    @property
    def time_ms(self) -> int:
        """Video time the state was first seen, ms."""

    @property
    def period(self) -> int | None:
        """Quarter, half, inning or set."""

    @property
    def half(self) -> str | None:
        """Baseball ``"top"`` or ``"bottom"``."""

    @property
    def clock_s(self) -> float | None:
        """Game clock in seconds (left, or elapsed for soccer)."""

    @property
    def fields(self) -> Mapping[str, object]:
        """Sport-specific fields; baseball: ``batter``, ``balls``, ``strikes``, ``outs``."""


@dataclass(frozen=True)
class AlignmentParams:
    """Knobs of the alignment.

    Attributes:
        clock_tolerance_s: how much faster than the video the clock may seem to run between two kept
            readings (display rounding, sampling at 1-2 Hz).
        max_extrapolate_s: an event this far (clock seconds) beyond the first or last kept reading of its
            period is still placed; further ones stay unaligned.
        count_lag_s: seconds from a pitch to the bug showing the new count.
        max_offset_spread_s: pitch offsets (video minus wall clock) further than this from their half-inning's
            median are outliers.
        max_residual_s: a pitch placed by wall clock further than this from a bug segment showing its count
            is not placed.
        score_lag_s: seconds from a basket to the bug showing the new score.
    """

    clock_tolerance_s: float = 1.5
    max_extrapolate_s: float = 2.0
    count_lag_s: float = 1.0
    max_offset_spread_s: float = 5.0
    max_residual_s: float = 3.0
    score_lag_s: float = 1.0


@dataclass(frozen=True)
class Alignment:
    """Events with their video times.

    Attributes:
        events: the input events in order, ``time_ms`` set on those placed.
        residuals_s: per event, seconds from its time to the supporting reading (None: unaligned or offset).
        methods: per event, how it was placed: ``"clock"``, ``"count"``, ``"offset"``, or None (unaligned).
    """

    events: list[PlayEvent]
    residuals_s: list[float | None]
    methods: list[str | None]

    @property
    def method(self) -> str:
        """The method that placed the most events (``"none"`` when none is placed)."""
        placed = Counter(m for m in self.methods if m is not None)
        return placed.most_common(1)[0][0] if placed else "none"

    @property
    def aligned(self) -> int:
        """Events placed on the video."""
        return sum(e.time_ms is not None for e in self.events)

    @property
    def median_residual_s(self) -> float | None:
        """Median of the residuals of placed events, None when none has one."""
        values = [r for r in self.residuals_s if r is not None]
        return float(statistics.median(values)) if values else None

    def summary(self) -> dict[str, int | float | None]:
        """``{"events", "aligned", "unaligned", "median_residual_s"}`` (``import_plays --json``)."""
        return {
            "events": len(self.events),
            "aligned": self.aligned,
            "unaligned": len(self.events) - self.aligned,
            "median_residual_s": self.median_residual_s,
        }


def align_events(
    plays: PlayByPlay,
    timeline: Sequence[TimelineState] = (),
    *,
    offset_s: float | None = None,
    params: AlignmentParams | None = None,
) -> Alignment:
    """Place a feed's events on the video (see the module docstring for the methods).

    Args:
        plays: the parsed feed.
        timeline: the graphics timeline, time-ordered (may be empty).
        offset_s: video time in seconds of the feed's first event (negative when the recording starts after it),
            used when the timeline cannot place events.
        params: knobs (defaults: ``AlignmentParams()``).

    Returns:
        The alignment: each event placed by the first method that can place it (the graphics first, the offset
        for the events the graphics cannot place). An event that would fall before the start of the video is
        not placed.
    """
    params = params or AlignmentParams()
    events = plays.events
    attempts: list[tuple[str, list[tuple[float | None, float | None]]]] = []
    if plays.clock_counts_down is not None and any(s.clock_s is not None for s in timeline):
        attempts.append(("clock", _by_clock(events, timeline, plays.clock_counts_down, params)))
    if any(e.pitches for e in events) and any(_count_key(s) for s in timeline):
        attempts.append(("count", _by_count(events, timeline, params, _feed_start(events), offset_s)))
    if offset_s is not None:
        attempts.append(("offset", _by_offset(events, offset_s, plays.clock_counts_down)))
    out: list[PlayEvent] = []
    residuals: list[float | None] = []
    methods: list[str | None] = []
    for k, event in enumerate(events):
        found = next(((m, placed[k]) for m, placed in attempts if placed[k][0] is not None and placed[k][0] >= 0), None)
        method, (t, residual) = found or (None, (None, None))
        out.append(replace(event, time_ms=None if t is None else round(t * 1000)))
        residuals.append(residual)
        methods.append(method)
    return Alignment(out, residuals, methods)


# ---------------------------------------------------------------------------------------------- clock


def consistent_readings(
    times_s: np.ndarray, clocks_s: np.ndarray, *, counts_down: bool, tolerance_s: float
) -> np.ndarray:
    """Indices of the longest chain of clock readings a running-or-stopped game clock can produce.

    Between two kept readings ``i < j`` the clock moves only forward (down when ``counts_down``) and by at most
    ``t_j - t_i + tolerance_s``. Readings off the chain (OCR misreads, a replay showing an old clock) are
    outliers.

    Args:
        times_s: ``(N,)`` video times, increasing.
        clocks_s: ``(N,)`` clock readings, seconds.
        counts_down: the clock shows time left.
        tolerance_s: slack for rounding and sampling.

    Returns:
        ``(M,)`` int indices into the readings, increasing.
    """
    n = len(times_s)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    elapsed = -clocks_s if counts_down else clocks_s
    length = np.ones(n, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    for j in range(1, n):
        moved = elapsed[j] - elapsed[:j]
        ok = (moved >= -1e-6) & (moved <= times_s[j] - times_s[:j] + tolerance_s)
        if ok.any():
            candidates = np.where(ok, length[:j], 0)
            best = int(np.argmax(candidates))
            length[j], parent[j] = candidates[best] + 1, best
    chain = [int(np.argmax(length))]
    while parent[chain[-1]] >= 0:
        chain.append(int(parent[chain[-1]]))
    return np.array(chain[::-1], dtype=np.int64)


def _by_clock(
    events: list[PlayEvent], timeline: Sequence[TimelineState], counts_down: bool, params: AlignmentParams
) -> list[tuple[float | None, float | None]]:
    has_periods = any(s.period is not None for s in timeline)
    readings: dict[int | None, list[tuple[float, float]]] = defaultdict(list)
    for state in timeline:
        if state.clock_s is not None and (state.period is not None or not has_periods):
            readings[state.period].append((state.time_ms / 1000.0, float(state.clock_s)))
    fitted: dict[int | None, tuple[np.ndarray, np.ndarray]] = {}
    for period, points in readings.items():
        points.sort()
        t = np.array([p[0] for p in points])
        c = np.array([p[1] for p in points])
        keep = consistent_readings(t, c, counts_down=counts_down, tolerance_s=params.clock_tolerance_s)
        fitted[period] = (t[keep], -c[keep] if counts_down else c[keep])
    placed: list[tuple[float | None, float | None]] = []
    anchors: dict[tuple[int | None, float], tuple[float, datetime | None, float]] = {}
    for event in events:
        key = event.period if has_periods else None
        if event.clock_s is None or key not in fitted:
            placed.append((None, None))
            continue
        t, e = fitted[key]
        target = -event.clock_s if counts_down else event.clock_s
        anchor = anchors.get((key, event.clock_s))
        if anchor is not None:  # another event at the same clock reading
            placed.append(_same_clock(event, timeline, anchor, params))
            continue
        where = _clock_time(t, e, target, params)
        if where is not None:
            moved = int(np.searchsorted(e, target + 1e-6))  # first reading past this clock value: play resumed
            resume = float(t[moved]) if moved < len(t) else float("inf")
            anchors[(key, event.clock_s)] = (where[0], event.wall_time, resume)
        placed.append(where if where is not None else (None, None))
    return placed


def _clock_time(t: np.ndarray, e: np.ndarray, target: float, params: AlignmentParams) -> tuple[float, float] | None:
    """Video time and residual of the clock value ``target`` (elapsed-style) on kept readings ``(t, e)``."""
    if len(t) == 0:
        return None
    k = int(np.searchsorted(e, target - 1e-6))  # first reading at or past the target
    if k == len(t):
        beyond = target - e[-1]
        return (float(t[-1] + beyond), float(beyond)) if beyond <= params.max_extrapolate_s else None
    ahead = float(e[k] - target)
    if ahead <= 1e-6:
        return float(t[k]), 0.0
    if k == 0:
        return (float(t[0] - ahead), ahead) if ahead <= params.max_extrapolate_s else None
    when = max(float(t[k]) - ahead, float(t[k - 1]))
    return when, min(when - float(t[k - 1]), float(t[k]) - when)


def _same_clock(
    event: PlayEvent,
    timeline: Sequence[TimelineState],
    anchor: tuple[float, datetime | None, float],
    params: AlignmentParams,
) -> tuple[float | None, float | None]:
    """Place an event at the clock reading of an earlier event: by wall clock, by the bug's score, or in-second.

    ``anchor`` is (video time of the first event at this reading, its wall clock, when the clock moved on).
    """
    when, wall, resume = anchor
    if wall is not None and event.wall_time is not None:
        later = when + (event.wall_time - wall).total_seconds()
        if when <= later <= resume:
            return later, min(later - when, resume - later)
    if resume - when <= 1.0 + params.clock_tolerance_s:  # the clock ran on: both fell in the same displayed second
        return when, resume - when
    return _by_score(event, timeline, anchor, params)


def _by_score(
    event: PlayEvent,
    timeline: Sequence[TimelineState],
    anchor: tuple[float, datetime | None, float],
    params: AlignmentParams,
) -> tuple[float | None, float | None]:
    """Place a scoring event at a stopped clock where the bug first shows its score during the stoppage."""
    when, _, resume = anchor
    if not event.points or event.score is None:
        return None, None
    wanted = sorted(event.score)
    for state in timeline:
        t = state.time_ms / 1000.0
        scores = [side.score for side in state.sides]
        if when <= t <= resume + params.score_lag_s and None not in scores and sorted(scores) == wanted:  # type: ignore[type-var]
            return max(t - params.score_lag_s, when), 0.0
    return None, None


# ---------------------------------------------------------------------------------------------- count

_CountKey = tuple[int | None, str | None, int | None, int, int]
"""(inning, half, outs, balls, strikes) as the bug shows them; the first three may be missing from a bug."""


def _count_key(state: TimelineState) -> _CountKey | None:
    f = state.fields
    balls, strikes, outs = f.get("balls"), f.get("strikes"), f.get("outs")
    if not isinstance(balls, int) or not isinstance(strikes, int):
        return None
    return state.period, state.half, outs if isinstance(outs, int) else None, balls, strikes


def _shows(shown: _CountKey, wanted: _CountKey) -> bool:
    """The bug's key agrees with the pitch's: the count always, inning, half and outs where the bug shows them."""
    return shown[3:] == wanted[3:] and all(a is None or a == b for a, b in zip(shown[:3], wanted[:3], strict=True))


def _name_tokens(name: object) -> set[str]:
    return {w for w in re.split(r"[^a-z]+", ascii_fold(str(name or ""))) if len(w) > 1}


def _same_batter(bug_name: object, player: str | None) -> bool:
    """The bug's batter (``"5.AGUILAR"``, ``"S. AGUILAR"``) names the feed's batter, or the bug shows none."""
    shown = _name_tokens(bug_name)
    return not shown or not player or bool(shown & _name_tokens(player))


@dataclass(frozen=True)
class _Segment:
    key: _CountKey
    batter: object
    start_s: float
    end_s: float


def _segments(timeline: Sequence[TimelineState]) -> list[_Segment]:
    out: list[_Segment] = []
    states = sorted(timeline, key=lambda s: s.time_ms)
    for i, state in enumerate(states):
        key = _count_key(state)
        if key is None:
            continue
        end = states[i + 1].time_ms / 1000.0 if i + 1 < len(states) else float("inf")
        batter = state.fields.get("batter")
        if out and out[-1].key == key and out[-1].batter == batter and out[-1].end_s == state.time_ms / 1000.0:
            out[-1] = replace(out[-1], end_s=end)  # another field changed (score, pitch count): same count
        else:
            out.append(_Segment(key, batter, state.time_ms / 1000.0, end))
    return out


def _by_count(
    events: list[PlayEvent],
    timeline: Sequence[TimelineState],
    params: AlignmentParams,
    feed_start: datetime | None,
    offset_s: float | None,
) -> list[tuple[float | None, float | None]]:
    segments = _segments(timeline)

    def matching(event: PlayEvent, pitch: Pitch) -> list[_Segment]:
        key = (event.period, event.half, pitch.outs, pitch.balls, pitch.strikes)
        return [s for s in segments if _shows(s.key, key) and _same_batter(s.batter, event.player)]

    # offsets (video - wall) from count changes, per half-inning
    offsets: dict[tuple[int | None, str | None], list[float]] = defaultdict(list)
    for event in events:
        for before, after in zip(event.pitches, event.pitches[1:], strict=False):
            if before.wall_time is None:
                continue
            ends = {s.end_s for s in matching(event, before)}
            starts = [s.start_s for s in matching(event, after) if s.start_s in ends]
            if len(starts) == 1:  # the count changed once from before to after: the pitch, count_lag_s earlier
                pitched = starts[0] - params.count_lag_s
                offsets[(event.period, event.half)].append(pitched - before.wall_time.timestamp())
    group_offset: dict[tuple[int | None, str | None], float] = {}
    for group, values in offsets.items():
        median = statistics.median(values)
        inliers = [v for v in values if abs(v - median) <= params.max_offset_spread_s]
        group_offset[group] = statistics.median(inliers)

    placed: list[tuple[float | None, float | None]] = []
    for event in events:
        offset = group_offset.get((event.period, event.half))
        if offset is None and offset_s is not None and feed_start is not None:
            offset = offset_s - feed_start.timestamp()
        last = event.pitches[-1] if event.pitches else None
        if offset is None or last is None or last.wall_time is None:
            placed.append((None, None))
            continue
        when = last.wall_time.timestamp() + offset
        gaps = [max(s.start_s - when, when - s.end_s, 0.0) for s in matching(event, last)]
        residual = min(gaps, default=float("inf"))
        placed.append((when, residual) if residual <= params.max_residual_s else (None, None))
    return placed


# ---------------------------------------------------------------------------------------------- offset


def _feed_start(events: list[PlayEvent]) -> datetime | None:
    """The feed's earliest wall clock (baseball: its first pitch), None without wall clocks."""
    walls = [p.wall_time for e in events for p in e.pitches if p.wall_time]
    walls += [e.wall_time for e in events if e.wall_time]
    return min(walls) if walls else None


def _by_offset(
    events: list[PlayEvent], offset_s: float, clock_counts_down: bool | None
) -> list[tuple[float | None, float | None]]:
    start = _feed_start(events)
    if start is not None:
        return [
            ((offset_s + (e.wall_time - start).total_seconds()), None) if e.wall_time else (None, None) for e in events
        ]
    first = events[0] if events else None
    if first is None:
        return []
    if first.period_time_s is not None:
        base = first.period_time_s
        return [
            (offset_s + e.period_time_s - base, None) if e.period == first.period and e.period_time_s is not None
            else (None, None)
            for e in events
        ]  # fmt: skip
    if clock_counts_down is False and first.clock_s is not None:  # a soccer clock runs with the video in a half
        base = first.clock_s
        return [
            (offset_s + e.clock_s - base, None) if e.period == first.period and e.clock_s is not None else (None, None)
            for e in events
        ]
    return [(None, None) for _ in events]
