"""A video's sport from every cue: action-class probabilities summed per sport, and the broadcast graphics.

Pure stage: arrays, strings and graphics states in, a sport name (``highlights.models.Sport`` value) out.

Action classes: the window probabilities are averaged over the whole video, and the classes the
taxonomy maps to one sport are summed per sport. The single top class no longer decides: on the
shared basketball practice video "playing tennis" (0.40) loses to the three basketball classes
together (0.19 + 0.14 + 0.13 = 0.46). Classes of the catch-all sport ``other`` (celebrating,
golf, volleyball ...) are not a vote for any sport.

Graphics: a score bug that shows a baseball count or outs is baseball; one with tennis sets, games
or a server is tennis; a league's name on screen (``NBA``, ``LALIGA``, ...) names its sport; both
sides matched to teams of one league give that league's sport; a game clock that counts up is
soccer (the clocked North American sports count down). Graphics cues, when present, outrank
the action classes, which on wide or unusual views are weak (the LaLiga wide shot scores 0.007
for soccer classes, under :data:`MIN_SPORT_MASS`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from indexer.stages.graphics import GameState

IGNORED_SPORTS = frozenset({"other"})
MIN_SPORT_MASS = 0.05
"""Least summed probability for the action classes alone to name a sport. Measured on the shared clips:
the sports' own videos 0.46-1.0; the non-sport ones at most 0.002 (walking: baseball 0.0016); the LaLiga
wide shot 0.007, so its sport comes from the graphics."""

# League and tour names as printed on score bugs, folded to upper-case letters and digits only.
LEAGUE_SPORTS: dict[str, str] = {
    "NBA": "basketball",
    "WNBA": "basketball",
    "NCAA": "basketball",
    "EUROLEAGUE": "basketball",
    "MLB": "baseball",
    "NHL": "hockey",
    "NFL": "football",
    "ATP": "tennis",
    "WTA": "tennis",
    "LALIGA": "soccer",
    "PREMIERLEAGUE": "soccer",
    "BUNDESLIGA": "soccer",
    "SERIEA": "soccer",
    "LIGUE1": "soccer",
    "MLS": "soccer",
    "UEFA": "soccer",
    "FIFA": "soccer",
}
_BASEBALL_FIELDS = frozenset({"balls", "strikes", "outs", "pitch_count", "pitcher"})
_TENNIS_FIELDS = frozenset({"sets", "games", "points", "server"})
_WORD = re.compile(r"[A-Z0-9]+")
_COUNTING_UP_MIN_S = 3.0  # the clock must rise by at least this much over the video


def sport_class_sums(
    mean_probs: np.ndarray, categories: Sequence[str], class_sports: Mapping[str, str]
) -> dict[str, float]:
    """Video-level probability mass per sport.

    Args:
        mean_probs: ``(K,)`` class probabilities averaged over the video's windows.
        categories: the ``K`` class names of the action model.
        class_sports: class name → sport, from the action taxonomy (``Action.model_classes``).

    Returns:
        Sport → summed probability, for the sports with at least one mapped class (``other`` excluded).
    """
    sums: dict[str, float] = {}
    for name, p in zip(categories, mean_probs.tolist(), strict=True):
        sport = class_sports.get(name)
        if sport and sport not in IGNORED_SPORTS:
            sums[sport] = sums.get(sport, 0.0) + float(p)
    return sums


def sport_from_classes(sums: Mapping[str, float], *, min_mass: float = MIN_SPORT_MASS) -> str | None:
    """The sport with the largest summed probability, or ``None`` when none reaches ``min_mass``."""
    best = max(sums.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] >= min_mass else None


def sport_from_graphics(states: Sequence[GameState], team_sport: str | None = None) -> str | None:
    """The sport the score bug shows, or ``None`` when its readings say nothing about it.

    Args:
        states: the game-state timeline read from the bug.
        team_sport: the sport of the league both sides' teams belong to, when they were matched to teams.

    Returns:
        A sport name; cues are taken in the order baseball count, tennis fields, league name, teams, clock direction.
    """
    if not states:
        return None
    fields = {key for state in states for key, value in state.fields.items() if value is not None}
    if fields & _BASEBALL_FIELDS or any(state.half in ("top", "bottom") for state in states):
        return "baseball"
    if fields & _TENNIS_FIELDS:
        return "tennis"
    for state in states:
        words = _WORD.findall(state.raw_text.upper())
        joined = {"".join(words[i : i + 2]) for i in range(len(words))} | set(words)
        league = next((LEAGUE_SPORTS[w] for w in sorted(joined) if w in LEAGUE_SPORTS), None)
        if league:
            return league
    if team_sport:
        return team_sport
    clocked = [(s.time_ms, s.clock_s) for s in states if s.clock_s is not None]
    if len(clocked) >= 2 and clocked[-1][1] - clocked[0][1] >= _COUNTING_UP_MIN_S:
        return "soccer"
    return None
