"""Broadcast graphics: the score bug read as a game-state timeline, scoring events and on-screen names.

Pure stage: a video path or frames and an OCR engine in, dataclasses out; no ORM, no Celery. The pipeline
calls :func:`read_graphics` once per video with the frames of :func:`graphics_frames`, and keeps
:meth:`GraphicsResult.to_dict` in the game's work folder.

How it reads (the issue's item 1):

1. **Frames** (:func:`graphics_frames`): a second, light ffmpeg decode at 2 samples/s, 720 px short side,
   that skips non-reference frames and deblocking. On the 300 s 720p input of ``benchmarks/index_speed.py``
   (one run, machine shared and loaded, seconds side by side): 24.0 s, against 180 s for the analysis
   decode itself (decord, 256 px, 5 fps), 175 s for a second decord reader at 720 px / 2 fps (decord
   decodes every frame), 53.5 s for ffmpeg decoding every frame without deblocking, and, in another run,
   75 s vs 38 s for decoding the analysis pass at 720 px and resizing for the model (twice the analysis
   decode, and it changes the model's pixels). Keyframes only (``-skip_frame nokey``) cost 3.5 s but give
   one frame per 5.7 s there, and one in the whole 5.5 s NBA clip: too few for a ticking clock.
2. **Finding the bug** (:func:`find_bug`) once per run of samples: edges that stay put across a second of
   samples while the picture moves (:func:`stable_mask`, :func:`stable_regions`) and that no earlier search
   looked at in vain (:class:`_SearchedInVain`: remembered by their pixels, so boards that come back after a cut
   are not searched again, while a bug appearing later over a shot searched before is), text detection
   (PP-OCRv4 DB) only inside them, lines clustered (:func:`group_lines`); each cluster's lines are recognised
   once (:func:`_numbered`), and only clusters showing numbers (most first) or two names laid out as sides are
   re-detected at 1x and 2x in a widened box and read piece by piece; the bug is the cluster whose text parses
   as a game state (:func:`parse_bug`), the search stopping at one that reads both scores. Not found: search
   again after a back-off (one sample period doubling to ``redetect_s``).
3. **Re-reading** (:class:`_Bug`): recognition only, of the bug's lines whose pixels changed (their ink
   mask, :func:`ink_mask`, by more than ``change_threshold``), each split at blank gaps (:func:`split_line`).
   A bug lost at a cut (a replay, a close-up) is remembered with the pixels of its last reading; while none
   is held each sample is compared with the remembered bugs (pixels only, :meth:`_Bug.shown`), so a bug
   that comes back is read again without a search; a new search waits ``lost_search_s``, then backs off.
4. **Parsing** (:func:`parse_bug`): the layout decides (two rows, or two columns, each a name followed by
   numbers), never a word list; so sponsor boards, channel logos and captions beside the bug are no sides.
   Marks that are no text are read from the pixels where the layout puts them: MLB's lit arrow above or
   below the inning number (:func:`lit_arrow`) gives top or bottom; a tennis bug's lit mark left of a name
   (:func:`server_mark`) gives the server. Numbers are kept one per cell of the columns both rows share (the
   edge of a lit cell is no digit), and two sides in one row must share a letter height (court-side boards in a
   static shot stay put too, but are no bug).
5. **Smoothing** (:class:`Timeline`): persistence over ``min_persist`` samples, scores never going back,
   low-confidence pieces dropped; scoring events are persistent rises.

OCR engine choice (``benchmarks/graphics.py``, the same bug crops for both): see :mod:`ml.ocr`.

Measured (2026-12-01, 2 shared cores, load average 8-17, so the figures to read are ratios side by side):
OCR CPU seconds per sample (this process, all threads; ffmpeg's decode apart) on the inputs of
``benchmarks/index_speed.py``: 2 min, 0.109 before the remembered bugs and single search of fruitless regions,
0.061 after; 5 min, 0.106 before, 0.051 after (bug searches 57.5 -> 22.7 CPU s). ``index_speed.py``'s
``graphics_added`` on the 2-minute input 0.294 before, 0.186 after; on the 5-minute one, run back to back at
load 4-5, 0.176 before and 0.192 after, the step taking 40.0 s and 40.4 s: **still over the 0.15 budget**. Its
ffmpeg decode alone (one thread; two gain 1 s) takes 9.2 s of the 5-minute input on a quiet machine, so most of
the step is still the OCR of each sample. On the four shared
broadcast clips (``benchmarks/graphics.py``, run side by side): every expected name (7/7) and score (3/3)
before and after; expected clock/count strings 0.857 -> 0.952; 1.07 -> 0.87 detection calls per sample.

Where the step's time went on that 5-minute input (per-part timers, the stage alone, shared machine): of 31 CPU s
of OCR (two ONNX Runtime threads), 21 in the searches for the bug (detection 12.8, recognition of the candidate
clusters 10.2; 11 of the 21 in searches that found none), 7.4 in re-reading changed lines (about 70 one-line reads
of running clocks), 3 in pixel comparisons; the ffmpeg decode (another process, 9 CPU s) waited while OCR ran.
One ONNX Runtime thread needs half the CPU seconds of two (16 vs 31) for the same readings, and the decode now runs
ahead (:func:`graphics_frames`) on the other core. Side by side on that input (load average about 5; the stage as
the pipeline runs it, ``benchmarks/index_speed.py --graphics-only``): 47.7 and 45.4 s before (two
threads, no read-ahead; 35.3 and 32.4 CPU s), 27.6 and 28.9 s after (17.4 and 18.3 CPU s), with the same OCR calls
(102 detections, 98 recognitions of 233 crops) and the same states, except where the parser's fixes (columns,
server, court-side boards, clock at a cut) changed them. On a quiet machine the gain is CPU, not wall: 21.8 s
(18.8 CPU s) with one thread against 23.0 s (30.5 CPU s) with two, and 0.152 of the other steps' time in
``benchmarks/index_speed.py`` (0.162 before; the budget is 0.15). Tried and
not kept: recognising crops narrower than RapidOCR's 320 px minimum width (20-30 % less CPU, but lone "1"s lost),
several pieces stitched into one crop (198 of 544 texts changed), detecting candidate regions at 1x only (the
hard-court and NBA bugs lost).

The search's cost (stop 12; the stage alone on that input, ``index_speed.py --graphics-only``, main then this
change, one after the other, twice, load average 3.5-4.5): wall 26.2 and 29.4 s before, 24.1 and 24.3 s after;
CPU 15.5 and 17.1 s before, 12.7 and 12.8 s after (at load 4-6: 41.4 / 37.8 s wall, 18.9 / 17.8 CPU s before;
34.4 / 32.8 s, 14.3 / 14.8 CPU s after). Detection calls 102 -> 92 and their wall 10.3-11.9 -> 3.9-4.5 s; the
detector's pixels (after RapidOCR's own resize) 16.2 M -> 6.5 M; recognition 98 calls both, 233 -> 238 crops;
recognition (0.045 CPU s a 48x320 crop, mostly re-reads of running clocks) is now the larger part. Same 69 states
and names on that input, and the same states, names and events on the eight shared clips; one reading is gone: an
MLB board ("KIDS CHEER FREE 24 UNDER") held as a bug for one sample (a bug span at 35.75-36.25 s). Of the cut in
the detector's pixels, the memory of edges searched in vain gives 10 %, reading clusters' lines once before
detecting them again (:func:`_numbered`, with its order and the stop at both scores) most of the rest, and the
first pass enlarging only regions at most 640 px wide 2.0 M. Main's memory of boxes searched in vain also missed a
bug that appears over a static shot searched before (never read on 40 s of the practice footage whose bug appears
at 20 s; read at 31.5 s now, test), and searched that shot again in full after a cut to a bug (0.78 M pixels
again; 0.04 M now, test). ``benchmarks/graphics.py`` before / after: names 1.0 / 1.0, scores 1.0 / 1.0, clock and
count strings 0.857 / 0.857, detection calls per sample 0.842 / 0.737. With the deeper read-ahead
(``prefetch_frames`` 160), the whole ``index_speed.py`` on a quiet machine: the step 21.9 s before (15:46, 0.169 of the
other steps' 130.5 s), **16.8 s after (17:15, ``graphics_added`` 0.122** of 137.8 s), inside the budget of 0.15.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import ffmpeg
import numpy as np

from indexer.errors import CorruptVideoError
from indexer.stages.audio import drain_stderr
from indexer.stages.faces import Box
from indexer.stages.frames import decode_size, prefetch
from ml.ocr import OcrEngine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphicsParams:
    """Knobs of the graphics stage.

    Attributes:
        sample_fps: frames per second read for graphics (1-2 is enough for a clock ticking in seconds).
        short_side: short side, pixels, of the frames OCR reads (the bug's text needs about 14 px letters); larger
            frames are scaled down to it.
        min_short_side: smaller frames are scaled up to this short side (bicubic; never beyond ``short_side``).
            Not beyond the shared NBA clip's 480: scaled from 480 to 540, its "1ST 11:15" reads "ST 1 1:15", a wrong
            game clock, while a missing reading is only missing. So a 640x360 copy of the MLB clip (letters about
            7 px high) stays unread by default; scaled to 540 it is read.
        min_persist: samples a reading must persist before it counts (smoothing).
        min_confidence: OCR confidence under which a piece of text is dropped, in [0, 1] (RapidOCR's own
            default ``text_score``).
        redetect_s: longest wait, seconds, between searches for the bug while none is found (the wait starts at
            one sample period and doubles after each fruitless search).
        probe_samples: samples (one scene, about a second) compared to find text that stays put.
        change_threshold: fraction of a text line's ink mask (:func:`ink_mask`) that must change before the line
            is read again.
        max_regions: most stable regions searched for text per search.
        max_groups: most text clusters per search detected again and read as bug candidates.
        known_bugs: most bugs found before that are remembered and looked for again (pixels only) while none is
            held: a broadcast cuts away from its bug (replays, close-ups) and back to the same bug in the same place.
        searched_masks: most searches whose regions' edges are remembered (:class:`_SearchedInVain`): a region is
            searched again only where edges that were not searched in vain stay put.
        lost_search_s: wait, seconds, after a held bug is lost before the first new search for a bug (the wait
            then doubles up to ``redetect_s``); meanwhile only the remembered bugs are looked for.
        prefetch_frames: most frames decoded ahead of the reader (at 1280x720, 2.8 MB each): the decode goes on
            while a search for the bug or a reading keeps the reader busy. A search's burst of OCR lasts seconds:
            on the 5-minute 720p input of ``benchmarks/index_speed.py`` (four runs side by side, load 2-3), 48
            frames left the reader waiting 3.8-4.9 s for frames and the stage took 22.4-22.5 s; 160 frames, 2.1-2.5 s
            and 15.7-21.0 s, the process's peak RSS 908 -> 1 110 MB. Speed only: the same frames are read.
    """

    sample_fps: float = 2.0
    short_side: int = 720
    min_short_side: int = 480
    min_persist: int = 3
    min_confidence: float = 0.5
    redetect_s: float = 16.0
    probe_samples: int = 3
    change_threshold: float = 0.03
    max_regions: int = 4
    max_groups: int = 3
    known_bugs: int = 4
    searched_masks: int = 16
    lost_search_s: float = 1.0
    prefetch_frames: int = 160


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
        team: the side (as read) a batter bats or a pitcher pitches for, from the half inning read on the bug
            (baseball bugs list the away team first: it bats in the top half); ``""`` when not read.
    """

    name: str
    role: str
    kind: str
    start_ms: int
    end_ms: int
    confidence: float
    team: str = ""


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
        bug_spans: ``[start_ms, end_ms)`` spans in which the bug was read, each sample counting for one sample
            period around it (readings at most 1.5 periods apart join one span); empty when no bug was found;
            None when unknown (an artifact written before spans were kept). Replays and breaks hide the bug:
            ``indexer.stages.plays`` uses these spans as a replay cue.
    """

    states: list[GameState]
    events: list[ScoringEvent]
    names: list[NameSighting]
    bug_box: tuple[int, int, int, int] | None
    samples: int
    seconds: float
    bug_spans: list[tuple[int, int]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (read back by :meth:`from_dict`)."""
        return {
            "states": [{**asdict(s), "sides": [asdict(side) for side in s.sides]} for s in self.states],
            "events": [asdict(e) for e in self.events],
            "names": [asdict(n) for n in self.names],
            "bug_box": list(self.bug_box) if self.bug_box else None,
            "samples": self.samples,
            "seconds": self.seconds,
            "bug_spans": None if self.bug_spans is None else [list(span) for span in self.bug_spans],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphicsResult:
        """Rebuild a result written by :meth:`to_dict`.

        Raises:
            KeyError, TypeError: ``data`` does not have the shape :meth:`to_dict` writes.
        """
        states = []
        for s in data["states"]:
            a, b = (Side(**side) for side in s["sides"])
            states.append(GameState(**{**s, "sides": (a, b)}))
        return cls(
            states=states,
            events=[ScoringEvent(**{**e, "score": tuple(e["score"])}) for e in data["events"]],
            names=[NameSighting(**n) for n in data["names"]],
            bug_box=tuple(data["bug_box"]) if data["bug_box"] else None,
            samples=int(data["samples"]),
            seconds=float(data["seconds"]),
            bug_spans=None if data.get("bug_spans") is None else [(int(a), int(b)) for a, b in data["bug_spans"]],
        )


# ---------------------------------------------------------------------------------------------------------------
# Parsing: tokens of the bug (text pieces with positions) -> one reading of the game state.


@dataclass(frozen=True)
class Token:
    """One piece of text read on the bug (a word or a number between gaps), in frame pixels.

    Attributes:
        text: as read.
        x, y: left edge and vertical centre, pixels.
        w, h: width and height, pixels.
        confidence: OCR confidence in [0, 1].
    """

    text: str
    x: float
    y: float
    w: float
    h: float
    confidence: float


@dataclass(frozen=True)
class Reading:
    """The game state parsed from one sample of the bug (before smoothing).

    Attributes mirror :class:`GameState`; ``sides`` holds ``None`` when the layout did not parse.
    ``kind`` is ``"team"`` or ``"player"`` for the sides.
    """

    sides: tuple[Side, Side] | None
    kind: str
    period: int | None
    half: str | None
    clock_s: float | None
    fields: dict[str, object]
    raw_text: str
    confidence: float


_CLOCK = re.compile(r"^(?:(\d{1,2}):(\d{2})|(\d{1,2})\.(\d))$")
_NUMBER = re.compile(r"^\d{1,3}$")
_COUNT = re.compile(r"^([0-3])-([0-2])$")
_PERIOD = re.compile(r"^(?:([1-4])(?:ST|ND|RD|TH)|Q([1-4])|([12])H|OT)$")
_HALF = {"TOP": "top", "BOT": "bottom", "BOTTOM": "bottom", "▲": "top", "▼": "bottom"}
_OUTS = re.compile(r"^([0-2])OUTS?$")
_NAME = re.compile(r"^(?:\d{1,2}[.\s]+)?([A-Z][A-Z'\-]*(?:[ .][A-Z][A-Z'\-]*)*)$")
_TENNIS_POINTS = {"15", "30", "40", "AD"}
_LABELS = {"PITCHES", "AVG", "FOR", "OUT", "OUTS", "MPH", "BALL", "STRIKE"}  # the bug's own field labels


def normalise_name(text: str) -> str | None:
    """Display form of a name read on the bug: upper case, single spaces, lineup number dropped.

    ``"5.AGUILAR"`` gives ``"AGUILAR"``, ``"Real  Madrid"`` gives ``"REAL MADRID"``. Returns None when the
    text is not a name (digits inside, fewer than two letters).
    """
    text = re.sub(r"\s+", " ", text.strip().upper()).strip(" .,:;|")
    match = _NAME.match(text)
    if not match:
        return None
    name = match.group(1).strip(" .")
    return name if sum(c.isalpha() for c in name) >= 2 else None


def _rows(tokens: list[Token]) -> list[list[Token]]:
    """Tokens grouped into rows by vertical centre (within 0.6 of the tallest height), each left to right, and
    a row split where two neighbours are more than six line heights apart (a caption beside the bug)."""
    rows: list[list[Token]] = []
    for token in sorted(tokens, key=lambda t: t.y):
        if rows and abs(token.y - np.mean([t.y for t in rows[-1]])) <= 0.6 * max(token.h, *(t.h for t in rows[-1])):
            rows[-1].append(token)
        else:
            rows.append([token])
    segments: list[list[Token]] = []
    for row in rows:
        row.sort(key=lambda t: t.x)
        segments.append([row[0]])
        for a, b in itertools.pairwise(row):
            if b.x - (a.x + a.w) > 6 * max(a.h, b.h):
                segments.append([])
            segments[-1].append(b)
    return segments


def _kind(text: str) -> str:
    """Token class: ``C`` clock, ``D`` number, ``K`` ball-strike count, ``P`` period, ``N`` name, ``?`` other."""
    t = text.upper().replace(" ", "")
    if _CLOCK.match(t):
        return "C"
    if _NUMBER.match(t) or t == "AD":
        return "D"
    if _COUNT.match(t):
        return "K"
    if _PERIOD.match(t) or t in _HALF:
        return "P"
    if normalise_name(text) and t not in _LABELS:
        return "N"
    return "?"


HalfMarker = Callable[[Token, float, float], str | None]
"""Reads the top/bottom marker beside a baseball inning number from the picture: called with the inning's
token, the vertical centre between the two side rows and their distance (pixels); ``"top"``, ``"bottom"``
or None (not read)."""


ServerMarker = Callable[[Token, Token], int | None]
"""Reads which of two tennis players serves from the mark the bug shows beside a name: called with the two name
tokens (first row first); 0 or 1, or None (no mark read)."""


def parse_bug(
    tokens: list[Token], half_marker: HalfMarker | None = None, server_marker: ServerMarker | None = None
) -> Reading | None:
    """Parse the tokens of one score bug into a reading.

    Layouts (the bug's geometry decides, not a word list):

    * **two rows**: two vertically adjacent rows (at most 2.5 line heights apart) that each start with a name,
      left-aligned, followed by numbers
      in at least one of them (``LAD 0`` / ``MIL 0``; ``DJOKOVIC 6 4 30`` / ``WAWRINKA 3 2 15``); the first
      number after the name is the score, except in tennis columns (three or more numbers a row, or points
      15/30/40/AD last: completed ``sets``, then ``games``, then ``points``) where the score is the games of
      the current set;
    * **two columns** in one row: ``name number number name`` (``RMA 0 0 SEV``), or ``name number name number``;
      with logos instead of names, a row of two numbers on a bug with a clock or period gives the score (names
      ``""``: never invented).

    Also read where present: the game clock (``11:15`` -> 675.0 s; ``24.3`` -> 24.3 s), the period (``1ST``,
    ``Q2``, ``2H``; or a lone number right of the names, centred between the two side rows: MLB's inning, with
    ``half_marker`` reading its lit arrow), baseball's ``balls-strikes`` count, outs, pitch count (the number
    under ``PITCHES``, else right after it, else just before it), batter (a name row with ``AVG`` / ``FOR``),
    pitcher (a name row with ``PITCHES`` / ``P``), and top or bottom of the inning (``TOP``, ``BOT``, arrows).

    Single characters other than digits (box borders and logo fragments read as letters) are ignored.

    Args:
        tokens: the bug's text pieces, already filtered by confidence.
        half_marker: reads top or bottom beside an inning number from the picture; None: not read.
        server_marker: reads the server's mark beside a tennis player's name from the picture (``fields["server"]``,
            the server's name); None: not read.

    Returns:
        None when the tokens hold no two sides and no clock: not a score bug.
    """
    tokens = [t for t in tokens if len(t.text) > 1 or t.text.isdigit()]  # box borders, logo fragments
    if not tokens:
        return None
    rows = _rows(tokens)
    kinds = [[_kind(t.text) for t in row] for row in rows]
    sides: tuple[Side, Side] | None = None
    side_rows: set[int] = set()
    used: set[int] = set()  # ids of tokens consumed as side names or scores
    numbers_per_side: list[list[str]] = []
    name_tokens: tuple[Token, Token] | None = None  # the two sides' names, rows laid out
    inning: Token | None = None  # a lone number between the side rows
    clock_s = period = half = None
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = _name_then_numbers(rows[i], kinds[i]), _name_then_numbers(rows[j], kinds[j])
        if not (a and b and (a[1] or b[1])):
            continue
        h = max(a[2][0].h, b[2][0].h)
        if abs(a[2][0].x - b[2][0].x) <= h and 0.5 * h <= b[2][0].y - a[2][0].y <= 2.5 * h:
            inning = _between_rows(tokens, a[2], b[2])
            if inning is not None:
                a, b = (_without(side, inning) for side in (a, b))
                mid, band = (a[2][0].y + b[2][0].y) / 2, b[2][0].y - a[2][0].y
                period = int(inning.text)
                half = half_marker(inning, mid, band) if half_marker else None
                used.add(id(inning))
            used.update(id(t) for t in a[2] + b[2])  # a cell's border dropped below is no other field either
            a, b = _one_per_cell(a, b)
            numbers_per_side = [a[1], b[1]]
            name_tokens = (a[2][0], b[2][0])
            column = -2 if _is_tennis(numbers_per_side) else 0  # tennis: games of the current set
            sides = (Side(a[0], _score(a[1][column:])), Side(b[0], _score(b[1][column:])))
            side_rows = {i, j}
            break
    if sides is None:
        timed = any(k in ("C", "P") for row in kinds for k in row)
        for i, row in enumerate(rows):
            found = _columns(row, kinds[i], timed)
            if found:
                sides, consumed = found
                side_rows = {i}
                used.update(id(t) for t in consumed)
                break
    fields: dict[str, object] = {}
    for i, row in enumerate(rows):
        texts = [t.text.upper().replace(" ", "") for t in row]
        for j, (token, text, kind) in enumerate(zip(row, texts, kinds[i], strict=True)):
            if id(token) in used:
                continue
            if kind == "C" and clock_s is None:
                clock_s = _clock_seconds(text)
            elif kind == "P":
                if text in _HALF:
                    half = _HALF[text]
                else:
                    period = _period(text) if inning is None else period
            elif kind == "K":
                balls, strikes = _COUNT.match(text).groups()  # type: ignore[union-attr]
                fields["balls"], fields["strikes"] = int(balls), int(strikes)
            elif _OUTS.match(text):
                fields["outs"] = int(_OUTS.match(text).group(1))  # type: ignore[union-attr]
            elif text in ("PITCHES", "P:", "PC"):
                count = _label_value(token, tokens, row[j + 1] if j + 1 < len(row) else None, row[j - 1] if j else None)
                if count is not None:
                    fields["pitch_count"] = int(count.text)
        if i in side_rows:
            continue
        names = [normalise_name(t.text) for t, k in zip(row, kinds[i], strict=True) if k == "N"]
        names = [n for n in names if n]
        joined = " ".join(texts)
        if names and ("AVG" in joined or "FOR" in joined):
            fields["batter"] = names[0]
        elif names and ("PITCHES" in joined or re.search(r"\bP:?\d", joined)):
            fields["pitcher"] = names[0]
    if sides is None and clock_s is None:
        return None
    if numbers_per_side and _is_tennis(numbers_per_side):
        fields["points"] = [n[-1] for n in numbers_per_side]
        fields["games"] = [int(n[-2]) for n in numbers_per_side]
        fields["sets"] = [[int(x) for x in n[:-2]] for n in numbers_per_side]
    elif sides is not None and clock_s is None and period is None and _points_only(numbers_per_side):
        fields["points"] = [n[0] for n in numbers_per_side]
        sides = (Side(sides[0].name, None), Side(sides[1].name, None))  # the games (a boxed digit) were not read
    if "points" in fields and sides is not None and name_tokens is not None and server_marker is not None:
        server = server_marker(*name_tokens)
        if server is not None:
            fields["server"] = sides[server].name
    has_game_clock = clock_s is not None or period is not None or "balls" in fields
    single_words = sides is not None and all(" " not in s.name and len(s.name) >= 5 for s in sides)
    kind = "player" if single_words and not has_game_clock else "team"
    return Reading(
        sides=sides,
        kind=kind,
        period=period,
        half=half,
        clock_s=clock_s,
        fields=fields,
        raw_text=" | ".join(" ".join(t.text for t in row) for row in rows),
        confidence=float(min(t.confidence for t in tokens)),
    )


def _is_tennis(numbers: list[list[str]]) -> bool:
    """Tennis columns: as many numbers on both rows, at least three (sets..., games, points), or two ending in
    a tennis point (15, 30, 40, AD)."""
    a, b = numbers
    if len(a) != len(b) or len(a) < 2 or not all(x.isdigit() for x in a[:-1] + b[:-1]):
        return False
    return len(a) >= 3 or a[-1] in _TENNIS_POINTS or b[-1] in _TENNIS_POINTS


def _points_only(numbers: list[list[str]]) -> bool:
    """Tennis points alone: one number a row, at least one a tennis point (15, 30, 40, AD), the other one too or 0
    (the games beside them not read, as the clay clip's boxed digits): points, never the score."""
    a, b = numbers or ([], [])
    points = {*_TENNIS_POINTS, "0"}
    return len(a) == len(b) == 1 and {a[0], b[0]} <= points and bool({a[0], b[0]} & _TENNIS_POINTS)


def _between_rows(tokens: list[Token], a: list[Token], b: list[Token]) -> Token | None:
    """A lone number (1 to 2 digits) right of both side names and centred between their rows (within a fifth of
    the rows' distance): MLB's inning beside its top/bottom arrows. ``a`` and ``b``: a side's name then numbers;
    their scores (the first number after each name) are never it."""
    mid, band = (a[0].y + b[0].y) / 2, b[0].y - a[0].y
    right = max(a[0].x + a[0].w, b[0].x + b[0].w)
    scores = {id(side[1]) for side in (a, b) if len(side) > 1}
    for token in sorted(tokens, key=lambda t: t.x):
        if id(token) in scores or not re.fullmatch(r"[1-9]\d?", token.text) or token.x <= right:
            continue
        if abs(token.y - mid) <= 0.2 * band:
            return token
    return None


def _without(side: tuple[str, list[str], list[Token]], token: Token) -> tuple[str, list[str], list[Token]]:
    """A side of :func:`_name_then_numbers` without ``token`` among its numbers."""
    name, _, found = side
    kept = [found[0], *(t for t in found[1:] if t is not token)]
    return name, [t.text.upper() for t in kept[1:]], kept


def _one_per_cell(
    a: tuple[str, list[str], list[Token]], b: tuple[str, list[str], list[Token]]
) -> tuple[tuple[str, list[str], list[Token]], tuple[str, list[str], list[Token]]]:
    """Two sides (:func:`_name_then_numbers`) without the pieces that are no cell of their columns: a number with no
    number of the other row above or below it (their spans overlap side by side), within a quarter of a digit's
    height of a less doubtful number of its own row that has one. That is the edge of a lit cell read as a digit
    ("WAWRINKA 3 0 1 0" under "DJOKOVIC 6 1 0" on ATP's bug)."""

    def overlap(s: Token, t: Token) -> bool:
        return s.x < t.x + t.w and t.x < s.x + s.w

    rows = [side[2][1:] for side in (a, b)]
    paired = [[t for t in rows[k] if any(overlap(t, o) for o in rows[1 - k])] for k in (0, 1)]
    kept = []
    for (name, _, found), row, partnered in zip((a, b), rows, paired, strict=True):
        stray = {
            id(t)
            for t in row
            if all(t is not p for p in partnered)
            and any(
                max(p.x - (t.x + t.w), t.x - (p.x + p.w)) <= 0.25 * t.h and p.confidence > t.confidence
                for p in partnered
            )
        }
        tokens = [found[0], *(t for t in row if id(t) not in stray)]
        kept.append((name, [t.text.upper() for t in tokens[1:]], tokens))
    return kept[0], kept[1]


def _label_value(label: Token, tokens: list[Token], after: Token | None, before: Token | None) -> Token | None:
    """The number a field label (``PITCHES``) names: the number under it (overlapping it side to side, its top
    within two label heights), else the next token in its row when a number within two label heights, else the
    previous one when a number within one (an inning number beside the label is none of these)."""
    under = [
        t
        for t in tokens
        if _NUMBER.match(t.text)
        and 0 < t.y - label.y <= 2 * label.h
        and t.x < label.x + label.w
        and label.x < t.x + t.w
    ]
    if under:
        return min(under, key=lambda t: t.y)
    if after is not None and _NUMBER.match(after.text) and after.x - (label.x + label.w) <= 2 * label.h:
        return after
    if before is not None and _NUMBER.match(before.text) and label.x - (before.x + before.w) <= label.h:
        return before
    return None


def _name_then_numbers(row: list[Token], kinds: list[str]) -> tuple[str, list[str], list[Token]] | None:
    """A row laid out as ``name number...`` (leading logo junk ignored): its name, numbers (none only when the
    name ends the row: a score not read) and those tokens."""
    for j, kind in enumerate(kinds):
        if kind == "N" and j + 1 < len(kinds) and kinds[j + 1] == "N" and len(row[j].text) <= 2:
            continue  # a logo read as two letters before the name ("IA LAD 0")
        if kind == "N":
            numbers = []
            for token, k in zip(row[j + 1 :], kinds[j + 1 :], strict=True):
                if k != "D":
                    break
                numbers.append(token)
            name = normalise_name(row[j].text)
            if not name or (not numbers and j + 1 < len(row)):
                return None  # a name followed by other text is a caption or a batter line, not a side
            return name, [t.text.upper() for t in numbers], [row[j], *numbers]
        if kind not in ("?",):
            return None
    return None


def _columns(row: list[Token], kinds: list[str], timed: bool) -> tuple[tuple[Side, Side], list[Token]] | None:
    """Two sides in one row: ``N D D N``, ``N D N D``, or (logos for names) a row of exactly two numbers on a
    bug that also shows a clock or period (``timed``; names ``""``, a logo read as letters is no name).
    Neighbours in the pattern must lie within four line heights of each other, and the two names' heights within a
    factor 1.45 of each other (one font): the clay clip's court-side boards, "TENNISTV" in a logo's letters 37 px
    high, "160", then sponsor names 23 px high (1.61), are no bug; LaLiga's "RMA" and "SEV" are 21 and 16 px (1.31)."""
    pattern = "".join(kinds)
    for layout in (r"NDDN", r"NDND"):
        for match in re.finditer(f"(?=({layout}))", pattern):
            t = row[match.start() : match.start() + len(match.group(1))]
            if not all(b.x - (a.x + a.w) <= 4 * max(a.h, b.h) for a, b in itertools.pairwise(t)):
                continue
            names = normalise_name(t[0].text), normalise_name(t[-1].text)
            if not (names[0] and names[1]):
                continue
            first, second = (t[1], t[3]) if layout == "NDND" else (t[1], t[2])
            if max(t[0].h, t[-1].h) > 1.45 * min(t[0].h, t[-1].h):
                continue  # a bug's two names share one font (court-side boards do not)
            return (Side(names[0], _score([first.text])), Side(names[1], _score([second.text]))), list(t)
    digits = [t for t, k in zip(row, kinds, strict=True) if k == "D"]
    if len(digits) == 2 and timed and "C" not in pattern:
        return (Side("", _score([digits[0].text])), Side("", _score([digits[1].text]))), digits
    return None


def _score(numbers: list[str]) -> int | None:
    return int(numbers[0]) if numbers and numbers[0].isdigit() else None


def _clock_seconds(text: str) -> float | None:
    """``"11:15"`` -> 675.0 s, ``"24.3"`` -> 24.3 s (tenths under a minute), else None."""
    match = _CLOCK.match(text)
    if not match:
        return None
    minutes, seconds, whole, tenths = match.groups()
    if minutes is not None:
        return float(int(minutes) * 60 + int(seconds)) if int(seconds) < 60 else None
    return int(whole) + int(tenths) / 10


def _period(text: str) -> int | None:
    match = _PERIOD.match(text)
    if not match:
        return None
    digits = [g for g in match.groups() if g]
    return int(digits[0]) if digits else 5  # OT: the period after the fourth


# ---------------------------------------------------------------------------------------------------------------
# Finding the bug: text that stays put while the picture moves; reading it: recognition of changed lines only.


def stable_mask(frames: list[np.ndarray], *, spread: int = 6, edge: float = 60.0) -> np.ndarray:
    """``(H // 2, W // 2)`` uint8 mask (0 or 1), at half resolution, of the edges that stay put across ``frames``.

    A pixel is stable when its grey level varies by less than ``spread`` over the frames, and textured when
    the Sobel gradient magnitude of the mean frame exceeds ``edge``: overlay graphics, and with a static camera
    the whole picture.

    Args:
        frames: two or more ``(H, W, 3)`` uint8 RGB frames of one scene, a second or so apart.
        spread: largest grey-level range of a stable pixel.
        edge: least gradient magnitude of a textured pixel.
    """
    greys = np.stack([cv2.pyrDown(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)) for f in frames]).astype(np.int16)
    still = (greys.max(axis=0) - greys.min(axis=0)) < spread
    mean = greys.mean(axis=0).astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(mean, cv2.CV_32F, 1, 0), cv2.Sobel(mean, cv2.CV_32F, 0, 1))
    return (still & (magnitude > edge)).astype(np.uint8)


