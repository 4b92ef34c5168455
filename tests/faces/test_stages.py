"""Pure face logic of the pipeline stage: tracking one-to-one per frame, quality-weighted embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.stages.faces import (
    FaceObservation,
    FaceScanParams,
    FaceTracker,
    box_iou,
    weighted_embedding,
)
from tests.descriptors import near, unit


def test_tracker_links_moving_faces_and_never_gives_one_track_two_faces_of_a_frame() -> None:
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    a, b = unit(1), unit(2)
    tracker = FaceTracker(FaceScanParams(min_faces=2))
    for step in range(4):
        t = step * 250
        tracker.push(
            t,
            frame,
            [
                FaceObservation(t, (100 + 5 * step, 100, 80, 80), 1.0, 0.5 + 0.1 * step, near(a, step)),
                FaceObservation(t, (400, 100, 80, 80), 1.0, 0.9, near(b, 10 + step)),
                # a second face as close to ``a`` as ``a`` itself (a mirror, a replay inset): must not merge in
                FaceObservation(t, (250, 200, 60, 60), 1.0, 0.4, near(a, 20 + step)),
            ],
        )
    tracker.push(1000, frame, [FaceObservation(1000, (0, 0, 40, 40), 0.1, 0.1, unit(3))])  # one-frame false hit
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


def test_box_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert box_iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
