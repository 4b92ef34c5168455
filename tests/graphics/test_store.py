"""The graphics write side on real PostgreSQL with a written stage result (the OCR runs in test_pipeline_graphics).

Pure logic of linking, matching, idempotency and search: the stage's output is constructed here, the
rest (models, migrations with the seeded teams, selectors) is the real thing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from highlights import graphics, people, selectors
from highlights.models import Action, Appearance, Clip, Event, Game, GameState, Person, Team
from highlights.selectors import search_clips
from indexer.stages.clips import highlight_score
from indexer.stages.graphics import GameState as Reading
from indexer.stages.graphics import GraphicsResult, NameSighting, ScoringEvent, Side

pytestmark = pytest.mark.django_db


def _clip(game: Game, start_ms: int, end_ms: int, label: str, action: Action | None) -> Clip:
    return Clip.objects.create(
        game=game,
        start_ms=start_ms,
        end_ms=end_ms,
        model_class=label,
        action=action,
        confidence=0.8,
        highlight_score=highlight_score(0.8, 0.0, 0.0),
        model_version="m",
        pipeline_version="p",
        embedding=np.zeros(4, dtype=np.float32).tobytes(),
    )


def _state(t_ms: int, a: int, b: int, **fields: object) -> Reading:
    return Reading(t_ms, (Side("LAD", a), Side("MIL", b)), 1, "top", None, dict(fields), f"LAD {a} | MIL {b}", 0.93)


@pytest.fixture
def baseball() -> tuple[Game, list[Clip]]:
    game = Game.objects.create(source_path="/x.mp4", sha256="b" * 64, duration_s=60.0)
    hit = Action.objects.get(sport="baseball", name="hit")
    celebration = Action.objects.get(sport="other", name="celebration")
    clips = [
        _clip(game, 0, 10_000, "hitting baseball", hit),
        _clip(game, 10_000, 20_000, "hitting baseball", hit),  # the scoring play
        _clip(game, 20_000, 28_000, "celebrating", celebration),  # close-up shown while the bug changes
        _clip(game, 28_000, 40_000, "hitting baseball", hit),
    ]
    return game, clips


def _result(events: list[ScoringEvent]) -> GraphicsResult:
    return GraphicsResult(
        states=[_state(0, 0, 0, batter="S. AGUILAR", balls=1, strikes=2), _state(27_000, 1, 0, batter="S. AGUILAR")],
        events=events,
        names=[
            NameSighting("LAD", "side", "team", 0, 39_000, 0.95),
            NameSighting("MIL", "side", "team", 0, 39_000, 0.95),
            NameSighting("5.AGUILAR", "batter", "player", 5_000, 24_000, 0.9),
        ],
        bug_box=(10, 10, 230, 80),
        samples=78,
        seconds=3.5,
    )


RUN = ScoringEvent(27_000, 0, 1, (1, 0))


def test_states_teams_players_and_the_scoring_play(baseball: tuple[Game, list[Clip]]) -> None:
    game, clips = baseball
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    game.refresh_from_db()
    assert list(game.states.values_list("time_ms", "score_a", "score_b")) == [(0, 0, 0), (27_000, 1, 0)]
    assert game.states.first().fields == {"batter": "S. AGUILAR", "balls": 1, "strikes": 2}
    assert game.sport == "baseball"  # the count on the bug
    assert (game.away_team, game.home_team) == ("Los Angeles Dodgers", "Milwaukee Brewers")  # MLB: away on top
    assert game.graphics["teams"] == ["LAD", "MIL"]

    player = Person.objects.filter(appearances__game=game).distinct().get()
    assert player.name == "Aguilar"
    spans = list(Appearance.objects.filter(game=game).values_list("clip_id", "start_ms", "end_ms", "role"))
    assert spans == [
        (clips[0].pk, 5_000, 10_000, "batter"),
        (clips[1].pk, 10_000, 20_000, "batter"),
        (clips[2].pk, 20_000, 24_000, "batter"),
    ]

    event = Event.objects.get(game=game)
    assert (event.type, event.points, event.side, event.score_a, event.score_b) == ("run", 1, 0, 1, 0)
    assert event.team == Team.objects.get(league="mlb", code="LAD")
    assert event.clip_id == clips[1].pk  # the close-up before the bug changed is skipped
    assert event.source == Event.Source.GRAPHICS
    scores = dict(Clip.objects.filter(game=game).values_list("pk", "highlight_score"))
    assert scores[clips[1].pk] == pytest.approx(highlight_score(0.8, 0.0, 0.0) + graphics.SCORING_PLAY_BONUS)
    assert scores[clips[0].pk] == pytest.approx(highlight_score(0.8, 0.0, 0.0))
    assert graphics.graphics_summary(game) == {"teams": ["LAD", "MIL"], "players": ["Aguilar"], "states": 2}
    assert graphics.event_side(game, event) == "LAD"


def test_rerunning_replaces_its_own_rows_and_the_bonus(baseball: tuple[Game, list[Clip]]) -> None:
    game, clips = baseball
    editor_event = Event.objects.create(game=game, type="home_run", points=1, source=Event.Source.EDITOR)
    for _ in range(2):
        graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    assert GameState.objects.filter(game=game).count() == 2
    assert Event.objects.filter(game=game, source=Event.Source.GRAPHICS).count() == 1
    assert Appearance.objects.filter(game=game).count() == 3
    assert Person.objects.filter(name="Aguilar").count() == 1
    assert Event.objects.filter(pk=editor_event.pk).exists()

    graphics.store_graphics(game.pk, _result([]), sport_given=False, teams_given=False)
    assert not Event.objects.filter(game=game, source=Event.Source.GRAPHICS).exists()
    assert Clip.objects.get(pk=clips[1].pk).highlight_score == pytest.approx(highlight_score(0.8, 0.0, 0.0))


def test_the_users_sport_and_teams_are_kept(baseball: tuple[Game, list[Clip]]) -> None:
    game, _ = baseball
    Game.objects.filter(pk=game.pk).update(sport="soccer", home_team="Red Sox")
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=True, teams_given=True)
    game.refresh_from_db()
    assert (game.sport, game.home_team, game.away_team) == ("soccer", "Red Sox", "")
    assert Event.objects.get(game=game).type == "goal"
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=True, teams_given=False)  # a later job, no teams
    game.refresh_from_db()
    assert (game.home_team, game.away_team) == ("Red Sox", "")


def test_known_players_are_matched_and_merging_moves_appearances(baseball: tuple[Game, list[Clip]]) -> None:
    game, _ = baseball
    known = Person.objects.create(name="Sergio Aguilar")
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    assert set(Appearance.objects.filter(game=game).values_list("person_id", flat=True)) == {known.pk}

    other = Person.objects.create(name="Somebody New")
    Appearance.objects.filter(game=game).update(person=other)
    people.merge_people(known.pk, other.pk)
    assert set(Appearance.objects.filter(game=game).values_list("person_id", flat=True)) == {known.pk}


def _game_showing(sha: str, sighting: NameSighting) -> Game:
    """A game whose graphics showed one person (its stage result written here)."""
    game = Game.objects.create(source_path=f"/{sha}.mp4", sha256=sha * 64, duration_s=10.0)
    result = GraphicsResult(states=[], events=[], names=[sighting], bug_box=None, samples=20, seconds=1.0)
    graphics.store_graphics(game.pk, result, sport_given=True, teams_given=True)
    return game


def _people_in(game: Game) -> set[int]:
    return set(Appearance.objects.filter(game=game).values_list("person_id", flat=True))


def test_a_batter_read_in_several_games_of_his_team_is_one_player() -> None:
    unnamed = Person.objects.create(name="")  # a face cluster nobody named: never matched by name
    batter = NameSighting("AGUILAR", "batter", "player", 0, 5_000, 0.9, "MIL")
    first = _game_showing("c", batter)
    aguilar = Person.objects.get(name="Aguilar")
    assert aguilar.team == "MIL" and _people_in(first) == {aguilar.pk}
    assert _people_in(_game_showing("d", dataclasses.replace(batter, name="S. AGUILAR"))) == {aguilar.pk}
    assert _people_in(_game_showing("e", dataclasses.replace(batter, name="5.AGUILAR", team=""))) == {aguilar.pk}

    yankee = _game_showing("f", dataclasses.replace(batter, team="NYY"))  # another team's Aguilar: another person
    assert _people_in(yankee) != {aguilar.pk}
    assert Person.objects.get(pk=_people_in(yankee).pop()).team == "NYY"
    assert _people_in(_game_showing("g", batter)) == {aguilar.pk}  # two Aguilars now: the team decides
    assert Person.objects.filter(name="Aguilar").count() == 2
    assert not Appearance.objects.filter(person=unnamed).exists()


def test_search_finds_graphics_players_teams_and_scoring_plays(
    baseball: tuple[Game, list[Clip]], django_assert_max_num_queries: object
) -> None:
    game, clips = baseball
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    ids = [c.pk for c in clips]
    assert {h.clip_id for h in search_clips("Aguilar")} == set(ids[:3])
    assert {h.clip_id for h in search_clips("player:aguilar")} == set(ids[:3])
    assert {h.clip_id for h in search_clips("LAD")} == set(ids)
    assert {h.clip_id for h in search_clips("dodgers")} == set(ids)
    assert [h.clip_id for h in search_clips("runs")] == [ids[1]]
    assert [h.clip_id for h in search_clips("scoring plays")] == [ids[1]]
    assert [h.clip_id for h in search_clips("Dodgers runs")] == [ids[1]]
    assert search_clips("goals") == []
    with django_assert_max_num_queries(16):  # type: ignore[operator]  # six small-table look-ups per word, one for clips
        search_clips("LAD Aguilar scoring plays")


def test_cards_and_pages_show_the_score_players_and_scoring_events(
    baseball: tuple[Game, list[Clip]], client: object
) -> None:
    game, _ = baseball
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    first, play, _, after = selectors.attach_graphics(Clip.objects.filter(game=game).order_by("start_ms"))
    assert first.game_state["score_a"] == 0 and after.game_state["score_a"] == 1  # type: ignore[attr-defined]
    assert [p.name for p in play.graphics_players] == ["Aguilar"]  # type: ignore[attr-defined]
    assert after.graphics_players == []  # type: ignore[attr-defined]

    page = client.get(f"/games/{game.pk}/").content.decode()  # type: ignore[attr-defined]
    assert 'id="scoreline"' in page
    assert "LAD 0–0 MIL · top 1" in page and "LAD 1–0 MIL · top 1" in page
    assert 'class="event"' in page and 'data-seek="10.0"' in page  # the marker seeks to the scoring play
    assert "Aguilar" in page
    clip_page = client.get(f"/clips/{play.pk}/").content.decode()  # type: ignore[attr-defined]
    assert "Scoring play: <b>run</b>" in clip_page
    assert "LAD 0–0 MIL · top 1" in clip_page
    assert ">Aguilar</a>" in clip_page
    states = client.get(f"/api/games/{game.pk}/states/").json()  # type: ignore[attr-defined]
    assert [(s["time_ms"], s["score_a"], s["score_b"], s["side_a"]) for s in states] == [
        (0, 0, 0, "LAD"),
        (27_000, 1, 0, "LAD"),
    ]
    assert client.get("/api/games/999999/states/").status_code == 404  # type: ignore[attr-defined]


def test_players_api_counts_clips_by_face_or_graphics(baseball: tuple[Game, list[Clip]], client: object) -> None:
    game, _ = baseball
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    players = client.get("/api/people/").json()  # type: ignore[attr-defined]
    rows = players["results"] if isinstance(players, dict) else players
    assert [(p["name"], p["clips"]) for p in rows] == [("Aguilar", 3)]


def test_laliga_codes_name_the_teams_and_the_sport(baseball: tuple[Game, list[Clip]]) -> None:
    game, _ = baseball
    Game.objects.filter(pk=game.pk).update(sport="other")
    sides = (Side("RMA", 0), Side("SEV", 0))
    result = GraphicsResult(
        states=[Reading(0, sides, None, None, None, {}, "RMA 0 0 SEV", 0.9)],
        events=[],
        names=[NameSighting("RMA", "side", "team", 0, 9_000, 0.9), NameSighting("SEV", "side", "team", 0, 9_000, 0.9)],
        bug_box=None,
        samples=10,
        seconds=1.0,
    )
    graphics.store_graphics(game.pk, result, sport_given=False, teams_given=False)
    game.refresh_from_db()
    assert (game.sport, game.home_team, game.away_team) == ("soccer", "Real Madrid", "Sevilla FC")  # home first


@pytest.mark.parametrize("model", ["gamestate", "team", "event", "appearance"])
def test_admin_lists_the_graphics_rows(baseball: tuple[Game, list[Clip]], admin_client: object, model: str) -> None:
    game, _ = baseball
    graphics.store_graphics(game.pk, _result([RUN]), sport_given=False, teams_given=False)
    page = admin_client.get(f"/admin/highlights/{model}/?q=LAD" if model == "team" else f"/admin/highlights/{model}/")  # type: ignore[attr-defined]
    assert page.status_code == 200
    expected = {"gamestate": "LAD", "team": "Los Angeles Dodgers", "event": "run", "appearance": "Aguilar"}
    assert expected[model] in page.content.decode()
