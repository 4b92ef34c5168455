"""Faces in clips: adaptive frame sampling and face tracks within a shot.

Sampling: a clip is scanned at ``min_fps`` while no face is in view and at ``max_fps`` while one
is, so wide broadcast shots (no detectable faces) cost a frame a second and close-ups are tracked
densely.

Tracking: detections in consecutive sampled frames are linked greedily, one-to-one per frame (a
track never takes two faces of one frame), when their boxes overlap (IoU) and their descriptors
are close, or when the descriptors alone are very close (a fast move). A track's embedding is the
quality-weighted mean of its descriptors; its best detection gives its thumbnail.

Identifying and clustering the tracks across games is ``search.identities``'s.

Pure functions: arrays and paths in, dataclasses out; no ORM, no Celery.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.decode import open_frames
from indexer.stages.frames import decode_size, shown_at
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
    """Single frames of a video requested a few a second in time order, resized while decoding.

    By default through PyAV's sparse access (:func:`~indexer.stages.decode.open_frames` with
    ``sparse``): between two requested frames only the reference frames are decoded, a keyframe ahead
    is sought, and the in-loop deblocking filter is skipped (``deblock=False``), so a sampled frame
    costs a fraction of decord's, which decodes and converts every frame it passes (figures in
    ``benchmarks/face_decode.py``). The frames sampled are the ones decord picks (the same
    presentation times); their pixels differ a little (no deblocking, another scaler), the tracks
    found on the shared footage do not (``tests/faces/test_face_frames.py``).

    Args:
        path: video file.
        width, height: the video's frame size in pixels (from the probe).
        short_side: decoded short side in pixels.
        num_threads: decoder threads.
        sparse: PyAV's sparse access without deblocking (else decord first, one frame per request and
            deblocked: the path before issue #14, which ``benchmarks/face_decode.py`` measures beside it).

    Attributes:
        scale: video pixels per decoded pixel.
        times_s: ``(F,)`` float64 presentation start time of every frame, seconds.
        end_s: when the last frame stops being shown, seconds of presentation time.

    Raises:
        CorruptVideoError: neither decord nor PyAV can open the file.
    """

    def __init__(
        self, path: Path, *, width: int, height: int, short_side: int, num_threads: int = 2, sparse: bool = True
    ) -> None:
        self.path = path
        size = decode_size(width, height, min(short_side, min(width, height)))
        self.scale = width / size[0]
        try:
            self._reader = open_frames(path, size=size, num_threads=num_threads, sparse=sparse, deblock=not sparse)
        except CorruptVideoError as exc:
            raise CorruptVideoError(f"{path}: cannot decode video for faces ({exc})") from exc
        self.times_s = self._reader.times_s
        self.end_s = self._reader.end_s

    def at(self, time_s: float) -> np.ndarray | None:
        """The ``(h, w, 3)`` uint8 RGB frame shown at ``time_s`` seconds, or ``None`` past the end.

        The frame is picked by the decoder's presentation timestamps (:func:`~indexer.stages.frames.shown_at`),
        as everywhere in the pipeline, so variable-frame-rate video does not drift.
        """
        if time_s >= self.end_s:
            return None
        return self._reader.get_batch([int(shown_at(self.times_s, time_s))])[0]


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


def scan_spans(
    path: Path,
    spans_s: Sequence[tuple[float, float]],
    analyzers: Sequence[Callable[[np.ndarray], list[FaceDetection]]],
    params: FaceScanParams,
    *,
    width: int,
    height: int,
) -> Iterator[tuple[list[FaceTrackSpec], ScanStats]]:
    """:func:`scan_span` of every span, ``len(analyzers)`` scans at once.

    The spans (sorted by time) are cut into as many contiguous shares as there are analyzers; each
    share is scanned in its own thread with its own decoder (:class:`FaceFrames`, one decoder thread)
    and its own analyzer, forward through the file. dlib and FFmpeg release the GIL, so two threads
    keep two cores busy where one thread alternates between decoding and detecting. A span's tracks
    do not depend on the share it falls in.

    Args:
        path: video file.
        spans_s: ``[(start_s, end_s), ...]`` in seconds, sorted by start.
        analyzers: one per thread, each used by one thread only (dlib's models are not thread-safe).
        params: sampling and tracking knobs.
        width, height: the video's frame size in pixels (from the probe).

    Yields:
        ``(tracks, stats)`` of each span, in the order of ``spans_s``.

    Raises:
        CorruptVideoError: the file cannot be decoded (raised when the share it happened in is reached).
    """
    shares = [share for share in np.array_split(np.arange(len(spans_s)), max(1, len(analyzers))) if len(share)]

    def scan_share(share: np.ndarray, analyze: Callable[[np.ndarray], list[FaceDetection]]) -> Iterator:
        frames = FaceFrames(path, width=width, height=height, short_side=params.short_side, num_threads=1)
        for index in share:
            yield scan_span(frames, *spans_s[int(index)], analyze, params)

    if len(shares) <= 1:
        for share in shares:
            yield from scan_share(share, analyzers[0])
        return
    results: list[queue.Queue] = [queue.Queue() for _ in shares]
    stop = threading.Event()

    def run(number: int) -> None:
        try:
            for found in scan_share(shares[number], analyzers[number]):
                if stop.is_set():
                    return
                results[number].put(found)
        finally:
            results[number].put(None)  # read early only when the share failed

    with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix="faces") as pool:
        futures = [pool.submit(run, number) for number in range(len(shares))]
        try:
            for number, share in enumerate(shares):
                for _ in share:
                    found = results[number].get()
                    if found is None:
                        futures[number].result()  # raises the share's error
                    yield found
        finally:
            stop.set()
