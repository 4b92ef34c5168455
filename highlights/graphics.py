"""Write side of the broadcast graphics: one game's state timeline, scoring events, players and teams.

:func:`store_graphics` turns a :class:`~indexer.stages.graphics.GraphicsResult` into rows, replacing
the rows the graphics wrote before for that game (a re-run never duplicates):

- a ``GameState`` per change of state;
- players: each person named on the bug is matched to a named ``Person`` (``search.names``:
  "S. AGUILAR" is "Aguilar", "DJOKOVIC" is "Novak Djokovic"; a batter or pitcher only to a player of
  the team the bug shows him batting or pitching for, or of no team: :func:`_person_for`) or becomes a
  new person, with that team, that editors rename and merge with the people tools; an
  ``Appearance`` (source ``graphics``) per clip their span on screen overlaps;
- teams: codes and names map to ``Team`` rows; when the user gave no teams they fill the game's home
  and away teams (North American leagues print the away team first, other bugs the home team first);
- the sport, when the user gave none and the graphics show it (``indexer.stages.sport``);
- an ``Event`` (source ``graphics``) per scoring event, linked to its play (:func:`scoring_play`),
  whose highlight score rises by :data:`SCORING_PLAY_BONUS`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

from highlights.locks import LockKey, advisory_lock
from highlights.models import Appearance, Clip, Event, Game, GameState, League, Person, Sport, Team
from indexer.stages import graphics as stage
from indexer.stages.clips import highlight_score
from indexer.stages.sport import sport_from_graphics
from search.names import TeamName, best_match, player_display_name, resolve_teams, team_display_name

SCORING_PLAY_BONUS = 0.2
"""Added to the highlight score (then capped at 1) of a clip that is the play of a scoring event."""

SCORING_PLAY_LOOKBACK_MS = 30_000
"""How far before the bug changed the scoring play may lie: broadcasts show close-ups and replays first."""

AWAY_FIRST_LEAGUES = frozenset({League.MLB, League.NBA, League.NHL, League.NFL})

# Event type by sport and points; a sport's ``None`` entry is its type for any other rise.
EVENT_TYPES: dict[str, dict[int | None, str]] = {
    Sport.SOCCER: {None: "goal"},
    Sport.HOCKEY: {None: "goal"},
    Sport.BASEBALL: {None: "run"},
    Sport.BASKETBALL: {1: "free_throw", 2: "two_pointer", 3: "three_pointer", None: "points"},
    Sport.FOOTBALL: {6: "touchdown", 7: "touchdown", 8: "touchdown", 3: "field_goal", 1: "extra_point", None: "score"},
    Sport.TENNIS: {None: "game"},
}


def event_type(sport: str, points: int) -> str:
    """The event slug of a rise of ``points`` in ``sport`` (``"score"`` for a sport without a table)."""
    table = EVENT_TYPES.get(sport, {})
    return table.get(points) or table.get(None) or "score"


def is_live_action(clip: Clip, sport: str) -> bool:
    """Whether a clip shows play: its action belongs to the game's sport (any real sport when that is unknown)."""
    if clip.action is None:
        return False
    return clip.action.sport == sport if sport != Sport.OTHER else clip.action.sport != Sport.OTHER


def scoring_play(clips: Sequence[Clip], time_ms: int, sport: str) -> Clip | None:
    """The clip of the play that caused a score change first shown at ``time_ms``.

    The latest live-action clip (:func:`is_live_action`) that starts before the change and ends at most
    :data:`SCORING_PLAY_LOOKBACK_MS` before it: close-ups, crowd shots and other non-action clips that
    broadcasts show between the play and the bug's update are skipped. Without a live-action clip in
    that window, the clip shown when the score changed (or the last one before it). Replays labelled
    as play are not yet told apart from the live play.

    Args:
        clips: the game's clips, ordered by start.
        time_ms: video time the new score first appeared, ms.
        sport: the game's sport.
    """
    before = [c for c in clips if c.start_ms <= time_ms and c.end_ms >= time_ms - SCORING_PLAY_LOOKBACK_MS]
    live = [c for c in before if is_live_action(c, sport)]
    if live:
        return live[-1]
    return before[-1] if before else None


def _known_teams() -> list[TeamName]:
    return [
        TeamName(t.pk, t.league, t.code, t.name, tuple(t.aliases))
        for t in Team.objects.only("pk", "league", "code", "name", "aliases")
    ]


