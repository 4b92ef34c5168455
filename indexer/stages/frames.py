"""Decode frames at a frame stride, resized while decoding, and group them into windows.

Frames come from :func:`indexer.stages.decode.open_frames`: decord, or PyAV for files decord
refuses and for interlaced sources (deinterlaced before resizing).

Frame-stride sampling with overlapping fixed-length windows follows the usual practice of
clip-based action recognition (Carreira & Zisserman 2017; Feichtenhofer et al. 2019): a video is
sampled at ``sample_fps`` and cut into windows of ``T`` frames whose predictions are later
averaged where they overlap.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.decode import open_frames
from ml.files import atomic_write

T = TypeVar("T")


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive sampled frames.

    Attributes:
        frames: ``(N, H, W, 3)`` uint8 RGB, resized so that the short side is the requested size.
        times_s: ``(N,)`` float64 presentation times in seconds.
    """

    frames: np.ndarray
    times_s: np.ndarray


def decode_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Output ``(width, height)`` in even pixels with the short side scaled to ``short_side``."""
    scale = short_side / min(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def shown_at(starts_s: np.ndarray, times_s: np.ndarray | float) -> np.ndarray:
    """Index of the frame on screen at each time: the last frame presented at or before it.

    Picks by the decoder's presentation timestamps, never by ``round(t * fps)``, so variable-frame-rate
    video does not drift. Times before the first frame give the first frame.

    Args:
        starts_s: ``(F,)`` presentation start time of every decoded frame, seconds, ascending (F >= 1).
        times_s: a time or ``(N,)`` times, seconds.

    Returns:
        int64 frame indices, shaped like ``times_s``.
    """
    return np.clip(np.searchsorted(starts_s, times_s, side="right") - 1, 0, len(starts_s) - 1).astype(np.int64)


def write_jpeg(frame: np.ndarray, dest: Path, *, quality: int = 90) -> Path:
    """Write an ``(h, w, 3)`` uint8 RGB frame (or crop) to ``dest`` as a JPEG, atomically (``ml.files.atomic_write``).

    Raises:
        OSError: the frame cannot be encoded or the file written.
    """
    import cv2

    bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError(f"cannot encode a {frame.shape} frame as JPEG")
    with atomic_write(dest) as tmp:
        tmp.write_bytes(data.tobytes())
    return dest


def sample_indices(stamps_s: np.ndarray, sample_fps: float) -> np.ndarray:
    """Frame indices sampled every ``1 / sample_fps`` seconds of presentation time, ``(N,)`` int64.

    Args:
        stamps_s: ``(F,)`` presentation start time of every decoded frame, in seconds. Frames with a
            negative time (cut away by the container's edit list, never shown by players) are skipped.
        sample_fps: wanted frames per second; every frame is kept when the video is slower.
    """
    shown = np.flatnonzero(stamps_s >= -1e-3)
    if len(shown) == 0:
        return shown.astype(np.int64)
    times = stamps_s[shown]
    targets = np.arange(times[0], times[-1] + 1e-6, 1.0 / sample_fps)
    picks = np.minimum(np.searchsorted(times, targets - 1e-6), len(times) - 1)
    return shown[np.unique(picks)].astype(np.int64)


class FrameSampler:
    """Frames of one video sampled at ``sample_fps``, resized while decoding, yielded in batches.

    Iterating decodes; ``count`` and ``times_s`` are known before any frame is decoded, so windows
    can be planned up front.

    Args:
        path: video file.
        width, height: the video's frame size in pixels (from the probe).
        sample_fps: frames per second to keep.
        short_side: decoded short side in pixels (resized while decoding, decord's cheapest path).
        batch_size: frames per yielded batch (bounds memory for long games).
        num_threads: decoder threads.
        deinterlace: deinterlace before resizing (``VideoProbe.interlaced``); decodes through PyAV.

    Raises:
        CorruptVideoError: neither decord nor PyAV can open the file, or (while iterating) decoding
            fails part-way.
    """

    def __init__(
        self,
        path: Path,
        *,
        width: int,
        height: int,
        sample_fps: float,
        short_side: int,
        batch_size: int = 32,
        num_threads: int = 2,
        deinterlace: bool = False,
    ) -> None:
        self.path = path
        self.batch_size = batch_size
        self.size = decode_size(width, height, short_side)
        self._reader = open_frames(path, size=self.size, num_threads=num_threads, deinterlace=deinterlace)
        self.fps = self._reader.fps
        self.indices = sample_indices(self._reader.times_s, sample_fps)
        self.times_s = self._reader.times_s[self.indices]
        self.frame_period_s = max(1.0 / sample_fps, 1.0 / self.fps)

    @property
    def count(self) -> int:
        """Number of sampled frames."""
        return len(self.indices)

    def __iter__(self) -> Iterator[FrameBatch]:
        for start in range(0, self.count, self.batch_size):
            chunk = self.indices[start : start + self.batch_size]
            try:
                frames = self._reader.get_batch(chunk.tolist())
            except CorruptVideoError as exc:
                raise CorruptVideoError(f"{exc} near {self.times_s[start]:.1f} s") from exc
            yield FrameBatch(frames=frames, times_s=self.times_s[start : start + len(chunk)])


def window_starts(n_frames: int, window: int, overlap: float) -> list[int]:
    """Start indices (in sampled frames) of windows of ``window`` frames overlapping by ``overlap``.

    A tail shorter than a hop is covered by one last window ending at the last frame; a video
    shorter than one window yields a single window at 0 (its frames are padded by the caller).
    """
    if n_frames <= 0:
        return []
    hop = max(1, round(window * (1.0 - overlap)))
    last = max(0, n_frames - window)
    starts = list(range(0, last + 1, hop))
    if starts[-1] != last:
        starts.append(last)
    return starts


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` from a background thread, up to ``depth`` ahead; re-raise its errors here.

    The producer (a decoder filling a pipe) keeps working while the consumer is busy; when the consumer stops
    early, the producer stops at its next item.
    """
    slots: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | BaseException | None) -> bool:
        """Hand ``item`` over unless the consumer stopped (then False): a full queue never blocks the exit."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    return
            put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's clean-up (a decoder process killed) runs now, not at garbage collection

    worker = threading.Thread(target=produce, name="frame-prefetch", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
