"""Where the pipeline keeps its per-game work files (resumable steps), keyed by pipeline and model version."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

PIPELINE_VERSION = "1"
"""Bumped when a step's output changes meaning; results of another version are recomputed."""


def analysis_path(game_id: int, model_version: str, precision: str = "fp32") -> Path:
    """The ``analyse`` step's result (``.npz``) for (game, pipeline version, model version, precision).

    Under ``HL_WORK_DIR``. Reduced precision (``"bf16"``, ``"fp16"``, see ``ml.device``) changes the
    probabilities slightly, so it is part of the key; float32 keeps the key it always had.
    """
    safe = model_version.replace("@", "-") + ("" if precision == "fp32" else f"-{precision}")
    return Path(settings.HL_WORK_DIR) / f"game_{game_id}" / f"analysis-p{PIPELINE_VERSION}-{safe}.npz"


def existing_analysis(game_id: int, model_version: str) -> Path | None:
    """The game's analysis artifact for ``model_version`` at any precision (float32 first), or None if none exists."""
    for precision in ("fp32", "bf16", "fp16"):
        path = analysis_path(game_id, model_version, precision)
        if path.exists():
            return path
    return None


def keyframe_dir(artifact: Path) -> Path:
    """Middle frames of the analysis windows (``window_{i:06d}.jpg``), beside the analysis artifact."""
    return artifact.with_name(artifact.stem + "-keyframes")
