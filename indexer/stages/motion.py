"""Motion energy per action window: how much the picture changes, scored against the game.

Motion is the mean absolute difference of luma (ITU-R BT.601 weights) between consecutive
sampled frames, in grey levels 0..255, computed on every second pixel in each direction
(a 4x cheaper estimate that is indistinguishable at the pipeline's 128-224 px frames). It is a
cheap "something unusual is happening" signal: fast breaks, celebrations, replays with camera
moves. Shot cuts produce very large differences (often 30-80 grey levels) on the first frame of
each new shot; they are kept as they are here, and a caller that wants pure in-shot motion masks
the frames at the boundaries from :class:`indexer.stages.shots.ShotDetector` before
:func:`window_motion`.

Streaming: call :func:`frame_motion` per decoded batch, passing the last frame of the previous
batch, and keep only the ``(N,)`` differences and frame times (a few hundred kB for a 2-hour game).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.stages.baseline import robust_zscore, window_mean

__all__ = ["LUMA_WEIGHTS", "MotionFeatures", "frame_motion", "window_motion"]

LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
"""ITU-R BT.601 RGB -> luma weights."""

_STRIDE = 2  # keep every 2nd row and column before differencing


@dataclass(frozen=True)
class MotionFeatures:
    """Per-window motion signals of one game.

    Attributes:
        energy: ``(W,)`` float32 mean frame difference inside each window, grey levels 0..255.
        unusual: ``(W,)`` float32 robust z-score of ``energy`` in ``[-5, 5]`` against the game's
            own windows.
    """

    energy: np.ndarray
    unusual: np.ndarray


def frame_motion(frames: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Mean absolute luma difference of each frame to the frame before it.

    Args:
        frames: ``(N, H, W, 3)`` uint8 RGB batch of sampled frames.
        previous: ``(H, W, 3)`` uint8 RGB last frame of the previous batch, or None at the start
            of the video.

    Returns:
        ``(N,)`` float32 differences in grey levels 0..255; the first frame of the video scores 0.
        Splitting a video into batches gives exactly the values of one single batch.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must have shape (N, H, W, 3), got {frames.shape}")
    if len(frames) == 0:
        return np.zeros(0, dtype=np.float32)
    luma = _luma(frames)
    if previous is None:
        before = np.concatenate([luma[:1], luma[:-1]])
    else:
        before = np.concatenate([_luma(np.asarray(previous)[None]), luma[:-1]])
    return np.abs(luma - before).mean(axis=(1, 2), dtype=np.float64).astype(np.float32)


def window_motion(frame_times_s: np.ndarray, frame_diffs: np.ndarray, spans_s: np.ndarray) -> MotionFeatures:
    """Aggregate frame differences per window and score them against the game's baseline.

    Args:
        frame_times_s: ``(F,)`` float64 time of each sampled frame in seconds, non-decreasing.
        frame_diffs: ``(F,)`` float32 differences from :func:`frame_motion`, concatenated.
        spans_s: ``(W, 2)`` float64 window ``[start, end)`` in seconds. A frame counts for every
            window containing its time; a window containing no frame gets energy 0.

    Returns:
        Per-window energy and its robust z-score (``unusual``).
    """
    energy = window_mean(frame_times_s, frame_diffs, spans_s, empty=0.0).astype(np.float32)
    return MotionFeatures(energy=energy, unusual=robust_zscore(energy))


def _luma(frames: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 RGB -> ``(N, ceil(H/2), ceil(W/2))`` float32 luma, every 2nd pixel."""
    return frames[:, ::_STRIDE, ::_STRIDE].astype(np.float32) @ LUMA_WEIGHTS
