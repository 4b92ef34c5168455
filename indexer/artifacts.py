"""Where the pipeline keeps its per-game files (work files of resumable steps, thumbnails, face crops), and the
keys its results are stored under.

Results are keyed by every parameter that changes them, so a settings change is never answered
with a stale result: the ``analyse`` artifact by :func:`analysis_key` (pipeline version, sampling,
window and input-size settings, the model's precision) beside the model version, the clips by
:func:`clips_key` (the analysis key and ``HL_MIN_CLIP_S``), the ``graphics`` artifact by :func:`graphics_key`
(pipeline version and every graphics parameter) beside the OCR version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from django.conf import settings

from indexer import runtime
from indexer.stages.analysis import AnalysisParams
from indexer.stages.graphics import GraphicsParams
from ml.device import RESOLVED_PRECISIONS

PIPELINE_VERSION = "1"
"""Bumped when a step's output changes meaning; results of another version are recomputed."""

ANALYSIS_FORMAT = 2
"""The analysis artifact's array names (2: the audio z-score is ``audio_energy``); older artifacts are recomputed."""


def analysis_params() -> AnalysisParams:
    """The ``analyse`` step's parameters from the ``HL_*`` settings and the configured model."""
    return AnalysisParams(
        sample_fps=settings.HL_SAMPLE_FPS,
        window_frames=settings.HL_WINDOW_FRAMES,
        overlap=settings.HL_WINDOW_OVERLAP,
        short_side=runtime.decode_short_side(),
        batch_windows=settings.HL_BATCH_WINDOWS,
        decode_threads=settings.HL_DECODE_THREADS,
    )


def _digest(params: dict[str, object]) -> str:
    """The first 12 hex digits of the sha256 of ``params`` as sorted, compact JSON."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def analysis_key(params: AnalysisParams, *, crop_size: int, precision: str) -> str:
    """The key of an analysis: a hash of everything besides the model weights that changes its result.

    That is the pipeline version, the artifact's format, ``sample_fps``, ``window_frames``, ``overlap``, the decoded
    ``short_side``, the model's square ``crop_size`` (``HL_INPUT_SIZE``), in pixels, and the
    ``precision`` the model ran at (``"fp32"``, ``"bf16"`` or ``"fp16"``, see :mod:`ml.device`:
    reduced precision changes the probabilities slightly). Batching, decoder threads and the
    device change only the speed and are left out.
    """
    return _digest(
        {
            "pipeline": PIPELINE_VERSION,
            "format": ANALYSIS_FORMAT,
            "sample_fps": params.sample_fps,
            "window_frames": params.window_frames,
            "overlap": params.overlap,
            "short_side": params.short_side,
            "crop_size": crop_size,
            "precision": precision,
        }
    )


def current_analysis_key(precision: str) -> str:
    """:func:`analysis_key` of the configured settings for a model run at ``precision``.

    The precision is the one the ``analyse`` step ran at (recorded in the job's ``model_versions``),
    which another worker's placement need not share.
    """
    return analysis_key(analysis_params(), crop_size=settings.HL_INPUT_SIZE, precision=precision)


def clips_key(analysis: str, *, min_clip_s: float) -> str:
    """The key of a game's clips: the key of the analysis they come from and the shortest clip kept (seconds)."""
    return _digest({"analysis": analysis, "min_clip_s": min_clip_s})


def game_work_dir(game_id: int) -> Path:
    """The game's folder of work files under ``HL_WORK_DIR`` (removed with the game)."""
    return Path(settings.HL_WORK_DIR) / f"game_{game_id}"


def game_media_dirs(game_id: int) -> tuple[str, str]:
    """The game's clip thumbnails and face crops: folders relative to ``MEDIA_ROOT`` (removed with the game)."""
    return f"thumbs/game_{game_id}", f"faces/game_{game_id}"


def analysis_path(game_id: int, model_version: str, key: str) -> Path:
    """The ``analyse`` step's result (``.npz``) for (game, model version, analysis key), under ``HL_WORK_DIR``."""
    safe = model_version.replace("@", "-")
    return game_work_dir(game_id) / f"analysis-p{PIPELINE_VERSION}-{safe}-{key}.npz"


def existing_analysis(game_id: int, model_version: str) -> Path | None:
    """The game's analysis artifact for ``model_version`` and the configured settings at any precision.

    Float32 is looked for first, then bfloat16 and float16 (``ml.device.RESOLVED_PRECISIONS``).

    Returns:
        The artifact's path, or None if none exists.
    """
    for precision in RESOLVED_PRECISIONS:
        path = analysis_path(game_id, model_version, current_analysis_key(precision))
        if path.exists():
            return path
    return None


def keyframe_dir(artifact: Path) -> Path:
    """Middle frames of the analysis windows (``window_{i:06d}.jpg``), beside the analysis artifact."""
    return artifact.with_name(artifact.stem + "-keyframes")


def graphics_params() -> GraphicsParams:
    """The ``graphics`` step's parameters from ``HL_GRAPHICS_FPS`` and ``HL_GRAPHICS_SHORT_SIDE``."""
    return GraphicsParams(sample_fps=settings.HL_GRAPHICS_FPS, short_side=settings.HL_GRAPHICS_SHORT_SIDE)


def graphics_key(params: GraphicsParams) -> str:
    """The key of a score-bug reading besides the OCR version: the pipeline version and every field of ``params``
    that changes what is read. ``prefetch_frames`` and ``HL_GRAPHICS_OCR_THREADS`` change only the speed and are
    left out."""
    fields = {k: v for k, v in dataclasses.asdict(params).items() if k != "prefetch_frames"}
    return _digest({"pipeline": PIPELINE_VERSION, **fields})


def graphics_path(game_id: int, ocr_version: str, key: str) -> Path:
    """The ``graphics`` step's reading of the score bug (JSON) for (game, OCR version, graphics key)."""
    safe = ocr_version.replace("@", "-")
    return game_work_dir(game_id) / f"graphics-p{PIPELINE_VERSION}-{safe}-{key}.json"