def stable_regions(mask: np.ndarray) -> list[Box]:
    """Regions of a :func:`stable_mask`, ``(x, y, w, h)`` in frame pixels (twice the mask's), largest first.

    Stable textured pixels are closed into blobs (a 9x5 rectangle at half resolution) whose bounding boxes are
    returned when at least 30 pixels, 8 wide and 4 high. With a static camera the whole picture is stable: the
    caller then reads the whole frame.
    """
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 5)))
    count, _, boxes, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    regions = [
        (int(x) * 2, int(y) * 2, int(w) * 2, int(h) * 2)
        for x, y, w, h, area in boxes[1:count]
        if area >= 30 and h >= 4 and w >= 8
    ]
    return sorted(regions, key=lambda b: b[2] * b[3], reverse=True)


def _union(boxes: Iterable[Box]) -> Box:
    boxes = list(boxes)
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _pad(box: Box, pad: int, shape: tuple[int, ...]) -> Box:
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(shape[1], box[0] + box[2] + pad), min(shape[0], box[1] + box[3] + pad)
    return x0, y0, x1 - x0, y1 - y0


def _crop(frame: np.ndarray, box: Box) -> np.ndarray:
    x, y, w, h = box
    return frame[y : y + h, x : x + w]


def group_lines(boxes: list[Box]) -> list[list[Box]]:
    """Text-line boxes grouped into clusters: members at most six line heights apart side by side (the columns
    of a bug) and at most one line height apart above and below (its rows)."""
    groups: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b[1], b[0])):
        near = [g for g in groups if any(_near(box, other) for other in g)]
        merged = [box] + [b for g in near for b in g]
        groups = [g for g in groups if g not in near] + [merged]
    return [sorted(g, key=lambda b: (b[1], b[0])) for g in groups]


