"""Natural search queries parsed into structured filters plus free-text words (a pure function).

Grammar (case-insensitive; tokens in any order; ``"double quotes"`` make one token)::

    query    := token*
    token    := FIELD ":" VALUE       sport:tennis  team:"red sox"  player:ortiz  action:dunk
                                      label:dunk  game:12  after:2026-03  before:2026  score:0.7
              | "score" OP NUMBER     score>=0.7  score>0.5   (minimum highlight score, 0..1)
              | ("last" | "top" | "best") N
                                      at most N clips: "last" = newest games first,
                                      "top"/"best" = highest highlight score first;
                                      N in digits or spelled out up to twenty ("last ten")
              | "by" PLAYER           by ortiz  by #23  (the next token names the player)
              | WORD "'s"             ortiz's   (possessive: a player name)
              | "#" DIGITS            #23       (a jersey number)
              | YEAR                  2026      (1900-2099: games played that year)
              | SPORT                 tennis, basketball, nba, mlb ... (see ``SPORT_WORDS``)
              | ACTION PHRASE         home runs, homers, dunks, three pointers ... (see ``ACTION_PHRASES``)
              | EVENT PHRASE          home runs, threes, aces, goals, runs, scoring plays ... (see
                                      ``EVENT_PHRASES``): the plays of such an event (``event:goal`` names a
                                      type directly)
              | WORD                  anything else: free text

A phrase may be both: "home runs" gives the action "hit" (the look-alike action class) and the event
type ``home_run`` (a play-by-play or graphics event); the search decides which one a game can answer.

Free-text words must each start a word of a clip's model class, action, sport, game title, team or
player (``highlights.selectors``; in an event query a word naming players only is its player, as
``player:``); stop words ("the", "of", "in", ...) are dropped. Examples::

    "Ortiz home runs last 10"  → free word "ortiz" (a player's name matches: their home runs), action
                                 "hit", event "home_run", newest 10
    "Ortiz's last ten home runs" → player "ortiz", action "hit", event "home_run", newest 10
    "Djokovic aces"            → free word "djokovic", event "ace"
    "dunks by #23 2026"        → action "dunk", jersey 23, games of 2026
    "tennis"                   → sport "tennis"
    "red sox hitting"          → free words "red", "sox", "hitting"
    "Real Madrid goals"        → free words "real", "madrid", event "goal"

Dates are inclusive; ``after:2026-03`` starts on 1 March 2026 and ``before:2026`` ends on
31 December 2026.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

_TOKEN = re.compile(r'(\w+):"([^"]*)"|"([^"]*)"|([^\s"]+)', re.UNICODE)
_SCORE = re.compile(r"^score(>=|>|=|:)(\d*\.?\d+)$", re.ASCII)
_NUMBER = re.compile(r"^[0-9]+$")  # ASCII digits: str.isdigit() also accepts "²", which int() refuses
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$", re.ASCII)
_JERSEY = re.compile(r"^#(\d{1,3})$", re.ASCII)
_WORD_CHARS = re.compile(r"[^\w#'-]+", re.UNICODE)

STOP_WORDS = frozenset({"a", "an", "and", "at", "for", "from", "in", "of", "on", "the", "with", "all", "every"})

SPORT_WORDS: dict[str, str] = {
    "basketball": "basketball",
    "nba": "basketball",
    "baseball": "baseball",
    "mlb": "baseball",
    "tennis": "tennis",
    "atp": "tennis",
    "wta": "tennis",
    "soccer": "soccer",
    "football": "football",
    "nfl": "football",
    "hockey": "hockey",
    "nhl": "hockey",
}

# Fan vocabulary → action names of the seeded taxonomy (``highlights.Action.name``),
# longest phrases first so "home runs" wins over "runs".
ACTION_PHRASES: dict[tuple[str, ...], str] = {
    ("home", "runs"): "hit",
    ("home", "run"): "hit",
    ("three", "pointers"): "shot",
    ("three", "pointer"): "shot",
    ("homers",): "hit",
    ("homer",): "hit",
    ("hits",): "hit",
    ("dunks",): "dunk",
    ("dunk",): "dunk",
    ("shots",): "shot",
    ("rallies",): "rally",
    ("rally",): "rally",
    ("pitches",): "pitch or catch",
}

SCORING = "scoring"
"""The event "type" of a query for every scoring play, whatever its type."""

# Fan vocabulary for each event type slug (``indexer.stages.playbyplay.EVENT_TYPES``), plural and singular.
_EVENT_FORMS: dict[str, list[tuple[str, ...]]] = {
    "home_run": [("home", "runs"), ("home", "run"), ("homers",), ("homer",), ("homeruns",), ("dingers",)],
    "strikeout": [("strikeouts",), ("strikeout",), ("strike", "outs"), ("ks",)],
    "walk": [("walks",)],
    "single": [("singles",)],
    "double": [("doubles",)],
    "triple": [("triples",)],
    "double_play": [("double", "plays"), ("double", "play")],
    "three_pointer": [("three", "pointers"), ("three", "pointer"), ("three-pointers",), ("three-pointer",),
                      ("3-pointers",), ("3-pointer",), ("threes",), ("treys",)],
    "dunk": [("dunks",), ("dunk",)],
    "free_throw": [("free", "throws"), ("free", "throw")],
    "block": [("blocks",)],
    "steal": [("steals",)],
    "rebound": [("rebounds",)],
    "goal": [("goals",), ("goal",)],
    "own_goal": [("own", "goals"), ("own", "goal")],
    "penalty": [("penalties",), ("penalty",)],
    "shot_on_target": [("shots", "on", "target"), ("shot", "on", "target")],
    "yellow_card": [("yellow", "cards"), ("yellow", "card")],
    "red_card": [("red", "cards"), ("red", "card")],
    "corner": [("corners",)],
    "ace": [("aces",), ("ace",)],
    "double_fault": [("double", "faults"), ("double", "fault")],
    "run": [("runs",), ("run",)],
    "touchdown": [("touchdowns",), ("touchdown",)],
    "field_goal": [("field", "goals"), ("field", "goal")],
}  # fmt: skip
EVENT_PHRASES: dict[tuple[str, ...], str] = {
    **{words: slug for slug, forms in _EVENT_FORMS.items() for words in forms},
    ("scoring", "plays"): SCORING,
    ("scoring", "play"): SCORING,
    ("scores",): SCORING,
}
"""Fan vocabulary → event types (``highlights.Event.type``), or :data:`SCORING` for any event with points."""
_LONGEST_PHRASE = max(len(p) for p in (*ACTION_PHRASES, *EVENT_PHRASES))

NUMBER_WORDS: dict[str, int] = {
    word: n
    for n, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
    )
}  # fmt: skip
"""Spelled-out numbers the grammar reads as counts ("last ten")."""
_FIELDS = frozenset({"sport", "team", "player", "action", "label", "event", "game", "after", "before", "score"})
MAX_LIMIT = 500


class Order(StrEnum):
    """How results are ranked."""

    SCORE = "score"  # highest highlight score first (the default)
    RECENT = "recent"  # newest game first, then by time in the game


class QueryError(ValueError):
    """A structured token carries an unusable value (``score:abc``, ``after:2026-13``)."""


@dataclass(frozen=True)
class ParsedQuery:
    """A search query split into filters and free-text words.

    Attributes:
        words: free-text words (lower case), each of which must match.
        sport: a ``highlights.models.Sport`` value.
        team: text a home or away team must contain.
        player: a player's name (lower case).
        jersey: a player's jersey number.
        action: an action name of the taxonomy (``Action.name``) or model class text.
        event: an event type (``Event.type``; slugs of ``indexer.stages.playbyplay.EVENT_TYPES`` such as
            ``home_run``, ``ace``), or :data:`SCORING` for any scoring event.
        game_id: one game's primary key.
        date_from: first game date included.
        date_to: last game date included.
        min_score: minimum highlight score, 0..1.
        limit: at most this many clips (None: the caller's page size).
        order: ranking.
    """

    words: tuple[str, ...] = ()
    sport: str | None = None
    team: str | None = None
    player: str | None = None
    jersey: int | None = None
    action: str | None = None
    event: str | None = None
    game_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_score: float | None = None
    limit: int | None = None
    order: Order = Order.SCORE

    def merged(self, **filters: object) -> ParsedQuery:
        """A copy with the non-empty ``filters`` (form fields) overriding what the text said."""
        return replace(self, **{k: v for k, v in filters.items() if v not in (None, "")})


def singular(word: str) -> str:
    """A crude singular for matching plurals ("runs" → "run"); words of three letters or fewer stay."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def number_word(token: str) -> int | None:
    """A count in digits or spelled out up to twenty (``"10"``, ``"ten"``), else None."""
    if token.isdigit():
        return int(token)
    return NUMBER_WORDS.get(token.lower())


def _phrase_at(tokens: list[str], i: int) -> tuple[int, str | None, str | None]:
    """The longest action or event phrase starting at ``tokens[i]``: (its length, action, event); (0, None, None)."""
    for n in range(min(_LONGEST_PHRASE, len(tokens) - i), 0, -1):
        words = tuple(tokens[i : i + n])
        if words in ACTION_PHRASES or words in EVENT_PHRASES:
            return n, ACTION_PHRASES.get(words), EVENT_PHRASES.get(words)
    return 0, None, None


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        if m.group(1) is not None:
            out.append(f"{m.group(1).lower()}:{m.group(2).strip().lower()}")
        elif m.group(3) is not None:
            if m.group(3).strip():
                out.append('"' + m.group(3).strip().lower())
        else:
            out.append(m.group(4).lower())
    return out


def _date_range(value: str) -> tuple[date, date]:
    m = _DATE.match(value)
    if not m:
        raise QueryError(f"not a date: {value!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day:
            d = date(year, int(month), int(day))
            return d, d
        if month:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), 1), date(year, int(month), last)
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError as exc:  # month 13, day 31 of a 30-day month, year 0
        raise QueryError(f"not a date: {value!r}") from exc


