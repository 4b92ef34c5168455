"""Tests for indexer.stages.clips on synthetic window probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.stages.clips import HighlightWeights, build_clips, highlight_score, segment_probabilities
from indexer.stages.shots import ShotSpan

CATEGORIES = ("dribbling basketball", "dunking basketball", "playing tennis")


def _overlapping(labels: list[int], window_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``window_s`` with 50 % overlap; window ``i`` gives 0.8 to ``labels[i]``."""
    starts = np.arange(len(labels)) * window_s / 2
    spans = np.stack([starts, starts + window_s], axis=1)
    probs = np.full((len(labels), len(CATEGORIES)), 0.1)
    probs[np.arange(len(labels)), labels] = 0.8
    return spans, probs


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=np.float32)


def _summary(clips: list) -> list[tuple[str, int, int]]:
    return [(clip.model_class, clip.start_ms, clip.end_ms) for clip in clips]


def test_overlap_averaging_on_a_hand_computed_example() -> None:
    spans = np.array([[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]])
    probs = np.array([[0.6, 0.4], [0.2, 0.8], [0.0, 1.0]])

    segments, segment_probs, covering = segment_probabilities(spans, probs)

    np.testing.assert_array_equal(segments, [[0, 1], [1, 2], [2, 3], [3, 4]])
    np.testing.assert_allclose(segment_probs, [[0.6, 0.4], [0.4, 0.6], [0.1, 0.9], [0.0, 1.0]])
    assert covering == [(0,), (0, 1), (1, 2), (2,)]


def test_uncovered_gaps_produce_no_segment() -> None:
    spans = np.array([[0.0, 1.0], [2.0, 3.0]])

    segments, _, covering = segment_probabilities(spans, np.eye(2))

    np.testing.assert_array_equal(segments, [[0, 1], [2, 3]])
    assert covering == [(0,), (1,)]


def test_same_label_segments_merge_within_a_shot() -> None:
    spans, probs = _overlapping([0, 0, 0, 2, 2, 2])  # windows [0,2) ... [5,7)

    clips = build_clips(spans, probs, _zeros(6), _zeros(6), [ShotSpan(0, 7000)], CATEGORIES)

    # [3,4) is covered by windows 2 (label 0) and 3 (label 2): a tie, argmax takes the first class
    assert _summary(clips) == [("dribbling basketball", 0, 4000), ("playing tennis", 4000, 7000)]
    assert clips[0].window_indices == (0, 1, 2, 3)
    assert clips[1].window_indices == (3, 4, 5)
    assert clips[0].confidence == pytest.approx((0.8 * 3 + 0.45 * 1) / 4)
    assert clips[1].confidence == pytest.approx(0.8)
    assert clips[0].top_k[0] == ("dribbling basketball", pytest.approx(clips[0].confidence))
    assert [name for name, _ in clips[0].top_k] == ["dribbling basketball", "playing tennis", "dunking basketball"]
    assert all(isinstance(value, int) for clip in clips for value in (clip.start_ms, clip.end_ms))


def test_a_shot_boundary_splits_a_same_label_run() -> None:
    spans, probs = _overlapping([0, 0, 0, 0, 0])  # one label over [0, 6)
    shots = [ShotSpan(0, 2500), ShotSpan(2500, 6000)]

    clips = build_clips(spans, probs, _zeros(5), _zeros(5), shots, CATEGORIES)

    assert _summary(clips) == [("dribbling basketball", 0, 2500), ("dribbling basketball", 2500, 6000)]
    assert clips[0].window_indices == (0, 1, 2)  # [2, 2.5) is covered by windows 1 and 2
    assert clips[1].window_indices == (1, 2, 3, 4)


def test_a_short_run_joins_the_neighbour_it_resembles_most() -> None:
    spans = np.array([[0.0, 3.0], [3.0, 3.5], [3.5, 6.0]])
    probs = np.array([[0.1, 0.8, 0.1], [0.5, 0.1, 0.4], [0.1, 0.1, 0.8]])

    clips = build_clips(spans, probs, _zeros(3), _zeros(3), [ShotSpan(0, 6000)], CATEGORIES)

    # the 0.5 s run (top-1 class 0) scores class 1 at 0.1 and class 2 at 0.4: it joins the later clip
    assert _summary(clips) == [("dunking basketball", 0, 3000), ("playing tennis", 3000, 6000)]
    assert clips[1].window_indices == (1, 2)
    assert clips[1].confidence == pytest.approx((0.4 * 0.5 + 0.8 * 2.5) / 3)


