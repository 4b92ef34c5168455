"""The game timeline chart as data for an inline SVG (pure; no ORM).

The highlight-score curve is the highlight score (0..1) over game time: each clip contributes a plateau
at its score over its span, gaps between clips sit at zero. Coordinates are in a fixed viewBox
(``WIDTH`` × ``HEIGHT`` units) that the SVG stretches to the page width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 1000.0
HEIGHT = 120.0


@dataclass(frozen=True)
class Span:
    """A clip on the timeline: game time in milliseconds and its highlight score, 0..1."""

    clip_id: int
    start_ms: int
    end_ms: int
    score: float
    title: str


@dataclass(frozen=True)
class Marker:
    """A clip marker in viewBox units."""

    clip_id: int
    x: float
    width: float
    y: float
    title: str
    score: float
    start_s: float


@dataclass(frozen=True)
class Timeline:
    """The curve as an SVG path (``d``) closed to the baseline, and one marker per clip."""

    path: str
    markers: list[Marker]
    duration_s: float


def timeline(duration_ms: int, spans: Sequence[Span]) -> Timeline:
    """Build the highlight-score curve and clip markers of one game.

    Args:
        duration_ms: the game video's length; must be positive.
        spans: its clips (any order; overlaps take the higher score).

    Returns:
        The chart data.

    Raises:
        ValueError: ``duration_ms`` is not positive.
    """
    if duration_ms <= 0:
        raise ValueError("a timeline needs a positive duration")

    def x(ms: float) -> float:
        return round(min(max(ms, 0), duration_ms) / duration_ms * WIDTH, 2)

    def y(score: float) -> float:
        return round(HEIGHT - min(max(score, 0.0), 1.0) * (HEIGHT - 4), 2)

    points = [(0.0, HEIGHT)]
    for span in sorted(spans, key=lambda s: (s.start_ms, -s.score)):
        x0, x1, level = x(span.start_ms), x(span.end_ms), y(span.score)
        if x0 < points[-1][0]:  # overlap: start where the previous plateau ends
            x0 = points[-1][0]
            if x1 <= x0:
                continue
        points += [(x0, HEIGHT), (x0, level), (x1, level), (x1, HEIGHT)]
    points.append((WIDTH, HEIGHT))
    path = "M" + " L".join(f"{px},{py}" for px, py in points) + " Z"
    markers = [
        Marker(s.clip_id, x(s.start_ms), max(x(s.end_ms) - x(s.start_ms), 2.0), y(s.score), s.title, s.score,
               s.start_ms / 1000)
        for s in spans
    ]  # fmt: skip
    return Timeline(path=path, markers=markers, duration_s=duration_ms / 1000)


def score_line(
    side_a: str,
    score_a: int | None,
    score_b: int | None,
    side_b: str,
    period: int | None = None,
    half: str = "",
    clock_s: float | None = None,
) -> str:
    """One game state as text: ``"LAD 1–0 MIL · top 1"``, ``"BOS 2–2 NYK · Q2 · 11:13"`` (unread parts left out)."""

    def score(value: int | None) -> str:
        return "?" if value is None else str(value)

    parts = [f"{side_a} {score(score_a)}–{score(score_b)} {side_b}"]
    if period is not None:
        parts.append(f"{half} {period}" if half else f"P{period}")
    if clock_s is not None:
        minutes, seconds = divmod(round(clock_s), 60)
        parts.append(f"{minutes}:{seconds:02d}")
    return " · ".join(parts)


@dataclass(frozen=True)
class StateSpan:
    """A game state from ``start_ms`` (video time) until the next one, with its :func:`score_line` text."""

    start_ms: int
    text: str


@dataclass(frozen=True)
class ScoreSegment:
    """A state's band under the curve: ``left`` and ``width`` in percent of the video's length."""

    left: float
    width: float
    text: str
    start_s: float


def score_segments(duration_ms: int, states: Sequence[StateSpan]) -> list[ScoreSegment]:
    """Bands of the score strip under the curve, one per state, each lasting until the next state or the end.

    Args:
        duration_ms: the game video's length; must be positive.
        states: time-ordered states.

    Raises:
        ValueError: ``duration_ms`` is not positive.
    """
    if duration_ms <= 0:
        raise ValueError("a score strip needs a positive duration")
    ends = [s.start_ms for s in states[1:]] + [duration_ms]
    return [
        ScoreSegment(
            left=round(min(s.start_ms, duration_ms) / duration_ms * 100, 3),
            width=round(max(min(end, duration_ms) - s.start_ms, 0) / duration_ms * 100, 3),
            text=s.text,
            start_s=s.start_ms / 1000,
        )
        for s, end in zip(states, ends, strict=True)
    ]


@dataclass(frozen=True)
class EventMark:
    """A scoring event on the curve: ``x`` in viewBox units; clicking seeks to ``seek_s`` (its play's start)."""

    x: float
    title: str
    seek_s: float


def event_marks(duration_ms: int, events: Sequence[tuple[int, str, int]]) -> list[EventMark]:
    """Markers of ``(time_ms, title, seek_ms)`` events, in the viewBox of :func:`timeline`.

    Raises:
        ValueError: ``duration_ms`` is not positive.
    """
    if duration_ms <= 0:
        raise ValueError("event marks need a positive duration")
    return [
        EventMark(round(min(max(t, 0), duration_ms) / duration_ms * WIDTH, 2), title, seek / 1000)
        for t, title, seek in events
    ]