def _near(a: Box, b: Box) -> bool:
    h = max(a[3], b[3])
    dx = max(0, max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2]))
    dy = max(0, max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3]))
    return dx <= 6 * h and dy <= h


def ink_mask(grey: np.ndarray) -> np.ndarray:
    """``(h, w)`` uint8 mask of a text crop's ink: the minority class after Otsu's threshold (light text on
    dark or dark on light). Unlike grey levels, it does not change when a moving picture shows through a
    translucent panel behind the text."""
    _, binary = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return binary if binary.mean() < 0.5 else 1 - binary


def split_line(grey: np.ndarray, min_gap: float = 0.4) -> list[tuple[int, int]]:
    """Column spans ``[start, end)`` of the text pieces of one line crop, split at blank gaps.

    Ink is the minority class after Otsu's threshold (light text on dark, or dark on light); a run of
    columns without ink at least ``min_gap`` line heights wide separates two pieces (``"LAD 0"`` gives
    ``LAD`` and ``0`` even where the recogniser would glue them into ``LADO``).
    """
    h = grey.shape[0]
    columns = ink_mask(grey)[max(0, h // 8) : h - h // 8].sum(axis=0) > 0
    spans: list[tuple[int, int]] = []
    gap_px = max(2, round(min_gap * h))
    start, blank = None, 0
    for x, has_ink in enumerate(columns):
        if has_ink:
            if start is None:
                start = x
            blank = 0
        elif start is not None:
            blank += 1
            if blank >= gap_px:
                spans.append((start, x - blank + 1))
                start, blank = None, 0
    if start is not None:
        spans.append((start, len(columns) - blank))
    return [(a, b) for a, b in spans if b - a >= 2]


_GONE = 0.2
"""Fraction of a line's ink mask that changes when the bug is no longer over it (a cut, a replay)."""


@dataclass
class _Line:
    box: Box
    ink: np.ndarray | None = None
    tokens: tuple[Token, ...] = ()


class _Bug:
    """The score bug found in a run of samples: its text lines, re-read only when their pixels change."""

    def __init__(self, lines: list[Box], params: GraphicsParams) -> None:
        self.lines = [_Line(box) for box in lines]
        self.box = _union(lines)
        self.params = params
        self.misses = 0
        self.held = True  # read since found or since back (:func:`_returned`)
        self.failed_returns = 0  # looked back in a row (pixels) but not read: each doubles the wait
        self.resume_ms = 0  # not looked for again before this time

    def _changes(self, frame: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
        """Per line: its grey crop in ``frame``, ink mask, and the fraction of the mask changed since its last read
        (1.0 for a line never read)."""
        greys = [cv2.cvtColor(_crop(frame, line.box), cv2.COLOR_RGB2GRAY) for line in self.lines]
        inks = [ink_mask(grey) for grey in greys]
        changes = [
            1.0 if line.ink is None else float((ink != line.ink).mean())
            for line, ink in zip(self.lines, inks, strict=True)
        ]
        return greys, inks, changes

    def shown(self, frame: np.ndarray) -> bool:
        """Whether this bug, read before, is back in ``frame``: at least half of its lines (and two, when it has
        two or more) show the ink they had when last read, each within ``change_threshold`` of its mask. Pixels
        only: no OCR, and nothing about the bug is updated."""
        _, _, changes = self._changes(frame)
        same = sum(change < self.params.change_threshold for change in changes)
        return same >= max(min(2, len(changes)), len(changes) / 2)

    def read(self, frame: np.ndarray, ocr: OcrEngine) -> Reading | None:
        """Parse the bug in ``frame``, recognising only the lines whose pixels changed since their last read.

        Returns None without recognising anything when every line changed by more than a fifth of its ink
        mask at once (the bug is gone: a cut or a replay), or when the text no longer parses; the lines then
        keep the pixels and text of the last reading (what :meth:`shown` compares a later frame with).
        """
        pending: list[tuple[_Line, list[Box]]] = []
        greys, inks, changes = self._changes(frame)
        if len(self.lines) >= 2 and all(line.ink is not None for line in self.lines) and min(changes) > _GONE:
            return None  # every line changed at once: the bug is gone (a cut, a replay), nothing to read
        before = [(line.ink, line.tokens) for line in self.lines]
        for line, grey, ink, change in zip(self.lines, greys, inks, changes, strict=True):
            if change < self.params.change_threshold:
                continue
            line.ink = ink
            x, y, _, h = line.box
            pending.append((line, [(x + a, y, b - a, h) for a, b in split_line(grey)]))
        if pending:
            pieces = [piece for _, boxes in pending for piece in boxes]
            results = iter(ocr.recognize([_crop(frame, _pad(p, 2, frame.shape)) for p in pieces]))
            for line, boxes in pending:
                line.tokens = tuple(
                    Token(_lone_digit(text.strip()), float(b[0]), b[1] + b[3] / 2, float(b[2]), float(b[3]), conf)
                    for b, (text, conf) in ((b, next(results)) for b in boxes)
                    if text.strip()
                )
        tokens = [t for line in self.lines for t in line.tokens if t.confidence >= self.params.min_confidence]
        reading = parse_bug(
            _merge_names(tokens),
            lambda token, mid, band: lit_arrow(frame, token, mid, band),
            lambda first, second: server_mark(frame, first, second),
        )
        if reading is None:  # not the bug (any more): keep the pixels and text of its last reading for shown()
            for line, (ink, line_tokens) in zip(self.lines, before, strict=True):
                line.ink, line.tokens = ink, line_tokens
        return reading


def lit_arrow(frame: np.ndarray, inning: Token, mid: float, band: float, *, contrast: float = 50.0) -> str | None:
    """Top or bottom of the inning from the arrows above and below an MLB bug's inning number (the lit one is white,
    the other dim): ``"top"`` when the brighter is above, ``"bottom"`` when below, None when neither stands out.

    The arrows are looked for in the inning number's columns, between 0.35 and 0.9 of the side rows' distance
    ``band`` above and below their midline ``mid``; each window's brightness is the largest grey level after a
    3x3 box blur (a speck of noise is no arrow).

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        inning: the inning number's token (frame pixels).
        mid, band: vertical centre between the two side rows and their distance, pixels.
        contrast: least difference of grey levels between the lit and the dim arrow; the lit one must also be
            brighter than mid-grey (128).
    """
    x0, x1 = max(0, round(inning.x)), min(frame.shape[1], round(inning.x + inning.w))
    windows = [(mid - 0.9 * band, mid - 0.35 * band), (mid + 0.35 * band, mid + 0.9 * band)]
    levels = []
    for top, bottom in windows:
        y0, y1 = max(0, round(top)), min(frame.shape[0], round(bottom))
        if y1 - y0 < 2 or x1 - x0 < 2:
            return None
        grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        levels.append(float(cv2.blur(grey, (3, 3)).max()))
    above, below = levels
    if max(above, below) < 128 or abs(above - below) < contrast:
        return None
    return "top" if above > below else "bottom"


def server_mark(frame: np.ndarray, first: Token, second: Token, *, contrast: float = 50.0) -> int | None:
    """Which row's player serves, from the mark left of a name (ATP's lit diamond): 0 or 1, None when neither
    row shows one.

    The mark is looked for in each row (the name's height around its centre) in a strip ending two pixels before
    the names' letters (the right one of the two names' left edges: a mark read with a name widens its piece to the
    left) and starting 0.6 line heights before it; each strip's brightness is its largest grey level after a 3x3 box
    blur. The brighter must be brighter than mid-grey (128) and outshine the other by ``contrast`` grey levels.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        first, second: the two players' name tokens (frame pixels), first row first.
        contrast: least difference of grey levels between the marked and the unmarked row.
    """
    right = round(max(first.x, second.x)) - 2
    left = max(0, round(right - 0.6 * max(first.h, second.h)))
    levels = []
    for token in (first, second):
        y0, y1 = max(0, round(token.y - token.h / 2)), min(frame.shape[0], round(token.y + token.h / 2))
        if y1 - y0 < 3 or right - left < 3:
            return None
        grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, left:right]), cv2.COLOR_RGB2GRAY)
        levels.append(float(cv2.blur(grey, (3, 3)).max()))
    if max(levels) < 128 or abs(levels[0] - levels[1]) < contrast:
        return None
    return 0 if levels[0] > levels[1] else 1


