"""The score strip, play strip and event markers of the game page (pure chart data)."""

from __future__ import annotations

import pytest

from highlights.charts import WIDTH, PlaySpan, StateSpan, event_marks, play_bands, score_line, score_segments


def test_score_line_leaves_out_what_was_not_read() -> None:
    assert score_line("LAD", 1, 0, "MIL", 1, "top") == "LAD 1–0 MIL · top 1"
    assert score_line("BOS", 2, 2, "NYK", 2, "", 673.4) == "BOS 2–2 NYK · P2 · 11:13"
    assert score_line("DJOKOVIC", None, None, "WAWRINKA") == "DJOKOVIC ?–? WAWRINKA"


def test_segments_last_until_the_next_state_and_markers_sit_at_their_time() -> None:
    segments = score_segments(10_000, [StateSpan(0, "a"), StateSpan(2_500, "b")])
    assert [(s.left, s.width, s.text, s.start_s) for s in segments] == [(0.0, 25.0, "a", 0.0), (25.0, 75.0, "b", 2.5)]
    marks = event_marks(10_000, [(5_000, "run 1–0", 1_000)])
    assert [(m.x, m.title, m.seek_s) for m in marks] == [(WIDTH / 2, "run 1–0", 1.0)]
    assert score_segments(10_000, []) == []  # a game without a score bug
    with pytest.raises(ValueError, match="positive duration"):
        score_segments(0, [])


def test_play_bands_sit_at_their_span_and_split_into_their_shots() -> None:
    plays = [
        PlaySpan(0, 4_000, "play #0", [(0, 1_000, "live"), (1_000, 2_000, "transition"), (2_000, 4_000, "replay")]),
        PlaySpan(4_000, 12_000, "play #1", [(4_000, 12_500, "live")]),  # a shot past the end is clipped
    ]
    first, second = play_bands(10_000, plays)
    assert (first.left, first.width, first.title, first.start_s) == (0.0, 40.0, "play #0", 0.0)
    assert [(s.left, s.width, s.role, s.start_s) for s in first.shots] == [
        (0.0, 25.0, "live", 0.0),
        (25.0, 25.0, "transition", 1.0),
        (50.0, 50.0, "replay", 2.0),
    ]
    assert (second.left, second.width) == (40.0, 60.0)
    assert [(s.left, s.width) for s in second.shots] == [(0.0, 100.0)]
    with pytest.raises(ValueError, match="positive duration"):
        play_bands(0, plays)
