"""Database rows for face tests that need clips and face tracks without decoding video."""

from __future__ import annotations

import numpy as np

from highlights.models import Clip, FaceTrack, Game


def clip_row(game: Game, start_ms: int, end_ms: int) -> Clip:
    """A clip of ``game`` from ``start_ms`` to ``end_ms`` (a placeholder embedding: no clip search here)."""
    return Clip.objects.create(
        game=game,
        start_ms=start_ms,
        end_ms=end_ms,
        model_class="news anchoring",
        confidence=0.5,
        highlight_score=0.5,
        model_version="test",
        pipeline_version="test",
        embedding=np.zeros(4, np.float32).tobytes(),
    )


def track_row(game: Game, clip: Clip, start_ms: int, vector: np.ndarray) -> FaceTrack:
    """A face track of half a second from ``start_ms`` carrying the ``(128,)`` descriptor ``vector``."""
    return FaceTrack.objects.create(
        game=game,
        clip=clip,
        start_ms=start_ms,
        end_ms=start_ms + 500,
        embedding=vector.astype(np.float32).tobytes(),
        quality=0.9,
        model_version="test",
    )