def _person_for(
    sighting: stage.NameSighting,
    named: list[tuple[int, str, str]],
    made: dict[tuple[str, str], Person],
    team_names: dict[str, set[str]],
) -> Person | None:
    """The Person a person's name on the bug means: a known named person, else a new one (once per name and team).

    ``named`` holds ``(pk, name, team)`` of the named people (unnamed people, such as face clusters, are never
    matched by name). With the team read beside the name (:attr:`~indexer.stages.graphics.NameSighting.team`),
    players of that team (its code, or a name ``team_names`` gives the code; upper case) are tried first, then
    players of no team; players of another team never match, so two "Smith"s of two teams stay two people.
    Without it, players of no team are tried first, then all. A new person keeps the team, so the next game of
    that team finds it (one "Aguilar" however many games show him).
    """
    display = player_display_name(sighting.name)
    if not display:
        return None
    team = sighting.team.upper()
    same = [(pk, name) for pk, name, their in named if their and their.upper() in team_names.get(team, {team})]
    teamless = [(pk, name) for pk, name, their in named if not their]
    tiers = [same, teamless] if team else [teamless, [(pk, name) for pk, name, _ in named]]
    for candidates in tiers:
        key = best_match(sighting.name, candidates)
        if key is not None:
            return Person.objects.get(pk=key)
    if (display, team) not in made:
        made[display, team] = Person.objects.create(name=display, team=sighting.team)
        named.append((made[display, team].pk, display, sighting.team))
    return made[display, team]


def _appearances(game: Game, clips: Sequence[Clip], person: Person, sighting: stage.NameSighting) -> list[Appearance]:
    """One appearance per clip the sighting's span overlaps (span cut to the clip), or one without a clip."""
    rows = [
        Appearance(
            person=person,
            game=game,
            clip=clip,
            source=Appearance.Source.GRAPHICS,
            role=sighting.role,
            start_ms=max(sighting.start_ms, clip.start_ms),
            end_ms=min(sighting.end_ms, clip.end_ms),
            confidence=sighting.confidence,
        )
        for clip in clips
        if clip.start_ms <= sighting.end_ms and clip.end_ms >= sighting.start_ms
    ]
    return rows or [
        Appearance(
            person=person,
            game=game,
            source=Appearance.Source.GRAPHICS,
            role=sighting.role,
            start_ms=sighting.start_ms,
            end_ms=sighting.end_ms,
            confidence=sighting.confidence,
        )
    ]


def _state_at(result: stage.GraphicsResult, time_ms: int) -> stage.GameState | None:
    return next((s for s in reversed(result.states) if s.time_ms <= time_ms), None)


def store_graphics(game_id: int, result: stage.GraphicsResult, *, sport_given: bool, teams_given: bool) -> None:
    """Replace a game's graphics rows with those of ``result`` (one transaction, game row locked).

    Args:
        game_id: the Game's primary key.
        result: what the graphics stage read.
        sport_given: the user chose the sport (the graphics do not change it).
        teams_given: the user named home or away team (the graphics do not change them). Teams the user
            gave an earlier job are kept too: the graphics fill only blank teams, or teams they filled before.
    """
    with advisory_lock(LockKey.PEOPLE):  # the people writers' lock: people are created and linked
        game = Game.objects.select_for_update().get(pk=game_id)
        GameState.objects.filter(game=game).delete()
        Event.objects.filter(game=game, source=Event.Source.GRAPHICS).delete()
        Appearance.objects.filter(game=game, source=Appearance.Source.GRAPHICS).delete()
        clips = list(Clip.objects.filter(game=game).select_related("action").order_by("start_ms"))
        GameState.objects.bulk_create(
            _state_row(game, state) for state in {s.time_ms: s for s in result.states}.values()
        )
        _link_people(game, clips, result.names)

        sides = _side_names(result)
        team_sides = {n.name for n in result.names if n.kind == "team" and n.role == "side"}
        are_teams = len(sides) == 2 and set(sides) <= team_sides
        teams = [
            Team.objects.get(pk=t.key) if t is not None else None
            for t in (resolve_teams(sides, _known_teams()) if are_teams else [None, None])
        ]
        leagues = {t.league for t in teams if t is not None}
        team_sport = next(t.sport for t in teams if t is not None) if len(leagues) == 1 else None
        if not sport_given:
            game.sport = sport_from_graphics(result.states, team_sport) or game.sport
        fill = (
            are_teams
            and not teams_given
            and (game.graphics.get("filled_teams", False) or not (game.home_team or game.away_team))
        )
        if fill:
            names = [t.name if t is not None else team_display_name(side) for side, t in zip(sides, teams, strict=True)]
            away_first = len(leagues) == 1 and leagues <= AWAY_FIRST_LEAGUES
            game.away_team, game.home_team = names if away_first else names[::-1]
        game.graphics = {
            "filled_teams": fill,
            "sides": sides,
            "teams": [team_display_name(side) for side in sides] if are_teams else [],
            "bug_box": list(result.bug_box) if result.bug_box else None,
            "samples": result.samples,
            "seconds": round(result.seconds, 3),
        }
        game.save(update_fields=["sport", "home_team", "away_team", "graphics", "updated_at"])
        Event.objects.bulk_create(_event_row(game, clips, result, e, sides, teams) for e in result.events)
        rescore_clips(game)


