"""Action windows -> labelled clips with a highlight score.

The action model scores overlapping windows (50 % overlap), so every instant is seen by up to two
windows. :func:`segment_probabilities` splits the timeline at every window boundary and averages
the predictions of all windows covering each segment (prediction averaging over overlapping
clips). :func:`build_clips` then

1. splits the segments at shot boundaries (a clip never spans a camera cut);
2. labels each piece with its top-1 class and merges consecutive, contiguous pieces of the same
   label within the same shot into runs;
3. absorbs every run shorter than ``min_clip_s`` into an adjacent, contiguous run of the same shot,
   shortest first: into the neighbour whose label the short run itself gives the higher
   time-weighted probability (ties go to the earlier neighbour); neighbours that end up with the
   same label are merged again. A short run with no such neighbour (a shot shorter than
   ``min_clip_s``, or one isolated by gaps in the windows) is dropped;
4. scores each clip with :func:`highlight_score`.

Times: inputs in float seconds, outputs (:class:`ClipSpec`) in integer milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexer.stages.shots import ShotSpan

__all__ = ["ClipSpec", "HighlightWeights", "build_clips", "highlight_score", "segment_probabilities"]

_TIME_RESOLUTION_S = 1e-6  # window boundaries closer than this are the same instant


def segment_probabilities(
    spans_s: np.ndarray, probs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """Split the timeline at every window boundary and average the windows covering each piece.

    Example: windows [0, 2) -> p0 and [1, 3) -> p1 give segments [0, 1) -> p0,
    [1, 2) -> (p0 + p1) / 2 and [2, 3) -> p1. Stretches no window covers produce no segment.

    Args:
        spans_s: ``(W, 2)`` float64 window ``[start, end)`` in seconds (boundaries are rounded to
            the microsecond so that float noise cannot create sliver segments).
        probs: ``(W, C)`` class probabilities of each window.

    Returns:
        ``(S, 2)`` float64 segment spans in seconds sorted by start, ``(S, C)`` float64 mean
        probabilities, and for each segment the sorted indices of the windows covering it.

    Raises:
        ValueError: shapes disagree or a window does not have ``start < end``.
    """
    spans = np.round(np.asarray(spans_s, dtype=np.float64).reshape(-1, 2) / _TIME_RESOLUTION_S) * _TIME_RESOLUTION_S
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != len(spans):
        raise ValueError(f"probs must have shape (W, C) with W = {len(spans)}, got {probs.shape}")
    if np.any(spans[:, 1] <= spans[:, 0]):
        raise ValueError("every window must have start < end")
    bounds = np.unique(spans)
    first = np.searchsorted(bounds, spans[:, 0])
    stop = np.searchsorted(bounds, spans[:, 1])
    n_bins = max(len(bounds) - 1, 0)
    sums = np.zeros((n_bins, probs.shape[1]), dtype=np.float64)
    covering: list[list[int]] = [[] for _ in range(n_bins)]
    for window, (lo, hi) in enumerate(zip(first, stop, strict=True)):
        sums[lo:hi] += probs[window]
        for segment in range(lo, hi):
            covering[segment].append(window)
    counts = np.array([len(windows) for windows in covering], dtype=np.int64)
    kept = np.flatnonzero(counts)
    segment_spans = np.stack([bounds[kept], bounds[kept + 1]], axis=1)
    mean_probs = sums[kept] / counts[kept, None]
    return segment_spans, mean_probs, [tuple(covering[k]) for k in kept]


@dataclass(frozen=True)
class HighlightWeights:
    """Relative weights of the three highlight cues; normalised to sum 1 by :func:`highlight_score`.

    Attributes:
        action: weight of the action model's confidence in the clip's label.
        audio_energy: weight of the audio energy (crowd, commentary).
        motion: weight of the unusual-motion cue.
    """

    action: float = 0.6
    audio_energy: float = 0.25
    motion: float = 0.15

    def __post_init__(self) -> None:
        weights = (self.action, self.audio_energy, self.motion)
        if any(not math.isfinite(w) or w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"weights must be finite, non-negative and not all zero, got {weights}")


def highlight_score(
    confidence: float, audio_energy_z: float, motion_z: float, weights: HighlightWeights = HighlightWeights()
) -> float:
    """How much of a highlight a clip is, in [0, 1].

    ``score = (w_a * c + w_e * sigmoid(e) + w_m * sigmoid(m)) / (w_a + w_e + w_m)`` with ``c`` the
    label confidence clipped to [0, 1] and ``e``, ``m`` the game-relative robust z-scores of audio
    audio_energy and motion (``sigmoid(0) = 0.5``: an ordinary moment of the game). Non-decreasing in
    each input and strictly increasing in each input whose weight is positive.

    Args:
        confidence: probability of the clip's label, 0..1.
        audio_energy_z: mean audio energy z-score of the clip (0 for a game without audio).
        motion_z: mean motion z-score of the clip.
        weights: relative weights of the three cues.

    Returns:
        The score in [0, 1].
    """
    total = weights.action + weights.audio_energy + weights.motion
    score = (
        weights.action * min(max(float(confidence), 0.0), 1.0)
        + weights.audio_energy * _sigmoid(audio_energy_z)
        + weights.motion * _sigmoid(motion_z)
    ) / total
    return min(max(score, 0.0), 1.0)


@dataclass(frozen=True)
class ClipSpec:
    """One labelled clip, ready to be saved.

    Attributes:
        start_ms: start in integer milliseconds of the video's timeline.
        end_ms: end (exclusive) in integer milliseconds.
        model_class: category name of the clip's top-1 class.
        class_index: index of ``model_class`` in the model's categories.
        confidence: time-weighted mean probability of ``model_class`` over the clip's segments.
        audio_energy: mean audio energy z-score over the clip's windows.
        motion: mean motion z-score over the clip's windows.
        highlight_score: :func:`highlight_score` of the three above, in [0, 1].
        top_k: the clip's top-k ``(category, time-weighted mean probability)``, best first.
        window_indices: sorted indices of the windows overlapping the clip (the caller averages
            their embeddings).
    """

    start_ms: int
    end_ms: int
    model_class: str
    class_index: int
    confidence: float
    audio_energy: float
    motion: float
    highlight_score: float
    top_k: tuple[tuple[str, float], ...]
    window_indices: tuple[int, ...]


def build_clips(
    spans_s: np.ndarray,
    window_probs: np.ndarray,
    window_audio_energy: np.ndarray,
    window_motion: np.ndarray,
    shots: list[ShotSpan],
    categories: Sequence[str],
    *,
    min_clip_s: float = 1.0,
    top_k: int = 5,
    weights: HighlightWeights = HighlightWeights(),
) -> list[ClipSpec]:
    """Turn per-window predictions into labelled, scored clips that never cross a shot boundary.

    Args:
        spans_s: ``(W, 2)`` float64 window ``[start, end)`` in seconds.
        window_probs: ``(W, C)`` class probabilities per window.
        window_audio_energy: ``(W,)`` audio energy z-scores
            (:attr:`indexer.stages.audio.AudioFeatures.audio_energy`).
        window_motion: ``(W,)`` motion z-scores (:attr:`indexer.stages.motion.MotionFeatures.unusual`).
        shots: contiguous shots from :meth:`indexer.stages.shots.ShotDetector.finish` (times in ms);
            an empty list means one shot.
        categories: the ``C`` category names.
        min_clip_s: clips shorter than this, in seconds, are merged into a neighbour of the same
            shot or dropped (see the module docstring).
        top_k: number of classes kept in :attr:`ClipSpec.top_k`.
        weights: highlight score weights.

    Returns:
        Clips sorted by start.

    Raises:
        ValueError: array shapes or ``categories`` disagree.
    """
    probs = np.asarray(window_probs, dtype=np.float64)
    audio_energy = np.asarray(window_audio_energy, dtype=np.float64).reshape(-1)
    motion = np.asarray(window_motion, dtype=np.float64).reshape(-1)
    if probs.ndim != 2 or probs.shape[1] != len(categories):
        raise ValueError(f"window_probs must be (W, {len(categories)}), got {probs.shape}")
    if not len(audio_energy) == len(motion) == len(probs):
        raise ValueError(f"{len(probs)} windows but {len(audio_energy)} audio_energy and {len(motion)} motion values")
    if len(probs) == 0:
        return []

    segment_spans, segment_probs, segment_windows = segment_probabilities(spans_s, probs)
    pieces = _split_at_shots(segment_spans, shots)
    runs = _merge_short_runs(_label_runs(pieces, segment_probs), pieces, segment_probs, min_clip_s)

    clips = []
    for run in runs:
        members = pieces[run.first : run.stop]
        mean_probs = _time_weighted_probs(members, segment_probs)
        windows = sorted({w for piece in members for w in segment_windows[piece.segment]})
        confidence = float(mean_probs[run.class_index])
        clip_audio_energy = float(audio_energy[windows].mean())
        clip_motion = float(motion[windows].mean())
        best = np.argsort(-mean_probs, kind="stable")[:top_k]
        clips.append(
            ClipSpec(
                start_ms=round(members[0].start_s * 1000),
                end_ms=round(members[-1].end_s * 1000),
                model_class=categories[run.class_index],
                class_index=run.class_index,
                confidence=confidence,
                audio_energy=clip_audio_energy,
                motion=clip_motion,
                highlight_score=highlight_score(confidence, clip_audio_energy, clip_motion, weights),
                top_k=tuple((categories[c], float(mean_probs[c])) for c in best),
                window_indices=tuple(windows),
            )
        )
    return clips


@dataclass(frozen=True)
class _Piece:
    """A segment, or the part of one inside a single shot."""

    start_s: float
    end_s: float
    segment: int
    shot: int


@dataclass(frozen=True)
class _Run:
    """Consecutive pieces ``[first, stop)`` sharing a label within one shot."""

    first: int
    stop: int
    class_index: int
    shot: int


def _sigmoid(z: float) -> float:
    """Numerically stable logistic function."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _split_at_shots(segment_spans: np.ndarray, shots: list[ShotSpan]) -> list[_Piece]:
    """Cut segments at every shot boundary and tag each piece with its shot index."""
    cuts = np.array(sorted(shot.start_ms for shot in shots)[1:], dtype=np.float64) / 1000.0
    pieces = []
    for segment, (start, end) in enumerate(segment_spans):
        inner = cuts[(cuts > start) & (cuts < end)]
        edges = [float(start), *inner.tolist(), float(end)]
        for lo, hi in itertools.pairwise(edges):
            shot = int(np.searchsorted(cuts, (lo + hi) / 2.0, side="right"))
            pieces.append(_Piece(start_s=lo, end_s=hi, segment=segment, shot=shot))
    return pieces


