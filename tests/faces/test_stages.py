"""Pure face logic: tracking one-to-one per frame, identification decisions, constrained clustering."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.stages.faces import (
    FaceObservation,
    FaceScanParams,
    FaceTracker,
    box_iou,
    choose_player,
    cluster_tracks,
    overlapping_pairs,
    weighted_embedding,
)


def _unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return vector / np.linalg.norm(vector) * 1.5  # dlib-like norm


def _near(vector: np.ndarray, seed: int, scale: float = 0.02) -> np.ndarray:
    return (vector + np.random.default_rng(seed).normal(scale=scale, size=128)).astype(np.float32)


def test_tracker_links_moving_faces_and_never_gives_one_track_two_faces_of_a_frame() -> None:
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    a, b = _unit(1), _unit(2)
    tracker = FaceTracker(FaceScanParams(min_faces=2))
    for step in range(4):
        t = step * 250
        tracker.push(
            t,
            frame,
            [
                FaceObservation(t, (100 + 5 * step, 100, 80, 80), 1.0, 0.5 + 0.1 * step, _near(a, step)),
                FaceObservation(t, (400, 100, 80, 80), 1.0, 0.9, _near(b, 10 + step)),
                # a second face as close to ``a`` as ``a`` itself (a mirror, a replay inset): must not merge in
                FaceObservation(t, (250, 200, 60, 60), 1.0, 0.4, _near(a, 20 + step)),
            ],
        )
    tracker.push(1000, frame, [FaceObservation(1000, (0, 0, 40, 40), 0.1, 0.1, _unit(3))])  # one-frame false hit
    tracks = tracker.finish()
    assert len(tracks) == 3
    for track in tracks:
        times = [f.time_ms for f in track.faces]
        assert times == sorted(set(times)) == [0, 250, 500, 750]
        assert track.crop.shape[2] == 3
    moving = next(t for t in tracks if t.faces[0].box[0] == 100)
    assert moving.best == 3  # the highest-quality face gives the thumbnail
    assert np.linalg.norm(moving.embedding - a) < 0.15  # one noisy descriptor is ~0.23 away; the mean is closer


def test_weighted_embedding_follows_quality() -> None:
    descriptors = np.stack([np.zeros(128), np.ones(128)]).astype(np.float32)
    assert weighted_embedding(descriptors, np.array([0.0, 1.0])) == pytest.approx(np.ones(128))
    assert weighted_embedding(descriptors, np.array([1.0, 3.0])) == pytest.approx(np.full(128, 0.75))
    assert weighted_embedding(descriptors, np.array([0.0, 0.0])) == pytest.approx(np.full(128, 0.5))


def test_box_iou_and_overlapping_pairs() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    spans = [(1, 0, 1000), (1, 500, 1500), (1, 2000, 3000), (2, 0, 1000)]
    assert overlapping_pairs(spans) == [(0, 1)]


def test_choose_player_needs_the_threshold_and_a_clear_margin() -> None:
    assert choose_player([(7, 0.41), (3, 0.80)], threshold=0.6, margin=0.1) == (7, 0.41)
    assert choose_player([(7, 0.41)], threshold=0.6, margin=0.1) == (7, 0.41)
    assert choose_player([(7, 0.61), (3, 0.90)], threshold=0.6, margin=0.1) is None
    assert choose_player([(7, 0.45), (3, 0.50)], threshold=0.6, margin=0.1) is None
    assert choose_player([], threshold=0.6, margin=0.1) is None


def test_clustering_groups_people_and_respects_anchors_rejections_and_cannot_links() -> None:
    a, b = _unit(1), _unit(2)
    embeddings = np.stack([_near(a, 1), _near(a, 2), _near(a, 3), _near(b, 4), _near(b, 5), _near(a, 6)])
    free = [False] * 6
    labels = cluster_tracks(embeddings, threshold=0.5, initial=[None] * 6, fixed=free)
    assert labels[0] == labels[1] == labels[2] == labels[5] != labels[3] == labels[4]
    assert all(label < 0 for label in labels)

    # an editor's track (person 42) pulls its look-alikes; track 5 said "not person 42"; tracks 1 and 2 share frames
    labels = cluster_tracks(
        embeddings,
        threshold=0.5,
        initial=[42, None, None, None, None, None],
        fixed=[True, False, False, False, False, False],
        cannot_link=[(1, 2)],
        forbidden=[set(), set(), set(), set(), set(), {42}],
    )
    assert labels[0] == 42
    assert labels[5] != 42
    assert labels[1] != labels[2]
    assert 42 in (labels[1], labels[2])
    assert labels[3] == labels[4] != 42


def test_clustering_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="one entry per embedding"):
        cluster_tracks(np.zeros((2, 128), np.float32), threshold=0.5, initial=[None], fixed=[False, False])
    assert cluster_tracks(np.zeros((0, 128), np.float32), threshold=0.5, initial=[], fixed=[]) == []
