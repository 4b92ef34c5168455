"""Tests for indexer.stages.motion on synthetic frames."""

from __future__ import annotations

import numpy as np

from indexer.stages.motion import frame_motion, window_motion

FPS = 8.0


def _static_then_moving(n_frames: int = 80, moving: slice = slice(40, 48)) -> np.ndarray:
    """Textured 64x96 frames: still except a bright square sweeping across during ``moving``."""
    rng = np.random.default_rng(0)
    background = rng.integers(0, 80, size=(64, 96, 3), dtype=np.uint8)
    frames = np.repeat(background[None], n_frames, axis=0)
    for step, index in enumerate(range(moving.start, moving.stop)):
        x = 8 * step
        frames[index, 16:48, x : x + 24] = 255
    return frames


def test_first_frame_scores_zero_and_a_change_is_measured_in_grey_levels() -> None:
    frames = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    frames[1] = 100  # every pixel's luma rises by 100 (BT.601 weights sum to 1)

    diffs = frame_motion(frames, previous=None)

    assert diffs.dtype == np.float32
    np.testing.assert_allclose(diffs, [0.0, 100.0, 100.0], rtol=1e-5)


def test_batches_give_the_same_result_as_one_batch() -> None:
    frames = _static_then_moving()
    whole = frame_motion(frames, previous=None)

    parts = []
    previous = None
    for start in range(0, len(frames), 13):
        batch = frames[start : start + 13]
        parts.append(frame_motion(batch, previous))
        previous = batch[-1]

    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_the_moving_window_is_the_most_unusual() -> None:
    frames = _static_then_moving(moving=slice(40, 48))
    times = np.arange(len(frames)) / FPS
    starts = np.arange(0.0, 9.0, 1.0)  # 2 s windows, 50 % overlap, over 10 s
    spans = np.stack([starts, starts + 2.0], axis=1)

    features = window_motion(times, frame_motion(frames, None), spans)

    assert features.energy.shape == features.unusual.shape == (len(spans),)
    assert features.energy.dtype == features.unusual.dtype == np.float32
    # frames 40..48 (5.0-6.0 s) move: windows [4, 6) and [5, 7) contain them
    assert set(np.flatnonzero(features.unusual == features.unusual.max())) <= {4, 5}
    assert features.unusual.max() > 3.0
    assert features.energy[0] == 0.0