def _label_runs(pieces: list[_Piece], segment_probs: np.ndarray) -> list[_Run]:
    """Group consecutive contiguous pieces with the same top-1 label and shot."""
    runs: list[_Run] = []
    for index, piece in enumerate(pieces):
        class_index = int(np.argmax(segment_probs[piece.segment]))
        previous = runs[-1] if runs else None
        if previous is not None and previous.class_index == class_index and _joinable(pieces, previous.stop - 1, index):
            runs[-1] = _Run(previous.first, index + 1, class_index, previous.shot)
        else:
            runs.append(_Run(index, index + 1, class_index, piece.shot))
    return runs


def _joinable(pieces: list[_Piece], left: int, right: int) -> bool:
    """Whether piece ``left`` ends where piece ``right`` starts, in the same shot."""
    a, b = pieces[left], pieces[right]
    return a.shot == b.shot and abs(b.start_s - a.end_s) < _TIME_RESOLUTION_S


def _duration(run: _Run, pieces: list[_Piece]) -> float:
    return pieces[run.stop - 1].end_s - pieces[run.first].start_s


def _merge_short_runs(
    runs: list[_Run], pieces: list[_Piece], segment_probs: np.ndarray, min_clip_s: float
) -> list[_Run]:
    """Absorb runs shorter than ``min_clip_s`` into a neighbour (see the module docstring)."""
    runs = list(runs)

    def is_short(run: _Run) -> bool:
        return _duration(run, pieces) < min_clip_s - _TIME_RESOLUTION_S

    def neighbours(i: int) -> list[int]:
        found = []
        if i > 0 and _joinable(pieces, runs[i - 1].stop - 1, runs[i].first):
            found.append(i - 1)
        if i + 1 < len(runs) and _joinable(pieces, runs[i].stop - 1, runs[i + 1].first):
            found.append(i + 1)
        return found

    while True:
        candidates = [i for i, run in enumerate(runs) if is_short(run) and neighbours(i)]
        if not candidates:
            break
        i = min(candidates, key=lambda k: _duration(runs[k], pieces))
        own_probs = _time_weighted_probs(pieces[runs[i].first : runs[i].stop], segment_probs)
        target = max(neighbours(i), key=lambda k: (own_probs[runs[k].class_index], -k))
        lo, hi = min(i, target), max(i, target)
        runs[lo : hi + 1] = [_Run(runs[lo].first, runs[hi].stop, runs[target].class_index, runs[target].shot)]
        for k in (lo + 1, lo):  # the merged run may now touch a neighbour with the same label
            if k >= 1 and k < len(runs) and runs[k - 1].class_index == runs[k].class_index and k - 1 in neighbours(k):
                runs[k - 1 : k + 1] = [_Run(runs[k - 1].first, runs[k].stop, runs[k].class_index, runs[k].shot)]
    return [run for run in runs if not is_short(run)]


def _time_weighted_probs(members: Sequence[_Piece], segment_probs: np.ndarray) -> np.ndarray:
    """``(C,)`` mean class probabilities over pieces, weighted by their durations."""
    durations = np.array([piece.end_s - piece.start_s for piece in members])
    stacked = segment_probs[[piece.segment for piece in members]]
    return durations @ stacked / durations.sum()
