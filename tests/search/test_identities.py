"""Pure identity logic: identification decisions, cannot-link pairs, constrained clustering of face tracks."""

from __future__ import annotations

import numpy as np
import pytest

from search.identities import choose_person, cluster_tracks, overlapping_pairs
from tests.descriptors import near, unit


def test_overlapping_pairs_are_within_one_group_and_overlapping_in_time() -> None:
    spans = [(1, 0, 1000), (1, 500, 1500), (1, 2000, 3000), (2, 0, 1000)]
    assert overlapping_pairs(spans) == [(0, 1)]


def test_choose_player_needs_the_threshold_and_a_clear_margin() -> None:
    assert choose_person([(7, 0.41), (3, 0.80)], threshold=0.6, margin=0.1) == (7, 0.41)
    assert choose_person([(7, 0.41)], threshold=0.6, margin=0.1) == (7, 0.41)
    assert choose_person([(7, 0.61), (3, 0.90)], threshold=0.6, margin=0.1) is None
    assert choose_person([(7, 0.45), (3, 0.50)], threshold=0.6, margin=0.1) is None
    assert choose_person([], threshold=0.6, margin=0.1) is None


def test_clustering_groups_people_and_respects_anchors_rejections_and_cannot_links() -> None:
    a, b = unit(1), unit(2)
    embeddings = np.stack([near(a, 1), near(a, 2), near(a, 3), near(b, 4), near(b, 5), near(a, 6)])
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
