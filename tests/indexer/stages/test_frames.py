"""Frame sampling and windowing on real footage (decord), including edit lists and variable timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.errors import CorruptVideoError
from indexer.stages.frames import FrameSampler, decode_size, sample_indices, window_starts
from indexer.stages.probe import probe_video


def test_decode_size_keeps_aspect_and_even_pixels() -> None:
    assert decode_size(1920, 1080, 256) == (456, 256)
    assert decode_size(720, 960, 256) == (256, 342)


def test_sample_indices_follow_presentation_time_and_skip_edit_list_frames() -> None:
    stamps = np.concatenate([np.arange(-1.0, 0.0, 1 / 30), np.arange(0.0, 2.0, 1 / 30)])
    picks = sample_indices(stamps, 5.0)
    assert np.all(stamps[picks] >= 0)
    assert np.allclose(np.diff(stamps[picks]), 0.2, atol=1 / 30)
    assert len(picks) == 10
    slow = np.arange(0.0, 2.0, 0.5)  # a 2 fps video keeps every frame at 5 fps sampling
    assert sample_indices(slow, 5.0).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("n", "window", "overlap", "expected"),
    [
        (40, 16, 0.5, [0, 8, 16, 24]),
        (40, 16, 0.25, [0, 12, 24]),
        (30, 16, 0.0, [0, 14]),
        (5, 16, 0.5, [0]),
        (0, 16, 0.5, []),
    ],
)
def test_window_starts_cover_every_frame(n: int, window: int, overlap: float, expected: list[int]) -> None:
    starts = window_starts(n, window, overlap)
    assert starts == expected
    if n:
        assert starts[0] == 0 and starts[-1] + window >= n


def test_sampler_yields_resized_batches_at_the_sampling_rate(video_dir: Path) -> None:
    path = video_dir / "tennis_atp_hardcourt_5s.mp4"
    probe = probe_video(path)
    sampler = FrameSampler(path, width=probe.width, height=probe.height, sample_fps=5.0, short_side=128, batch_size=8)
    batches = list(sampler)
    frames = np.concatenate([b.frames for b in batches])
    times = np.concatenate([b.times_s for b in batches])
    assert frames.shape[1:] == (128, 228, 3) and frames.dtype == np.uint8
    assert len(frames) == sampler.count == pytest.approx(probe.duration_s * 5, abs=2)
    assert max(len(b.frames) for b in batches) == 8
    assert np.all(np.diff(times) > 0) and times[-1] <= probe.duration_s


def test_sampler_uses_real_timestamps_on_a_clip_with_an_edit_list(video_dir: Path) -> None:
    path = video_dir / "soccer_laliga_wide_21s.mp4"  # its first 4.7 s of frames are cut by the edit list
    probe = probe_video(path)
    sampler = FrameSampler(path, width=probe.width, height=probe.height, sample_fps=2.0, short_side=64)
    assert sampler.times_s[0] >= 0
    assert sampler.times_s[-1] <= probe.duration_s + 0.05


def test_sampler_rejects_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 50)
    with pytest.raises(CorruptVideoError, match=str(bad)):
        FrameSampler(bad, width=640, height=360, sample_fps=5.0, short_side=128)
