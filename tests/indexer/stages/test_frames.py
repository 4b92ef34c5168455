"""Frame sampling and windowing on real footage (decord), including edit lists and variable timing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.errors import CorruptVideoError
from indexer.stages.decode import DecordReader, PyAVReader
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


def test_sampler_decodes_an_animated_gif_through_pyav_at_the_same_rate(animated_gif: Path, video_dir: Path) -> None:
    probe = probe_video(animated_gif)
    with pytest.raises(CorruptVideoError, match="broken metadata"):
        DecordReader(animated_gif, size=(456, 256), num_threads=1)
    sampler = FrameSampler(animated_gif, width=probe.width, height=probe.height, sample_fps=5.0, short_side=256)
    assert isinstance(sampler._reader, PyAVReader)
    frames = np.concatenate([b.frames for b in sampler])
    assert frames.shape == (sampler.count, 256, 456, 3)
    assert sampler.count == pytest.approx(probe.duration_s * 5, abs=1)
    np.testing.assert_allclose(sampler.times_s, np.arange(sampler.count) * 0.2, atol=1e-6)  # GIF: 10 fps exactly
    source = video_dir / "basketball_nba_broadcast_5s.mp4"
    mp4 = FrameSampler(source, width=854, height=480, sample_fps=5.0, short_side=256)
    same = min(mp4.count, sampler.count)
    np.testing.assert_allclose(sampler.times_s[:same], mp4.times_s[:same], atol=0.05)  # one sampling, whatever the file


def test_pyav_gives_decords_presentation_times_and_pixels(video_dir: Path) -> None:
    path = video_dir / "soccer_laliga_wide_21s.mp4"  # edit list: negative times for the frames cut away
    decord_reader = DecordReader(path, size=(456, 256), num_threads=1)
    pyav_reader = PyAVReader(path, size=(456, 256), num_threads=1)
    np.testing.assert_allclose(pyav_reader.times_s, decord_reader.times_s, atol=1e-5)
    # Forward, a jump, backwards (a seek), the last frame. Not the first group of pictures after the
    # edit list: decord numbers its frames from the first one shown there, 142 frames off.
    picks = [310, 316, 500, 350, 771]
    a = pyav_reader.get_batch(picks).astype(np.int16)
    b = decord_reader.get_batch(picks).astype(np.int16)
    assert np.abs(a - b).mean() < 3.0  # same frames; the scalers round differently


def _combing(frames: np.ndarray) -> float:
    """Share of pixels whose rows above and below (the other field) agree with each other but not with it.

    The vertical second difference minus the difference across two rows (same field), above 40
    grey levels: the teeth of two fields from different instants woven into one frame.
    """
    luma = frames.astype(np.float32).mean(axis=-1)
    second = np.abs(2 * luma[:, 1:-1] - luma[:, :-2] - luma[:, 2:])
    same_field = np.abs(luma[:, 2:] - luma[:, :-2])
    return float((second - same_field > 40).mean())


def test_interlaced_source_is_deinterlaced_before_the_model(interlaced_ts: Path) -> None:
    probe = probe_video(interlaced_ts)
    kwargs = {"width": probe.width, "height": probe.height, "sample_fps": 2.0, "short_side": probe.height}
    woven = FrameSampler(interlaced_ts, **kwargs)
    deinterlaced = FrameSampler(interlaced_ts, **kwargs, deinterlace=True)
    np.testing.assert_allclose(deinterlaced.times_s, woven.times_s, atol=1e-5)
    woven_frames = np.concatenate([b.frames for b in woven])
    clean_frames = np.concatenate([b.frames for b in deinterlaced])
    assert clean_frames.shape == woven_frames.shape
    assert _combing(clean_frames) < 0.6 * _combing(woven_frames)


def test_pyav_refuses_a_truncated_file_as_decord_does(video_dir: Path, tmp_path: Path) -> None:
    data = (video_dir / "baseball_mlb_pitch_7s.mp4").read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 3])  # the index (moov) is at the front: it lists every frame
    with pytest.raises(CorruptVideoError, match="truncated"):
        PyAVReader(truncated, size=(456, 256), num_threads=1)
    with pytest.raises(CorruptVideoError, match=str(truncated)):
        FrameSampler(truncated, width=960, height=540, sample_fps=5.0, short_side=128)


def test_pyav_sparse_requests_give_the_frames_of_a_full_decode(video_dir: Path) -> None:
    """Non-reference frames before each request are skipped and a keyframe ahead is sought; the frames are unchanged."""
    import av

    path = video_dir / "press_conference_face_12s.mp4"  # H.264 with B-frames; keyframes at frames 0, 112 and 233
    size = (240, 320)
    with av.open(str(path)) as container:
        decoded = sorted(container.decode(video=0), key=lambda frame: frame.pts)
        full = [f.to_ndarray(width=size[0], height=size[1], format="rgb24", interpolation="BILINEAR") for f in decoded]
    reader = PyAVReader(path, size=size, num_threads=2)
    assert len(reader.times_s) == len(full)
    # 4 fps, then 1 fps, a jump past a keyframe (sought, not decoded through), the frame after it, the last frame
    picks = [0, 7, 15, 22, 52, 82, 200, 201, 260, len(full) - 1]
    for index, frame in zip(picks, reader.get_batch(picks), strict=True):
        assert np.array_equal(frame, full[index]), f"frame {index}"
    assert np.array_equal(reader.get_batch([30])[0], full[30])  # backwards: sought back
    assert np.array_equal(reader.get_batch([0])[0], full[0])  # back to the start
