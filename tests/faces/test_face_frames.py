"""FaceFrames picks frames by presentation timestamps: no drift on variable-frame-rate footage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import decord
import numpy as np
import pytest

from indexer.stages.faces import FaceFrames
from indexer.stages.frames import shown_at

WIDTH, HEIGHT = 320, 180


def _encode(source: Path, start_s: float, fps: int, dest: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", str(start_s), "-t", "2", "-i", str(source), "-an",
         "-vf", f"fps={fps},scale={WIDTH}:{HEIGHT}", "-c:v", "libx264", "-preset", "ultrafast",
         "-video_track_timescale", "90000", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


@pytest.fixture(scope="module")
def vfr_video(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """2 s at 30 fps then 2 s at 10 fps of the press conference, joined by stream copy; and the 10 fps part."""
    folder = tmp_path_factory.mktemp("vfr")
    source = video_dir / "press_conference_face_12s.mp4"
    fast = _encode(source, 0.0, 30, folder / "fast.mp4")
    slow = _encode(source, 5.0, 10, folder / "slow.mp4")
    (folder / "list.txt").write_text(f"file '{fast}'\nfile '{slow}'\n")
    joined = folder / "vfr.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(folder / "list.txt"), "-c", "copy",
         str(joined)],
        check=True,
    )  # fmt: skip
    return joined, slow


def test_shown_at_is_the_last_frame_presented_at_or_before_each_time() -> None:
    starts = np.array([0.0, 0.1, 0.3, 0.6])
    assert shown_at(starts, np.array([-1.0, 0.0, 0.05, 0.1, 0.29, 0.3, 5.0])).tolist() == [0, 0, 0, 1, 1, 2, 3]


def test_face_frames_follow_timestamps_on_variable_frame_rate_video(vfr_video: tuple[Path, Path]) -> None:
    joined, slow = vfr_video
    frames = FaceFrames(joined, width=WIDTH, height=HEIGHT, short_side=HEIGHT)
    reader = decord.VideoReader(str(joined))  # 320x180: the size FaceFrames decodes at, so frames compare exactly
    assert len(reader) == 80 and reader.get_avg_fps() == pytest.approx(20.0), "30 fps then 10 fps: 20 fps on average"
    reference = decord.VideoReader(str(slow))
    for local_s in (0.05, 0.75, 1.55):
        got = frames.at(2.0 + local_s)
        assert got is not None
        assert np.array_equal(got, reference[int(local_s * 10)].asnumpy()), f"{local_s} s into the 10 fps part"
        # picking by the average frame rate, round(t * fps), lands on another frame: the drift this avoids
        assert not np.array_equal(got, reader[round((2.0 + local_s) * 20.0)].asnumpy())
    assert frames.at(3.95) is not None
    assert frames.at(4.0) is None, "past the end of the last frame"
