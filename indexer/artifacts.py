"""Where the pipeline keeps its per-game work files (resumable steps), keyed by pipeline and model version."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

PIPELINE_VERSION = "1"
"""Bumped when a step's output changes meaning; results of another version are recomputed."""


def analysis_path(game_id: int, model_version: str) -> Path:
    """The ``analyse`` step's result (``.npz``) for (game, pipeline version, model version), under ``HL_WORK_DIR``."""
    safe = model_version.replace("@", "-")
    return Path(settings.HL_WORK_DIR) / f"game_{game_id}" / f"analysis-p{PIPELINE_VERSION}-{safe}.npz"


def keyframe_dir(artifact: Path) -> Path:
    """Middle frames of the analysis windows (``window_{i:06d}.jpg``), beside the analysis artifact."""
    return artifact.with_name(artifact.stem + "-keyframes")


def graphics_path(game_id: int, ocr_version: str) -> Path:
    """The ``graphics`` step's reading of the score bug (JSON) for (game, pipeline version, OCR version)."""
    safe = ocr_version.replace("@", "-")
    return Path(settings.HL_WORK_DIR) / f"game_{game_id}" / f"graphics-p{PIPELINE_VERSION}-{safe}.json"
