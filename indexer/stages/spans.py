"""Decode a fixed number of frames evenly spread over one time span of a video (training and evaluation clips).

Unlike :class:`~indexer.stages.frames.FrameSampler`, which walks a whole game at a frame rate, this
reads only the frames of one span: the ``count`` frames nearest to the centres of ``count`` equal
slices of ``[start_s, end_s)`` (the segment-based sampling of Temporal Segment Networks, Wang et
al., ECCV 2016), resized while decoding (decord, or PyAV for files decord refuses).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.decode import open_frames
from indexer.stages.frames import decode_size, shown_at


def span_frames(
    path: Path,
    *,
    width: int,
    height: int,
    start_s: float,
    end_s: float,
    count: int,
    short_side: int,
    num_threads: int = 2,
) -> np.ndarray:
    """Frames evenly spread over a span.

    Args:
        path: video file.
        width, height: the video's frame size in pixels (from the probe or the Game row).
        start_s, end_s: the span in seconds; clamped to the video.
        count: frames wanted.
        short_side: decoded short side in pixels.
        num_threads: decoder threads.

    Returns:
        ``(count, H, W, 3)`` uint8 RGB (a frame may repeat when the span holds fewer frames).

    Raises:
        CorruptVideoError: the file cannot be decoded, or has no frame.
        ValueError: ``count`` < 1 or ``end_s`` <= ``start_s``.
    """
    if count < 1 or end_s <= start_s:
        raise ValueError(f"need count >= 1 and a non-empty span, got {count} frames over [{start_s}, {end_s})")
    try:
        reader = open_frames(path, size=decode_size(width, height, short_side), num_threads=num_threads)
        stamps = reader.times_s
        if len(stamps) == 0:
            raise CorruptVideoError(f"{path}: no frames")
        targets = start_s + (np.arange(count) + 0.5) * (end_s - start_s) / count
        return reader.get_batch(shown_at(stamps, targets).tolist())
    except CorruptVideoError as exc:
        raise CorruptVideoError(f"{path}: cannot decode [{start_s:.2f}, {end_s:.2f}) s ({exc})") from exc
