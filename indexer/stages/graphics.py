"""Broadcast graphics: the score bug read as a game-state timeline, scoring events and on-screen names.

Pure stage: frames and an OCR engine in, dataclasses out; no ORM, no Celery.

Interface fixed with the integration (``GraphicsResult.to_dict`` goes into the analysis artifact):
the pipeline calls :func:`read_graphics` once per video with the frames of
:func:`graphics_frames`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.ocr import OcrEngine


@dataclass(frozen=True)
class GraphicsParams:
    """Knobs of the graphics stage.

    Attributes:
        sample_fps: frames per second read for graphics (1-2 is enough for a clock ticking in seconds).
        short_side: short side, pixels, of the frames OCR reads (the bug's text needs about 14 px letters).
        min_persist: samples a reading must persist before it counts (smoothing).
        min_confidence: OCR confidence under which a text line is dropped, in [0, 1].
        redetect_s: seconds between score-bug detections while the bug is lost or absent.
    """

    sample_fps: float = 2.0
    short_side: int = 720
    min_persist: int = 3
    min_confidence: float = 0.6
    redetect_s: float = 10.0


@dataclass(frozen=True)
class Side:
    """One team or player as laid out on the score bug (a row or a column).

    Attributes:
        name: as read and normalised for display, e.g. ``"LAD"``, ``"REAL MADRID"``, ``"DJOKOVIC"``.
        score: the side's score; None when not shown or not read.
    """

    name: str
    score: int | None


@dataclass(frozen=True)
class GameState:
    """One persistent change of game state on the timeline.

    Attributes:
        time_ms: video presentation time, ms, at which the state was first seen.
        sides: the two sides in the bug's order (first row or left column first).
        period: quarter, half, inning or set number; None when not shown.
        half: baseball ``"top"`` or ``"bottom"``; None elsewhere.
        clock_s: game clock in seconds (remaining, or elapsed for soccer) where shown.
        fields: sport-specific fields where read: ``batter``, ``pitcher``, ``balls``, ``strikes``, ``outs``,
            ``pitch_count`` (baseball); ``sets``, ``games``, ``points``, ``server`` (tennis).
        raw_text: the text lines read, joined with ``" | "``.
        confidence: least OCR confidence of the lines used, in [0, 1].
    """

    time_ms: int
    sides: tuple[Side, Side]
    period: int | None
    half: str | None
    clock_s: float | None
    fields: dict[str, object]
    raw_text: str
    confidence: float


@dataclass(frozen=True)
class ScoringEvent:
    """A persistent rise of one side's score.

    Attributes:
        time_ms: video time, ms, at which the new score first appeared.
        side: 0 or 1, index into :attr:`GameState.sides`.
        points: the rise.
        score: the new score, in sides order.
    """

    time_ms: int
    side: int
    points: int
    score: tuple[int, int]


@dataclass(frozen=True)
class NameSighting:
    """A team or person name read on the bug, with its span on screen.

    Attributes:
        name: normalised for display.
        role: ``"side"`` (the team or player of a side), ``"batter"``, ``"pitcher"``, ``"server"`` ...
        kind: ``"team"`` or ``"player"``.
        start_ms, end_ms: first and last sample time, ms, at which it was read.
        confidence: least OCR confidence of its readings, in [0, 1].
    """

    name: str
    role: str
    kind: str
    start_ms: int
    end_ms: int
    confidence: float


@dataclass(frozen=True)
class GraphicsResult:
    """Everything read from the graphics of one video.

    Attributes:
        states: one per persistent change of state, time-ordered.
        events: scoring events, time-ordered.
        names: name sightings, ordered by first appearance.
        bug_box: ``(x, y, w, h)`` of the score bug in source pixels; None when no bug was found.
        samples: frames read.
        seconds: wall seconds spent in the stage.
    """

    states: list[GameState]
    events: list[ScoringEvent]
    names: list[NameSighting]
    bug_box: tuple[int, int, int, int] | None
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (read back by :meth:`from_dict`)."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphicsResult:
        """Rebuild a result written by :meth:`to_dict`."""
        raise NotImplementedError


def read_graphics(frames: Iterable[tuple[int, np.ndarray]], ocr: OcrEngine, params: GraphicsParams) -> GraphicsResult:
    """Find the score bug, read it at each sample whose bug pixels changed, and smooth the readings.

    Args:
        frames: ``(time_ms, frame)`` in time order; ``frame`` is ``(H, W, 3)`` uint8 RGB.
        ocr: the OCR engine (detection and recognition).
        params: sampling and smoothing knobs.

    Returns:
        The game-state timeline, scoring events and name sightings; empty lists when no bug is on screen.
    """
    raise NotImplementedError
