"""Pure helpers of the pages: the game timeline chart and HTTP byte ranges."""

from __future__ import annotations

import pytest

from highlights.charts import HEIGHT, WIDTH, Span, timeline
from highlights.http import parse_range


def test_timeline_plateaus_at_clip_scores_and_markers_at_clip_times() -> None:
    chart = timeline(10_000, [Span(2, 5_000, 10_000, 0.5, "hit"), Span(1, 0, 2_500, 1.0, "rally")])
    assert chart.duration_s == 10.0
    assert chart.path.startswith(f"M0.0,{HEIGHT}") and chart.path.endswith(f"L{WIDTH},{HEIGHT} Z")
    assert "L0.0,4.0 L250.0,4.0" in chart.path  # score 1.0 reaches the top (4 units of margin)
    assert "L500.0,62.0 L1000.0,62.0" in chart.path  # score 0.5 halfway
    by_clip = {m.clip_id: m for m in chart.markers}
    assert (by_clip[1].x, by_clip[1].width, by_clip[1].start_s) == (0.0, 250.0, 0.0)
    assert (by_clip[2].x, by_clip[2].start_s) == (500.0, 5.0)


def test_overlapping_clips_do_not_draw_backwards() -> None:
    chart = timeline(4_000, [Span(1, 0, 2_000, 0.9, "a"), Span(2, 1_000, 3_000, 0.3, "b")])
    xs = [float(p.split(",")[0]) for p in chart.path[1:-2].split(" L")]
    assert xs == sorted(xs)


def test_timeline_needs_a_duration() -> None:
    with pytest.raises(ValueError, match="positive"):
        timeline(0, [])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-200", (800, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=-5000", (0, 999)),
        ("", None),
        ("bytes=0-1,5-9", None),
        ("items=0-9", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-2", "bytes=-0"])
def test_unsatisfiable_ranges_raise(header: str) -> None:
    with pytest.raises(ValueError, match="range"):
        parse_range(header, 1000)
