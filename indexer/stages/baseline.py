"""Per-game baselines: robust z-scores and per-window aggregation of per-frame signals.

Audio energy and motion are only meaningful relative to the game they come from (a quiet
amateur recording and a roaring broadcast have different absolute levels), so each signal is
scored against the game's own distribution with the robust z-score ("modified z-score") of

    B. Iglewicz and D. C. Hoaglin, "How to Detect and Handle Outliers", ASQC Quality Press, 1993:

    z_i = (x_i - median(x)) / (1.4826 * MAD),   MAD = median(|x_i - median(x)|)

The constant 1.4826 = 1 / Phi^-1(3/4) makes ``1.4826 * MAD`` a consistent estimator of the
standard deviation for normal data, so the scores read like ordinary z-scores while a few extreme
moments (the highlights we are looking for) do not inflate the scale.

:func:`window_mean` is the one aggregation both the audio and the motion stage use to turn a
per-frame signal (audio frames, sampled video frames) into one value per action window.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "Z_CLIP", "robust_zscore", "window_mean"]

MAD_TO_SIGMA = 1.4826
"""Scale from the median absolute deviation to the standard deviation of a normal distribution."""

Z_CLIP = 5.0
"""Robust z-scores are clipped to ``[-Z_CLIP, Z_CLIP]``."""


def robust_zscore(values: np.ndarray) -> np.ndarray:
    """Robust z-score of each value against the median and MAD of all of them.

    Non-finite inputs are ignored when computing the baseline and score 0. When the MAD is zero
    (more than half the values equal) the scale falls back to ``1.253314 * mean absolute
    deviation`` (Iglewicz & Hoaglin's companion estimator); when that is zero too, every score is 0.

    Args:
        values: ``(N,)`` array of any real dtype, e.g. one value per window of a game.

    Returns:
        ``(N,)`` float32 scores in ``[-5, 5]``; all zeros when ``values`` is empty or constant.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    scores = np.zeros(x.shape, dtype=np.float32)
    finite = np.isfinite(x)
    if not finite.any():
        return scores
    median = np.median(x[finite])
    deviations = np.abs(x[finite] - median)
    scale = MAD_TO_SIGMA * np.median(deviations)
    if scale <= 0.0:
        scale = 1.253314 * float(deviations.mean())
    if scale <= 0.0:
        return scores
    scores[finite] = np.clip((x[finite] - median) / scale, -Z_CLIP, Z_CLIP)
    return scores


def window_mean(times_s: np.ndarray, values: np.ndarray, spans_s: np.ndarray, *, empty: float) -> np.ndarray:
    """Mean of a per-frame signal over the frames whose time falls in each window.

    A frame belongs to window ``w`` when ``spans_s[w, 0] <= times_s[i] < spans_s[w, 1]``. Runs in
    ``O((N + W) log N)`` with cumulative sums, so a 2-hour game costs nothing noticeable.

    Args:
        times_s: ``(N,)`` frame times in seconds, non-decreasing.
        values: ``(N,)`` per-frame values.
        spans_s: ``(W, 2)`` float64 window ``[start, end)`` in seconds.
        empty: value given to a window that contains no frame at all.

    Returns:
        ``(W,)`` float64 per-window means.
    """
    times = np.asarray(times_s, dtype=np.float64).reshape(-1)
    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    if times.shape != vals.shape:
        raise ValueError(f"times_s {times.shape} and values {vals.shape} must have the same shape")
    spans = _as_spans(spans_s)
    first = np.searchsorted(times, spans[:, 0], side="left")
    stop = np.searchsorted(times, spans[:, 1], side="left")
    sums = np.concatenate([[0.0], np.cumsum(vals)])
    counts = stop - first
    means = np.full(len(spans), float(empty), dtype=np.float64)
    filled = counts > 0
    means[filled] = (sums[stop[filled]] - sums[first[filled]]) / counts[filled]
    return means


def _as_spans(spans_s: np.ndarray) -> np.ndarray:
    """Validate and return window spans as a ``(W, 2)`` float64 array."""
    spans = np.asarray(spans_s, dtype=np.float64)
    if spans.size == 0:
        return spans.reshape(0, 2)
    if spans.ndim != 2 or spans.shape[1] != 2:
        raise ValueError(f"spans_s must have shape (W, 2), got {spans.shape}")
    return spans