def _lone_digit(text: str) -> str:
    """A piece read as the single letter ``O`` is the digit 0 (boxed digits; a name has two letters or more)."""
    return "0" if text in ("O", "o") else text


def _merge_names(tokens: list[Token]) -> list[Token]:
    """Join name pieces of one row closer than a line height (``REAL`` ``MADRID`` -> ``REAL MADRID``)."""
    merged: list[Token] = []
    for row in _rows(tokens):
        out: list[Token] = []
        for token in row:
            last = out[-1] if out else None
            if (
                last is not None
                and _kind(last.text) == "N"
                and len(last.text) > 2  # two letters before a name are a logo read as text ("IA LAD")
                and _kind(token.text) == "N"
                and token.x - (last.x + last.w) < 1.0 * max(last.h, token.h)
            ):
                if last.text.upper() == token.text.upper():  # a logo read as the code beside it ("LAD LAD")
                    out[-1] = token
                    continue
                out[-1] = Token(
                    f"{last.text} {token.text}",
                    last.x,
                    (last.y + token.y) / 2,
                    token.x + token.w - last.x,
                    max(last.h, token.h),
                    min(last.confidence, token.confidence),
                )
            else:
                out.append(token)
        merged += out
    return merged


def candidate_regions(mask: np.ndarray, searched: np.ndarray | None, params: GraphicsParams) -> list[Box]:
    """Where :func:`find_bug` looks for text: the largest ``params.max_regions`` regions (:func:`stable_regions`)
    of the edges in ``mask`` (:func:`stable_mask`) that were not searched in vain before, padded by 8 pixels and
    merged where they overlap.

    Args:
        mask: the probe's :func:`stable_mask`.
        searched: a mask of the same shape, 1 where earlier searches found nothing (:class:`_SearchedInVain`), or
            None: every edge is new.
        params: ``max_regions``.
    """
    if searched is not None:
        mask = mask & (1 - searched)
    shape = (mask.shape[0] * 2, mask.shape[1] * 2)
    return _merge_overlapping([_pad(r, 8, shape) for r in stable_regions(mask)])[: params.max_regions]


