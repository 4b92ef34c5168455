"""Names read on broadcast graphics matched to known people and teams (pure: strings in, keys out).

Score bugs print names in capitals, often as an initial and a surname ("S. AGUILAR"), a surname
alone ("DJOKOVIC"), a team code ("LAD") or a team name ("REAL MADRID"); OCR adds noise ("5.AGUILAR"
for "S. AGUILAR"). A read name is folded (accents removed, lower case), split into initials (one
character) and words, and compared with each candidate by difflib's ratio (Ratcliff/Obershelp
similarity, 0..1) on the candidate's trailing words, so "DJOKOVIC" finds "Novak Djokovic". A letter
initial must agree with the candidate's first name; a digit initial is OCR noise and ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

PLAYER_MATCH_RATIO = 0.85  # least similarity of a read surname to a known one ("WAWRINKA" vs "Wawrinka": 1.0)
TEAM_MATCH_RATIO = 0.9  # least similarity of a read team name to a known name or nickname
AMBIGUITY_MARGIN = 0.02  # two different candidates this close are ambiguous: no match

_SPLIT = re.compile(r"[\s.,'’]+")
_KEEP = re.compile(r"[^0-9a-z\s.,'’-]+")
_SHORT_UPPER = 3  # team-name words of up to this many letters stay upper case ("FC", "AC", "PSG")


@dataclass(frozen=True)
class ReadName:
    """A name as read, folded: ``initials`` one-character tokens, ``words`` the others (lower case, no accents)."""

    initials: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def fold(text: str) -> str:
    """Lower case without accents or symbols other than ``. , ' -`` (``"Ñúñez"`` → ``"nunez"``)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _KEEP.sub(" ", plain).strip()


def parse_name(text: str) -> ReadName:
    """Split a read name into initials and words: ``"S. AGUILAR"`` → ``(("s",), ("aguilar",))``."""
    tokens = [t.strip("-") for t in _SPLIT.split(fold(text))]
    tokens = [t for t in tokens if t]
    return ReadName(tuple(t for t in tokens if len(t) == 1), tuple(t for t in tokens if len(t) > 1))


def player_display_name(text: str) -> str:
    """A read person's name for display: surname words title-cased, letter initials kept (``"S. Aguilar"``).

    Digit initials (OCR's "5" for "S") are dropped: ``"5.AGUILAR"`` → ``"Aguilar"``. Empty when no word was read.
    """
    name = parse_name(text)
    if not name.words:
        return ""
    initials = [f"{i.upper()}." for i in name.initials if i.isalpha()]
    return " ".join([*initials, *(w.capitalize() for w in name.words)])


def team_display_name(text: str) -> str:
    """A read team name for display: long words title-cased, short ones (codes, "FC") upper case.

    ``"REAL MADRID"`` → ``"Real Madrid"``, ``"SEVILLA FC"`` → ``"Sevilla FC"``, ``"LAD"`` → ``"LAD"``.
    """
    words = [w for w in _SPLIT.split(text.strip()) if w]
    return " ".join(w.upper() if len(w) <= _SHORT_UPPER else w.capitalize() for w in words)


def _ratio(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def name_similarity(read: ReadName, candidate: str) -> float:
    """Similarity, 0..1, of a read name to a known person's full name (0 when a letter initial disagrees).

    The read words are compared with the same number of the candidate's trailing words (the surname)
    and with the whole name; the better ratio counts.
    """
    known = parse_name(candidate)
    words = known.words
    if not read.words or not words:
        return 0.0
    letters = [i for i in read.initials if i.isalpha()]
    first = known.initials[0] if known.initials else words[0] if len(words) > len(read.words) else None
    if letters and first is not None and not first.startswith(letters[0]):
        return 0.0
    tail = " ".join(words[-len(read.words) :])
    return max(_ratio(read.text, tail), _ratio(read.text, " ".join(words)))


def best_match(
    read_text: str, candidates: Iterable[tuple[int, str]], *, threshold: float = PLAYER_MATCH_RATIO
) -> int | None:
    """The key of the one candidate name a read person's name means, or ``None``.

    Args:
        read_text: the name as read on the bug (``"S. AGUILAR"``, ``"DJOKOVIC"``).
        candidates: ``(key, full name)`` of the known people (e.g. Person primary keys and names).
        threshold: least similarity (:func:`name_similarity`) for a match.

    Returns:
        The best candidate's key when it reaches ``threshold`` and no other key scores within
        :data:`AMBIGUITY_MARGIN` of it; otherwise ``None`` (unknown or ambiguous: the caller creates a person).
    """
    read = parse_name(read_text)
    scored = sorted(((name_similarity(read, name), key) for key, name in candidates), reverse=True)
    if not scored or scored[0][0] < threshold:
        return None
    best, key = scored[0]
    if any(other != key and best - score < AMBIGUITY_MARGIN for score, other in scored[1:]):
        return None
    return key


@dataclass(frozen=True)
class TeamName:
    """A known team: ``key`` (e.g. a Team primary key), its ``league``, ``code``, full ``name`` and ``aliases``."""

    key: int
    league: str
    code: str
    name: str
    aliases: tuple[str, ...] = ()


def team_candidates(read_text: str, teams: Sequence[TeamName]) -> list[TeamName]:
    """The teams a read side may be: exact code or alias matches, else names or nicknames by similarity.

    ``"LAD"`` → the Dodgers; ``"MIL"`` → the Brewers and the Bucks (the caller picks the league both
    sides share); ``"DODGERS"`` or ``"LOS ANGELES DODGERS"`` → the Dodgers. Codes compare exactly, since
    two-letter and three-letter codes are too short for fuzzy matching.
    """
    code = re.sub(r"[^A-Z0-9]", "", read_text.upper())
    exact = [t for t in teams if code and (code == t.code.upper() or code in (a.upper() for a in t.aliases))]
    if exact:
        return exact
    read = fold(read_text)
    if len(read) <= _SHORT_UPPER + 1:
        return []

    def similarity(team: TeamName) -> float:
        name = fold(team.name)
        nickname = name.split()[-1] if name else ""
        return max(_ratio(read, name), _ratio(read, nickname), *(_ratio(read, fold(a)) for a in team.aliases))

    scored = [(similarity(t), t) for t in teams]
    best = max((s for s, _ in scored), default=0.0)
    return [t for s, t in scored if s >= TEAM_MATCH_RATIO and best - s < AMBIGUITY_MARGIN]


def resolve_teams(sides: Sequence[str], teams: Sequence[TeamName]) -> list[TeamName | None]:
    """The team of each side, choosing the league all matched sides share when codes exist in several leagues.

    A side whose candidates span several leagues with no league in common with the other sides stays ``None``.
    """
    options = [team_candidates(side, teams) for side in sides]
    shared = set.intersection(*({t.league for t in o} for o in options if o)) if any(options) else set()
    resolved: list[TeamName | None] = []
    for candidates in options:
        in_shared = [t for t in candidates if t.league in shared] if shared else candidates
        resolved.append(in_shared[0] if len(in_shared) == 1 else None)
    return resolved
