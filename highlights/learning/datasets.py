"""Training and evaluation inputs: verified clips as examples, their embeddings, decoded CRNN clips."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from highlights.learning.errors import LearningError
from highlights.learning.params import CRNNParams
from highlights.learning.taxonomy import BACKGROUND, action_set_key
from highlights.models import Clip, ReviewStatus
from indexer.artifacts import existing_analysis
from indexer.stages.analysis import Analysis
from indexer.stages.spans import span_frames
from ml.crnn import clip_tensor
from ml.mobilenet_v2 import MobileNetV2Weights
from ml.preprocessing import resize_short_side


@dataclass(frozen=True)
class Examples:
    """Verified clips and their class indices into ``classes`` (the labels, then ``(other)`` if any negatives)."""

    clips: list[Clip]
    y: np.ndarray
    classes: list[str]


def verified_examples(labels: Sequence[str], *, model_version: str | None = None) -> Examples:
    """The training clips of an action set: every verified clip with an action, labelled by it.

    Args:
        labels: the wanted label names (``Action.name``).
        model_version: keep only clips indexed by this action model (a head reads its embeddings).

    Raises:
        LearningError: a label has no verified clip.
    """
    wanted = action_set_key(labels).split(",")
    clips = Clip.objects.filter(review_status=ReviewStatus.VERIFIED, action__isnull=False).select_related(
        "action", "game"
    )
    if model_version is not None:
        clips = clips.filter(model_version=model_version)
    clips = list(clips.order_by("pk"))
    missing = [name for name in wanted if not any(c.action.name == name for c in clips)]
    if missing:
        raise LearningError(f"no verified clip labelled {', '.join(missing)}: verify or relabel some clips first")
    has_negatives = any(c.action.name not in wanted for c in clips)
    classes = [*wanted, BACKGROUND] if has_negatives else wanted
    index = {name: i for i, name in enumerate(wanted)}
    y = np.array([index.get(c.action.name, len(wanted)) for c in clips], dtype=np.int64)
    return Examples(clips, y, classes)


def window_embeddings(clip: Clip) -> np.ndarray:
    """``(n, D)`` float32 embeddings of the analysis windows centred inside the clip (empty without the artifact).

    The artifact of the clip's model at the configured settings is found at any precision it ran at.
    """
    path = existing_analysis(clip.game_id, clip.model_version)
    if path is None:
        return np.zeros((0, len(clip.embedding_vector())), dtype=np.float32)
    analysis = Analysis.load(path)
    centres = analysis.spans_s.mean(axis=1)
    inside = (centres >= clip.start_s) & (centres < clip.end_s)
    return analysis.features[inside].astype(np.float32)


def embedding_rows(examples: Examples, with_windows: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x (N, D), y (N,), groups (N,) clip pks, is_clip (N,) bool)``: clip embeddings first, then windows."""
    xs, ys, groups, is_clip = [], [], [], []
    for clip, label in zip(examples.clips, examples.y, strict=True):
        rows = [clip.embedding_vector()[None]]
        if with_windows:
            rows.append(window_embeddings(clip))
        block = np.concatenate(rows)
        xs.append(block)
        ys.append(np.full(len(block), label))
        groups.append(np.full(len(block), clip.pk))
        is_clip.append(np.arange(len(block)) == 0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups), np.concatenate(is_clip)


@dataclass(frozen=True)
class Span:
    """A span of a video to decode: the file, its frame size in pixels, start and end in seconds."""

    path: Path
    width: int
    height: int
    start_s: float
    end_s: float

    @classmethod
    def of_clip(cls, clip: Clip, fallback_size: int) -> Span:
        """A stored clip's span (``fallback_size`` pixels where the game's frame size is unknown)."""
        game = clip.game
        size = (game.width or fallback_size, game.height or fallback_size)
        return cls(Path(game.source_path), *size, clip.start_s, clip.end_s)


def crnn_inputs(spans: Sequence[Span], params: CRNNParams, *, two_stream: bool) -> torch.Tensor:
    """Decode ``params.frames`` frames per span and build the CRNN input ``(N, C, T, crop, crop)``.

    Frames are decoded with the short side at the backbone's reference resize/crop ratio (256/224
    for the ImageNet MobileNetV2) of ``params.input_size``; C is 3, or 5 with optical flow.

    Raises:
        indexer.errors.CorruptVideoError: a video cannot be decoded.
    """
    spec = MobileNetV2Weights.DEFAULT.value
    short_side = resize_short_side(params.input_size, spec)
    decoded = np.stack(
        [
            span_frames(
                s.path,
                width=s.width,
                height=s.height,
                start_s=s.start_s,
                end_s=s.end_s,
                count=params.frames,
                short_side=short_side,
            )
            for s in spans
        ]
    )
    return clip_tensor(decoded, spec, crop_size=params.input_size, with_flow=two_stream)
