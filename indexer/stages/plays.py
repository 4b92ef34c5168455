"""Shots grouped into plays, and replays recognised (a pure stage).

A broadcast shows a play as live action (one or more shots), then what follows the moment (player
close-ups, crowd and bench, replays) until live action resumes. This stage gives every shot a role and
cuts the game into plays at each return to live action.

**Replays** are shots that repeat an earlier live shot, usually slowed. Each shot is described by the
per-window vectors of the analysis (``Analysis.features`` embeddings, or :func:`keyframe_signatures` of the
windows' middle frames: small grey thumbnails, zero mean, unit norm, which tell the same frames from other
frames of the same sport far better than action embeddings do). A shot is compared with every earlier live
shot within ``max_lookback_s`` by subsequence dynamic time warping (Sakoe & Chiba, 1978; the shot must be
matched whole, the earlier shot in part; steps (1,1), (1,0), (0,1)) on cosine similarity. It is a replay
when the best match's mean similarity along the warping path reaches ``min_similarity`` and one more cue
says it is not simply the same camera again: it runs slow (``speed``: the earlier shot's seconds that the
path covers, in window steps and at most that shot's length, per second of this shot; at most
``max_speed``), or the score bug is hidden for most of the shot (when the caller knows where the bug is
shown). A live shot from the same camera as before matches in appearance but runs at speed ~1 with the bug
on screen, so it stays live. Limits: a shot shorter than the analysis's window step has no window of its
own and is never compared (it stays live, and cannot be the original of a replay); a static wide view
(a clay court from behind the baseline) looks the same at every moment, so a longer live shot from that
camera after a shorter one can pass for a slowed repeat unless the bug cue is given.

**Transitions**: broadcasts open and close a replay with the same wipe or logo sting, a second or so of
graphics, which the shot detector sees as a short shot (at most ``max_transition_s``) when it lasts at least
the detector's minimum shot (1 s). A shot that repeats an earlier live shot and sits between two short shots
is a replay even at full speed with the bug on screen, unless the two short shots both have keyframes and
these differ (two different cut-aways, not one sting shown twice; at the default sampling most stings are
shorter than the window step and have no keyframe of their own); the short shots beside a replay are its
transitions, and a short shot repeating a short shot is a sting shown again, not a replay. A live shot
from the replayed camera after the closing transition has one short shot before it only, and stays live.
Limits: a sting shorter than the detector's
minimum shot merges into the shot beside it and is not seen; a wipe (one picture pushing the other off) is a
gradual change the detector does not cut at, so a replay wiped in shares its shot with the live action and is
not found; a shot of the live camera between two quick cut-aways (each at most ``max_transition_s``) passes
for a replay.

**Close-ups** are shots in which a face is in view for most of the shot (when face presence is given).
Everything else is live action.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from indexer.stages.shots import ShotSpan

SIGNATURE_SIZE = (32, 18)
"""Width and height, pixels, of a keyframe signature (16:9; 576 values)."""


class ShotRole(StrEnum):
    """What a shot shows within its play."""

    LIVE = "live"
    REPLAY = "replay"
    CLOSE_UP = "close_up"
    TRANSITION = "transition"


@dataclass(frozen=True)
class PlayParams:
    """Knobs of play grouping and replay detection.

    Attributes:
        min_similarity: mean cosine similarity along the warping path at which a shot repeats an earlier one
            (keyframe signatures: the same frames measure 0.93-0.99, other scenes of the same sport < 0.7).
        max_speed: a match running at most this many earlier-shot seconds per shot second is slowed.
        max_lookback_s: earlier shots starting more than this many seconds before are not compared.
        bug_hidden_fraction: a shot whose score bug is hidden for at least this fraction of it lacks the bug.
        bug_settle_s: seconds after a cut not counted for the bug (the graphics stage needs a second or two of
            one scene to find the bug again after a cut); the whole shot counts when it is no longer than this.
        face_fraction: a shot with a face in view for at least this fraction of it is a close-up.
        max_transition_s: the longest shot, seconds, that can be a wipe or logo transition; two such shots
            with keyframes are the same transition when these match with at least ``min_similarity``.
    """

    min_similarity: float = 0.9
    max_speed: float = 0.75
    max_lookback_s: float = 180.0
    bug_hidden_fraction: float = 0.5
    bug_settle_s: float = 2.0
    face_fraction: float = 0.5
    max_transition_s: float = 1.5


@dataclass(frozen=True)
class PlayShot:
    """One shot with its role.

    Attributes:
        index: position of the shot in the input list.
        start_ms, end_ms: its span, video milliseconds.
        role: live, replay, close-up or transition.
        replay_of: for a replay, the index of the live shot it repeats.
        similarity: for a replay, the mean similarity along the warping path.
        speed: for a replay, earlier-shot seconds per replay second along the path (0.5: half speed).
    """

    index: int
    start_ms: int
    end_ms: int
    role: ShotRole
    replay_of: int | None = None
    similarity: float | None = None
    speed: float | None = None


@dataclass(frozen=True)
class Play:
    """Live action and what the broadcast shows after it, until live action resumes.

    Attributes:
        start_ms, end_ms: span of the play's shots, video milliseconds.
        shots: its shots in order.
        main: index into ``shots`` of the main live shot (highest ``shot_scores``, else the longest live shot;
            the first shot when the play has no live shot).
    """

    start_ms: int
    end_ms: int
    shots: tuple[PlayShot, ...]
    main: int

    @property
    def replays(self) -> tuple[PlayShot, ...]:
        """The play's replay shots."""
        return tuple(s for s in self.shots if s.role is ShotRole.REPLAY)


