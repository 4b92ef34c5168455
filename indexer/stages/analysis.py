"""One decoding pass over a video: action windows, motion, shot boundaries, and audio energy.

The video is decoded once (:class:`~indexer.stages.frames.FrameSampler`); each batch of frames
feeds the shot detector and the motion signal, and fills overlapping windows of ``T`` frames that
the action model classifies in batches. The audio track is decoded by a separate ffmpeg process
running concurrently. Memory stays bounded by one window plus one decode batch, whatever the
game's length.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.audio import audio_features
from indexer.stages.frames import FrameSampler, prefetch, window_starts, write_jpeg
from indexer.stages.motion import frame_motion, window_motion
from indexer.stages.probe import VideoProbe
from indexer.stages.shots import ShotDetector, ShotSpan
from ml.files import atomic_write
from ml.recognizer import Recognize


@dataclass(frozen=True)
class AnalysisParams:
    """Sampling and batching knobs (the ``HL_*`` settings).

    Attributes:
        sample_fps: frames per second fed to the model.
        window_frames: frames ``T`` per action window.
        overlap: fraction of a window shared with the next one, in [0, 1).
        short_side: decoded short side in pixels (the model crops its square input from it).
        batch_windows: windows per forward pass.
        decode_threads: decoder threads (decoding runs beside the model, which takes the other cores).
    """

    sample_fps: float = 8.0
    window_frames: int = 16
    overlap: float = 0.5
    short_side: int = 256
    batch_windows: int = 4
    decode_threads: int = 1  # beside the model on 2 cores, 1 thread measured 0.72 s per window vs 0.82 s with 2


@dataclass
class Analysis:
    """Per-window signals of one video.

    Attributes:
        spans_s: ``(W, 2)`` float64 window [start, end) in seconds.
        probs: ``(W, K)`` float32 class probabilities per window.
        features: ``(W, D)`` float32 L2-normalised window embeddings.
        audio_energy: ``(W,)`` float32 audio energy z-score (zeros without audio).
        motion: ``(W,)`` float32 motion z-score.
        shots: shot spans in milliseconds covering the video.
        has_audio: whether a non-silent audio track was found.
        timings: wall seconds per part (``decode_model``, ``audio``).
    """

    spans_s: np.ndarray
    probs: np.ndarray
    features: np.ndarray
    audio_energy: np.ndarray
    motion: np.ndarray
    shots: list[ShotSpan]
    has_audio: bool
    timings: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write to ``path`` (``.npz``) atomically: a temp file in the same folder, then rename."""
        with atomic_write(path) as tmp:
            np.savez(
                tmp,
                spans_s=self.spans_s,
                probs=self.probs,
                features=self.features,
                audio_energy=self.audio_energy,
                motion=self.motion,
                shots=np.array([[s.start_ms, s.end_ms] for s in self.shots], dtype=np.int64).reshape(-1, 2),
                has_audio=np.array(self.has_audio),
            )

    @classmethod
    def load(cls, path: Path) -> Analysis:
        """Read an analysis written by :meth:`save`."""
        with np.load(path) as data:
            return cls(
                spans_s=data["spans_s"],
                probs=data["probs"],
                features=data["features"],
                audio_energy=data["audio_energy"],
                motion=data["motion"],
                shots=[ShotSpan(int(a), int(b)) for a, b in data["shots"]],
                has_audio=bool(data["has_audio"]),
            )

    def video_classes(self, categories: tuple[str, ...], k: int = 5) -> list[tuple[str, float]]:
        """Top-``k`` classes for the whole video: window probabilities averaged over time."""
        mean = self.probs.mean(axis=0)
        top = np.argsort(mean)[::-1][:k]
        return [(categories[i], float(mean[i])) for i in top]


