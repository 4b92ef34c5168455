"""Who a face track is: identification decisions and constrained clustering of face-track embeddings.

Identification follows dlib's protocol: a face belongs to the nearest named person when the
Euclidean distance between descriptors is under a threshold (0.6) and clearly ahead of the
second-nearest person (:func:`choose_person`).

Clustering: Chinese whispers (C. Biemann, "Chinese Whispers: an Efficient Graph Clustering
Algorithm", TextGraphs 2006; the algorithm dlib's ``chinese_whispers_clustering`` implements) over
the graph whose edges join tracks closer than a threshold, extended with the constraints editors
need: anchored tracks keep their label, a track never takes a label it was rejected from ("not this
person"), and two cannot-link tracks (seen in the same frames, :func:`overlapping_pairs`) never end
with the same label.

Pure functions over arrays and ids: no ORM, no Celery (``highlights.people`` applies them to the rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ml.faces import euclidean


def cluster_tracks(
    embeddings: np.ndarray,
    *,
    threshold: float,
    initial: Sequence[int | None],
    fixed: Sequence[bool],
    cannot_link: Iterable[tuple[int, int]] = (),
    forbidden: Sequence[Iterable[int]] = (),
    iterations: int = 20,
    seed: int = 0,
) -> list[int]:
    """Constrained Chinese whispers over face-track embeddings.

    Nodes are tracks; an edge joins two tracks closer than ``threshold`` (Euclidean), weighted
    ``threshold - distance``. Every node starts with ``initial[i]`` (a person's id, ``>= 0``) or, when
    ``None``, a label of its own (``-(i + 1)``); in random order each free node then takes the label
    with the largest summed edge weight among its neighbours, leaving out labels in ``forbidden[i]``
    and labels held by its cannot-link partners. After the iterations, any group still holding a
    cannot-link pair (possible when two free nodes moved in the same sweep) loses the node with the
    least affinity to it, until none is left.

    Args:
        embeddings: ``(N, 128)`` float32 track embeddings.
        threshold: largest Euclidean distance of an edge.
        initial: per node, its current person id or ``None``.
        fixed: per node, whether its label is anchored (an editor's or an identification's decision).
        cannot_link: node index pairs that must end with different labels (tracks in the same frames).
        forbidden: per node, person ids it must not take ("not this person").
        iterations: sweeps over the nodes (the labels usually settle in a few).
        seed: random order of the sweeps, for reproducible results.

    Returns:
        A label per node: a person id (``>= 0``) kept or spread from an anchored node, or a negative
        label shared by the members of a new group.

    Raises:
        ValueError: the per-node sequences do not match the number of embeddings.
    """
    n = len(embeddings)
    if len(initial) != n or len(fixed) != n or (forbidden and len(forbidden) != n):
        raise ValueError("initial, fixed and forbidden must have one entry per embedding")
    if n == 0:
        return []
    distance = euclidean(embeddings, embeddings)
    weight = np.where(distance < threshold, threshold - distance, 0.0)
    np.fill_diagonal(weight, 0.0)
    partners: list[set[int]] = [set() for _ in range(n)]
    for a, b in cannot_link:
        if a != b:
            partners[a].add(b)
            partners[b].add(a)
            weight[a, b] = weight[b, a] = 0.0
    banned = [set(f) for f in forbidden] if forbidden else [set() for _ in range(n)]
    labels = [initial[i] if initial[i] is not None and initial[i] not in banned[i] else -(i + 1) for i in range(n)]
    neighbours = [np.flatnonzero(weight[i]) for i in range(n)]
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        changed = False
        for i in rng.permutation(n):
            if fixed[i] or len(neighbours[i]) == 0:
                continue
            taken = {labels[j] for j in partners[i]} | banned[i]
            votes: dict[int, float] = {}
            for j in neighbours[i]:
                if labels[j] not in taken:
                    votes[labels[j]] = votes.get(labels[j], 0.0) + float(weight[i, j])
            best = max(votes, key=lambda label: (votes[label], -abs(label))) if votes else -(i + 1)
            if best != labels[i]:
                labels[i], changed = best, True
        if not changed:
            break
    _separate_cannot_links(labels, weight, partners, fixed)
    return labels


def _separate_cannot_links(
    labels: list[int], weight: np.ndarray, partners: list[set[int]], fixed: Sequence[bool]
) -> None:
    while True:
        clash = next(
            ((a, b) for a in range(len(labels)) for b in partners[a] if a < b and labels[a] == labels[b]), None
        )
        if clash is None:
            return
        group = [k for k in range(len(labels)) if labels[k] == labels[clash[0]]]
        movable = [k for k in clash if not fixed[k]] or list(clash)
        evict = min(movable, key=lambda k: float(weight[k, group].sum()))
        labels[evict] = -(evict + 1)


def choose_person(ranked: Sequence[tuple[int, float]], *, threshold: float, margin: float) -> tuple[int, float] | None:
    """The person a face belongs to, or ``None`` (unknown).

    Args:
        ranked: ``(person id, Euclidean distance to that person's nearest reference)``, nearest first,
            one entry per person.
        threshold: the nearest person must be closer than this (dlib's customary 0.6).
        margin: and the second-nearest person at least this much farther (a clear winner).

    Returns:
        ``(person id, distance)`` of the match, or ``None``.
    """
    if not ranked or ranked[0][1] >= threshold:
        return None
    if len(ranked) > 1 and ranked[1][1] - ranked[0][1] < margin:
        return None
    return ranked[0]


def overlapping_pairs(spans: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Index pairs of spans ``(group, start_ms, end_ms)`` in the same group whose time ranges overlap.

    Two face tracks of one game that overlap in time were seen in the same frames, so they cannot be
    one person.
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][1]))
    pairs = []
    for pos, i in enumerate(order):
        for j in order[pos + 1 :]:
            if spans[j][0] != spans[i][0] or spans[j][1] > spans[i][2]:
                break
            pairs.append((min(i, j), max(i, j)))
    return pairs