def keyframe_signatures(keyframe_dir: Path, count: int) -> np.ndarray:
    """Signatures of the analysis windows' middle frames (``window_{i:06d}.jpg``, written by ``analyse_video``).

    Args:
        keyframe_dir: the folder of keyframes (``indexer.artifacts.keyframe_dir``).
        count: number of windows ``W``.

    Returns:
        ``(W, 576)`` float32: each frame in grey, resized to ``SIGNATURE_SIZE`` by area averaging, minus its
        mean, divided by its norm (a flat frame gives zeros).

    Raises:
        FileNotFoundError: a keyframe is missing or unreadable.
    """
    out = np.zeros((count, SIGNATURE_SIZE[0] * SIGNATURE_SIZE[1]), dtype=np.float32)
    for i in range(count):
        path = keyframe_dir / f"window_{i:06d}.jpg"
        frame = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if frame is None:
            raise FileNotFoundError(f"{path}: keyframe missing or unreadable")
        out[i] = frame_signature(frame)
    return out


def frame_signature(frame: np.ndarray) -> np.ndarray:
    """Signature of one frame: ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 → ``(576,)`` float32, zero mean, unit norm."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
    small = cv2.resize(grey, SIGNATURE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 else small


def group_plays(
    shots: Sequence[ShotSpan],
    spans_s: np.ndarray,
    vectors: np.ndarray,
    *,
    bug_visible: Sequence[tuple[int, int]] | None = None,
    faces: Sequence[tuple[int, int]] | None = None,
    shot_scores: Sequence[float] | None = None,
    params: PlayParams | None = None,
) -> list[Play]:
    """Give every shot a role and group the shots into plays.

    Args:
        shots: shot spans (ms), contiguous and in order (``Analysis.shots``).
        spans_s: ``(W, 2)`` window [start, end) seconds (``Analysis.spans_s``).
        vectors: ``(W, D)`` per-window vectors: ``Analysis.features`` or :func:`keyframe_signatures`.
        bug_visible: [start_ms, end_ms) spans in which the score bug is on screen; None: unknown (cue unused).
        faces: [start_ms, end_ms) spans in which a face is in view (face tracks); None: unknown (no close-ups).
        shot_scores: per shot, a score choosing the main live shot (e.g. the best clip's highlight score).
        params: knobs (default ``PlayParams()``).

    Returns:
        Plays in order, covering every shot once: a play starts at each live shot that follows a shot of
        another role (shots before the first live shot join the first play).

    Raises:
        ValueError: ``spans_s`` and ``vectors`` disagree in length, or ``shot_scores`` in length with ``shots``.
    """
    params = params or PlayParams()
    if shot_scores is not None and len(shot_scores) != len(shots):
        raise ValueError(f"{len(shot_scores)} shot_scores for {len(shots)} shots")
    roles = shot_roles(shots, spans_s, vectors, bug_visible=bug_visible, faces=faces, params=params)
    groups: list[list[PlayShot]] = []
    for shot in roles:
        resumes = (
            shot.role is ShotRole.LIVE
            and bool(groups)
            and groups[-1][-1].role is not ShotRole.LIVE
            and any(s.role is ShotRole.LIVE for s in groups[-1])
        )
        if resumes or not groups:
            groups.append([shot])
        else:
            groups[-1].append(shot)
    return [_play(group, shot_scores) for group in groups]


def shot_roles(
    shots: Sequence[ShotSpan],
    spans_s: np.ndarray,
    vectors: np.ndarray,
    *,
    bug_visible: Sequence[tuple[int, int]] | None = None,
    faces: Sequence[tuple[int, int]] | None = None,
    params: PlayParams | None = None,
) -> list[PlayShot]:
    """The role of every shot (see :func:`group_plays` for the arguments), in order."""
    params = params or PlayParams()
    spans_s = np.asarray(spans_s, dtype=np.float64).reshape(-1, 2)
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(spans_s) != len(vectors):
        raise ValueError(f"{len(spans_s)} window spans for {len(vectors)} window vectors")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    members = [_shot_windows(shot, spans_s) for shot in shots]
    step = _window_step(spans_s)
    short = [(s.end_ms - s.start_ms) / 1000 <= params.max_transition_s for s in shots]
    out: list[PlayShot] = []
    for i, shot in enumerate(shots):
        if faces is not None and _covered(shot, faces) >= params.face_fraction:
            out.append(PlayShot(i, shot.start_ms, shot.end_ms, ShotRole.CLOSE_UP))
            continue
        settle_ms = round(params.bug_settle_s * 1000)
        looked = ShotSpan(shot.start_ms + settle_ms, shot.end_ms) if shot.end_ms - shot.start_ms > settle_ms else shot
        hidden = bug_visible is not None and 1.0 - _covered(looked, bug_visible) >= params.bug_hidden_fraction
        bracketed = _bracketed(i, short, members, unit, params)
        best: tuple[float, float, int] | None = None
        for earlier in out:
            if earlier.role is not ShotRole.LIVE or (shot.start_ms - earlier.start_ms) / 1000 > params.max_lookback_s:
                continue
            if short[i] and short[earlier.index]:  # a sting shown again is no replay of it
                continue
            j = earlier.index
            if not len(members[i]) or not len(members[j]):
                continue
            similarity, first, last = _match(unit[members[i]], unit[members[j]])
            # earlier-shot seconds the path covers (window steps, at most that shot) per second of this shot
            covered = min((last - first + 1) * step, (earlier.end_ms - earlier.start_ms) / 1000)
            speed = covered / max((shot.end_ms - shot.start_ms) / 1000, 1e-3)
            repeats = similarity >= params.min_similarity and (speed <= params.max_speed or hidden or bracketed)
            if repeats and (best is None or similarity > best[0]):
                best = (similarity, speed, j)
        if best is None:
            out.append(PlayShot(i, shot.start_ms, shot.end_ms, ShotRole.LIVE))
        else:
            out.append(PlayShot(i, shot.start_ms, shot.end_ms, ShotRole.REPLAY, best[2], best[0], best[1]))
    replays = [r.index for r in out if r.role is ShotRole.REPLAY]
    for k in {k for i in replays for k in (i - 1, i + 1) if 0 <= k < len(out) and short[k]} - set(replays):
        if out[k].role is ShotRole.LIVE:
            out[k] = PlayShot(k, out[k].start_ms, out[k].end_ms, ShotRole.TRANSITION)
    return out


def _bracketed(i: int, short: list[bool], members: Sequence[np.ndarray], unit: np.ndarray, params: PlayParams) -> bool:
    """Shot ``i`` sits between two short shots, not two with keyframes that differ (see the module docstring)."""
    before, after = i - 1, i + 1
    if before < 0 or after >= len(short) or not (short[before] and short[after]):
        return False
    if not len(members[before]) or not len(members[after]):
        return True
    return float((unit[members[before]] @ unit[members[after]].T).max()) >= params.min_similarity


def event_plays(plays: Sequence[Play], times_ms: Sequence[int | None]) -> list[int | None]:
    """The play each event belongs to: the one whose [start_ms, end_ms) holds the event's video time.

    Args:
        plays: plays in order (from :func:`group_plays`).
        times_ms: per event, its video time in ms (``PlayEvent.time_ms``); None = unaligned.

    Returns:
        Per event, an index into ``plays``, or None (unaligned, or outside every play).
    """
    starts = [p.start_ms for p in plays]
    out: list[int | None] = []
    for t in times_ms:
        k = bisect_right(starts, t) - 1 if t is not None else -1
        out.append(k if k >= 0 and t is not None and t < plays[k].end_ms else None)
    return out


def _shot_windows(shot: ShotSpan, spans_s: np.ndarray) -> np.ndarray:
    """Indices of the windows whose centre lies in the shot (a shot shorter than a window step may have none)."""
    centres = spans_s.mean(axis=1)
    return np.flatnonzero((centres >= shot.start_ms / 1000) & (centres < shot.end_ms / 1000))


def _match(query: np.ndarray, reference: np.ndarray) -> tuple[float, int, int]:
    """Subsequence DTW of the whole ``query`` against part of ``reference`` (unit rows).

    Returns:
        Mean cosine similarity along the best path, and the first and last reference rows it uses.
    """
    n, m = len(query), len(reference)
    cost = 1.0 - query @ reference.T  # (n, m)
    total = np.full((n, m), np.inf)
    steps = np.zeros((n, m), dtype=np.int64)
    origin = np.zeros((n, m), dtype=np.int64)  # reference index where the path started
    total[0], steps[0], origin[0] = cost[0], 1, np.arange(m)
    for i in range(1, n):
        for j in range(m):
            options = [(total[i - 1, j], steps[i - 1, j], origin[i - 1, j])]  # query advances alone (slow motion)
            if j:
                options.append((total[i - 1, j - 1], steps[i - 1, j - 1], origin[i - 1, j - 1]))
                options.append((total[i, j - 1], steps[i, j - 1], origin[i, j - 1]))
            best = min(options, key=lambda o: o[0] / o[1])
            total[i, j], steps[i, j], origin[i, j] = best[0] + cost[i, j], best[1] + 1, best[2]
    mean_cost = total[n - 1] / steps[n - 1]
    end = int(np.argmin(mean_cost))
    return float(1.0 - mean_cost[end]), int(origin[n - 1, end]), end


def _window_step(spans_s: np.ndarray) -> float:
    """Seconds between consecutive window starts (median; a lone window's length; 1 s without windows)."""
    if len(spans_s) > 1:
        return float(np.median(np.diff(spans_s[:, 0])))
    return float(spans_s[0, 1] - spans_s[0, 0]) if len(spans_s) else 1.0


def _covered(shot: ShotSpan, spans: Sequence[tuple[int, int]]) -> float:
    """Fraction of the shot covered by the union of ``spans`` (ms)."""
    length = max(shot.end_ms - shot.start_ms, 1)
    covered, cursor = 0, shot.start_ms
    for start, end in sorted(spans):
        start, end = max(start, cursor), min(end, shot.end_ms)
        if end > start:
            covered += end - start
            cursor = end
    return covered / length


def _play(shots: list[PlayShot], shot_scores: Sequence[float] | None) -> Play:
    live = [k for k, s in enumerate(shots) if s.role is ShotRole.LIVE]

    def weight(k: int) -> float:
        shot = shots[k]
        return shot_scores[shot.index] if shot_scores is not None else float(shot.end_ms - shot.start_ms)

    main = max(live, key=weight) if live else 0
    return Play(shots[0].start_ms, shots[-1].end_ms, tuple(shots), main)
