"""Faces in clips: adaptive frame sampling, face tracks within a shot, and constrained clustering of tracks.

Sampling: a clip is scanned at ``min_fps`` while no face is in view and at ``max_fps`` while one
is, so wide broadcast shots (no detectable faces) cost a frame a second and close-ups are tracked
densely.

Tracking: detections in consecutive sampled frames are linked greedily, one-to-one per frame (a
track never takes two faces of one frame), when their boxes overlap (IoU) and their descriptors
are close, or when the descriptors alone are very close (a fast move). A track's embedding is the
quality-weighted mean of its descriptors; its best detection gives its thumbnail.

Clustering: Chinese whispers (C. Biemann, "Chinese Whispers: an Efficient Graph Clustering
Algorithm", TextGraphs 2006; the algorithm dlib's ``chinese_whispers_clustering`` implements) over
the graph whose edges join tracks closer than a threshold, extended with the constraints editors
need: anchored tracks keep their label, a track never takes a label it was rejected from ("not this
person"), and two cannot-link tracks (seen in the same frames) never end with the same label.

Pure functions: arrays and paths in, dataclasses out; no ORM, no Celery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.decode import open_frames
from indexer.stages.frames import decode_size
from ml.faces import FaceDetection, euclidean

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceScanParams:
    """Knobs of the face scan (the ``HL_FACE_*`` settings).

    Attributes:
        min_fps: frames per second scanned while no face is in view.
        max_fps: frames per second scanned while a face is in view.
        short_side: decoded short side in pixels; boxes are stored in the video's own pixels.
        link_iou: least box overlap (IoU) for linking a face to a track in the next sampled frame.
        link_distance: largest descriptor distance for a link with overlapping boxes.
        reid_distance: largest descriptor distance for a link without box overlap.
        max_gap_s: a track ends when no face joined it for this long.
        min_faces: tracks with fewer detections are dropped as likely false detections.
    """

    min_fps: float = 1.0
    max_fps: float = 4.0
    short_side: int = 360
    link_iou: float = 0.2
    link_distance: float = 0.6
    reid_distance: float = 0.45
    max_gap_s: float = 1.5
    min_faces: int = 2


@dataclass(frozen=True)
class FaceObservation:
    """One detection in one sampled frame; ``box`` is ``(x, y, w, h)`` in the video's pixels."""

    time_ms: int
    box: Box
    score: float
    quality: float
    descriptor: np.ndarray


@dataclass
class FaceTrackSpec:
    """The faces of one person followed through consecutive sampled frames of one clip.

    Attributes:
        faces: detections in time order.
        embedding: ``(128,)`` float32 quality-weighted mean descriptor.
        crop: ``(h, w, 3)`` uint8 RGB crop (box plus 25% margin) around the best-quality face.
        best: index into ``faces`` of that face.
    """

    faces: list[FaceObservation]
    embedding: np.ndarray
    crop: np.ndarray
    best: int

    @property
    def start_ms(self) -> int:
        return self.faces[0].time_ms

    @property
    def end_ms(self) -> int:
        return self.faces[-1].time_ms

    @property
    def quality(self) -> float:
        """Mean detection quality in [0, 1]."""
        return float(np.mean([f.quality for f in self.faces]))


