"""Read side: querysets used by the command line, views and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from highlights.models import Clip
from search.clips import clip_index
from search.query import query_terms


@dataclass(frozen=True)
class ClipHit:
    """One search result; times in seconds."""

    clip_id: int
    game_id: int
    start_s: float
    end_s: float
    label: str
    score: float

    @classmethod
    def of(cls, clip: Clip, score: float) -> ClipHit:
        return cls(clip.pk, clip.game_id, clip.start_s, clip.end_s, clip.label, round(score, 6))


def search_clips(text: str, *, limit: int = 50) -> list[ClipHit]:
    """Clips whose label, action, sport, game title or teams match every word of ``text``, best highlight first.

    Scores are the clips' highlight scores (0..1).
    """
    clips: QuerySet[Clip] = Clip.objects.select_related("game", "action")
    for term in query_terms(text):
        clips = clips.filter(
            Q(label__icontains=term)
            | Q(action__name__icontains=term)
            | Q(game__sport__iexact=term)
            | Q(game__title__icontains=term)
            | Q(game__home_team__icontains=term)
            | Q(game__away_team__icontains=term)
        )
    clips = clips.order_by("-highlight_score", "pk")[:limit]
    return [ClipHit.of(c, c.highlight_score) for c in clips]


def similar_clips(clip: Clip, *, k: int = 10) -> list[ClipHit]:
    """The ``k`` clips nearest to ``clip`` by embedding (cosine similarity as the score)."""
    hits = clip_index().search(clip.embedding_vector(), k, exclude={clip.pk})
    found = Clip.objects.in_bulk([pk for pk, _ in hits])
    return [ClipHit.of(found[pk], score) for pk, score in hits if pk in found]
