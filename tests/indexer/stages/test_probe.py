"""ffprobe facts on real footage and readable errors for bad files."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from indexer.errors import CorruptVideoError
from indexer.stages.probe import is_video_file, probe_video


def test_probe_reads_streams_of_a_broadcast_clip(video_dir: Path) -> None:
    info = probe_video(video_dir / "baseball_mlb_pitch_7s.mp4")
    assert (info.width, info.height, info.video_codec) == (960, 540, "h264")
    assert info.fps == pytest.approx(24.0, abs=0.01)
    assert info.duration_s == pytest.approx(6.8, abs=0.1)
    assert info.has_audio and info.audio_sample_rate == 44100
    assert info.frame_count == pytest.approx(info.duration_s * info.fps, abs=2)


def test_probe_reports_a_missing_audio_stream(video_dir: Path, tmp_path: Path) -> None:
    silent = tmp_path / "no_audio.mp4"
    src = video_dir / "tennis_atp_clay_6s.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-an", "-c:v", "copy", str(silent)], check=True)
    info = probe_video(silent)
    assert not info.has_audio and info.audio_sample_rate == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"hello, not a video\n" * 20, "not a readable video")],
)
def test_probe_errors_are_one_readable_line(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(CorruptVideoError, match=message) as excinfo:
        probe_video(bad)
    assert "\n" not in str(excinfo.value)


def test_probe_rejects_audio_only_files(tmp_path: Path) -> None:
    audio = tmp_path / "crowd.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(audio)], check=True
    )
    with pytest.raises(CorruptVideoError, match="no video stream"):
        probe_video(audio)


def test_probe_flags_interlaced_sources(interlaced_ts: Path, video_dir: Path) -> None:
    info = probe_video(interlaced_ts)
    assert info.interlaced
    assert (info.width, info.height, info.video_codec) == (1920, 1080, "mpeg2video")
    assert not probe_video(video_dir / "tennis_atp_hardcourt_5s.mp4").interlaced


def test_is_video_file_accepts_any_container_with_moving_pictures(
    animated_gif: Path, interlaced_ts: Path, video_dir: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "game.unknown-suffix"
    renamed.write_bytes((video_dir / "baseball_mlb_pitch_7s.mp4").read_bytes())
    still = tmp_path / "still.gif"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(animated_gif), "-frames:v", "1", str(still)], check=True)
    photo = tmp_path / "photo.jpg"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(animated_gif), "-frames:v", "1", str(photo)], check=True)
    notes = tmp_path / "notes.bin"
    notes.write_text("not a video\n" * 20)
    assert [is_video_file(p) for p in (animated_gif, interlaced_ts, renamed)] == [True, True, True]
    assert [is_video_file(p) for p in (still, photo, notes, tmp_path / "missing.mp4")] == [False, False, False, False]