@dataclass
class ScanStats:
    """What a scan cost: sampled frames, detections, wall seconds."""

    frames: int = 0
    faces: int = 0
    seconds: float = 0.0


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def weighted_embedding(descriptors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Quality-weighted mean of ``(N, 128)`` descriptors, ``(128,)`` float32 (plain mean if all weights are 0)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.sum() <= 0:
        weights = np.ones(len(descriptors))
    return (np.asarray(descriptors, dtype=np.float64) * weights[:, None]).sum(0).astype(np.float32) / np.float32(
        weights.sum()
    )


def crop_face(frame: np.ndarray, box: Box, margin: float = 0.25) -> np.ndarray:
    """The ``(h, w, 3)`` region of ``frame`` around ``box`` widened by ``margin`` of its size on each side."""
    x, y, w, h = box
    dx, dy = round(w * margin), round(h * margin)
    return frame[
        max(0, y - dy) : min(frame.shape[0], y + h + dy), max(0, x - dx) : min(frame.shape[1], x + w + dx)
    ].copy()


@dataclass
class _OpenTrack:
    faces: list[FaceObservation] = field(default_factory=list)
    crop: np.ndarray | None = None
    best: int = 0


class FaceTracker:
    """Links per-frame detections into tracks; feed frames in time order, then call :meth:`finish`.

    Args:
        params: linking thresholds and the minimum track length.
    """

    def __init__(self, params: FaceScanParams) -> None:
        self.params = params
        self._open: list[_OpenTrack] = []
        self._done: list[_OpenTrack] = []

    def push(self, time_ms: int, frame: np.ndarray, faces: Sequence[FaceObservation]) -> None:
        """Add the detections of one sampled frame.

        Args:
            time_ms: the frame's time.
            frame: ``(H, W, 3)`` uint8 RGB in the same pixels as the boxes (for thumbnails).
            faces: its detections.
        """
        gap_ms = self.params.max_gap_s * 1000.0
        still = [t for t in self._open if time_ms - t.faces[-1].time_ms <= gap_ms]
        self._done += [t for t in self._open if t not in still]
        self._open = still
        pairs = []
        for ti, track in enumerate(self._open):
            last = track.faces[-1]
            for fi, face in enumerate(faces):
                distance = float(euclidean(last.descriptor, face.descriptor)[0, 0])
                overlap = box_iou(last.box, face.box)
                if (overlap >= self.params.link_iou and distance <= self.params.link_distance) or (
                    distance <= self.params.reid_distance
                ):
                    pairs.append((distance, ti, fi))
        used_tracks: set[int] = set()
        used_faces: set[int] = set()
        for _, ti, fi in sorted(pairs):
            if ti not in used_tracks and fi not in used_faces:
                used_tracks.add(ti)
                used_faces.add(fi)
                self._extend(self._open[ti], faces[fi], frame)
        for fi, face in enumerate(faces):
            if fi not in used_faces:
                track = _OpenTrack()
                self._extend(track, face, frame)
                self._open.append(track)

    def finish(self) -> list[FaceTrackSpec]:
        """Close every track; those with at least ``min_faces`` detections, in order of their first face."""
        tracks = [t for t in self._done + self._open if len(t.faces) >= self.params.min_faces]
        self._open, self._done = [], []
        specs = []
        for t in sorted(tracks, key=lambda t: (t.faces[0].time_ms, t.faces[0].box)):
            descriptors = np.stack([f.descriptor for f in t.faces])
            weights = np.array([f.quality for f in t.faces])
            assert t.crop is not None  # set with the first face
            specs.append(FaceTrackSpec(t.faces, weighted_embedding(descriptors, weights), t.crop, t.best))
        return specs

    @staticmethod
    def _extend(track: _OpenTrack, face: FaceObservation, frame: np.ndarray) -> None:
        track.faces.append(face)
        if track.crop is None or face.quality > track.faces[track.best].quality:
            track.best = len(track.faces) - 1
            track.crop = crop_face(frame, face.box)


class FaceFrames:
    """Random access to single frames of a video, resized while decoding (decord, or PyAV for files decord refuses).

    Args:
        path: video file.
        width, height: the video's frame size in pixels (from the probe).
        short_side: decoded short side in pixels.

    Raises:
        CorruptVideoError: neither decord nor PyAV can open the file.
    """

    def __init__(self, path: Path, *, width: int, height: int, short_side: int, num_threads: int = 2) -> None:
        self.path = path
        size = decode_size(width, height, min(short_side, min(width, height)))
        self.scale = width / size[0]  # video pixels per decoded pixel
        try:
            self._reader = open_frames(path, size=size, num_threads=num_threads)
        except CorruptVideoError as exc:
            raise CorruptVideoError(f"{path}: cannot decode video for faces ({exc})") from exc
        self.fps = self._reader.fps
        self.count = len(self._reader.times_s)

    def at(self, time_s: float) -> np.ndarray | None:
        """The ``(h, w, 3)`` uint8 RGB frame shown at ``time_s`` seconds, or ``None`` past the end."""
        index = round(time_s * self.fps)
        if index >= self.count:
            return None
        return self._reader.get_batch([index])[0]


def scan_span(
    frames: FaceFrames,
    start_s: float,
    end_s: float,
    analyze: Callable[[np.ndarray], list[FaceDetection]],
    params: FaceScanParams,
) -> tuple[list[FaceTrackSpec], ScanStats]:
    """Face tracks of one time span (a clip, inside one shot), sampled adaptively.

    The first frame is at ``start_s``; the next is ``1 / max_fps`` later when the frame had a face,
    ``1 / min_fps`` later otherwise.

    Args:
        frames: decoded video.
        start_s, end_s: the span, in seconds.
        analyze: maps an ``(h, w, 3)`` uint8 RGB frame to its face detections (boxes in its pixels).
        params: sampling and tracking knobs.

    Returns:
        The tracks (boxes in the video's pixels, times in milliseconds) and the scan's cost.
    """
    started = time.perf_counter()
    tracker = FaceTracker(params)
    stats = ScanStats()
    t = start_s
    while t < end_s:
        frame = frames.at(t)
        if frame is None:
            break
        found = analyze(frame)
        stats.frames += 1
        stats.faces += len(found)
        time_ms = round(t * 1000)
        tracker.push(time_ms, frame, [FaceObservation(time_ms, f.box, f.score, f.quality, f.descriptor) for f in found])
        t += 1.0 / (params.max_fps if found else params.min_fps)
    tracks = tracker.finish()
    for track in tracks:  # boxes were in decoded pixels; store them in the video's own pixels
        track.faces = [replace(f, box=_scale_box(f.box, frames.scale)) for f in track.faces]
    stats.seconds = time.perf_counter() - started
    return tracks, stats


def _scale_box(box: Box, scale: float) -> Box:
    return (round(box[0] * scale), round(box[1] * scale), round(box[2] * scale), round(box[3] * scale))


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


def choose_player(ranked: Sequence[tuple[int, float]], *, threshold: float, margin: float) -> tuple[int, float] | None:
    """The player a face belongs to, or ``None`` (unknown).

    Args:
        ranked: ``(player id, Euclidean distance to that player's nearest reference)``, nearest first,
            one entry per player.
        threshold: the nearest player must be closer than this (dlib's customary 0.6).
        margin: and the second-nearest player at least this much farther (a clear winner).

    Returns:
        ``(player id, distance)`` of the match, or ``None``.
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


def save_crop(crop: np.ndarray, dest: Path, *, quality: int = 90) -> Path:
    """Write an ``(h, w, 3)`` uint8 RGB crop to ``dest`` as a JPEG, under a temporary name then renamed.

    Raises:
        OSError: the file cannot be encoded or written.
    """
    import cv2

    dest.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode a {crop.shape} face crop as JPEG")
    tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
    tmp.write_bytes(data.tobytes())
    tmp.replace(dest)
    return dest
