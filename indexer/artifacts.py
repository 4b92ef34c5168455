"""Where the pipeline keeps its per-game files: work files (resumable steps, keyed by pipeline and model version),
thumbnails and face crops."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

PIPELINE_VERSION = "1"
"""Bumped when a step's output changes meaning; results of another version are recomputed."""


def game_work_dir(game_id: int) -> Path:
    """The game's folder of work files under ``HL_WORK_DIR`` (removed with the game)."""
    return Path(settings.HL_WORK_DIR) / f"game_{game_id}"


def game_media_dirs(game_id: int) -> tuple[str, str]:
    """The game's clip thumbnails and face crops: folders relative to ``MEDIA_ROOT`` (removed with the game)."""
    return f"thumbs/game_{game_id}", f"faces/game_{game_id}"


def analysis_path(game_id: int, model_version: str) -> Path:
    """The ``analyse`` step's result (``.npz``) for (game, pipeline version, model version), under ``HL_WORK_DIR``."""
    safe = model_version.replace("@", "-")
    return game_work_dir(game_id) / f"analysis-p{PIPELINE_VERSION}-{safe}.npz"


def keyframe_dir(artifact: Path) -> Path:
    """Middle frames of the analysis windows (``window_{i:06d}.jpg``), beside the analysis artifact."""
    return artifact.with_name(artifact.stem + "-keyframes")
