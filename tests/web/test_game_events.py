"""``GameEvents`` (what a game's events let search know) follows every way events are written: the triggers of
migration 0018 on real PostgreSQL.

Each expected row follows from the events the test wrote (their sources and types), not from the trigger's SQL.
"""

from __future__ import annotations

import pytest
from django.db import connection

from highlights.models import Event, Game, GameEvents

pytestmark = pytest.mark.django_db


@pytest.fixture
def games() -> tuple[Game, Game]:
    first = Game.objects.create(sport="baseball", source_path="/a.mp4", sha256="a" * 64)
    second = Game.objects.create(sport="basketball", source_path="/b.mp4", sha256="b" * 64)
    return first, second


def _summary() -> dict[int, tuple[bool, list[str]]]:
    return {row.game_id: (row.complete, row.types) for row in GameEvents.objects.all()}


def _event(game: Game, type_: str, source: str = Event.Source.GRAPHICS) -> Event:
    return Event(game=game, type=type_, points=1, source=source)


def test_created_events_give_their_games_types_and_completeness(games: tuple[Game, Game]) -> None:
    first, second = games
    assert _summary() == {}  # a game without events has no row
    _event(first, "home_run").save()
    assert _summary() == {first.pk: (False, ["HOME_RUN"])}
    Event.objects.bulk_create(
        [_event(first, "run"), _event(first, "Home_Run"), _event(second, "dunk", Event.Source.PLAY_BY_PLAY)]
    )
    assert _summary() == {first.pk: (False, ["HOME_RUN", "RUN"]), second.pk: (True, ["DUNK"])}
    Event.objects.create(game=first, type="strikeout", source=Event.Source.EDITOR)
    assert _summary()[first.pk] == (True, ["HOME_RUN", "RUN", "STRIKEOUT"])


def test_retyped_resourced_and_moved_events_refresh_both_games(games: tuple[Game, Game]) -> None:
    first, second = games
    home_run = Event.objects.create(game=first, type="home_run", source=Event.Source.GRAPHICS)
    Event.objects.create(game=first, type="run", source=Event.Source.PLAY_BY_PLAY)
    Event.objects.filter(type="run").update(type="single")  # a queryset update
    assert _summary() == {first.pk: (True, ["HOME_RUN", "SINGLE"])}
    Event.objects.filter(type="single").update(source=Event.Source.MODEL)
    assert _summary() == {first.pk: (False, ["HOME_RUN", "SINGLE"])}
    home_run.game = second
    home_run.save()  # moved: the old game loses the type, the new one gains it
    assert _summary() == {first.pk: (False, ["SINGLE"]), second.pk: (False, ["HOME_RUN"])}
    with connection.cursor() as cursor:  # raw SQL too
        cursor.execute("UPDATE highlights_event SET type = 'dunk' WHERE id = %s", [home_run.pk])
    assert _summary()[second.pk] == (False, ["DUNK"])


def test_deleted_events_and_games_leave_no_stale_rows(games: tuple[Game, Game]) -> None:
    first, second = games
    kept = Event.objects.create(game=first, type="run", source=Event.Source.GRAPHICS)
    Event.objects.create(game=first, type="home_run", source=Event.Source.PLAY_BY_PLAY)
    Event.objects.create(game=second, type="dunk", source=Event.Source.GRAPHICS)
    Event.objects.filter(type="home_run").delete()
    assert _summary() == {first.pk: (False, ["RUN"]), second.pk: (False, ["DUNK"])}
    kept.delete()
    assert _summary() == {second.pk: (False, ["DUNK"])}  # no events left: no row
    second.delete()  # the game's events and its row go with it
    assert _summary() == {} and not Event.objects.exists()
