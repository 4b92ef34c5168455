"""Play-by-play and event-data files parsed into one list of events in one taxonomy (a pure stage).

Formats (``FORMATS``), each read from its real field names:

- ``mlb``: MLB Stats API "GUMBO" game feed (``/api/v1.1/game/{gamePk}/feed/live``). One event per at-bat
  in ``liveData.plays.allPlays[]`` (``result.eventType``/``event``/``description``, ``result.homeScore``/
  ``awayScore`` after the play, ``about.inning``/``halfInning``/``startTime``, ``matchup.batter``/``pitcher``),
  with its pitches from ``playEvents[]`` where ``isPitch`` (``count`` after the pitch, ``startTime``,
  ``playId``). Teams from ``gameData.teams.{home,away}.abbreviation``.
- ``nba``: NBA CDN live play-by-play (``cdn.nba.com/static/json/liveData/playbyplay/playbyplay_{gameId}.json``):
  ``game.actions[]`` with ``period``, ISO-8601 duration ``clock`` (time left, ``PT11M22.00S``), ``timeActual``
  (UTC), ``actionType``/``subType``/``shotResult``, ``playerNameI``, ``teamTricode``, ``scoreHome``/``scoreAway``.
- ``nba-stats``: stats.nba.com ``playbyplayv2``: ``resultSets[0]`` ``headers``/``rowSet`` with ``PERIOD``,
  ``PCTIMESTRING`` (``M:SS`` left), ``EVENTMSGTYPE``, ``HOMEDESCRIPTION``/``VISITORDESCRIPTION``,
  ``PLAYER1_NAME``, ``PLAYER1_TEAM_ABBREVIATION``, ``SCORE`` (``"visitor - home"``).
- ``statsbomb``: StatsBomb open-data events (``data/events/<match_id>.json``, a list): ``period``, ``minute``/
  ``second`` (match clock), ``timestamp`` (``HH:MM:SS.mmm`` since the period's start), ``type.name``,
  ``shot.outcome.name``, ``player.name``, ``team.name``.
- ``soccernet``: SoccerNet action spotting ``Labels-v2.json`` (Deliège et al., CVPR-W 2021): ``gameHomeTeam``,
  ``gameAwayTeam``, ``annotations[]`` with ``gameTime`` (``"1 - 05:23"``: half, then time into the half),
  ``label``, ``team`` (``home``/``away``/``not applicable``), ``visibility``, ``position`` (ms into the half).
- ``csv``: the project's own CSV, described in :func:`parse_csv`.

Only events of the taxonomy (``EVENT_TYPES``) are kept; the rest (passes, carries, substitutions ...) are
counted in :attr:`PlayByPlay.skipped` by their feed type. Nothing is made up: a field the feed does not
give stays ``None`` (StatsBomb events carry no running score, so their ``score`` is ``None``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

FORMATS = ("mlb", "nba", "nba-stats", "statsbomb", "soccernet", "csv")
"""The ``--format`` values (``auto`` picks one of these from the content: :func:`detect_format`)."""

EVENT_TYPES: dict[str, str] = {
    # baseball (one per plate appearance)
    "home_run": "home run",
    "single": "single",
    "double": "double",
    "triple": "triple",
    "strikeout": "strikeout",
    "walk": "walk",
    "hit_by_pitch": "hit by pitch",
    "field_out": "field out",
    "double_play": "double play",
    "sacrifice": "sacrifice",
    "fielders_choice": "fielder's choice",
    "reached_on_error": "reached on error",
    # basketball
    "three_pointer": "three-pointer",
    "two_pointer": "two-pointer",
    "dunk": "dunk",
    "free_throw": "free throw",
    "missed_shot": "missed shot",
    "missed_free_throw": "missed free throw",
    "rebound": "rebound",
    "block": "block",
    "steal": "steal",
    "turnover": "turnover",
    "jump_ball": "jump ball",
    # soccer
    "goal": "goal",
    "own_goal": "own goal",
    "penalty": "penalty",
    "shot_on_target": "shot on target",
    "shot": "shot",
    "corner": "corner",
    "free_kick": "free kick",
    "throw_in": "throw-in",
    "offside": "offside",
    "clearance": "clearance",
    "kick_off": "kick-off",
    "ball_out_of_play": "ball out of play",
    "yellow_card": "yellow card",
    "red_card": "red card",
    # tennis
    "ace": "ace",
    "double_fault": "double fault",
    "winner": "winner",
    "break_point": "break point",
    # any sport
    "foul": "foul",
    "substitution": "substitution",
    "timeout": "timeout",
    "period_start": "period start",
    "period_end": "period end",
}
"""Event type slugs (``Event.type``) and their display names."""


class PlayByPlayError(ValueError):
    """A play-by-play file cannot be read: not the format named, a required field missing or unusable."""


@dataclass(frozen=True)
class Pitch:
    """One pitch of a baseball plate appearance (MLB ``playEvents[]`` where ``isPitch``).

    Attributes:
        balls, strikes: the count when the pitch was thrown (what the score bug shows before it).
        outs: outs in the inning when the pitch was thrown.
        wall_time: UTC ``startTime`` of the pitch, if given.
        description: the feed's call (``"Called Strike"``, ``"In play, run(s)"``).
        play_id: MLB's ``playId`` (the key of MLB Film Room's video clips), if given.
    """

    balls: int
    strikes: int
    outs: int
    wall_time: datetime | None
    description: str
    play_id: str | None = None


@dataclass(frozen=True)
class PlayEvent:
    """One event read from a feed; its fields map one to one onto the ``Event`` model.

    Attributes:
        type: a slug of ``EVENT_TYPES``.
        points: points (runs, goals) the event scored; 0 when it scored none.
        side: ``"home"`` or ``"away"`` when the feed says which, else None.
        team: team code or name as the feed gives it (``"HOU"``, ``"Italy"``), else None.
        player: the player's name as the feed gives it (``"Jeremy Peña"``, ``"S. Curry"``), else None.
        period: inning, quarter (5 = first overtime), half or set, else None.
        clock_s: game clock in seconds as a broadcast shows it: time left for basketball, match time
            elapsed for soccer (the second half starts at 2700 s); None for baseball.
        score: ``(home, away)`` after the event where the feed gives it, else None.
        description: the feed's text for the event.
        raw: the feed's own record of the event (JSON-serialisable).
        half: baseball ``"top"`` or ``"bottom"``, else None.
        wall_time: UTC wall clock of the event, if the feed gives one with sub-second resolution (baseball:
            the deciding pitch's ``startTime``, else the plate appearance's).
        period_time_s: seconds since the start of the period on a continuously running time base
            (StatsBomb ``timestamp``, SoccerNet ``position``), if given.
        pitches: baseball: the pitches of the plate appearance, in order (the last one decided it).
        source: always ``"play_by_play"`` here.
        time_ms: video time in milliseconds once aligned (``indexer.stages.alignment``); None = unaligned.
    """

    type: str
    points: int
    side: str | None
    team: str | None
    player: str | None
    period: int | None
    clock_s: float | None
    score: tuple[int, int] | None
    description: str
    raw: dict[str, Any] = field(repr=False)
    half: str | None = None
    wall_time: datetime | None = None
    period_time_s: float | None = None
    pitches: tuple[Pitch, ...] = ()
    source: str = "play_by_play"
    time_ms: int | None = None


@dataclass(frozen=True)
class PlayByPlay:
    """A parsed file.

    Attributes:
        format: one of ``FORMATS``.
        events: taxonomy events in feed order.
        home, away: team codes or names where the file names them, else None.
        clock_counts_down: True when ``clock_s`` is time left (basketball), False when elapsed (soccer),
            None when the sport has no game clock (baseball).
        skipped: feed items left out because their type is outside the taxonomy, counted by feed type.
    """

    format: str
    events: list[PlayEvent]
    home: str | None
    away: str | None
    clock_counts_down: bool | None
    skipped: dict[str, int]


def detect_format(data: bytes | str) -> str:
    """Recognise a file's format from its content.

    Args:
        data: the whole file.

    Returns:
        One of ``FORMATS``.

    Raises:
        PlayByPlayError: the content matches none of them.
    """
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        header = next(csv.reader(io.StringIO(text.lstrip())), [])
        if {"period", "clock", "event"} <= {h.strip().lower() for h in header}:
            return "csv"
        raise PlayByPlayError(
            "not a play-by-play file: neither JSON nor a CSV with period, clock and event columns"
        ) from None
    if isinstance(doc, dict):
        if isinstance(_get(doc, "liveData", "plays", "allPlays"), list):
            return "mlb"
        if isinstance(_get(doc, "game", "actions"), list):
            return "nba"
        sets = doc.get("resultSets")
        if isinstance(sets, list) and sets and isinstance(sets[0], dict) and "rowSet" in sets[0]:
            return "nba-stats"
        if isinstance(doc.get("annotations"), list):
            return "soccernet"
    if isinstance(doc, list) and doc and all(isinstance(e, dict) for e in doc[:5]):
        first = doc[0]
        if isinstance(first.get("type"), dict) and {"period", "minute", "second"} <= first.keys():
            return "statsbomb"
    raise PlayByPlayError(
        "JSON of no known play-by-play format (MLB GUMBO, NBA CDN, stats.nba.com, StatsBomb, SoccerNet)"
    )


def read_play_by_play(path: Path, fmt: str = "auto") -> PlayByPlay:
    """Read and parse a file.

    Args:
        path: the file.
        fmt: ``"auto"`` or one of ``FORMATS``.

    Raises:
        PlayByPlayError: unreadable, not valid for the format, or an unknown ``fmt``.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PlayByPlayError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        return parse_play_by_play(data, fmt)
    except PlayByPlayError as exc:
        raise PlayByPlayError(f"{Path(path).name}: {exc}") from exc


