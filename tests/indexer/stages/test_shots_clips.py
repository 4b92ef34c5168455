"""Shot boundaries with PySceneDetect on real footage; windows to clips with highlight scores."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from indexer.stages.clips import HighlightWeights, build_clips, highlight_score, segment_probabilities
from indexer.stages.frames import FrameSampler
from indexer.stages.probe import probe_video
from indexer.stages.shots import ShotDetector, ShotSpan

CATEGORIES = ("playing tennis", "hitting baseball", "dunking basketball")


def _shots_of(path: Path, batch_size: int = 7) -> tuple[list[ShotSpan], float]:
    probe = probe_video(path)
    sampler = FrameSampler(
        path, width=probe.width, height=probe.height, sample_fps=8.0, short_side=96, batch_size=batch_size
    )
    detector = ShotDetector(sample_fps=8.0)
    for batch in sampler:
        detector.push(batch.frames, batch.times_s)
    return detector.finish(probe.duration_s), probe.duration_s


def test_one_cut_is_found_at_the_join_of_two_single_take_clips(video_dir: Path, tmp_path: Path) -> None:
    joined = tmp_path / "joined.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-i", str(video_dir / "tennis_atp_clay_6s.mp4"), "-i", str(video_dir / "basketball_nba_broadcast_5s.mp4"),
         "-filter_complex", "[0:v]scale=640:360,fps=30,setsar=1[a];[1:v]scale=640:360,fps=30,setsar=1[b];"
         "[a][b]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", str(joined)],
        check=True,
    )  # fmt: skip
    join_s = probe_video(video_dir / "tennis_atp_clay_6s.mp4").duration_s
    shots, duration = _shots_of(joined)
    assert len(shots) == 2
    assert shots[0].start_ms == 0
    assert shots[-1].end_ms == pytest.approx(duration * 1000, abs=1)
    assert shots[0].end_ms == shots[1].start_ms
    assert abs(shots[1].start_ms / 1000 - join_s) <= 0.5


def test_a_single_take_is_one_shot(video_dir: Path) -> None:
    shots, duration = _shots_of(video_dir / "tennis_atp_hardcourt_5s.mp4")
    assert shots == [ShotSpan(0, round(duration * 1000))]


def test_overlapping_windows_are_averaged_per_segment() -> None:
    spans = np.array([[0.0, 2.0], [1.0, 3.0]])
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    seg_spans, seg_probs, covering = segment_probabilities(spans, probs)
    assert seg_spans.tolist() == [[0, 1], [1, 2], [2, 3]]
    assert seg_probs[1].tolist() == [0.5, 0.5, 0.0]
    assert covering == [(0,), (0, 1), (1,)]


def _windows(labels: list[int], window_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    spans = np.array([[i * window_s, (i + 1) * window_s] for i in range(len(labels))])
    probs = np.full((len(labels), len(CATEGORIES)), 0.05)
    for i, label in enumerate(labels):
        probs[i, label] = 0.9
    return spans, probs


def test_same_label_windows_merge_within_a_shot_and_split_at_a_cut() -> None:
    spans, probs = _windows([0, 0, 0, 1, 1])
    zeros = np.zeros(len(spans), dtype=np.float32)
    one_shot = build_clips(spans, probs, zeros, zeros, [ShotSpan(0, 10_000)], CATEGORIES)
    assert [(c.label, c.start_ms, c.end_ms) for c in one_shot] == [
        ("playing tennis", 0, 6000),
        ("hitting baseball", 6000, 10_000),
    ]
    assert one_shot[0].window_indices == (0, 1, 2)
    assert one_shot[0].confidence == pytest.approx(0.9)
    cut = build_clips(spans, probs, zeros, zeros, [ShotSpan(0, 3000), ShotSpan(3000, 10_000)], CATEGORIES)
    assert [(c.start_ms, c.end_ms) for c in cut if c.label == "playing tennis"] == [(0, 3000), (3000, 6000)]
    assert all(c.top_k[0][0] == c.label for c in cut)


def test_a_clip_shorter_than_the_minimum_joins_its_neighbour() -> None:
    spans = np.array([[0.0, 3.0], [3.0, 3.5], [3.5, 6.0]])
    probs = np.array([[0.9, 0.05, 0.05], [0.3, 0.6, 0.1], [0.9, 0.05, 0.05]])
    zeros = np.zeros(3, dtype=np.float32)
    clips = build_clips(spans, probs, zeros, zeros, [ShotSpan(0, 6000)], CATEGORIES, min_clip_s=1.0)
    assert [(c.label, c.start_ms, c.end_ms) for c in clips] == [("playing tennis", 0, 6000)]


def test_excitement_and_motion_raise_the_highlight_score() -> None:
    spans, probs = _windows([0, 0, 2, 2])
    excitement = np.array([0, 0, 3, 3], dtype=np.float32)
    motion = np.array([0, 0, 2, 2], dtype=np.float32)
    clips = build_clips(spans, probs, excitement, motion, [ShotSpan(0, 8000)], CATEGORIES)
    calm, loud = clips
    assert loud.highlight_score > calm.highlight_score
    assert loud.excitement == pytest.approx(3.0)


@pytest.mark.parametrize("field", ["confidence", "excitement_z", "motion_z"])
def test_highlight_score_is_bounded_and_monotonic(field: str) -> None:
    base = {"confidence": 0.5, "excitement_z": 0.0, "motion_z": 0.0}
    low = highlight_score(**base)
    high = highlight_score(**{**base, field: base[field] + (0.4 if field == "confidence" else 2.0)})
    assert 0.0 <= low < high <= 1.0
    assert highlight_score(1.0, 5.0, 5.0, HighlightWeights()) <= 1.0
