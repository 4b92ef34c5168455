"""Tests for indexer.stages.baseline: robust z-scores and per-window means."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.stages.baseline import robust_zscore, window_mean


def test_robust_zscore_matches_the_modified_z_score() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # median 3, MAD median(|-2, -1, 0, 1, 97|) = 1
    expected = np.clip((values - 3.0) / 1.4826, -5, 5)

    scores = robust_zscore(values)

    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-6)
    assert scores[-1] == 5.0


@pytest.mark.parametrize("values", [np.array([]), np.full(7, 3.5), np.array([np.nan, np.nan])])
def test_robust_zscore_degenerate_inputs_are_zeros(values: np.ndarray) -> None:
    scores = robust_zscore(values)

    assert scores.dtype == np.float32
    assert scores.shape == values.shape
    assert not scores.any()


def test_robust_zscore_falls_back_to_mean_deviation_when_mad_is_zero() -> None:
    scores = robust_zscore(np.array([0.0, 0.0, 0.0, 0.0, 10.0]))

    assert scores[:4].tolist() == [0.0] * 4
    # mean absolute deviation from the median: 2, scale 1.253314 * 2
    assert scores[4] == pytest.approx(10.0 / (1.253314 * 2.0), rel=1e-6)


def test_window_mean_uses_half_open_windows_and_fills_empty_ones() -> None:
    times = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    values = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    spans = np.array([[0.0, 1.0], [1.0, 2.0], [0.5, 1.5], [3.0, 4.0]])

    means = window_mean(times, values, spans, empty=-1.0)

    np.testing.assert_allclose(means, [2.0, 6.0, 4.0, -1.0])
