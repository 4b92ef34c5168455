"""Event words in the search grammar (pure parsing): goals, runs, scoring plays, event:TYPE."""

from __future__ import annotations

from search.query import SCORING, parse_query


def test_event_phrases_become_an_event_filter() -> None:
    q = parse_query("Real Madrid goals")
    assert (q.words, q.event, q.action) == (("real", "madrid"), "goal", None)
    assert parse_query("scoring plays").event == SCORING
    assert parse_query("LAD runs").event == "run"
    assert parse_query("event:three_pointer").event == "three_pointer"


def test_longer_action_phrases_still_win() -> None:
    q = parse_query("Ortiz home runs last 10")
    assert (q.words, q.action, q.event, q.limit) == (("ortiz",), "hit", "home_run", 10)  # both: the search decides
