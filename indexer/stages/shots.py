"""Shot boundaries (camera cuts) from frames the pipeline has already decoded.

Uses PySceneDetect's content-aware detector (``scenedetect.detectors.ContentDetector``,
https://scenedetect.com): for each frame it scores the mean change in hue, saturation, luma and
dilated Canny edges from the previous frame and reports a cut where the score reaches
``threshold``; its flash filter merges cuts closer together than ``min_scene_len``. The detector
is fed the pipeline's sampled frames (e.g. 8 fps) one by one, so nothing is decoded twice and
``min_scene_len`` is expressed in sampled frames (``round(min_shot_s * sample_fps)``).

Sampling at a few fps makes consecutive frames further apart than in the source, so camera pans
score higher than at full rate; the default threshold (27, PySceneDetect's) holds up at 8 fps on
broadcast footage, and a lower fps would warrant a higher threshold.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np
from scenedetect import FrameTimecode
from scenedetect.detectors import ContentDetector

logger = logging.getLogger(__name__)

__all__ = ["ShotDetector", "ShotSpan"]


@dataclass(frozen=True)
class ShotSpan:
    """One shot, ``[start_ms, end_ms)`` in integer milliseconds of the video's timeline."""

    start_ms: int
    end_ms: int


class ShotDetector:
    """Streaming wrapper around PySceneDetect's ContentDetector fed with frames the pipeline already decoded.

    Push every sampled frame of the video, in order, in as many batches as convenient, then call
    :meth:`finish` once. Frames are numbered by a running counter (PySceneDetect requires
    sequential frame numbers) and the time of each is remembered only as long as the detector may
    still report a cut that far back, so memory does not grow with the video's length.

    A cut reported at sampled frame ``k`` happened somewhere between frames ``k - 1`` and ``k``;
    the boundary is placed at the midpoint of their times (at 8 fps the error is at most 62.5 ms).

    Example::

        detector = ShotDetector(sample_fps=8.0)
        for frames, times_s in batches:  # (N, H, W, 3) uint8 RGB, (N,) seconds
            detector.push(frames, times_s)
        shots = detector.finish(duration_s)
    """

    def __init__(self, *, sample_fps: float, threshold: float = 27.0, min_shot_s: float = 1.0) -> None:
        """Create a detector for one video.

        Args:
            sample_fps: rate in frames per second at which the pushed frames were sampled.
            threshold: ContentDetector score (0..255 scale) at or above which a cut is reported.
            min_shot_s: shortest shot in seconds; closer cuts are merged by PySceneDetect's flash
                filter. Converted to ``max(1, round(min_shot_s * sample_fps))`` sampled frames.

        Raises:
            ValueError: ``sample_fps`` is not positive or ``min_shot_s`` is negative.
        """
        if sample_fps <= 0:
            raise ValueError(f"sample_fps must be positive, got {sample_fps}")
        if min_shot_s < 0:
            raise ValueError(f"min_shot_s must be >= 0, got {min_shot_s}")
        self._fps = float(sample_fps)
        min_frames = max(1, round(min_shot_s * sample_fps))
        self._detector = ContentDetector(threshold=threshold, min_scene_len=min_frames)
        # (frame number, time in seconds) of the frames a cut may still be reported for.
        self._recent: deque[tuple[int, float]] = deque(maxlen=self._detector.event_buffer_length + 2)
        self._next_frame = 0
        self._cuts_s: list[float] = []

    def push(self, frames: np.ndarray, times_s: np.ndarray) -> None:
        """Feed the next batch of sampled frames.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB frames, all the same size throughout the video.
            times_s: ``(N,)`` presentation time of each frame in seconds on the video's timeline,
                increasing across batches.

        Raises:
            ValueError: shapes disagree or times go backwards.
        """
        frames = np.asarray(frames)
        times = np.asarray(times_s, dtype=np.float64).reshape(-1)
        if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) != len(times):
            raise ValueError(f"frames {frames.shape} and times_s {times.shape} must be (N, H, W, 3) and (N,)")
        for frame, time_s in zip(frames, times, strict=True):
            if self._recent and time_s <= self._recent[-1][1]:
                raise ValueError(f"frame times must increase: {time_s} after {self._recent[-1][1]}")
            self._recent.append((self._next_frame, float(time_s)))
            timecode = FrameTimecode(self._next_frame, fps=self._fps)
            bgr = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR)
            for cut in self._detector.process_frame(timecode, bgr):
                self._record_cut(cut.frame_num)
            self._next_frame += 1

    def finish(self, duration_s: float) -> list[ShotSpan]:
        """Flush the detector and return the shots.

        Args:
            duration_s: length of the video in seconds (the end of the last shot).

        Returns:
            Contiguous shots sorted by start, the first starting at 0 ms and the last ending at
            ``round(duration_s * 1000)`` ms; a single shot when no cut was found. Cuts that round
            to the same millisecond or fall outside ``(0, duration)`` are dropped.
        """
        if self._next_frame:
            last = FrameTimecode(self._next_frame - 1, fps=self._fps)
            for cut in self._detector.post_process(last):
                self._record_cut(cut.frame_num)
        end_ms = round(duration_s * 1000)
        bounds = sorted({round(cut * 1000) for cut in self._cuts_s if 0 < round(cut * 1000) < end_ms})
        starts = [0, *bounds]
        ends = [*bounds, max(end_ms, 0)]
        logger.debug("%d shots, cuts at %s ms", len(starts), bounds)
        return [ShotSpan(start_ms=start, end_ms=end) for start, end in zip(starts, ends, strict=True)]

    def _record_cut(self, frame_num: int) -> None:
        """Remember a cut before sampled frame ``frame_num`` as the midpoint time to the frame before."""
        times = dict(self._recent)
        if frame_num not in times:
            raise RuntimeError(f"ContentDetector reported a cut at frame {frame_num}, beyond its event buffer")
        before = times.get(frame_num - 1, times[frame_num])
        self._cuts_s.append((before + times[frame_num]) / 2.0)
