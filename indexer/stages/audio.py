"""Audio energy per action window: crowd roar and commentary peaks, scored against the game.

The soundtrack is decoded once by ffmpeg to mono float32 PCM at ``sample_rate`` Hz and read from
the pipe in fixed-size blocks, so a 2-hour game never sits in memory (only two float32 values per
64 ms audio frame are kept). Each audio frame is ``FRAME_SIZE`` samples with a hop of
``HOP_SIZE`` samples (128 ms / 64 ms at 16 kHz) and yields:

* the RMS energy, averaged per window and expressed in dBFS (``loudness_db``, floor -100 dB);
* the spectral flux of S. Dixon, "Onset detection revisited", DAFx 2006, eq. (4): the sum over
  frequency bins of the half-wave rectified increase in magnitude of the Hann-windowed spectrum
  from the previous frame, ``SF(n) = sum_k H(|X(n, k)| - |X(n - 1, k)|)`` with
  ``H(x) = (x + |x|) / 2``; magnitudes are divided by the window's sum so a full-scale sine peaks
  at 0.5. Its per-window mean is ``spectral_flux``.

``audio_energy = robust_zscore((robust_zscore(loudness_db) + robust_zscore(spectral_flux)) / 2)``:
loudness catches sustained roars, flux catches sudden onsets (whistle, crack of the bat, a
shout), and the mean of the two is z-scored again so audio_energy has the same scale as the other
game-relative signals (see :mod:`indexer.stages.baseline`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import ffmpeg
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from indexer.errors import CorruptVideoError
from indexer.stages.baseline import robust_zscore, window_mean

logger = logging.getLogger(__name__)

__all__ = ["FLOOR_DB", "FRAME_SIZE", "HOP_SIZE", "AudioDecodeError", "AudioFeatures", "audio_features"]

FRAME_SIZE = 2048
"""Samples per analysis frame."""
HOP_SIZE = 1024
"""Samples between the starts of consecutive analysis frames."""
FLOOR_DB = -100.0
"""Loudness floor in dBFS; also the threshold below which a whole track counts as silent."""

_BLOCK_FRAMES = 256  # analysis hops read from the pipe per block: 1 MiB of float32, 16 s at 16 kHz
_STDERR_LINES = 20


class AudioDecodeError(CorruptVideoError, ValueError):
    """ffmpeg could not decode the file's audio (corrupt, not media, or no audio stream at all).

    A permanent error (:class:`indexer.errors.CorruptVideoError`): retrying cannot help.
    """


@dataclass(frozen=True)
class AudioFeatures:
    """Per-window audio signals of one game.

    Attributes:
        has_audio: False when the file has no audio stream or the track is digitally silent
            (peak below -100 dBFS); every array is then its neutral value.
        loudness_db: ``(W,)`` float32 RMS loudness per window in dBFS, floored at -100.
        spectral_flux: ``(W,)`` float32 mean positive spectral flux per window (Dixon 2006).
        audio_energy: ``(W,)`` float32 robust z-score in ``[-5, 5]`` against the game's own windows;
            zeros when ``has_audio`` is False.
    """

    has_audio: bool
    loudness_db: np.ndarray
    spectral_flux: np.ndarray
    audio_energy: np.ndarray


def audio_features(path: Path, spans_s: np.ndarray, *, has_audio: bool, sample_rate: int = 16000) -> AudioFeatures:
    """Loudness, spectral flux and audio_energy for each window of a video's soundtrack.

    Args:
        path: the video (or audio) file.
        spans_s: ``(W, 2)`` float64 window ``[start, end)`` in seconds on the video's timeline.
            An audio frame belongs to the windows containing its centre; a window containing no
            audio frame (past the end of a short track) gets -100 dB and zero flux.
        has_audio: whether the file has an audio stream (from ffprobe). False skips decoding.
        sample_rate: decode rate in Hz; 16 kHz keeps everything that matters for crowd noise.

    Returns:
        The per-window features; ``has_audio`` is False (and audio_energy zeros) when the caller
        said there is no audio stream or the decoded track is digitally silent.

    Raises:
        AudioDecodeError: ffmpeg failed (file missing, not media, corrupt, or ``has_audio`` was
            True for a file without an audio stream); the message ends with ffmpeg's last
            stderr line.
    """
    n_windows = len(np.asarray(spans_s).reshape(-1, 2))
    if not has_audio:
        return _silent(n_windows)

    frame_energy: list[np.ndarray] = []
    frame_flux: list[np.ndarray] = []
    peak = 0.0
    previous_magnitude: np.ndarray | None = None
    for frames in _analysis_frames(Path(path), sample_rate):
        peak = max(peak, float(np.abs(frames).max()))
        energy, flux, previous_magnitude = _frame_features(frames, previous_magnitude)
        frame_energy.append(energy)
        frame_flux.append(flux)

    if peak <= _db_to_amplitude(FLOOR_DB):
        logger.info("audio track of %s is digitally silent (peak %.3g)", path, peak)
        return _silent(n_windows)

    energy = np.concatenate(frame_energy)
    centres_s = (np.arange(len(energy)) * HOP_SIZE + FRAME_SIZE / 2) / sample_rate
    loudness_db = _energy_to_db(window_mean(centres_s, energy, spans_s, empty=0.0))
    flux = window_mean(centres_s, np.concatenate(frame_flux), spans_s, empty=0.0).astype(np.float32)
    combined = (robust_zscore(loudness_db) + robust_zscore(flux)) / 2.0
    return AudioFeatures(
        has_audio=True, loudness_db=loudness_db, spectral_flux=flux, audio_energy=robust_zscore(combined)
    )


def _silent(n_windows: int) -> AudioFeatures:
    """Neutral features for a game without usable audio."""
    return AudioFeatures(
        has_audio=False,
        loudness_db=np.full(n_windows, FLOOR_DB, dtype=np.float32),
        spectral_flux=np.zeros(n_windows, dtype=np.float32),
        audio_energy=np.zeros(n_windows, dtype=np.float32),
    )


def _db_to_amplitude(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def _energy_to_db(mean_square: np.ndarray) -> np.ndarray:
    """Mean square amplitude -> dBFS (float32), floored at :data:`FLOOR_DB`."""
    floor = 10.0 ** (FLOOR_DB / 10.0)
    return (10.0 * np.log10(np.maximum(mean_square, floor))).astype(np.float32)


def _frame_features(
    frames: np.ndarray, previous_magnitude: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean square energy and spectral flux of a block of analysis frames.

    Args:
        frames: ``(F, FRAME_SIZE)`` float32 samples in [-1, 1].
        previous_magnitude: ``(FRAME_SIZE // 2 + 1,)`` spectrum magnitude of the frame before this
            block, or None at the start of the track (the first frame's flux is then 0).

    Returns:
        ``(F,)`` mean square energy, ``(F,)`` spectral flux and the last frame's magnitude.
    """
    energy = np.mean(np.square(frames, dtype=np.float64), axis=1)
    window = np.hanning(FRAME_SIZE).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(frames * window, axis=1)) / window.sum()
    before = np.concatenate(
        [(magnitude[:1] if previous_magnitude is None else previous_magnitude[None]), magnitude[:-1]]
    )
    flux = np.maximum(magnitude - before, 0.0).sum(axis=1)
    return energy, flux, magnitude[-1]


