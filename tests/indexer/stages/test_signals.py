"""Audio excitement, motion and the robust baseline on files built with ffmpeg and on real footage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import CorruptVideoError
from indexer.stages.audio import AudioDecodeError, audio_excitement
from indexer.stages.baseline import robust_zscore
from indexer.stages.motion import frame_motion, window_motion


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def _spans(duration_s: float, window_s: float = 1.0) -> np.ndarray:
    starts = np.arange(0.0, duration_s - window_s + 1e-9, window_s)
    return np.stack([starts, starts + window_s], axis=1)


def test_robust_zscore_centres_on_the_median_and_ignores_an_outlier() -> None:
    values = np.array([1.0, 1.1, 0.9, 1.0, 50.0], dtype=np.float32)
    z = robust_zscore(values)
    assert z.dtype == np.float32
    assert z[0] == pytest.approx(0.0, abs=1e-6)
    assert z[4] == 5.0  # clipped
    assert np.all(np.abs(z[:4]) < 2)
    assert np.all(robust_zscore(np.full(4, 3.0)) == 0)
    assert robust_zscore(np.array([], dtype=np.float32)).shape == (0,)


def test_a_loud_burst_is_the_most_exciting_window(tmp_path: Path) -> None:
    clip = tmp_path / "burst.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=green:s=160x90:d=8",
        "-f", "lavfi", "-i", "sine=frequency=220:duration=8",
        "-filter_complex",
        "[1:a]volume=0.05[quiet];anoisesrc=d=1:a=0.9[noise];[noise]adelay=5000|5000[late];"
        "[quiet][late]amix=inputs=2:duration=first:normalize=0[a]",
        "-map", "0:v", "-map", "[a]", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(clip),
    )  # fmt: skip
    features = audio_excitement(clip, _spans(8.0), has_audio=True)
    assert features.has_audio
    assert int(np.argmax(features.loudness_db)) == 5
    assert features.excitement[5] == features.excitement.max() > 0
    assert features.loudness_db[5] > features.loudness_db[1] + 10
    assert features.excitement.shape == features.spectral_flux.shape == (8,)


def test_no_audio_stream_and_a_silent_track_are_not_errors(tmp_path: Path, video_dir: Path) -> None:
    mute = tmp_path / "mute.mp4"
    _ffmpeg("-i", str(video_dir / "tennis_atp_clay_6s.mp4"), "-an", "-c:v", "copy", str(mute))
    none = audio_excitement(mute, _spans(5.0), has_audio=False)
    assert not none.has_audio
    assert np.all(none.excitement == 0)

    silent = tmp_path / "silent.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=160x90:d=4", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo",
        "-t", "4", "-c:v", "libx264", "-c:a", "aac", str(silent),
    )  # fmt: skip
    quiet = audio_excitement(silent, _spans(4.0), has_audio=True)
    assert not quiet.has_audio
    assert np.all(quiet.excitement == 0)


def test_real_broadcast_audio_gives_finite_signals(video_dir: Path) -> None:
    features = audio_excitement(video_dir / "basketball_nba_broadcast_5s.mp4", _spans(5.0), has_audio=True)
    assert features.has_audio
    assert np.all(np.isfinite(features.excitement))
    assert np.all(features.loudness_db > -60)


def test_undecodable_audio_is_a_readable_corrupt_video_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not media at all\n" * 64)
    with pytest.raises(AudioDecodeError, match="could not decode the audio") as excinfo:
        audio_excitement(bad, _spans(2.0), has_audio=True)
    assert isinstance(excinfo.value, CorruptVideoError)


def test_moving_frames_make_the_unusual_window_and_batches_do_not_change_the_result() -> None:
    rng = np.random.default_rng(0)
    still = np.repeat(rng.integers(0, 255, (1, 48, 64, 3), dtype=np.uint8), 30, axis=0)
    moving = rng.integers(0, 255, (10, 48, 64, 3), dtype=np.uint8)
    frames = np.concatenate([still[:20], moving, still[20:]])
    whole = frame_motion(frames, None)
    batched = np.concatenate([frame_motion(frames[:17], None), frame_motion(frames[17:], frames[16])])
    assert whole[0] == 0
    assert np.allclose(whole, batched)
    times = np.arange(len(frames)) / 10.0
    motion = window_motion(times, whole, _spans(4.0))
    assert int(np.argmax(motion.energy)) == 2  # frames 20-29 are seconds 2-3
    assert motion.unusual[2] == motion.unusual.max() > 0
