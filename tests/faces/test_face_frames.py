"""FaceFrames picks frames by presentation timestamps: no drift on variable-frame-rate footage; the sparse
(PyAV) decode picks the frames the random-access (decord) one did."""

from __future__ import annotations

import subprocess
from pathlib import Path

import decord
import numpy as np
import pytest

from indexer.stages.faces import FaceFrames, FaceScanParams, FaceTrackSpec, scan_span, scan_spans
from indexer.stages.frames import shown_at
from indexer.stages.probe import probe_video
from ml.faces import FaceRecognizer

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


def _scan_picks(path: Path, recognizer: FaceRecognizer, *, sparse: bool) -> tuple[list[float], list[FaceTrackSpec]]:
    """Scan the whole clip as the pipeline does; the presentation time of every frame analysed, and the tracks."""
    probe = probe_video(path)
    frames = FaceFrames(path, width=probe.width, height=probe.height, short_side=360, sparse=sparse)
    picked: list[float] = []
    at = frames.at

    def noting_at(time_s: float) -> np.ndarray | None:
        frame = at(time_s)
        if frame is not None:
            picked.append(float(frames.times_s[shown_at(frames.times_s, time_s)]))
        return frame

    frames.at = noting_at  # type: ignore[method-assign]
    tracks, _ = scan_span(frames, 0.0, probe.duration_s, recognizer.detect_and_describe, FaceScanParams())
    return picked, tracks


@pytest.mark.parametrize("name", ["press_conference_face_12s.mp4", "walking_plaza_5s.mp4"])
def test_sparse_decoding_samples_the_frames_random_access_picked_and_finds_the_same_tracks(
    name: str, video_dir: Path, weights_dir: Path
) -> None:
    recognizer = FaceRecognizer(weights_dir)
    old_picks, old_tracks = _scan_picks(video_dir / name, recognizer, sparse=False)  # decord, frame by frame
    new_picks, new_tracks = _scan_picks(video_dir / name, recognizer, sparse=True)  # PyAV, reference frames only
    assert len(old_picks) >= 5
    np.testing.assert_allclose(new_picks, old_picks, atol=1e-6)  # the same frames: the same presentation times
    assert [(len(t.faces), t.start_ms, t.end_ms) for t in new_tracks] == [
        (len(t.faces), t.start_ms, t.end_ms) for t in old_tracks
    ]
    for old, new in zip(old_tracks, new_tracks, strict=True):
        # no deblocking, and swscale's bilinear scaler is not decord's: the pixels differ a little
        assert float(np.linalg.norm(old.embedding - new.embedding)) < 0.1  # same person: about 0.39
    if name.startswith("press"):
        assert len(new_tracks) == 1 and len(new_tracks[0].faces) > 40  # the speaker, followed at 4 fps


def test_spans_scanned_by_two_threads_give_the_tracks_of_one_scan_after_another(
    video_dir: Path, weights_dir: Path
) -> None:
    path = video_dir / "press_conference_face_12s.mp4"
    probe = probe_video(path)
    spans = [(0.0, 2.9), (2.9, 6.1), (6.1, 8.0), (8.0, probe.duration_s)]  # the second share starts past a keyframe
    params = FaceScanParams()
    frames = FaceFrames(path, width=probe.width, height=probe.height, short_side=params.short_side)
    first = FaceRecognizer(weights_dir)
    one_by_one = [scan_span(frames, start, end, first.detect_and_describe, params) for start, end in spans]
    analyzers = [first.detect_and_describe, FaceRecognizer(weights_dir).detect_and_describe]
    together = list(scan_spans(path, spans, analyzers, params, width=probe.width, height=probe.height))
    assert [stats.frames for _, stats in together] == [stats.frames for _, stats in one_by_one]
    assert sum(len(tracks) for tracks, _ in together) >= 4  # the speaker in every span
    for (tracks, _), (expected, _) in zip(together, one_by_one, strict=True):
        assert [(t.start_ms, t.end_ms, [f.box for f in t.faces]) for t in tracks] == [
            (t.start_ms, t.end_ms, [f.box for f in t.faces]) for t in expected
        ]
        for track, reference in zip(tracks, expected, strict=True):
            np.testing.assert_array_equal(track.embedding, reference.embedding)
