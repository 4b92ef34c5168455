"""Names read on score bugs matched to known people and teams (pure logic: written strings, no OCR)."""

from __future__ import annotations

import pytest

from search.names import (
    TeamName,
    best_match,
    parse_name,
    player_display_name,
    resolve_teams,
    team_candidates,
    team_display_name,
)

PEOPLE = [(1, "Novak Djokovic"), (2, "Stan Wawrinka"), (3, "Jose Aguilar"), (4, "Rafael Nadal")]
TEAMS = [
    TeamName(10, "mlb", "LAD", "Los Angeles Dodgers"),
    TeamName(11, "mlb", "MIL", "Milwaukee Brewers"),
    TeamName(20, "nba", "MIL", "Milwaukee Bucks"),
    TeamName(21, "nba", "LAL", "Los Angeles Lakers"),
    TeamName(12, "mlb", "CWS", "Chicago White Sox", ("CHW",)),
]


def test_initials_and_words_are_split_and_folded() -> None:
    assert parse_name("S. AGUILAR") == parse_name("s aguilar")
    assert parse_name("S. AGUILAR").initials == ("s",)
    assert parse_name("ÑÚÑEZ").words == ("nunez",)


@pytest.mark.parametrize(
    ("read", "shown"),
    [("S. AGUILAR", "S. Aguilar"), ("5.AGUILAR", "Aguilar"), ("DJOKOVIC", "Djokovic"), ("  ", "")],
)
def test_display_names_of_people(read: str, shown: str) -> None:
    assert player_display_name(read) == shown


def test_display_names_of_teams_keep_codes_and_short_words_upper() -> None:
    assert [team_display_name(t) for t in ("REAL MADRID", "SEVILLA FC", "LAD")] == ["Real Madrid", "Sevilla FC", "LAD"]


@pytest.mark.parametrize(
    ("read", "key"),
    [
        ("DJOKOVIC", 1),
        ("WAWRINKA", 2),
        ("N. DJOKOVIC", 1),
        ("DJOKOVlC", 1),  # OCR's l for I
        ("5.AGUILAR", 3),  # a digit initial is OCR noise
        ("J. AGUILAR", 3),
        ("S. AGUILAR", None),  # the initial disagrees with Jose
        ("FEDERER", None),
    ],
)
def test_people_match_by_surname_and_initial(read: str, key: int | None) -> None:
    assert best_match(read, PEOPLE) == key


def test_an_ambiguous_surname_matches_nobody() -> None:
    assert best_match("AGUILAR", [(3, "Jose Aguilar"), (5, "Jesus Aguilar")]) is None
    assert best_match("J. AGUILAR", [(3, "Jose Aguilar"), (5, "Ryan Aguilar")]) == 3


def test_team_codes_match_exactly_and_names_fuzzily() -> None:
    assert [t.key for t in team_candidates("LAD", TEAMS)] == [10]
    assert [t.key for t in team_candidates("CHW", TEAMS)] == [12]
    assert {t.key for t in team_candidates("MIL", TEAMS)} == {11, 20}
    assert [t.key for t in team_candidates("DODGERS", TEAMS)] == [10]
    assert team_candidates("LA", TEAMS) == []
    assert team_candidates("REAL MADRID", TEAMS) == []


def test_sides_resolve_to_the_league_they_share() -> None:
    lad, mil = resolve_teams(["LAD", "MIL"], TEAMS)
    assert (lad.key if lad else None, mil.key if mil else None) == (10, 11)
    lal, bucks = resolve_teams(["LAL", "MIL"], TEAMS)
    assert (lal.key if lal else None, bucks.key if bucks else None) == (21, 20)
    assert resolve_teams(["REAL MADRID", "SEVILLA FC"], TEAMS) == [None, None]
