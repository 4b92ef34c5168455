"""The score strip and event markers of the game page (pure chart data)."""

from __future__ import annotations

import pytest

from highlights.charts import WIDTH, StateSpan, event_marks, score_line, score_segments


def test_score_line_leaves_out_what_was_not_read() -> None:
    assert score_line("LAD", 1, 0, "MIL", 1, "top") == "LAD 1–0 MIL · top 1"
    assert score_line("BOS", 2, 2, "NYK", 2, "", 673.4) == "BOS 2–2 NYK · P2 · 11:13"
    assert score_line("DJOKOVIC", None, None, "WAWRINKA") == "DJOKOVIC ?–? WAWRINKA"


def test_segments_last_until_the_next_state_and_markers_sit_at_their_time() -> None:
    segments = score_segments(10_000, [StateSpan(0, "a"), StateSpan(2_500, "b")])
    assert [(s.left, s.width, s.text, s.start_s) for s in segments] == [(0.0, 25.0, "a", 0.0), (25.0, 75.0, "b", 2.5)]
    marks = event_marks(10_000, [(5_000, "run 1–0", 1_000)])
    assert [(m.x, m.title, m.seek_s) for m in marks] == [(WIDTH / 2, "run 1–0", 1.0)]
    with pytest.raises(ValueError, match="positive duration"):
        score_segments(0, [])