def _analysis_frames(path: Path, sample_rate: int) -> Iterator[np.ndarray]:
    """Decode mono float32 PCM with ffmpeg and yield it as blocks of overlapping analysis frames.

    Yields ``(F, FRAME_SIZE)`` float32 views, consecutive frames ``HOP_SIZE`` samples apart
    across block boundaries. The tail shorter than a frame is zero-padded into one last frame
    (so a track shorter than ``FRAME_SIZE`` samples still yields one frame).

    Raises:
        AudioDecodeError: ffmpeg exited with an error.
    """
    process = (
        ffmpeg.input(str(path), threads=1)  # one decoder thread: it runs beside the video model's threads
        .output("pipe:", format="f32le", ac=1, ar=sample_rate, vn=None, sn=None, dn=None)
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-filter_threads", "1")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    _yield_cpu(process.pid)
    stderr_tail: deque[str] = deque(maxlen=_STDERR_LINES)
    drain = threading.Thread(target=drain_stderr, args=(process.stderr, stderr_tail), daemon=True)
    drain.start()
    pending = np.zeros(0, dtype=np.float32)
    emitted = False
    try:
        block_bytes = _BLOCK_FRAMES * HOP_SIZE * 4
        while chunk := process.stdout.read(block_bytes):
            pending = np.concatenate([pending, np.frombuffer(chunk[: len(chunk) - len(chunk) % 4], np.float32)])
            if len(pending) < FRAME_SIZE:
                continue
            frames = sliding_window_view(pending, FRAME_SIZE)[::HOP_SIZE]
            yield frames
            emitted = True
            pending = pending[len(frames) * HOP_SIZE :]
    finally:
        process.stdout.close()
        returncode = process.wait()
        drain.join()
    if returncode != 0:
        last = stderr_tail[-1] if stderr_tail else f"exit status {returncode}"
        raise AudioDecodeError(f"ffmpeg could not decode the audio of {path}: {last}")
    if len(pending) > (FRAME_SIZE - HOP_SIZE if emitted else 0):
        yield np.pad(pending, (0, FRAME_SIZE - len(pending)))[None]


AUDIO_NICENESS = 10
"""Niceness added to the audio decoder: on a busy worker it takes the cores the video model leaves idle."""


def _yield_cpu(pid: int) -> None:
    """Lower the priority of a helper process so that it does not preempt the model's threads (Linux)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + AUDIO_NICENESS)
    except (OSError, AttributeError):  # gone already, or a platform without setpriority
        logger.debug("could not lower the priority of process %s", pid)


def drain_stderr(stream: IO[bytes], tail: deque[str]) -> None:
    """Read ffmpeg's stderr to the end (so the pipe never blocks), keeping its last lines."""
    for raw in stream:
        line = raw.decode("utf-8", errors="replace").strip()
        if line:
            tail.append(line)
    stream.close()
