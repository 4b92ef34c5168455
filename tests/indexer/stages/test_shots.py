"""Tests for indexer.stages.shots on real footage decoded with decord, as the pipeline does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import decord
import numpy as np
import pytest

from indexer.stages.shots import ShotDetector, ShotSpan

SAMPLE_FPS = 8.0


def _detect(path: Path, batch_size: int) -> tuple[list[ShotSpan], float]:
    """Decode ``path`` at ~8 fps, 224x128 px, and push it to a detector in batches."""
    reader = decord.VideoReader(str(path), width=224, height=128, num_threads=1)
    fps = reader.get_avg_fps()
    duration_s = len(reader) / fps
    indices = np.arange(0.0, len(reader), fps / SAMPLE_FPS).astype(np.int64)
    detector = ShotDetector(sample_fps=SAMPLE_FPS)
    for start in range(0, len(indices), batch_size):
        batch = indices[start : start + batch_size]
        detector.push(reader.get_batch(batch.tolist()).asnumpy(), batch / fps)
    return detector.finish(duration_s), duration_s


def _duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def test_exactly_one_cut_at_the_join_of_two_single_shot_clips(video_dir: Path, tmp_path: Path) -> None:
    # baseball_mlb_pitch_7s.mp4 is itself three cuts apart, so two single-take clips are joined
    first, second = video_dir / "tennis_atp_clay_6s.mp4", video_dir / "basketball_nba_broadcast_5s.mp4"
    joined = tmp_path / "joined.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(first), "-i", str(second),
         "-filter_complex", "[0:v]scale=320:180,setsar=1,fps=24[a];[1:v]scale=320:180,setsar=1,fps=24[b];"
         "[a][b]concat=n=2:v=1:a=0[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-an", str(joined)],
        check=True,
    )  # fmt: skip

    shots, duration_s = _detect(joined, batch_size=9)

    assert len(shots) == 2
    assert shots[0].start_ms == 0
    assert shots[0].end_ms == shots[1].start_ms
    assert shots[1].end_ms == round(duration_s * 1000)
    assert shots[1].start_ms / 1000 == pytest.approx(_duration_s(first), abs=0.5)


def test_a_single_continuous_shot_is_one_span(video_dir: Path) -> None:
    shots, duration_s = _detect(video_dir / "tennis_atp_hardcourt_5s.mp4", batch_size=16)

    assert shots == [ShotSpan(start_ms=0, end_ms=round(duration_s * 1000))]


def test_batch_size_does_not_change_the_cuts(video_dir: Path) -> None:
    one, _ = _detect(video_dir / "baseball_mlb_pitch_7s.mp4", batch_size=1000)
    many, _ = _detect(video_dir / "baseball_mlb_pitch_7s.mp4", batch_size=5)

    assert one == many
    assert len(one) == 4  # a compilation of pitches: three real camera cuts


def test_no_frames_gives_one_shot_and_times_must_increase() -> None:
    assert ShotDetector(sample_fps=8.0).finish(2.5) == [ShotSpan(0, 2500)]

    detector = ShotDetector(sample_fps=8.0)
    frames = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    detector.push(frames, np.array([0.0, 0.125]))
    with pytest.raises(ValueError, match="increase"):
        detector.push(frames, np.array([0.125, 0.25]))