def analyse_video(
    path: Path,
    probe: VideoProbe,
    recognize: Recognize,
    params: AnalysisParams,
    on_progress: Callable[[float], None] | None = None,
    keyframe_dir: Path | None = None,
) -> Analysis:
    """Decode ``path`` once and compute every per-window signal.

    Decoding runs in a background thread one batch ahead of the model (decord releases the GIL),
    so the decoder's serial parts overlap the network's parallel ones.

    Args:
        path: video file.
        probe: its ffprobe facts (frame size, audio presence, duration).
        recognize: maps ``(B, T, H, W, 3)`` uint8 clips to ``(probs (B, K), embeddings (B, D))``.
        params: sampling and batching knobs.
        on_progress: called with the fraction of frames decoded, in [0, 1].
        keyframe_dir: if given, the middle frame of window ``i`` is written there as ``window_{i:06d}.jpg``
            (decoded size), for clip thumbnails without decoding the video again.

    Raises:
        CorruptVideoError: the video cannot be decoded (from the frame sampler).
        AudioDecodeError: the audio track cannot be decoded.
    """
    started = time.perf_counter()
    sampler = FrameSampler(
        path,
        width=probe.width,
        height=probe.height,
        sample_fps=params.sample_fps,
        short_side=params.short_side,
        num_threads=params.decode_threads,
        deinterlace=probe.interlaced,
    )
    window = params.window_frames
    starts = window_starts(sampler.count, window, params.overlap)
    times = sampler.times_s
    spans = np.array(
        [[times[s], times[min(s + window, sampler.count) - 1] + sampler.frame_period_s] for s in starts],
        dtype=np.float64,
    ).reshape(-1, 2)

    with ThreadPoolExecutor(max_workers=1) as pool:
        audio_future = pool.submit(_timed, audio_features, path, spans, has_audio=probe.has_audio)
        shots = ShotDetector(sample_fps=params.sample_fps)
        diffs: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        features: list[np.ndarray] = []
        buffer = np.empty((0,), dtype=np.uint8)
        buffer_start = 0  # sampled-frame index of buffer[0]
        previous: np.ndarray | None = None
        next_window = 0
        pending: list[np.ndarray] = []
        decoded = 0
        for batch in prefetch(sampler):
            shots.push(batch.frames, batch.times_s)
            diffs.append(frame_motion(batch.frames, previous))
            previous = batch.frames[-1]
            buffer = batch.frames if buffer.size == 0 else np.concatenate([buffer, batch.frames])
            decoded += len(batch.frames)
            is_last = decoded >= sampler.count
            while next_window < len(starts) and (starts[next_window] + window <= decoded or is_last):
                offset = starts[next_window] - buffer_start
                clip = _pad(buffer[offset : offset + window], window)
                if keyframe_dir is not None:
                    write_jpeg(clip[window // 2], keyframe_dir / f"window_{next_window:06d}.jpg", quality=85)
                pending.append(clip)
                next_window += 1
                if len(pending) == params.batch_windows:
                    _classify(recognize, pending, probs, features)
            if next_window < len(starts):  # keep only frames a future window needs
                drop = starts[next_window] - buffer_start
                buffer, buffer_start = buffer[drop:], starts[next_window]
            if on_progress is not None:
                on_progress(decoded / max(sampler.count, 1))
        if pending:
            _classify(recognize, pending, probs, features)
        decode_model_s = time.perf_counter() - started
        audio, audio_s = audio_future.result()

    if not probs:
        raise CorruptVideoError(f"{path}: no frames could be decoded")
    motion = window_motion(times[:decoded], np.concatenate(diffs), spans)
    return Analysis(
        spans_s=spans,
        probs=np.concatenate(probs),
        features=np.concatenate(features),
        audio_energy=audio.audio_energy,
        motion=motion.unusual,
        shots=shots.finish(probe.duration_s),
        has_audio=audio.has_audio,
        timings={"decode_model": decode_model_s, "audio": audio_s},
    )


def _pad(frames: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last frame so a short video still fills one window of ``length`` frames."""
    if len(frames) >= length:
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], length - len(frames), axis=0)])


def _classify(recognize: Recognize, pending: list[np.ndarray], probs: list, features: list) -> None:
    p, f = recognize(np.stack(pending))
    probs.append(p)
    features.append(f)
    pending.clear()


def _timed(fn: Callable, *args: object, **kwargs: object) -> tuple:
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started
