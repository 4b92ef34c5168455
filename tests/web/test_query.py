"""The query grammar (``search.query.parse_query``): a pure function, no database."""

from __future__ import annotations

from datetime import date

import pytest

from search.query import (
    EVENT_PHRASES,
    MAX_LIMIT,
    NUMBER_WORDS,
    SCORING,
    Order,
    ParsedQuery,
    QueryError,
    number_word,
    parse_query,
    singular,
)


def test_player_action_and_last_n() -> None:
    q = parse_query("Ortiz home runs last 10")
    assert q == ParsedQuery(words=("ortiz",), action="hit", event="home_run", limit=10, order=Order.RECENT)


def test_jersey_plural_action_and_year() -> None:
    q = parse_query("dunks by #23 2026")
    assert (q.action, q.jersey, q.words) == ("dunk", 23, ())
    assert (q.date_from, q.date_to) == (date(2026, 1, 1), date(2026, 12, 31))


def test_a_sport_word_becomes_the_sport_filter() -> None:
    assert parse_query("tennis") == ParsedQuery(sport="tennis")
    assert parse_query("NBA dunks").sport == "basketball"


def test_words_that_match_nothing_structured_stay_free_text_in_order_without_stop_words() -> None:
    assert parse_query("the Red Sox hitting of red").words == ("red", "sox", "hitting")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('team:"red sox"', {"team": "red sox"}),
        ("player:ortiz", {"player": "ortiz"}),
        ("player:#7", {"jersey": 7}),
        ("ortiz's homers", {"player": "ortiz", "action": "hit"}),
        ("by Ortiz", {"player": "ortiz"}),
        ("label:dunk", {"action": "dunk"}),
        ("game:12", {"game_id": 12}),
        ("score>=0.7", {"min_score": 0.7}),
        ("score:0.25", {"min_score": 0.25}),
        ("top 5", {"limit": 5, "order": Order.SCORE}),
        ("best 3", {"limit": 3, "order": Order.SCORE}),
        ("after:2026-03", {"date_from": date(2026, 3, 1)}),
        ("before:2026-02", {"date_to": date(2026, 2, 28)}),
        ("after:2024-02-29", {"date_from": date(2024, 2, 29)}),
        ("sport:mlb", {"sport": "baseball"}),
    ],
)
def test_structured_tokens(text: str, expected: dict[str, object]) -> None:
    q = parse_query(text)
    assert {k: getattr(q, k) for k in expected} == expected
    assert q.words == ()


def test_quoted_phrase_is_one_word_and_case_is_folded() -> None:
    assert parse_query('"Center Court" Final').words == ("center court", "final")


def test_limit_is_capped_and_numbers_alone_are_words() -> None:
    assert parse_query("last 100000").limit == MAX_LIMIT
    assert parse_query("top").words == ("top",)
    assert parse_query("23").words == ("23",)


def test_empty_query() -> None:
    assert parse_query("  ") == ParsedQuery()


@pytest.mark.parametrize("text", ["score:2", "score:abc", "after:2026-13", "before:20x6", "game:abc"])
def test_unusable_values_raise_query_error(text: str) -> None:
    with pytest.raises(QueryError):
        parse_query(text)


def test_form_filters_override_the_text() -> None:
    q = parse_query("tennis top 3").merged(sport="baseball", team="", min_score=None)
    assert (q.sport, q.team, q.min_score, q.limit) == ("baseball", None, None, 3)


def test_singular() -> None:
    assert [singular(w) for w in ("runs", "dunks", "class", "bus")] == ["run", "dunk", "class", "bus"]


def test_possessive_spelled_out_count_and_event() -> None:
    q = parse_query("Ortiz's last ten home runs")
    assert q == ParsedQuery(player="ortiz", action="hit", event="home_run", limit=10, order=Order.RECENT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Curry threes 2026", {"words": ("curry",), "event": "three_pointer", "date_from": date(2026, 1, 1)}),
        ("Djokovic aces", {"words": ("djokovic",), "event": "ace", "action": None}),
        ("Real Madrid goals", {"words": ("real", "madrid"), "event": "goal", "action": None}),
        ("Messi's penalties", {"player": "messi", "event": "penalty"}),
        ("top five dunks", {"limit": 5, "order": Order.SCORE, "event": "dunk", "action": "dunk"}),
        ("best twenty free throws", {"limit": 20, "event": "free_throw", "words": ()}),
        ("shots on target", {"event": "shot_on_target", "action": None, "words": ()}),
        ("shots", {"event": None, "action": "shot"}),  # a basketball shot is not a soccer shot event
        ("red cards", {"event": "red_card", "words": ()}),
        ("double faults by Djokovic", {"event": "double_fault", "player": "djokovic"}),
        ("Judge's 3-pointers", {"player": "judge", "event": "three_pointer"}),
        ("Red Sox hitting", {"event": None, "words": ("red", "sox", "hitting")}),
    ],
)
def test_event_phrases(text: str, expected: dict[str, object]) -> None:
    q = parse_query(text)
    assert {k: getattr(q, k) for k in expected} == expected


def test_number_words_up_to_twenty_only() -> None:
    assert [number_word(w) for w in ("zero", "one", "Ten", "twenty", "12")] == [0, 1, 10, 20, 12]
    assert number_word("twentyone") is None
    assert len(NUMBER_WORDS) == 21
    assert parse_query("last one").limit == 1
    assert parse_query("last zero").limit == 1  # a limit is at least 1, as for "last 0"
    assert parse_query("last twenty-one").words == ("last", "twenty-one")  # beyond twenty: free words


def test_event_phrases_name_event_type_slugs() -> None:
    from indexer.stages.playbyplay import EVENT_TYPES

    graphics_only = {"run", "touchdown", "field_goal", SCORING}  # score-bug event types (highlights.graphics)
    assert set(EVENT_PHRASES.values()) <= EVENT_TYPES.keys() | graphics_only


@pytest.mark.parametrize(
    ("text", "event"),
    [('player:ortiz event:"home run" last 10', "home_run"), ("event:home_run", "home_run"),
     ('event:"free throws"', "free_throw"), ('event:"double play"', "double_play"), ("event:goal", "goal")],
)  # fmt: skip
def test_event_field_takes_a_phrase_or_a_slug(text: str, event: str) -> None:
    assert parse_query(text).event == event