def _area(box: Box) -> int:
    return box[2] * box[3]


class _SearchedInVain:
    """The edges of the regions searched in vain (:func:`stable_mask` pixels), for the last ``size`` searches.

    Remembered by their pixels, not their boxes: court-side boards that come back after a cut (the same pixels in
    the same place) are not searched again, while a bug that appears later over them, or over a static shot searched
    before, brings new edges and is searched for. Each remembered edge counts one half-resolution pixel around it
    (a 3x3 dilation: edges that shift by a pixel between probes are the same edges).
    """

    def __init__(self, size: int) -> None:
        self._masks: deque[np.ndarray] = deque(maxlen=size)
        self._union: np.ndarray | None = None

    def add(self, mask: np.ndarray, regions: Sequence[Box]) -> None:
        """Remember the edges of ``mask`` (:func:`stable_mask`) inside ``regions`` (frame pixels; none: nothing)."""
        if not regions:
            return
        kept = np.zeros_like(mask)
        for x, y, w, h in regions:
            rows, columns = slice(y // 2, (y + h + 1) // 2), slice(x // 2, (x + w + 1) // 2)
            kept[rows, columns] = mask[rows, columns]
        self._masks.append(kept)
        self._union = None

    def mask(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """1 where an edge was searched in vain, for masks of ``shape``; None when nothing is remembered."""
        masks = [m for m in self._masks if m.shape == shape]
        if not masks:
            return None
        if self._union is None or self._union.shape != shape:
            self._union = cv2.dilate(np.bitwise_or.reduce(masks), np.ones((3, 3), np.uint8))
        return self._union


def find_bug(probe: list[np.ndarray], regions: list[Box], ocr: OcrEngine, params: GraphicsParams) -> _Bug | None:
    """Locate the score bug in a run of samples of one scene.

    Text lines are detected in the last frame inside ``regions``, those whose pixels stayed put across the
    probe frames (:func:`candidate_regions`: stability is judged on pixels, which costs far less than
    detecting text in every frame), and grouped into clusters (:func:`group_lines`). The ``max_groups``
    clusters with the most lines (then the largest) are detected again, at their own size and at twice it
    (each finds lines the other misses), in their box widened by seven line heights each side (a ticking
    clock or changing score beside the still part of the bug is not stable), keeping the lines linked to the cluster
    (:func:`group_lines`' rule: a caption further away is not the bug), plus pieces in the gaps between them
    (:func:`_fill_gaps`). The bug is the cluster whose text parses as a game state (:func:`parse_bug`)
    holding the most of it (scores, then clock, period and other fields), then the most text. Only clusters whose
    lines show a number or two names laid out as sides are detected again, those with the most numbers first
    (:func:`_numbered`), and once one reads both sides' scores the rest are not tried.

    Args:
        probe: two or more ``(H, W, 3)`` uint8 RGB frames, time-ordered.
        regions: where to look, ``(x, y, w, h)`` pixels (:func:`candidate_regions`).
        ocr: the OCR engine.
        params: thresholds.

    Returns:
        None when no cluster parses as a score bug.
    """
    shape = probe[-1].shape
    lines = [box for region in regions for box in _detect_in(ocr, probe[-1], region)]
    groups = sorted(group_lines(lines), key=lambda g: (len(g), _area(_union(g))), reverse=True)
    best: tuple[int, _Bug] | None = None
    for group in _numbered(probe[-1], groups[: params.max_groups], ocr):
        h = max(b[3] for b in group)
        x, y, w, bh = _union(group)
        area = _pad((x - 7 * h, y, w + 14 * h, bh), h, shape)
        found = _detect_in(ocr, probe[-1], area, scale=1)
        found += [b for b in _detect_in(ocr, probe[-1], area, scale=2) if all(_inside(b, a) < 0.5 for a in found)]
        bug = _Bug(_fill_gaps(probe[-1], _chained(found, group) or group), params)
        reading = bug.read(probe[-1], ocr)
        logger.debug("bug candidate %s: %s", bug.box, reading)
        if reading is None:
            continue
        rank = _strength(reading) * 1000 + len(reading.raw_text)
        if best is None or rank > best[0]:
            best = (rank, bug)
        if reading.sides is not None and all(side.score is not None for side in reading.sides):
            break  # both scores read: the clusters with fewer numbers are no better bug
    return best[1] if best else None


def _strength(reading: Reading) -> int:
    """How much game state a reading holds: scores read count most (a tennis player's points where the games were
    not read), then clock, period and other fields."""
    points = reading.fields.get("points")
    scores = max(sum(side.score is not None for side in reading.sides or ()), len(points) if points else 0)
    return 10 * scores + 5 * (reading.clock_s is not None) + 2 * (reading.period is not None) + len(reading.fields)


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    merged: list[Box] = []
    for box in boxes:
        hits = [m for m in merged if _overlaps(box, m)]
        merged = [m for m in merged if m not in hits] + [_union([box, *hits])]
    return sorted(merged, key=lambda b: b[2] * b[3], reverse=True)


def _fill_gaps(frame: np.ndarray, lines: list[Box]) -> list[Box]:
    """``lines`` plus the text pieces (:func:`split_line`) in the gaps between neighbouring lines of one row
    (a boxed digit the detector missed between two it found)."""
    extra: list[Box] = []
    rows: list[list[Box]] = []
    for box in sorted(lines, key=lambda b: b[1] + b[3] / 2):
        if rows and abs(box[1] + box[3] / 2 - (rows[-1][0][1] + rows[-1][0][3] / 2)) <= 0.5 * rows[-1][0][3]:
            rows[-1].append(box)
        else:
            rows.append([box])
    for row in rows:
        row.sort(key=lambda b: b[0])
        for a, b in itertools.pairwise(row):
            h = max(a[3], b[3])
            x0, x1 = a[0] + a[2], b[0]
            if h < x1 - x0 <= 6 * h:
                y0 = min(a[1], b[1])
                gap = (x0, y0, x1 - x0, h)
                grey = cv2.cvtColor(_crop(frame, gap), cv2.COLOR_RGB2GRAY)
                extra += [(x0 + s, y0, e - s, h) for s, e in split_line(grey) if e - s >= h // 3]
    return sorted(lines + extra, key=lambda b: (b[1], b[0]))


def _chained(found: list[Box], seeds: list[Box]) -> list[Box]:
    """The boxes of ``found`` overlapping a seed, or linked to one through a chain of :func:`_near` boxes."""
    kept = [b for b in found if any(_overlaps(b, seed) for seed in seeds)]
    rest = [b for b in found if b not in kept]
    grew = True
    while grew:
        grew = False
        for box in list(rest):
            if any(_near(box, k) for k in kept):
                kept.append(box)
                rest.remove(box)
                grew = True
    return sorted(kept, key=lambda b: (b[1], b[0]))


def _inside(a: Box, b: Box) -> float:
    """Fraction of ``a``'s area inside ``b``."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return w * h / max(1, a[2] * a[3])


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _detect_in(ocr: OcrEngine, frame: np.ndarray, region: Box, scale: int | None = None) -> list[Box]:
    """Text-line boxes inside ``region`` of ``frame`` in frame pixels, the crop enlarged ``scale`` times first.

    The default enlarges small regions twice (under 160 px high and at most 640 px wide), else none: a wide band
    (court-side boards, 1014x150 px at 720p) doubled passes RapidOCR's 1500 px input bracket and is detected at up
    to 2000 px, four times the pixels, while :func:`find_bug` detects each cluster again at 1x and 2x anyway. On the
    5-minute input of ``benchmarks/index_speed.py`` that width limit took the detector's pixels from 8.5 M to 6.5 M
    with the same readings there and on the shared clips.
    """
    crop = _crop(frame, region)
    scale = scale or (2 if min(crop.shape[:2]) < 160 and crop.shape[1] <= 640 else 1)
    if scale > 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return [
        (region[0] + x // scale, region[1] + y // scale, max(1, w // scale), max(1, h // scale))
        for x, y, w, h in ocr.detect(crop)
    ]


def _numbered(frame: np.ndarray, groups: list[list[Box]], ocr: OcrEngine) -> list[list[Box]]:
    """The clusters of ``groups`` that may be a score bug, judged by their lines recognised once each as a whole:
    those showing numbers, the most first, then those whose names are laid out as two sides (:func:`_two_sides`);
    ties in the order given.

    A score bug always shows numbers (scores, a clock, a period, a count) or, when the first pass missed its boxed
    digits, two names laid out as its sides; sponsor boards, captions and logos mostly show neither, and
    recognising whole lines (one call for all clusters) costs far less than detecting a cluster again at two
    scales and reading it piece by piece (:func:`find_bug`). A number is a word holding a digit; no confidence
    floor: a digit read at all keeps its cluster.
    """
    crops = [_crop(frame, _pad(box, 2, frame.shape)) for group in groups for box in group]
    texts = iter(text for text, _ in ocr.recognize(crops))
    ranked = []
    for index, group in enumerate(groups):
        lines = [(box, next(texts)) for box in group]
        numbers = sum(any(c.isdigit() for c in word) for _, text in lines for word in text.split())
        if numbers or _two_sides([box for box, text in lines if _kind(text) == "N"]):
            ranked.append((-numbers, index, group))
    return [group for _, _, group in sorted(ranked, key=lambda item: item[:2])]


def _two_sides(names: list[Box]) -> bool:
    """Whether two of the ``names`` (boxes of lines read as names) are laid out as a bug's two sides: two rows (left
    edges within a line height, 0.5 to 2.5 line heights apart) or two columns of one row (one letter height within a
    factor 1.45, at most eight line heights apart: room for two scores between them), as :func:`parse_bug` reads."""
    for a, b in itertools.permutations(names, 2):
        h = max(a[3], b[3])
        dy = (b[1] + b[3] / 2) - (a[1] + a[3] / 2)
        if abs(a[0] - b[0]) <= h and 0.5 * h <= dy <= 2.5 * h:
            return True
        gap = b[0] - (a[0] + a[2])
        if abs(dy) <= 0.6 * h and 0 < gap <= 8 * h and h <= 1.45 * min(a[3], b[3]):
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# Smoothing: per-sample readings -> persistent states, scoring events and name sightings.


def _state_key(reading: Reading) -> tuple:
    sides = reading.sides or (Side("", None), Side("", None))
    fields = tuple(sorted((k, repr(v)) for k, v in reading.fields.items()))
    return (sides[0].name, sides[1].name, sides[0].score, sides[1].score, reading.period, reading.half, fields)


def _compatible(reading: Reading, accepted: Reading) -> bool:
    """Whether every value ``reading`` holds equals ``accepted``'s (values it could not read are no change)."""
    if reading.sides is None or accepted.sides is None:
        return False
    for new, old in zip(reading.sides, accepted.sides, strict=True):
        if new.name != old.name or (new.score is not None and new.score != old.score):
            return False
    if reading.period is not None and reading.period != accepted.period:
        return False
    if reading.half is not None and reading.half != accepted.half:
        return False
    return all(accepted.fields.get(k) == v for k, v in reading.fields.items())


class Timeline:
    """Turns per-sample readings into persistent game states, scoring events and name sightings.

    Rules (the issue's smoothing): a reading counts once the same values persist for ``min_persist``
    consecutive readings; a reading that only lacks values of the current state confirms it; a score lower
    than the current one for the same two sides is noise and dropped; the game clock counts once
    ``min_persist`` consecutive readings agree with one another (each within the elapsed time plus 1.5 s of the
    previous), and afterwards each reading consistent with the last counted one; it is dropped at a change of bug
    (:meth:`cut`), and when other sides are counted (another game) unless it was read since they showed: a clock
    is never carried over to another game. A scoring event is a
    counted rise of one side's score with the same two sides on the bug, timed at the first sample of the new
    score. A name counts where it was read in ``min_persist`` samples no more than ``name_gap_s`` apart.

    Args:
        min_persist: consecutive readings needed.
        name_gap_s: largest gap, seconds, inside one name sighting.
    """

    def __init__(self, min_persist: int, name_gap_s: float = 5.0) -> None:
        self.min_persist = min_persist
        self.name_gap_ms = name_gap_s * 1000.0
        self.states: list[GameState] = []
        self.events: list[ScoringEvent] = []
        self._accepted: Reading | None = None
        self._candidate: list[tuple[int, Reading]] = []
        self._clock: tuple[int, float] | None = None
        self._clock_run: list[tuple[int, float]] = []
        self._spans: dict[tuple[str, str, str, str], list[list[float]]] = {}

    def cut(self) -> None:
        """The next reading comes from another bug (a new one found, or another remembered one back): a change of
        broadcast or a cut to another game. The game clock counted so far is dropped (it belongs to the other bug)
        and counts again only once ``min_persist`` readings of the new bug agree."""
        self._clock, self._clock_run = None, []

    def push(self, time_ms: int, reading: Reading | None) -> None:
        """Add the reading of the sample at ``time_ms`` (None: the bug was not read)."""
        if reading is None:
            return
        self._note_names(time_ms, reading)
        clock_changed = self._push_clock(time_ms, reading.clock_s)
        if reading.sides is not None:
            if self._accepted is not None and _compatible(reading, self._accepted):
                self._candidate = []
            elif self._candidate and _state_key(self._candidate[-1][1]) == _state_key(reading):
                self._candidate.append((time_ms, reading))
            else:
                self._candidate = [(time_ms, reading)]
            if len(self._candidate) >= self.min_persist:
                first_ms, first = self._candidate[0]
                self._candidate = []
                if self._accept(first_ms, first):
                    return
        if clock_changed and self._accepted is not None and self._clock is not None:
            self._emit(time_ms, self._accepted, self._clock[1])

    def _accept(self, time_ms: int, reading: Reading) -> bool:
        """Count ``reading`` as the new state unless its score went back; emits the state and any event."""
        old = self._accepted
        assert reading.sides is not None
        same_sides = (
            old is not None
            and old.sides is not None
            and all(a.name == b.name for a, b in zip(old.sides, reading.sides, strict=True))
        )
        if same_sides and old is not None and old.sides is not None:
            pairs = list(zip(old.sides, reading.sides, strict=True))
            if any(a.score is not None and b.score is not None and b.score < a.score for a, b in pairs):
                return False  # a score that jumps back is a misreading
            new_score = (reading.sides[0].score, reading.sides[1].score)
            for index, (a, b) in enumerate(pairs):
                if a.score is not None and b.score is not None and b.score > a.score and None not in new_score:
                    self.events.append(ScoringEvent(time_ms, index, b.score - a.score, new_score))  # type: ignore[arg-type]
        elif old is not None and self._clock is not None and self._clock[0] < time_ms:
            self._clock = None  # other sides (another game): a clock last read before they showed is not theirs
        self._accepted = reading
        self._emit(time_ms, reading, self._clock[1] if self._clock else None)
        return True

    def _push_clock(self, time_ms: int, clock_s: float | None) -> bool:
        """Count a clock reading if consistent; True when the counted clock changed."""
        if clock_s is None:
            return False

        def consistent(a: tuple[int, float], b: tuple[int, float]) -> bool:
            return abs(b[1] - a[1]) <= abs(b[0] - a[0]) / 1000.0 + 1.5

        if self._clock is not None and consistent(self._clock, (time_ms, clock_s)):
            self._clock_run = []
            changed = clock_s != self._clock[1]
            self._clock = (time_ms, clock_s)
            return changed
        if self._clock_run and not consistent(self._clock_run[-1], (time_ms, clock_s)):
            self._clock_run = []
        self._clock_run.append((time_ms, clock_s))
        if len(self._clock_run) >= self.min_persist:
            self._clock, self._clock_run = self._clock_run[-1], []
            return True
        return False

    def _emit(self, time_ms: int, reading: Reading, clock_s: float | None) -> None:
        assert reading.sides is not None
        self.states.append(
            GameState(
                time_ms=time_ms,
                sides=reading.sides,
                period=reading.period,
                half=reading.half,
                clock_s=clock_s,
                fields=dict(reading.fields),
                raw_text=reading.raw_text,
                confidence=reading.confidence,
            )
        )

    def _note_names(self, time_ms: int, reading: Reading) -> None:
        named = [(s.name, "side", reading.kind, "") for s in reading.sides or () if s.name]
        batting = {"top": 0, "bottom": 1}.get(reading.half or "")
        for role, index in (("batter", batting), ("pitcher", None if batting is None else 1 - batting)):
            if role in reading.fields:
                team = reading.sides[index].name if reading.sides is not None and index is not None else ""
                named.append((str(reading.fields[role]), role, "player", team))
        for key in named:
            spans = self._spans.setdefault(key, [])
            if spans and time_ms - spans[-1][1] <= self.name_gap_ms:
                spans[-1][1] = time_ms
                spans[-1][2] += 1
                spans[-1][3] = min(spans[-1][3], reading.confidence)
            else:
                spans.append([time_ms, time_ms, 1, reading.confidence])

    def names(self) -> list[NameSighting]:
        """The name sightings read in at least ``min_persist`` samples, ordered by first appearance."""
        found = [
            NameSighting(name, role, kind, int(start), int(end), float(conf), team)
            for (name, role, kind, team), spans in self._spans.items()
            for start, end, count, conf in spans
            if count >= self.min_persist
        ]
        return sorted(found, key=lambda n: (n.start_ms, n.role, n.name))


def read_graphics(frames: Iterable[tuple[int, np.ndarray]], ocr: OcrEngine, params: GraphicsParams) -> GraphicsResult:
    """Find the score bug, read it at each sample whose bug pixels changed, and smooth the readings.

    The bug is searched for (:func:`find_bug`) over the last ``probe_samples`` samples while none is held,
    backing off after fruitless searches (one sample period, doubling up to ``redetect_s``), and only where edges
    stay put that the last ``searched_masks`` searches did not look at in vain (:func:`candidate_regions`: a static
    camera's boards, or boards back after a cut, are searched once; a bug appearing later over them is found at the
    next search, at most ``redetect_s`` after it appears); once found, only
    its text lines are recognised, and only those whose pixels changed (:class:`_Bug`); after ``min_persist``
    samples in a row without a reading the bug counts as gone. The last ``known_bugs`` bugs found are
    remembered: while none is held, each sample is first compared with them (pixels only, :meth:`_Bug.shown`),
    and one that is back is read again without a search (one whose pixels are back but whose text does not
    parse is looked for again after a doubling wait, :func:`_returned`); a new search starts only
    ``lost_search_s`` after a bug that was read is lost, then backs off as above. Readings are smoothed by
    :class:`Timeline`.

    Args:
        frames: ``(time_ms, frame)`` in time order; ``frame`` is ``(H, W, 3)`` uint8 RGB, all of one size.
        ocr: the OCR engine (detection and recognition).
        params: sampling and smoothing knobs.

    Returns:
        The game-state timeline, scoring events and name sightings; empty lists when no bug is on screen.
    """
    started = time.perf_counter()
    timeline = Timeline(params.min_persist)
    probe: list[tuple[int, np.ndarray]] = []
    bug: _Bug | None = None
    known: deque[_Bug] = deque(maxlen=params.known_bugs)  # bugs found before, the latest held last
    bug_box: Box | None = None
    next_search_ms = 0
    wait_ms = 1000.0 / params.sample_fps
    searched = _SearchedInVain(params.searched_masks)
    read_ms: list[int] = []  # sample times at which the bug was read
    last_read: _Bug | None = None  # the bug of the last reading
    samples = 0
    for time_ms, frame in frames:
        samples += 1
        if bug is None:
            bug = _returned(known, time_ms, frame, params)
            if bug is not None:
                probe = []
        if bug is not None:
            reading = bug.read(frame, ocr)
            logger.debug("bug at %d ms: %s", time_ms, reading)
            last_read = _switch(timeline, last_read, bug, reading)
            bug.misses = 0 if reading is not None else bug.misses + 1
            bug.held = bug.held or reading is not None
            timeline.push(time_ms, reading)
            if reading is not None:
                read_ms.append(time_ms)
            if bug.misses >= params.min_persist:
                if _lost(bug, time_ms, params):  # a search only after a bug that was read is lost
                    next_search_ms = time_ms + round(params.lost_search_s * 1000)
                    wait_ms = min(2 * params.lost_search_s * 1000, params.redetect_s * 1000.0)
                bug, probe = None, []
            continue
        probe = [*probe[-(params.probe_samples - 1) :], (time_ms, frame)]
        if len(probe) < params.probe_samples or time_ms < next_search_ms:
            continue
        mask = stable_mask([f for _, f in probe])
        regions = candidate_regions(mask, searched.mask(mask.shape), params)
        bug = find_bug([f for _, f in probe], regions, ocr, params) if regions else None  # none: nothing new, no OCR
        searched.add(mask, [r for r in regions if bug is None or not _overlaps(r, bug.box)])
        if bug is None:
            next_search_ms = time_ms + round(wait_ms)
            wait_ms = min(2 * wait_ms, params.redetect_s * 1000.0)
            continue
        known.append(bug)
        bug_box = bug_box or bug.box
        for probe_ms, probe_frame in probe:
            reading = bug.read(probe_frame, ocr)
            last_read = _switch(timeline, last_read, bug, reading)
            timeline.push(probe_ms, reading)
            if reading is not None:
                read_ms.append(probe_ms)
        probe = []
    return GraphicsResult(
        states=sorted(timeline.states, key=lambda s: s.time_ms),
        events=timeline.events,
        names=timeline.names(),
        bug_box=bug_box,
        samples=samples,
        seconds=time.perf_counter() - started,
        bug_spans=sample_spans(read_ms, 1000.0 / params.sample_fps),
    )


def _switch(timeline: Timeline, last: _Bug | None, bug: _Bug, reading: Reading | None) -> _Bug | None:
    """The bug of the latest reading: ``bug`` when ``reading`` was read, telling ``timeline`` of a change of bug
    (:meth:`Timeline.cut`); ``last`` otherwise."""
    if reading is None:
        return last
    if last is not None and bug is not last:
        timeline.cut()
    return bug


def sample_spans(times_ms: Sequence[int], period_ms: float) -> list[tuple[int, int]]:
    """Spans covered by samples taken every ``period_ms``: each counts for one period centred on it.

    Args:
        times_ms: sample times, ms, increasing.
        period_ms: sampling period, ms.

    Returns:
        ``[start_ms, end_ms)`` spans, in order; samples at most 1.5 periods apart join one span.
    """
    half = period_ms / 2
    spans: list[tuple[int, int]] = []
    previous: int | None = None
    for t in times_ms:
        if previous is None or t - previous > 1.5 * period_ms:
            spans.append((max(round(t - half), 0), round(t + half)))
        else:
            spans[-1] = (spans[-1][0], round(t + half))
        previous = t
    return spans


def _returned(known: deque[_Bug], time_ms: int, frame: np.ndarray, params: GraphicsParams) -> _Bug | None:
    """The remembered bug whose pixels are back in ``frame`` (:meth:`_Bug.shown`; latest found first), moved to
    the end of ``known``; None when none is. It counts as gone again after one sample without a reading, and is
    then not looked for again for one sample period, doubling with each such failure (up to ``redetect_s``)."""
    for bug in reversed(known):
        if time_ms >= bug.resume_ms and bug.shown(frame):
            known.remove(bug)
            known.append(bug)
            bug.misses, bug.held = params.min_persist - 1, False
            return bug
    return None


def _lost(bug: _Bug, time_ms: int, params: GraphicsParams) -> bool:
    """Note that ``bug`` is gone at ``time_ms``; True when it had been read (held), False when it only looked back."""
    if bug.held:
        bug.failed_returns = 0
        return True
    bug.failed_returns += 1
    wait_s = min(2 ** (bug.failed_returns - 1) / params.sample_fps, params.redetect_s)
    bug.resume_ms = time_ms + round(wait_s * 1000)
    return False


def graphics_frames(
    path: Path, *, width: int, height: int, params: GraphicsParams, skip_nonref: bool = True
) -> Iterator[tuple[int, np.ndarray]]:
    """Sharp frames for OCR at ``params.sample_fps``: one ffmpeg decode that skips the work OCR does not need.

    The analysis pass decodes at 256 px, too small to read a score bug. This second, light decode runs
    ffmpeg with ``-skip_loop_filter all`` (no deblocking: text edges stay readable) and, by default,
    ``-skip_frame noref`` (frames no other frame refers to are not decoded at all), keeps
    ``params.sample_fps`` frames a second (ffmpeg's ``fps`` filter, presentation time from 0; frames an edit
    list cuts away are never shown) and scales them so the short side is ``params.short_side``, or up to
    ``params.min_short_side`` when smaller.
    Measured against the alternatives in ``benchmarks/graphics.py``. The decode runs ahead of the reader by up to
    ``params.prefetch_frames`` frames (:func:`~indexer.stages.frames.prefetch`), so ffmpeg keeps decoding on one
    core while OCR reads the bug on the other.

    Args:
        path: video file.
        width, height: its frame size in pixels (from the probe).
        params: sampling rate and OCR short side.
        skip_nonref: skip non-reference frames (the sampled frame is then the nearest decoded one, at most a
            few frames off).

    Yields:
        ``(time_ms, frame)``: presentation time in ms and ``(H, W, 3)`` uint8 RGB.

    Raises:
        CorruptVideoError: the frame size is not positive, or ffmpeg cannot decode the video.
    """
    yield from prefetch(_decoded_frames(path, width, height, params, skip_nonref), params.prefetch_frames)


def _decoded_frames(
    path: Path, width: int, height: int, params: GraphicsParams, skip_nonref: bool
) -> Iterator[tuple[int, np.ndarray]]:
    """The frames of :func:`graphics_frames`, read from ffmpeg as it decodes them."""
    if width <= 0 or height <= 0:
        raise CorruptVideoError(f"{path}: no video frame size ({width}x{height})")
    least = min(params.min_short_side, params.short_side)
    out_w, out_h = decode_size(width, height, max(min(params.short_side, width, height), least))
    skip = {"skip_loop_filter": "all", **({"skip_frame": "noref"} if skip_nonref else {})}
    process = (
        ffmpeg.input(str(path), threads=1, **skip)
        .video.filter("fps", fps=params.sample_fps)
        .filter("scale", out_w, out_h)
        .output("pipe:", format="rawvideo", pix_fmt="rgb24")
        .global_args("-nostdin", "-hide_banner", "-loglevel", "error")
        .run_async(pipe_stdout=True, pipe_stderr=True)
    )
    stderr_tail: deque[str] = deque(maxlen=5)
    drain = threading.Thread(target=drain_stderr, args=(process.stderr, stderr_tail), daemon=True)
    drain.start()
    size = out_w * out_h * 3
    stopped_early = True  # until the whole output was read
    try:
        n = 0
        while len(chunk := process.stdout.read(size)) == size:
            yield round(n * 1000 / params.sample_fps), np.frombuffer(chunk, np.uint8).reshape(out_h, out_w, 3)
            n += 1
        stopped_early = False
    finally:
        process.stdout.close()
        if stopped_early:
            process.kill()
        returncode = process.wait()
        drain.join()
    if returncode != 0 and not stopped_early:
        last = stderr_tail[-1] if stderr_tail else f"exit status {returncode}"
        raise CorruptVideoError(f"{path}: cannot decode video for graphics ({last})")
