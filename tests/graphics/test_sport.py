"""The sport from every cue: class probabilities summed per sport, and the score bug (pure logic)."""

from __future__ import annotations

import numpy as np

from indexer.stages.graphics import GameState, Side
from indexer.stages.sport import sport_class_sums, sport_from_classes, sport_from_graphics

CLASS_SPORTS = {
    "playing tennis": "tennis",
    "playing basketball": "basketball",
    "dribbling basketball": "basketball",
    "shooting basketball": "basketball",
    "celebrating": "other",
}
CATEGORIES = ("playing tennis", "playing basketball", "dribbling basketball", "shooting basketball", "celebrating", "x")


def _state(t_ms: int, *, clock: float | None = None, raw: str = "", **fields: object) -> GameState:
    return GameState(t_ms, (Side("A", 0), Side("B", 0)), None, None, clock, dict(fields), raw, 0.9)


def test_summed_classes_beat_the_single_top_class() -> None:
    # the practice video's figures: "playing tennis" 0.40 is the top class, basketball's three sum to 0.46
    probs = np.array([0.40, 0.19, 0.14, 0.13, 0.5, 0.0], dtype=np.float32)
    sums = sport_class_sums(probs, CATEGORIES, CLASS_SPORTS)
    assert set(sums) == {"tennis", "basketball"}  # "other" is no sport
    assert sums["basketball"] == np.float32(0.19) + np.float32(0.14) + np.float32(0.13)
    assert sport_from_classes(sums) == "basketball"
    assert sport_from_classes({}) is None
    assert sport_from_classes(sport_class_sums(np.zeros(6), CATEGORIES, CLASS_SPORTS)) is None
    # a non-sport video leaves a trace on sport classes (walking in a plaza: baseball 0.0016): not a sport
    assert sport_from_classes({"baseball": 0.0016, "soccer": 0.001}) is None


def test_graphics_cues() -> None:
    assert sport_from_graphics([]) is None
    assert sport_from_graphics([_state(0, balls=1, strikes=2)]) == "baseball"
    assert sport_from_graphics([_state(0, server=0)]) == "tennis"
    assert sport_from_graphics([_state(0, raw="LALIGA | RMA 0 SEV 0")]) == "soccer"
    assert sport_from_graphics([_state(0, raw="PREMIER LEAGUE")]) == "soccer"
    assert sport_from_graphics([_state(0, raw="LAD 0 | MIL 0")], team_sport="baseball") == "baseball"
    assert sport_from_graphics([_state(0, clock=600.0), _state(5000, clock=605.0)]) == "soccer"
    assert sport_from_graphics([_state(0, clock=605.0), _state(5000, clock=600.0)]) is None
    assert sport_from_graphics([_state(0, raw="REAL MADRID | SEVILLA FC")]) is None


def test_none_valued_fields_are_no_cue() -> None:
    assert sport_from_graphics([_state(0, balls=None, strikes=None)]) is None
