"""Reel rendering with ffmpeg-python: segments of source videos in, one MP4 out (pure; no ORM, no Celery).

Every segment is decoded from just before its in point and re-encoded, so cuts land on the exact
frame asked for rather than on the nearest keyframe (a stream copy would snap to keyframes and
lengthen clips by up to a GOP). Segments of different sizes and frame rates are normalised to one
output format — scaled to fit, padded (letterbox or pillarbox), resampled to one frame rate, audio
resampled to 48 kHz stereo, silence where a source has no audio — then concatenated and written
as H.264/AAC MP4 with the index at the front (``faststart``) so playback starts before the
download ends. Progress comes from ffmpeg's ``-progress`` output.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from ml.files import atomic_write

AUDIO_RATE = 48_000
PROGRESS_EVERY_S = 10.0  # the longest gap between two progress reports while ffmpeg runs


class RenderError(RuntimeError):
    """ffmpeg failed or the input is unusable; the message is one readable line."""


@dataclass(frozen=True)
class Segment:
    """A time range of one source video.

    Attributes:
        path: the source video file.
        start_s: in point, seconds from the start of the file.
        end_s: out point, seconds (exclusive).
        has_audio: whether the source carries an audio stream (silence is generated otherwise).
    """

    path: Path
    start_s: float
    end_s: float
    has_audio: bool = True

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class OutputFormat:
    """The rendered video's format.

    Attributes:
        width: frame width, pixels (even).
        height: frame height, pixels (even).
        fps: frames per second.
        preset: libx264 preset (speed vs size).
        crf: libx264 constant rate factor (quality; lower is better).
        threads: encoder threads, 0 for ffmpeg's default.
    """

    width: int = 1280
    height: int = 720
    fps: int = 30
    preset: str = "veryfast"
    crf: int = 23
    threads: int = 0


def _segment_streams(seg: Segment, fmt: OutputFormat) -> tuple[ffmpeg.nodes.FilterableStream, ...]:
    dur = round(seg.duration_s, 6)
    # Input seeking while transcoding is frame-accurate: ffmpeg decodes from the previous keyframe
    # and drops frames before the in point.
    src = ffmpeg.input(str(seg.path), ss=round(seg.start_s, 6), t=dur)
    video = (
        src.video.filter("scale", fmt.width, fmt.height, force_original_aspect_ratio="decrease")
        .filter("pad", fmt.width, fmt.height, "(ow-iw)/2", "(oh-ih)/2")
        .filter("setsar", 1)
        .filter("fps", fps=fmt.fps)
        .filter("tpad", stop_mode="clone", stop_duration=1)
        .filter("trim", duration=dur)
        .filter("setpts", "PTS-STARTPTS")
    )
    silence = f"anullsrc=r={AUDIO_RATE}:cl=stereo"
    audio = src.audio if seg.has_audio else ffmpeg.input(silence, f="lavfi", t=dur).audio
    audio = (
        audio.filter("aresample", AUDIO_RATE)
        .filter("aformat", sample_fmts="fltp", sample_rates=AUDIO_RATE, channel_layouts="stereo")
        .filter("apad")
        .filter("atrim", duration=dur)
        .filter("asetpts", "PTS-STARTPTS")
    )
    return video, audio


def render_command(segments: Sequence[Segment], output: Path, fmt: OutputFormat) -> list[str]:
    """The ffmpeg command line that renders ``segments`` in order into ``output``.

    Args:
        segments: at least one segment, each longer than zero.
        output: the MP4 file to write.
        fmt: the output format.

    Returns:
        The argument list, ``ffmpeg`` first, writing progress lines to stdout.

    Raises:
        RenderError: no segments, or a segment of zero or negative length.
    """
    if not segments:
        raise RenderError("a reel needs at least one clip")
    for seg in segments:
        if seg.duration_s <= 0 or seg.start_s < 0:
            raise RenderError(f"bad trim {seg.start_s:.3f}-{seg.end_s:.3f} s of {seg.path.name}")
    streams = [s for seg in segments for s in _segment_streams(seg, fmt)]
    joined = ffmpeg.concat(*streams, v=1, a=1).node
    out = ffmpeg.output(
        joined[0],
        joined[1],
        str(output),
        vcodec="libx264",
        preset=fmt.preset,
        crf=fmt.crf,
        pix_fmt="yuv420p",
        r=fmt.fps,
        acodec="aac",
        audio_bitrate="128k",
        ar=AUDIO_RATE,
        movflags="+faststart",
        threads=fmt.threads,
        f="mp4",
    ).global_args("-hide_banner", "-loglevel", "error", "-nostats", "-progress", "pipe:1")
    return out.compile(cmd="ffmpeg", overwrite_output=True)


def render_video(
    segments: Sequence[Segment],
    output: Path,
    fmt: OutputFormat,
    on_progress: Callable[[float], None] | None = None,
) -> float:
    """Render ``segments`` in order into one MP4 at ``output`` (written to a temp file, then renamed).

    Args:
        segments: the cuts, in reel order.
        output: destination file; its folder is created.
        fmt: the output format.
        on_progress: called with the fraction done (0..1) whenever it grows by at least 1%, and at least
            every ``PROGRESS_EVERY_S`` seconds while ffmpeg reports (a heartbeat, even when a long reel
            advances slowly).

    Returns:
        The rendered duration in seconds (sum of the segment durations).

    Raises:
        RenderError: bad segments, a missing source file, or ffmpeg exiting with an error
            (the message carries ffmpeg's last error line).
    """
    for seg in segments:
        if not seg.path.is_file():
            raise RenderError(f"source video missing: {seg.path}")
    total_s = sum(seg.duration_s for seg in segments)
    reported, reported_at = 0.0, time.monotonic()
    with atomic_write(output) as tmp, tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(render_command(segments, tmp, fmt), stdout=subprocess.PIPE, stderr=errors, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.isdigit() and on_progress is not None and total_s > 0:
                done = min(int(value) / 1e6 / total_s, 1.0)
                if done - reported >= 0.01 or time.monotonic() - reported_at >= PROGRESS_EVERY_S:
                    reported, reported_at = done, time.monotonic()
                    on_progress(done)
        if proc.wait() != 0:
            errors.seek(0)
            lines = [ln for ln in errors.read().decode(errors="replace").splitlines() if ln.strip()]
            raise RenderError(f"ffmpeg failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")
    if on_progress is not None:
        on_progress(1.0)
    return total_s
