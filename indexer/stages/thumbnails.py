"""Clip thumbnails: one JPEG frame cut with ffmpeg (fast input seeking)."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from indexer.errors import CorruptVideoError


def extract_thumbnail(video: Path, at_s: float, dest: Path, *, width: int = 320) -> Path:
    """Write the frame at ``at_s`` seconds of ``video`` to ``dest`` as a JPEG ``width`` pixels wide.

    The file is written under a temporary name and renamed, so a reader never sees half an image.

    Raises:
        CorruptVideoError: ffmpeg cannot produce the frame.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.stem + ".part" + dest.suffix)
    try:
        (
            ffmpeg.input(str(video), ss=max(at_s, 0.0))
            .filter("scale", width, -2)
            .output(str(tmp), vframes=1, format="image2", vcodec="mjpeg", **{"q:v": 4})
            .overwrite_output()
            .run(capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as exc:
        lines = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise CorruptVideoError(
            f"{video}: thumbnail at {at_s:.2f} s failed ({lines[-1] if lines else 'ffmpeg'})"
        ) from exc
    if not tmp.is_file() or tmp.stat().st_size == 0:
        raise CorruptVideoError(f"{video}: no frame at {at_s:.2f} s for a thumbnail")
    tmp.replace(dest)
    return dest