def test_a_short_run_between_two_equal_labels_reunites_them() -> None:
    spans = np.array([[0.0, 3.0], [3.0, 3.5], [3.5, 6.0]])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.8, 0.1, 0.1]])

    clips = build_clips(spans, probs, _zeros(3), _zeros(3), [ShotSpan(0, 6000)], CATEGORIES)

    assert _summary(clips) == [("dribbling basketball", 0, 6000)]
    assert clips[0].window_indices == (0, 1, 2)


def test_a_shot_shorter_than_the_minimum_is_dropped() -> None:
    spans, probs = _overlapping([0, 0, 0, 0, 0])  # [0, 6)
    shots = [ShotSpan(0, 2000), ShotSpan(2000, 2600), ShotSpan(2600, 6000)]

    clips = build_clips(spans, probs, _zeros(5), _zeros(5), shots, CATEGORIES, min_clip_s=1.0)

    assert [(clip.start_ms, clip.end_ms) for clip in clips] == [(0, 2000), (2600, 6000)]


def test_audio_energy_and_motion_are_averaged_over_the_clip_windows() -> None:
    spans, probs = _overlapping([0, 0, 2, 2])
    audio_energy = np.array([0.0, 1.0, 2.0, 4.0], dtype=np.float32)
    motion = np.array([-1.0, -1.0, 1.0, 3.0], dtype=np.float32)

    calm, loud = build_clips(spans, probs, audio_energy, motion, [], CATEGORIES)

    assert (calm.window_indices, loud.window_indices) == ((0, 1, 2), (2, 3))
    assert (calm.audio_energy, loud.audio_energy) == (pytest.approx(1.0), pytest.approx(3.0))
    assert (calm.motion, loud.motion) == (pytest.approx(-1 / 3), pytest.approx(2.0))
    assert loud.highlight_score == pytest.approx(highlight_score(loud.confidence, 3.0, 2.0))
    assert loud.highlight_score > calm.highlight_score


def test_no_windows_no_clips_and_bad_shapes_raise() -> None:
    empty = np.zeros((0, 2))
    assert build_clips(empty, np.zeros((0, 3)), _zeros(0), _zeros(0), [], CATEGORIES) == []
    spans, probs = _overlapping([0, 1])
    with pytest.raises(ValueError, match="window_probs"):
        build_clips(spans, probs[:, :2], _zeros(2), _zeros(2), [], CATEGORIES)


@pytest.mark.parametrize("argument", [0, 1, 2])
def test_highlight_score_is_monotonic_in_each_input_and_bounded(argument: int) -> None:
    grid = np.linspace(-8.0, 8.0, 33)
    scores = []
    for value in grid:
        args = [0.5, 0.0, 0.0]
        args[argument] = (value + 8.0) / 16.0 if argument == 0 else value
        scores.append(highlight_score(*args))

    assert np.all(np.diff(scores) > 0)
    assert min(scores) >= 0.0
    assert max(scores) <= 1.0


def test_highlight_score_extremes_and_weights() -> None:
    assert highlight_score(1.0, 50.0, 50.0) == pytest.approx(1.0)
    assert highlight_score(0.0, -50.0, -50.0) == pytest.approx(0.0)
    assert highlight_score(0.5, 0.0, 0.0) == pytest.approx(0.5)
    # weights are normalised: scaling them changes nothing
    doubled = HighlightWeights(action=1.2, audio_energy=0.5, motion=0.3)
    assert highlight_score(0.7, 1.0, -1.0, doubled) == pytest.approx(highlight_score(0.7, 1.0, -1.0))
    assert highlight_score(0.2, 3.0, 0.0, HighlightWeights(0.0, 1.0, 0.0)) == pytest.approx(1 / (1 + np.exp(-3.0)))
    with pytest.raises(ValueError, match="weights"):
        HighlightWeights(action=-0.1)
