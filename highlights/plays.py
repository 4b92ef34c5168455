"""Write side of plays and play-by-play: a game's plays with their shots, and imported feed events.

- :func:`store_plays` replaces a game's ``Play`` rows with the plays ``indexer.stages.plays`` grouped
  (a re-run never duplicates) and links every event with a video time to the play holding it.
- :func:`import_play_by_play` parses a feed (``indexer.stages.playbyplay``), aligns it with the game's
  score-bug timeline (``indexer.stages.alignment``) and replaces the game's ``play_by_play`` events: each
  event with a video time links to the clip and play holding it; an unaligned one links to none. Feed
  player names are matched to ``Person`` rows with the graphics' matcher (``search.names.best_match``); a
  name no person has yet becomes a new person (the feed named them; editors merge with the people tools).
- :func:`play_people`: the people of a play, linked by the graphics or by face in any of its clips.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Q, QuerySet

from highlights.graphics import rescore_clips
from highlights.models import Clip, Event, Game, GameState, Person, Play, PlayShot, Shot, Team
from highlights.people import people_lock
from indexer.stages import graphics as graphics_stage
from indexer.stages import plays as plays_stage
from indexer.stages.alignment import align_events
from indexer.stages.playbyplay import PlayByPlay, PlayEvent, bug_sides, parse_play_by_play
from search.names import best_match


def timeline(game: Game) -> list[graphics_stage.GameState]:
    """The game's stored score-bug states as the graphics stage's ``GameState`` (time-ordered)."""
    return [
        graphics_stage.GameState(
            time_ms=s.time_ms,
            sides=(graphics_stage.Side(s.side_a, s.score_a), graphics_stage.Side(s.side_b, s.score_b)),
            period=s.period,
            half=s.half or None,
            clock_s=s.clock_s,
            fields=dict(s.fields),
            raw_text=s.raw_text,
            confidence=s.confidence,
        )
        for s in GameState.objects.filter(game=game).order_by("time_ms")
    ]


def _holding(spans: Sequence[Clip] | Sequence[Play], time_ms: int | None) -> Clip | Play | None:
    """The first span (ordered by start) whose [start_ms, end_ms) holds ``time_ms``."""
    if time_ms is None:
        return None
    return next((s for s in spans if s.start_ms <= time_ms < s.end_ms), None)


def store_plays(game_id: int, plays: Sequence[plays_stage.Play]) -> int:
    """Replace a game's plays with ``plays`` (shot indices into the game's shots, by ``Shot.index``).

    A play's main clip is the best-scoring clip of its main shot (else of the play's span); its
    highlight score is that clip's. Events with a video time are then linked to the play holding it.

    Returns:
        The number of plays stored.
    """
    with transaction.atomic():
        game = Game.objects.select_for_update().get(pk=game_id)
        Play.objects.filter(game=game).delete()
        shots = {s.index: s for s in Shot.objects.filter(game=game)}
        clips = list(Clip.objects.filter(game=game).order_by("-highlight_score", "start_ms"))
        rows: list[Play] = []
        links: list[PlayShot] = []
        for k, play in enumerate(plays):
            main = shots.get(play.shots[play.main].index)
            clip = next((c for c in clips if main is not None and c.shot_id == main.pk), None)
            clip = clip or next((c for c in clips if c.start_ms < play.end_ms and c.end_ms > play.start_ms), None)
            row = Play(
                game=game,
                index=k,
                start_ms=play.start_ms,
                end_ms=play.end_ms,
                clip=clip,
                highlight_score=clip.highlight_score if clip else 0.0,
            )
            rows.append(row)
            links.extend(
                PlayShot(play=row, shot=shots[s.index], role=s.role.value, similarity=s.similarity, speed=s.speed)
                for s in play.shots
                if s.index in shots
            )
        Play.objects.bulk_create(rows)
        PlayShot.objects.bulk_create(links)
        link_events(game)
    return len(rows)


def link_events(game: Game) -> None:
    """Link each of the game's events to the play holding its video time (none when unaligned or outside)."""
    plays = list(Play.objects.filter(game=game).order_by("start_ms"))
    events = list(Event.objects.filter(game=game).only("pk", "time_ms", "play_id"))
    for event in events:
        play = _holding(plays, event.time_ms)
        event.play_id = play.pk if play else None
    Event.objects.bulk_update(events, ["play"])


def play_people(play: Play) -> QuerySet[Person]:
    """People linked to any clip overlapping the play: named on the score bug or recognised by face."""
    clips = Clip.objects.filter(game=play.game_id, start_ms__lt=play.end_ms, end_ms__gt=play.start_ms)
    return (
        Person.objects.filter(Q(appearances__clip__in=clips) | Q(face_tracks__clip__in=clips))
        .distinct()
        .order_by("name")
    )


