"""Template filters for what the broadcast graphics showed."""

from __future__ import annotations

from django import template

from highlights.charts import score_line

register = template.Library()


@register.filter
def state_line(state: dict[str, object] | None) -> str:
    """A game-state dict of ``selectors.attach_graphics`` as one line (``"LAD 1–0 MIL · top 1"``); "" without one."""
    if not state:
        return ""
    return score_line(
        str(state["side_a"]),
        state["score_a"],  # type: ignore[arg-type]
        state["score_b"],  # type: ignore[arg-type]
        str(state["side_b"]),
        state["period"],  # type: ignore[arg-type]
        str(state["half"] or ""),
        state["clock_s"],  # type: ignore[arg-type]
    )
