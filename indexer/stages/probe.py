"""Probe a video file with ffprobe (through ffmpeg-python)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg

from indexer.errors import CorruptVideoError


@dataclass(frozen=True)
class VideoProbe:
    """What ffprobe says about a file.

    Attributes:
        duration_s: container (or video stream) duration in seconds.
        fps: average video frame rate, frames per second.
        width, height: coded frame size in pixels.
        frame_count: number of video frames (from the stream header, or duration × fps).
        video_codec: e.g. ``"h264"``.
        has_audio: whether an audio stream is present (it may still be silent).
        audio_sample_rate: Hz, 0 without audio.
        interlaced: ffprobe's ``field_order`` names a field order (``tt``, ``bb``, ``tb``, ``bt``):
            the frames are woven from two fields and are deinterlaced before the model.
    """

    duration_s: float
    fps: float
    width: int
    height: int
    frame_count: int
    video_codec: str
    has_audio: bool
    audio_sample_rate: int
    interlaced: bool = False


INTERLACED_FIELD_ORDERS = frozenset({"tt", "bb", "tb", "bt"})
"""ffprobe ``field_order`` values of interlaced video (``progressive`` and ``unknown`` are not)."""


def probe_video(path: Path) -> VideoProbe:
    """Read streams, duration and frame rate with ffprobe.

    Raises:
        CorruptVideoError: the file is missing, empty, unreadable, has no video stream, or reports
            no usable duration / frame rate. The message is one readable line.
    """
    path = Path(path)
    if not path.is_file():
        raise CorruptVideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise CorruptVideoError(f"{path}: file is empty (0 bytes)")
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        raise CorruptVideoError(f"{path}: not a readable video ({_last_line(exc.stderr)})") from exc
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None:
        raise CorruptVideoError(f"{path}: no video stream")
    fps = _rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
    duration = _float(video.get("duration")) or _float(info.get("format", {}).get("duration"))
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if not fps or not duration or duration <= 0 or width <= 0 or height <= 0:
        raise CorruptVideoError(f"{path}: video stream has no usable duration, frame rate or size")
    frame_count = int(video.get("nb_frames") or 0) or round(duration * fps)
    return VideoProbe(
        duration_s=duration,
        fps=fps,
        width=width,
        height=height,
        frame_count=frame_count,
        video_codec=str(video.get("codec_name", "")),
        has_audio=audio is not None,
        audio_sample_rate=int(audio.get("sample_rate") or 0) if audio else 0,
        interlaced=video.get("field_order") in INTERLACED_FIELD_ORDERS,
    )


def is_video_file(path: Path) -> bool:
    """Whether ffprobe reads ``path`` as moving video: any container FFmpeg demuxes, not a still image.

    A file counts when it has a video stream that is not an attached picture (cover art), its
    container is not one of FFmpeg's single-image demuxers (``image2``, ``png_pipe``, ``jpeg_pipe``
    ...), and the stream does not report exactly one frame (a one-frame GIF). Never raises: an
    unreadable file is simply not video. Costs one ffprobe run (tens of milliseconds).
    """
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error:
        return False
    formats = set(str(info.get("format", {}).get("format_name", "")).split(","))
    if formats & {"image2", "image2pipe"} or any(name.endswith("_pipe") for name in formats):
        return False
    return any(
        s.get("codec_type") == "video"
        and not (s.get("disposition") or {}).get("attached_pic")
        and str(s.get("nb_frames", "")) != "1"
        for s in info.get("streams", [])
    )


def _rate(value: str | None) -> float:
    try:
        rate = Fraction(value) if value else Fraction(0)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(rate)


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def _last_line(stderr: bytes | None) -> str:
    lines = (stderr or b"").decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else "ffprobe failed"