def _state_row(game: Game, state: stage.GameState) -> GameState:
    return GameState(
        game=game,
        time_ms=state.time_ms,
        side_a=state.sides[0].name,
        side_b=state.sides[1].name,
        score_a=state.sides[0].score,
        score_b=state.sides[1].score,
        period=state.period,
        half=state.half or "",
        clock_s=state.clock_s,
        fields=state.fields,
        raw_text=state.raw_text,
        confidence=state.confidence,
    )


def _link_people(game: Game, clips: Sequence[Clip], names: Sequence[stage.NameSighting]) -> None:
    """A Person for every person named on the bug (known or new), appearing in the clips of their span."""
    named = list(Person.objects.exclude(name="").values_list("pk", "name", "team"))
    made: dict[tuple[str, str], Person] = {}
    team_names: dict[str, set[str]] = {}
    for team in _known_teams():
        team_names.setdefault(team.code.upper(), {team.code.upper()}).add(team.name.upper())
    for sighting in (n for n in names if n.kind == "player"):
        person = _person_for(sighting, named, made, team_names)
        if person is not None:
            Appearance.objects.bulk_create(_appearances(game, clips, person, sighting))


def _side_names(result: stage.GraphicsResult) -> list[str]:
    """The two sides' names as read most often on the timeline (empty without states)."""
    if not result.states:
        return []
    return [Counter(state.sides[index].name for state in result.states).most_common(1)[0][0] for index in (0, 1)]


def _event_row(
    game: Game,
    clips: Sequence[Clip],
    result: stage.GraphicsResult,
    scoring: stage.ScoringEvent,
    sides: Sequence[str],
    teams: Sequence[Team | None],
) -> Event:
    state = _state_at(result, scoring.time_ms)
    side = sides[scoring.side] if scoring.side < len(sides) else f"side {scoring.side}"
    return Event(
        game=game,
        clip=scoring_play(clips, scoring.time_ms, game.sport),
        type=event_type(game.sport, scoring.points),
        points=scoring.points,
        side=scoring.side,
        team=teams[scoring.side] if scoring.side < len(teams) else None,
        period=state.period if state else None,
        clock_s=state.clock_s if state else None,
        time_ms=scoring.time_ms,
        score_a=scoring.score[0],
        score_b=scoring.score[1],
        source=Event.Source.GRAPHICS,
        description=f"{side} +{scoring.points}: {scoring.score[0]}-{scoring.score[1]}",
        raw=dataclasses.asdict(scoring),
        confidence=state.confidence if state else None,
    )


def rescore_clips(game: Game) -> int:
    """Set each clip's highlight score from its components, plus :data:`SCORING_PLAY_BONUS` for a scoring play.

    A clip is a scoring play when an event of any source with points links to it. Returns the number of clips changed.
    """
    scoring = set(Event.objects.filter(game=game, points__gt=0, clip__isnull=False).values_list("clip_id", flat=True))
    changed = []
    for clip in Clip.objects.filter(game=game).only("pk", "confidence", "audio_energy", "motion", "highlight_score"):
        score = highlight_score(clip.confidence, clip.audio_energy, clip.motion)
        score = min(score + SCORING_PLAY_BONUS, 1.0) if clip.pk in scoring else score
        if abs(score - clip.highlight_score) > 1e-9:
            clip.highlight_score = score
            changed.append(clip)
    Clip.objects.bulk_update(changed, ["highlight_score"])
    return len(changed)


def graphics_summary(game: Game) -> dict[str, object]:
    """What the graphics showed of a game: ``{"teams": [str], "players": [str], "states": int}``.

    ``teams`` are the sides read as teams (codes or names, as displayed); ``players`` the names of the
    players linked from the graphics (as editors may since have renamed them), in order of first appearance.
    """
    players = (
        Appearance.objects.filter(game=game, source=Appearance.Source.GRAPHICS)
        .order_by("start_ms", "pk")
        .values_list("person__name", flat=True)
    )
    return {
        "teams": list(game.graphics.get("teams", [])),
        "players": list(dict.fromkeys(name for name in players if name)),
        "states": GameState.objects.filter(game=game).count(),
    }


def event_side(game: Game, event: Event) -> str:
    """The name of an event's side: as read on the bug, else its team's code; empty when unknown."""
    sides = game.graphics.get("sides") or []
    if event.side is not None and event.side < len(sides):
        return str(sides[event.side])
    return event.team.code if event.team else ""
