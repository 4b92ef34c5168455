"""The game timeline chart as data for an inline SVG (pure; no ORM).

The excitement curve is the highlight score (0..1) over game time: each clip contributes a plateau
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
    label: str


@dataclass(frozen=True)
class Marker:
    """A clip marker in viewBox units."""

    clip_id: int
    x: float
    width: float
    y: float
    label: str
    score: float
    start_s: float


@dataclass(frozen=True)
class Timeline:
    """The curve as an SVG path (``d``) closed to the baseline, and one marker per clip."""

    path: str
    markers: list[Marker]
    duration_s: float


def timeline(duration_ms: int, spans: Sequence[Span]) -> Timeline:
    """Build the excitement curve and clip markers of one game.

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
        Marker(s.clip_id, x(s.start_ms), max(x(s.end_ms) - x(s.start_ms), 2.0), y(s.score), s.label, s.score,
               s.start_ms / 1000)
        for s in spans
    ]  # fmt: skip
    return Timeline(path=path, markers=markers, duration_s=duration_ms / 1000)
