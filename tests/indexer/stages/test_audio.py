"""Tests for indexer.stages.audio with files built by real ffmpeg and the shared footage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from indexer.stages import audio
from indexer.stages.audio import AudioDecodeError, audio_features


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _spans(duration_s: float, window_s: float = 1.0) -> np.ndarray:
    """Windows of ``window_s`` with 50 % overlap covering ``duration_s``."""
    starts = np.arange(0.0, duration_s - window_s + 1e-9, window_s / 2)
    return np.stack([starts, starts + window_s], axis=1)


@pytest.fixture(scope="module")
def burst_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of a quiet 440 Hz sine with a loud white-noise burst at 6.0-7.0 s."""
    path = tmp_path_factory.mktemp("audio") / "burst.wav"
    _ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=10",
        "-f", "lavfi", "-i", "anoisesrc=color=white:sample_rate=44100:amplitude=0.8:duration=1:seed=7",
        "-filter_complex", "[0]volume=0.05[a];[1]adelay=6000:all=1[b];[a][b]amix=inputs=2:duration=first:normalize=0",
        str(path),
    )  # fmt: skip
    return path


def test_the_burst_window_is_the_most_exciting(burst_wav: Path) -> None:
    spans = _spans(10.0)  # 19 windows, the one starting at 6.0 s holds the whole burst

    features = audio_features(burst_wav, spans, has_audio=True)

    assert features.has_audio
    for values in (features.loudness_db, features.spectral_flux, features.audio_energy):
        assert values.shape == (len(spans),)
        assert values.dtype == np.float32
        assert np.isfinite(values).all()
    burst = int(np.flatnonzero(spans[:, 0] == 6.0)[0])
    assert int(np.argmax(features.loudness_db)) == burst
    assert features.audio_energy[burst] == features.audio_energy.max() > 3.0
    away = np.abs(spans.mean(axis=1) - 6.5) > 1.5
    assert features.audio_energy[burst] > features.audio_energy[away].max() + 3.0
    # lavfi's sine has amplitude 1/8; times 0.05: RMS 0.0044 = -47.1 dBFS
    assert features.loudness_db[0] == pytest.approx(-47.1, abs=0.5)
    assert features.loudness_db[burst] > features.loudness_db[0] + 15


def test_windows_past_the_end_of_the_track_get_the_floor(burst_wav: Path) -> None:
    spans = np.array([[0.0, 1.0], [9.0, 10.0], [12.0, 13.0]])

    features = audio_features(burst_wav, spans, has_audio=True, sample_rate=8000)

    assert features.loudness_db[2] == -100.0
    assert features.spectral_flux[2] == 0.0
    assert features.loudness_db[0] == pytest.approx(features.loudness_db[1], abs=0.5)


def test_the_pipe_block_size_does_not_change_the_result(burst_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spans = _spans(10.0)
    whole = audio_features(burst_wav, spans, has_audio=True)

    monkeypatch.setattr(audio, "_BLOCK_FRAMES", 3)  # ~0.2 s blocks: dozens of reads from the pipe
    streamed = audio_features(burst_wav, spans, has_audio=True)

    np.testing.assert_array_equal(streamed.loudness_db, whole.loudness_db)
    np.testing.assert_array_equal(streamed.spectral_flux, whole.spectral_flux)
    np.testing.assert_array_equal(streamed.audio_energy, whole.audio_energy)


def test_no_audio_stream_gives_zeros_without_decoding(video_dir: Path, tmp_path: Path) -> None:
    silent_video = tmp_path / "no_audio.mp4"
    _ffmpeg("-i", str(video_dir / "basketball_nba_broadcast_5s.mp4"), "-an", "-c:v", "copy", str(silent_video))
    spans = _spans(5.0)

    features = audio_features(silent_video, spans, has_audio=False)

    assert not features.has_audio
    assert not features.audio_energy.any()
    assert not features.spectral_flux.any()
    assert (features.loudness_db == -100.0).all()
    assert features.audio_energy.shape == (len(spans),)


def test_digitally_silent_track_is_reported_as_no_audio(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    _ffmpeg(
        "-f", "lavfi", "-i", "color=c=green:size=64x64:rate=10:duration=3",
        "-f", "lavfi", "-i", "anullsrc=channel_layout=stereo:sample_rate=44100",
        "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(path),
    )  # fmt: skip

    features = audio_features(path, _spans(3.0), has_audio=True)

    assert not features.has_audio
    assert not features.audio_energy.any()


def test_real_broadcast_audio_gives_finite_features(video_dir: Path) -> None:
    spans = _spans(5.5, window_s=2.0)

    features = audio_features(video_dir / "basketball_nba_broadcast_5s.mp4", spans, has_audio=True)

    assert features.has_audio
    assert np.isfinite(features.loudness_db).all()
    assert np.isfinite(features.spectral_flux).all()
    assert np.isfinite(features.audio_energy).all()
    assert (features.loudness_db > -60).all()
    assert (np.abs(features.audio_energy) <= 5).all()


def test_non_media_file_raises_a_readable_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 100)

    with pytest.raises(AudioDecodeError, match=r"notes\.mp4: .*Invalid data"):
        audio_features(path, _spans(3.0), has_audio=True)


def test_missing_file_raises_audio_decode_error(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="No such file"):
        audio_features(tmp_path / "gone.mp4", _spans(3.0), has_audio=True)