def _side_names(game: Game) -> list[str]:
    """The two sides' names as read most often on the bug (empty without states)."""
    rows = list(GameState.objects.filter(game=game).values_list("side_a", "side_b"))
    if not rows:
        return []
    return [Counter(r[i] for r in rows).most_common(1)[0][0] for i in (0, 1)]


def _team(name: str | None) -> Team | None:
    if not name:
        return None
    named = Q(code__iexact=name) | Q(name__iexact=name) | Q(aliases__contains=[name.upper()])
    return Team.objects.filter(named).first()


def _person(name: str | None, named: list[tuple[int, str]]) -> Person | None:
    """The Person a feed's name means (the graphics' matcher), else a new one named as the feed names them.

    A full name from the feed matches a known person's name, or the one person whose name, read as the
    bug shows names (a surname: "Aguilar", made from "5.AGUILAR"), matches the feed's full name.
    """
    if not name or not name.strip():
        return None
    key = best_match(name, named)
    if key is None:
        read_as_bug = [pk for pk, known in named if best_match(known, [(pk, name)]) is not None]
        key = read_as_bug[0] if len(read_as_bug) == 1 else None
    if key is not None:
        return Person.objects.get(pk=key)
    person = Person.objects.create(name=name.strip())
    named.append((person.pk, person.name))
    return person


def _event_row(
    game: Game,
    event: PlayEvent,
    sides: dict[str, int],
    clips: Sequence[Clip],
    plays: Sequence[Play],
    named: list[tuple[int, str]],
) -> Event:
    score_a = score_b = None
    if event.score is not None and sides:
        by_side = {sides["home"]: event.score[0], sides["away"]: event.score[1]}
        score_a, score_b = by_side[0], by_side[1]
    raw = {"feed": event.raw, "side": event.side, "score_home_away": list(event.score) if event.score else None}
    return Event(
        game=game,
        clip=_holding(clips, event.time_ms),
        play=_holding(plays, event.time_ms),
        type=event.type,
        points=event.points,
        side=sides.get(event.side) if event.side else None,
        team=_team(event.team),
        person=_person(event.player, named),
        period=event.period,
        clock_s=event.clock_s,
        time_ms=event.time_ms,
        score_a=score_a,
        score_b=score_b,
        source=Event.Source.PLAY_BY_PLAY,
        description=event.description,
        raw=raw,
    )


def import_play_by_play(
    game_id: int, data: bytes | str, *, fmt: str = "auto", offset_s: float | None = None
) -> dict[str, int | float | None]:
    """Import a play-by-play file for a game, replacing the game's earlier play-by-play events.

    Args:
        game_id: the game's primary key.
        data: the file's content (formats of ``indexer.stages.playbyplay.FORMATS``).
        fmt: ``"auto"`` or one of those formats.
        offset_s: video time, seconds, of the feed's first event, for events the score bug cannot place.

    Returns:
        ``{"events": n, "aligned": n, "unaligned": n, "median_residual_s": float | None}`` (residuals in
        video seconds).

    Raises:
        indexer.stages.playbyplay.PlayByPlayError: the file cannot be read as a play-by-play feed.
        Game.DoesNotExist: no such game.
    """
    game = Game.objects.get(pk=game_id)
    feed: PlayByPlay = parse_play_by_play(data, fmt)
    alignment = align_events(feed, timeline(game), offset_s=offset_s)
    sides = bug_sides(feed, _side_names(game))
    with people_lock():
        game = Game.objects.select_for_update().get(pk=game_id)
        Event.objects.filter(game=game, source=Event.Source.PLAY_BY_PLAY).delete()
        clips = list(Clip.objects.filter(game=game).order_by("start_ms"))
        plays = list(Play.objects.filter(game=game).order_by("start_ms"))
        named = list(Person.objects.exclude(name="").values_list("pk", "name"))
        Event.objects.bulk_create(_event_row(game, e, sides, clips, plays, named) for e in alignment.events)
        rescore_clips(game)
    return alignment.summary()


def correct_event(event: Event, **changes: object) -> Event:
    """An editor's correction of an event (``type``, ``person``, ``time_ms``): the source becomes ``editor``.

    A new video time relinks the event to the clip and play holding it.
    """
    fields = [name for name in ("type", "person", "time_ms") if name in changes]
    for name in fields:
        setattr(event, name, changes[name])
    if "time_ms" in changes:
        clips = list(Clip.objects.filter(game=event.game_id).order_by("start_ms"))
        plays = list(Play.objects.filter(game=event.game_id).order_by("start_ms"))
        event.clip = _holding(clips, event.time_ms)  # type: ignore[assignment]
        event.play = _holding(plays, event.time_ms)  # type: ignore[assignment]
        fields += ["clip", "play"]
    event.source = Event.Source.EDITOR
    event.save(update_fields=[*fields, "source"])
    return event