def _score(value: str) -> float:
    try:
        score = float(value)
    except ValueError as exc:
        raise QueryError(f"not a score: {value!r}") from exc
    if not 0.0 <= score <= 1.0:
        raise QueryError(f"score must lie in 0..1, got {score}")
    return score


def _clean(word: str) -> str:
    return _WORD_CHARS.sub("", word).strip("-'")


def _phrase_length(tokens: list[str], i: int, phrases: dict[tuple[str, ...], str]) -> int:
    """Length of the longest phrase of ``phrases`` starting at ``tokens[i]`` (0: none)."""
    longest = min(_LONGEST_PHRASE, len(tokens) - i)
    return next((n for n in range(longest, 0, -1) if tuple(tokens[i : i + n]) in phrases), 0)


def parse_query(text: str, *, max_chars: int | None = None, max_tokens: int | None = None) -> ParsedQuery:
    """Parse a natural query (see the module docstring for the grammar).

    Args:
        text: what the user typed.
        max_chars: refuse a text longer than this many characters (None: no limit).
        max_tokens: refuse a text of more tokens than this (None: no limit).

    Returns:
        The filters and free-text words; an empty query gives ``ParsedQuery()``.

    Raises:
        QueryError: a structured token has an unusable value (``score:2``, ``after:2026-13``), or the
            text exceeds ``max_chars`` or ``max_tokens``.
    """
    if max_chars is not None and len(text) > max_chars:
        raise QueryError(f"the query is longer than {max_chars} characters")
    tokens = _tokens(text)
    if max_tokens is not None and len(tokens) > max_tokens:
        raise QueryError(f"the query has more than {max_tokens} words")
    f: dict[str, object] = {}
    words: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        count = number_word(nxt) if nxt is not None else None
        phrase, action, event = _phrase_at(tokens, i)
        key, _, value = tok.partition(":")
        if tok.startswith('"'):
            words.append(tok[1:])
        elif m := _SCORE.match(tok):
            f["min_score"] = _score(m.group(2))
        elif value and key in _FIELDS:
            if key == "sport":
                f["sport"] = SPORT_WORDS.get(value, value)
            elif key == "game":
                if not _NUMBER.match(value):
                    raise QueryError(f"game:{value} is not a game number")
                f["game_id"] = int(value)
            elif key == "after":
                f["date_from"] = _date_range(value)[0]
            elif key == "before":
                f["date_to"] = _date_range(value)[1]
            elif key == "score":
                f["min_score"] = _score(value)
            elif key == "event":  # a fan phrase or a type slug: event:"home run", event:home_run
                f["event"] = EVENT_PHRASES.get(tuple(value.split()), "_".join(value.split()))
            elif key == "player" and (jm := _JERSEY.match(value)):
                f["jersey"] = int(jm.group(1))
            else:
                f["action" if key == "label" else key] = value
        elif tok in ("last", "top", "best") and count is not None:
            f["limit"] = min(max(count, 1), MAX_LIMIT)
            f["order"] = Order.RECENT if tok == "last" else Order.SCORE
            i += 1
        elif tok == "by" and nxt is not None:
            if jm := _JERSEY.match(nxt):
                f["jersey"] = int(jm.group(1))
            else:
                f["player"] = _clean(nxt.removesuffix("'s"))
            i += 1
        elif m := _JERSEY.match(tok):
            f["jersey"] = int(m.group(1))
        elif tok.endswith(("'s", "’s")) and len(tok) > 2:
            f["player"] = _clean(tok[:-2])
        elif (m := _DATE.match(tok)) and not m.group(2) and 1900 <= int(m.group(1)) <= 2099:
            f["date_from"], f["date_to"] = _date_range(tok)
        elif tok in SPORT_WORDS:
            f["sport"] = SPORT_WORDS[tok]
        elif phrase:
            f.update({k: v for k, v in (("action", action), ("event", event)) if v is not None})
            i += phrase - 1
        elif (word := _clean(tok)) and word not in STOP_WORDS and word not in words:
            words.append(word)
        i += 1
    return ParsedQuery(words=tuple(words), **f)  # type: ignore[arg-type]