def parse_play_by_play(data: bytes | str, fmt: str = "auto") -> PlayByPlay:
    """Parse a file's content (see :func:`read_play_by_play`)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise PlayByPlayError(f"unknown format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise PlayByPlayError(f"not UTF-8 text (byte {exc.start})") from None
    fmt = detect_format(text) if fmt == "auto" else fmt
    if fmt == "csv":
        return parse_csv(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlayByPlayError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    parser = _JSON_PARSERS[fmt]
    try:
        return parser(doc)
    except PlayByPlayError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise PlayByPlayError(f"not a valid {fmt} file: missing or malformed field {exc}") from exc


# ---------------------------------------------------------------------------------------------- MLB

_MLB_TYPES: dict[str, str] = {
    "home_run": "home_run",
    "single": "single",
    "double": "double",
    "triple": "triple",
    "strikeout": "strikeout",
    "strikeout_double_play": "strikeout",
    "strikeout_triple_play": "strikeout",
    "walk": "walk",
    "intent_walk": "walk",
    "hit_by_pitch": "hit_by_pitch",
    "field_out": "field_out",
    "force_out": "field_out",
    "fielders_choice_out": "fielders_choice",
    "fielders_choice": "fielders_choice",
    "grounded_into_double_play": "double_play",
    "double_play": "double_play",
    "triple_play": "double_play",
    "sac_fly": "sacrifice",
    "sac_bunt": "sacrifice",
    "sac_fly_double_play": "sacrifice",
    "sac_bunt_double_play": "sacrifice",
    "field_error": "reached_on_error",
}


def parse_mlb(doc: dict[str, Any]) -> PlayByPlay:
    """Parse an MLB Stats API GUMBO feed: one event per completed plate appearance (see the module docstring)."""
    teams = doc["gameData"]["teams"]
    home, away = teams["home"]["abbreviation"], teams["away"]["abbreviation"]
    events: list[PlayEvent] = []
    skipped: Counter[str] = Counter()
    previous_runs = 0
    for play in doc["liveData"]["plays"]["allPlays"]:
        result, about = play["result"], play["about"]
        feed_type = result.get("eventType")
        score = _score_pair(result.get("homeScore"), result.get("awayScore"))
        runs = sum(score) if score else previous_runs
        slug = _MLB_TYPES.get(feed_type or "")
        if slug is None or not about.get("isComplete", True):
            skipped[feed_type or "incomplete"] += 1
            previous_runs = runs
            continue
        half = about["halfInning"]
        if half not in ("top", "bottom"):
            raise PlayByPlayError(f"allPlays[{about.get('atBatIndex')}]: halfInning {half!r} is not top or bottom")
        pitches: list[Pitch] = []
        balls = strikes = 0
        for item in play.get("playEvents", []):
            if not item.get("isPitch"):
                continue
            count = item["count"]
            pitches.append(
                Pitch(
                    balls=balls,
                    strikes=strikes,
                    outs=int(count["outs"]),
                    wall_time=_iso_time(item.get("startTime")),
                    description=str(item.get("details", {}).get("description", "")),
                    play_id=item.get("playId"),
                )
            )
            balls, strikes = int(count["balls"]), int(count["strikes"])
        events.append(
            PlayEvent(
                type=slug,
                points=max(runs - previous_runs, 0),
                side="away" if half == "top" else "home",
                team=away if half == "top" else home,
                player=play["matchup"]["batter"]["fullName"],
                period=int(about["inning"]),
                clock_s=None,
                score=score,
                description=str(result.get("description") or result.get("event") or feed_type),
                raw={k: v for k, v in play.items() if k != "playEvents"},
                half=half,
                wall_time=pitches[-1].wall_time if pitches else _iso_time(about.get("startTime")),
                pitches=tuple(pitches),
            )
        )
        previous_runs = runs
    return PlayByPlay("mlb", events, home, away, None, dict(skipped))


# ---------------------------------------------------------------------------------------------- NBA CDN

_CDN_TYPES: dict[str, str] = {
    "rebound": "rebound",
    "block": "block",
    "steal": "steal",
    "turnover": "turnover",
    "foul": "foul",
    "jumpball": "jump_ball",
    "timeout": "timeout",
}
_ISO_DURATION = re.compile(r"^PT(?:(\d+)M)?(\d+(?:\.\d+)?)S$")


def parse_nba_cdn(doc: dict[str, Any]) -> PlayByPlay:
    """Parse NBA CDN live play-by-play (``game.actions[]``).

    Shots: made ``3pt`` → ``three_pointer``; made ``2pt`` with a dunk ``subType`` → ``dunk``, otherwise
    ``two_pointer``; made ``freethrow`` → ``free_throw``; missed ones → ``missed_shot`` / ``missed_free_throw``.
    The home team is the one whose made shots raise ``scoreHome`` (the feed itself names no home team).
    """
    actions = doc["game"]["actions"]
    events: list[PlayEvent] = []
    skipped: Counter[str] = Counter()
    previous = (0, 0)
    home: str | None = None
    away: str | None = None
    for action in actions:
        kind, sub = action["actionType"], str(action.get("subType") or "")
        made = action.get("shotResult") == "Made"
        score = _score_pair(action.get("scoreHome"), action.get("scoreAway"))
        slug = _basketball_type(kind, sub, action.get("shotResult"))
        if slug is None:
            skipped[kind] += 1
            previous = score or previous
            continue
        points = {"three_pointer": 3, "two_pointer": 2, "dunk": 2, "free_throw": 1}.get(slug, 0) if made else 0
        team = action.get("teamTricode") or None
        if points and score and team:
            if score[0] > previous[0]:
                home = home or team
            elif score[1] > previous[1]:
                away = away or team
        events.append(
            PlayEvent(
                type=slug,
                points=points,
                side=None,
                team=team,
                player=action.get("playerNameI") or None,
                period=int(action["period"]),
                clock_s=_iso_duration(action["clock"]),
                score=score,
                description=str(action.get("description") or f"{kind} {sub}".strip()),
                raw=action,
                wall_time=_iso_time(action.get("timeActual")),
            )
        )
        previous = score or previous
    sides = {home: "home", away: "away"}
    events = [_with_side(e, sides.get(e.team) if e.team else None) for e in events]
    return PlayByPlay("nba", events, home, away, True, dict(skipped))


def _basketball_type(kind: str, sub: str, result: str | None) -> str | None:
    if kind in ("2pt", "3pt"):
        if result != "Made":
            return "missed_shot"
        if kind == "3pt":
            return "three_pointer"
        return "dunk" if "dunk" in sub.lower() else "two_pointer"
    if kind == "freethrow":
        return "free_throw" if result == "Made" else "missed_free_throw"
    if kind == "period":
        return {"start": "period_start", "end": "period_end"}.get(sub)
    return _CDN_TYPES.get(kind)


# ---------------------------------------------------------------------------------------------- stats.nba.com

# EVENTMSGTYPE codes of playbyplayv2 (1 made field goal, 2 missed, 3 free throw, ...).
_STATS_TYPES: dict[int, str] = {4: "rebound", 5: "turnover", 6: "foul", 9: "timeout", 10: "jump_ball",
                                12: "period_start", 13: "period_end"}  # fmt: skip


def parse_nba_stats(doc: dict[str, Any]) -> PlayByPlay:
    """Parse stats.nba.com ``playbyplayv2`` (``resultSets[0]``: ``headers`` and ``rowSet``).

    Made field goals (``EVENTMSGTYPE`` 1) are ``three_pointer`` when the description says ``3PT``, ``dunk``
    when it says ``Dunk``, else ``two_pointer``; free throws (3) are missed when the description starts with
    ``MISS``. The side comes from which description column holds the text, the score from ``SCORE``
    (``"visitor - home"``), carried forward between scoring rows.
    """
    table = doc["resultSets"][0]
    headers = [str(h) for h in table["headers"]]
    missing = {"PERIOD", "PCTIMESTRING", "EVENTMSGTYPE", "HOMEDESCRIPTION", "VISITORDESCRIPTION"} - set(headers)
    if missing:
        raise PlayByPlayError(f"resultSets[0] lacks the columns {', '.join(sorted(missing))}")
    events: list[PlayEvent] = []
    skipped: Counter[str] = Counter()
    home = away = None
    score: tuple[int, int] | None = None
    for values in table["rowSet"]:
        row = dict(zip(headers, values, strict=True))
        home_text, away_text = row.get("HOMEDESCRIPTION") or "", row.get("VISITORDESCRIPTION") or ""
        text = home_text or away_text or row.get("NEUTRALDESCRIPTION") or ""
        if row.get("SCORE"):
            visitor, _, home_score = str(row["SCORE"]).partition("-")
            score = _score_pair(home_score.strip(), visitor.strip())
        code = int(row["EVENTMSGTYPE"])
        if code in (1, 2, 3):
            kind = "freethrow" if code == 3 else ("3pt" if "3PT" in text else "2pt")
            made = (code == 1) or (code == 3 and not text.upper().startswith("MISS"))
            slug = _basketball_type(kind, "dunk" if "Dunk" in text else "", "Made" if made else "Missed")
        else:
            slug = _STATS_TYPES.get(code)
        if slug is None:
            skipped[f"EVENTMSGTYPE {code}"] += 1
            continue
        side = "home" if home_text else "away" if away_text else None
        team = row.get("PLAYER1_TEAM_ABBREVIATION") or None
        if team and side == "home":
            home = home or team
        elif team and side == "away":
            away = away or team
        points = {"three_pointer": 3, "two_pointer": 2, "dunk": 2, "free_throw": 1}.get(slug, 0)
        events.append(
            PlayEvent(
                type=slug,
                points=points,
                side=side,
                team=team,
                player=row.get("PLAYER1_NAME") or None,
                period=int(row["PERIOD"]),
                clock_s=_minutes_seconds(str(row["PCTIMESTRING"])),
                score=score,
                description=text or EVENT_TYPES[slug],
                raw=row,
            )
        )
    return PlayByPlay("nba-stats", events, home, away, True, dict(skipped))


# ---------------------------------------------------------------------------------------------- StatsBomb

_STATSBOMB_ON_TARGET = frozenset({"Saved", "Saved To Post", "Saved to Post"})
_STATSBOMB_TYPES: dict[str, str] = {
    "Foul Committed": "foul",
    "Substitution": "substitution",
    "Half Start": "period_start",
    "Half End": "period_end",
    "Own Goal Against": "own_goal",
}


def parse_statsbomb(doc: list[dict[str, Any]]) -> PlayByPlay:
    """Parse StatsBomb open-data events.

    Shots by ``shot.outcome.name``: ``Goal`` → ``goal`` (1 point), ``Saved``/``Saved To Post`` →
    ``shot_on_target``, the rest (``Off T``, ``Blocked``, ``Post``, ``Wayward``) → ``shot``; a penalty shot
    that scored is still a ``goal``. Fouls with a card (``foul_committed.card`` or ``bad_behaviour.card``) are
    ``yellow_card``/``red_card``. ``clock_s`` is ``minute``·60 + ``second`` (the match clock, running through
    stoppage time); ``period_time_s`` is ``timestamp`` (reset at each period).
    """
    if not isinstance(doc, list):
        raise PlayByPlayError("StatsBomb events must be a JSON list")
    events: list[PlayEvent] = []
    skipped: Counter[str] = Counter()
    for item in doc:
        name = item["type"]["name"]
        slug = _STATSBOMB_TYPES.get(name)
        points = 0
        if name == "Shot":
            outcome = item["shot"]["outcome"]["name"]
            slug = "goal" if outcome == "Goal" else "shot_on_target" if outcome in _STATSBOMB_ON_TARGET else "shot"
            points = int(slug == "goal")
        card = (item.get("foul_committed") or item.get("bad_behaviour") or {}).get("card", {}).get("name", "")
        if card:
            slug = "yellow_card" if card == "Yellow Card" else "red_card"
        if slug is None:
            skipped[name] += 1
            continue
        events.append(
            PlayEvent(
                type=slug,
                points=points,
                side=None,
                team=(item.get("team") or {}).get("name"),
                player=(item.get("player") or {}).get("name"),
                period=int(item["period"]),
                clock_s=float(int(item["minute"]) * 60 + int(item["second"])),
                score=None,
                description=" ".join(
                    p for p in (name, (item.get("shot") or {}).get("outcome", {}).get("name"), card) if p
                ),
                raw=item,
                period_time_s=_hms(item["timestamp"]),
            )
        )
    return PlayByPlay("statsbomb", events, None, None, False, dict(skipped))


# ---------------------------------------------------------------------------------------------- SoccerNet

_SOCCERNET_TYPES: dict[str, str] = {
    "Goal": "goal",
    "Penalty": "penalty",
    "Shots on target": "shot_on_target",
    "Shots off target": "shot",
    "Corner": "corner",
    "Direct free-kick": "free_kick",
    "Indirect free-kick": "free_kick",
    "Throw-in": "throw_in",
    "Offside": "offside",
    "Clearance": "clearance",
    "Kick-off": "kick_off",
    "Ball out of play": "ball_out_of_play",
    "Foul": "foul",
    "Yellow card": "yellow_card",
    "Red card": "red_card",
    "Yellow->red card": "red_card",
    "Substitution": "substitution",
}
_GAME_TIME = re.compile(r"^\s*(\d+)\s*-\s*(\d+):(\d{2})\s*$")
_HALF_S = 45 * 60


def parse_soccernet(doc: dict[str, Any]) -> PlayByPlay:
    """Parse SoccerNet-v2 ``Labels-v2.json`` (its 17 action-spotting classes all map into the taxonomy).

    ``gameTime`` ``"H - MM:SS"`` is time into half ``H``; ``clock_s`` is the match clock a broadcast shows
    (``(H - 1)·2700 + MM·60 + SS``), ``period_time_s`` is ``position`` / 1000 (ms into the half's video).
    No running score is given (``gameScore`` is the final one), so ``score`` is None.
    """
    events: list[PlayEvent] = []
    skipped: Counter[str] = Counter()
    for i, note in enumerate(doc["annotations"]):
        m = _GAME_TIME.match(str(note["gameTime"]))
        if not m:
            raise PlayByPlayError(f"annotations[{i}].gameTime {note['gameTime']!r} is not 'H - MM:SS'")
        slug = _SOCCERNET_TYPES.get(note["label"])
        if slug is None:
            skipped[str(note["label"])] += 1
            continue
        half, minutes, seconds = (int(g) for g in m.groups())
        side = note.get("team") if note.get("team") in ("home", "away") else None
        team_key = {"home": "gameHomeTeam", "away": "gameAwayTeam"}.get(side or "")
        position = note.get("position")
        events.append(
            PlayEvent(
                type=slug,
                points=int(slug == "goal"),
                side=side,
                team=doc.get(team_key) if team_key else None,
                player=None,
                period=half,
                clock_s=float((half - 1) * _HALF_S + minutes * 60 + seconds),
                score=None,
                description=f"{note['label']} ({note.get('visibility', 'visible')})",
                raw=note,
                period_time_s=int(position) / 1000.0 if position not in (None, "") else None,
            )
        )
    return PlayByPlay("soccernet", events, doc.get("gameHomeTeam"), doc.get("gameAwayTeam"), False, dict(skipped))


# ---------------------------------------------------------------------------------------------- CSV

_CSV_ALIASES: dict[str, str] = {label.replace("-", " "): slug for slug, label in EVENT_TYPES.items()} | {
    "homer": "home_run",
    "three": "three_pointer",
    "3pt": "three_pointer",
    "2pt": "two_pointer",
    "shot on goal": "shot_on_target",
    "base on balls": "walk",
}


def parse_csv(text: str) -> PlayByPlay:
    """Parse the project's CSV play-by-play.

    Header (first line, any order, case-insensitive; extra columns are ignored)::

        period,clock,event,player,team,side,points,home_score,away_score,description

    ``period``, ``clock`` and ``event`` are required columns; the others may be absent or empty.

    - ``period``: integer (quarter, half, inning, set).
    - ``clock``: game clock as a broadcast shows it, ``M:SS``, ``M:SS.s`` or seconds (``"11:22"``, ``"45.5"``);
      empty for sports without a clock.
    - ``event``: a slug of ``EVENT_TYPES`` or its display name (``home_run``, ``"home run"``, ``3pt``).
    - ``side``: ``home`` or ``away``. ``points``: integer (default: the event type's usual points, else 0).
    - ``home_score``, ``away_score``: the score after the event (both or neither).

    The clock counts down when it falls between rows of a period and up (soccer) when it rises; when no period
    has two different clocks, or they do both, the direction is unknown (``clock_counts_down`` None) and the
    clock cannot align events.

    Raises:
        PlayByPlayError: a required column is missing, or a row (numbered from 2, the header being 1) has
            an unknown event or an unreadable number.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    missing = {"period", "clock", "event"} - columns.keys()
    if missing:
        raise PlayByPlayError(f"CSV lacks the columns {', '.join(sorted(missing))} (header: period,clock,event,...)")
    events: list[PlayEvent] = []
    for line, raw in enumerate(reader, start=2):
        row = {key: (raw.get(name) or "").strip() for key, name in columns.items()}
        event = row["event"].lower().replace("_", " ").replace("-", " ")
        slug = _CSV_ALIASES.get(event) or _CSV_ALIASES.get(event.rstrip("s"))
        if slug is None:
            raise PlayByPlayError(f"line {line}: unknown event {row['event']!r} (use a slug of EVENT_TYPES)")
        try:
            period = int(row["period"])
            clock = _minutes_seconds(row["clock"]) if row["clock"] else None
            points = int(row["points"]) if row.get("points") else _DEFAULT_POINTS.get(slug, 0)
            score = _score_pair(row["home_score"], row["away_score"]) if row.get("home_score") else None
        except ValueError as exc:
            raise PlayByPlayError(f"line {line}: {exc}") from exc
        side = row.get("side", "").lower() or None
        if side not in (None, "home", "away"):
            raise PlayByPlayError(f"line {line}: side {row['side']!r} is not home or away")
        events.append(
            PlayEvent(
                type=slug,
                points=points,
                side=side,
                team=row.get("team") or None,
                player=row.get("player") or None,
                period=period,
                clock_s=clock,
                score=score,
                description=row.get("description") or row["event"],
                raw=dict(raw),
            )
        )
    return PlayByPlay("csv", events, None, None, _counts_down(events), {})


_DEFAULT_POINTS = {"home_run": 1, "three_pointer": 3, "two_pointer": 2, "dunk": 2, "free_throw": 1, "goal": 1}


def _counts_down(events: list[PlayEvent]) -> bool | None:
    clocks = [(e.period, e.clock_s) for e in events if e.clock_s is not None]
    steps = {(b[1] > a[1]) for a, b in pairwise(clocks) if a[0] == b[0] and a[1] != b[1]}  # type: ignore[operator]
    return (False in steps) if len(steps) == 1 else None


def bug_sides(plays: PlayByPlay, names: Sequence[str]) -> dict[str, int]:
    """Which side of the score bug (0: first row or left, 1: second) is the feed's home team and which its away.

    Args:
        plays: the parsed feed (its ``home`` and ``away`` codes or names).
        names: the two side names as read on the bug (``GameState.sides[i].name``), e.g. ``["LAD", "MIL"]``.

    Returns:
        ``{"home": i, "away": j}`` when one of the feed's teams is recognised on the bug (the same text, or one
        containing the other, ignoring case, accents and punctuation) and the match is unambiguous; else ``{}``.
    """
    if len(names) != 2:
        return {}
    shown = [_plain(n) for n in names]
    found: dict[str, int] = {}
    for role in ("home", "away"):
        team = _plain(getattr(plays, role) or "")
        hits = [i for i, n in enumerate(shown) if team and n and (team in n or n in team)]
        if len(hits) == 1:
            found[role] = hits[0]
    if len(found) == 1:
        [(role, i)] = found.items()
        found["away" if role == "home" else "home"] = 1 - i
    return found if len(found) == 2 and found["home"] != found["away"] else {}


# ---------------------------------------------------------------------------------------------- helpers


def ascii_fold(text: str) -> str:
    """Lower case without accents (``"Jesús Peña"`` → ``"jesus pena"``): NFKD, then ASCII only."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", ascii_fold(text))


_JSON_PARSERS: dict[str, Callable[[Any], PlayByPlay]] = {
    "mlb": parse_mlb,
    "nba": parse_nba_cdn,
    "nba-stats": parse_nba_stats,
    "statsbomb": parse_statsbomb,
    "soccernet": parse_soccernet,
}


def _get(doc: dict[str, Any], *keys: str) -> object:
    node: object = doc
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _with_side(event: PlayEvent, side: str | None) -> PlayEvent:
    return replace(event, side=side) if side != event.side else event


def _score_pair(home: object, away: object) -> tuple[int, int] | None:
    if home in (None, "") or away in (None, ""):
        return None
    try:
        return int(str(home)), int(str(away))
    except ValueError as exc:
        raise PlayByPlayError(f"score {home!r}-{away!r} is not two integers") from exc


def _iso_time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PlayByPlayError(f"time {value!r} is not ISO-8601") from exc


def _iso_duration(value: str) -> float:
    m = _ISO_DURATION.match(value)
    if not m:
        raise PlayByPlayError(f"clock {value!r} is not an ISO-8601 duration like PT11M22.00S")
    return int(m.group(1) or 0) * 60 + float(m.group(2))


def _minutes_seconds(value: str) -> float:
    minutes, sep, seconds = value.strip().rpartition(":")
    try:
        return (int(minutes) * 60 if sep else 0) + float(seconds)
    except ValueError:
        raise PlayByPlayError(f"clock {value!r} is not M:SS or seconds") from None


def _hms(value: str) -> float:
    parts = str(value).split(":")
    if len(parts) != 3:
        raise PlayByPlayError(f"timestamp {value!r} is not HH:MM:SS.mmm")
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
