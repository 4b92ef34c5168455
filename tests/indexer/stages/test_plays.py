"""Tests for indexer.stages.plays: shot roles and plays on constructed vectors (pure logic), and replay detection
on footage built with ffmpeg from real shared clips, each followed by a slowed copy of itself, through the
project's real analysis (real decode, shot detector and I3D)."""

from __future__ import annotations

import subprocess
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from indexer.stages.analysis import Analysis, analyse_video
from indexer.stages.plays import (
    PlayParams,
    ShotRole,
    event_plays,
    frame_signature,
    group_plays,
    keyframe_signatures,
    shot_roles,
)
from indexer.stages.probe import probe_video
from indexer.stages.shots import ShotSpan

# ---------------------------------------------------------------------------------------------- pure logic


def _windows(duration_s: float, step_s: float = 1.0) -> np.ndarray:
    starts = np.arange(0.0, duration_s - step_s + 1e-9, step_s)
    return np.stack([starts, starts + step_s], axis=1)


def _scene(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    """``n`` distinct unit vectors: the windows of one live shot."""
    v = rng.normal(size=(n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _slowed(live: np.ndarray, factor: int = 2) -> np.ndarray:
    """The same windows each repeated ``factor`` times (a replay at 1/factor speed), with a little noise."""
    rng = np.random.default_rng(1)
    slow = np.repeat(live, factor, axis=0) + rng.normal(scale=0.05, size=(len(live) * factor, live.shape[1]))
    return slow / np.linalg.norm(slow, axis=1, keepdims=True)


@pytest.fixture
def broadcast() -> tuple[list[ShotSpan], np.ndarray, np.ndarray]:
    """Live A (0-4 s), close-up (4-6), replay of A at half speed (6-14), live B (14-18), live B again (18-22).

    The last shot shows B's windows again at full speed (the same camera after a cut): not a replay.
    """
    rng = np.random.default_rng(0)
    a, b, face = _scene(rng, 4), _scene(rng, 4), _scene(rng, 2)
    again = b + rng.normal(scale=0.05, size=b.shape)
    vectors = np.concatenate([a, face, _slowed(a), b, again / np.linalg.norm(again, axis=1, keepdims=True)])
    shots = [ShotSpan(0, 4000), ShotSpan(4000, 6000), ShotSpan(6000, 14000), ShotSpan(14000, 18000),
             ShotSpan(18000, 22000)]  # fmt: skip
    return shots, _windows(22.0), vectors


def test_roles_from_a_slowed_repeat_and_face_presence(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast

    roles = shot_roles(shots, spans, vectors, faces=[(4100, 5900)])

    assert [r.role for r in roles] == [ShotRole.LIVE, ShotRole.CLOSE_UP, ShotRole.REPLAY, ShotRole.LIVE, ShotRole.LIVE]
    replay = roles[2]
    assert replay.replay_of == 0
    assert replay.similarity is not None and replay.similarity > 0.95
    assert replay.speed == pytest.approx(0.5)


def test_plays_start_where_live_action_resumes(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast

    plays = group_plays(shots, spans, vectors, faces=[(4100, 5900)], shot_scores=[0.2, 0.9, 0.8, 0.1, 0.7])

    assert [[s.index for s in p.shots] for p in plays] == [[0, 1, 2], [3, 4]]
    assert [(p.start_ms, p.end_ms) for p in plays] == [(0, 14000), (14000, 22000)]
    assert [r.index for r in plays[0].replays] == [2]
    assert plays[0].main == 0  # the only live shot, though the close-up scores higher
    assert plays[1].main == 1  # shot 4 scores higher than shot 3


def test_without_face_presence_the_close_up_is_live_and_the_longest_live_shot_is_main(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast

    plays = group_plays(shots, spans, vectors)

    assert [[s.index for s in p.shots] for p in plays] == [[0, 1, 2], [3, 4]]
    assert plays[0].shots[1].role is ShotRole.LIVE
    assert plays[0].main == 0  # 4 s beats the 2 s "close-up"


def test_a_hidden_score_bug_marks_a_full_speed_repeat_as_a_replay(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast
    bug = [(0, 18000)]  # hidden over the last shot

    roles = shot_roles(shots, spans, vectors, bug_visible=bug)

    assert roles[4].role is ShotRole.REPLAY and roles[4].replay_of == 3
    assert roles[4].speed == pytest.approx(1.0)
    assert roles[2].role is ShotRole.REPLAY


@pytest.fixture
def stings() -> tuple[list[ShotSpan], np.ndarray, np.ndarray]:
    """Live A (0-4 s), logo sting (4-5), A again at full speed (5-9), the sting (9-10), live A's camera again
    (10-14), a one-second cut-away (14-15), A's camera again (15-19): one replay, bracketed by the sting.

    The bug is on screen throughout (no bug cue) and nothing is slowed (no speed cue): only the transitions
    tell the replay from the live shots of the same camera after it.
    """
    rng = np.random.default_rng(4)
    a, sting, crowd = _scene(rng, 4), _scene(rng, 1), _scene(rng, 1)

    def again(v: np.ndarray) -> np.ndarray:
        w = v + rng.normal(scale=0.05, size=v.shape)
        return w / np.linalg.norm(w, axis=1, keepdims=True)

    vectors = np.concatenate([a, sting, again(a), again(sting), again(a), crowd, again(a)])
    bounds = [0, 4, 5, 9, 10, 14, 15, 19]
    shots = [ShotSpan(x * 1000, y * 1000) for x, y in pairwise(bounds)]
    return shots, _windows(19.0), vectors


def test_a_full_speed_repeat_between_two_recurring_transitions_is_a_replay(stings: tuple) -> None:
    shots, spans, vectors = stings

    roles = shot_roles(shots, spans, vectors, bug_visible=[(0, 19000)])

    assert [r.role for r in roles] == [ShotRole.LIVE, ShotRole.TRANSITION, ShotRole.REPLAY, ShotRole.TRANSITION,
                                       ShotRole.LIVE, ShotRole.LIVE, ShotRole.LIVE]  # fmt: skip
    assert roles[2].replay_of == 0 and roles[2].speed == pytest.approx(1.0)
    plays = group_plays(shots, spans, vectors, bug_visible=[(0, 19000)])
    assert [[s.index for s in p.shots] for p in plays] == [[0, 1, 2, 3], [4, 5, 6]]  # the closing sting ends play 0
    assert plays[0].replays == (roles[2],)


def test_a_short_shot_that_does_not_recur_is_no_transition(stings: tuple) -> None:
    shots, spans, vectors = stings
    vectors = vectors.copy()
    vectors[9] = _scene(np.random.default_rng(9), 1)[0]  # the closing sting is some other picture

    roles = shot_roles(shots, spans, vectors)

    assert ShotRole.TRANSITION not in {r.role for r in roles}
    assert roles[2].role is ShotRole.LIVE  # at full speed with no other cue: the same camera again
    short = shot_roles(shots, spans, stings[2], params=PlayParams(max_transition_s=0.5))
    assert ShotRole.TRANSITION not in {r.role for r in short}


def test_the_bug_found_again_late_after_a_cut_does_not_hide_it(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast
    late = [(0, 18000), (20000, 22000)]  # the last shot (18-22 s): its bug found again 2 s after the cut
    missing = [(0, 18000), (21100, 22000)]  # found only after 3.1 s: hidden for 55% of the 2 s counted

    assert shot_roles(shots, spans, vectors, bug_visible=late)[4].role is ShotRole.LIVE
    assert shot_roles(shots, spans, vectors, bug_visible=missing)[4].role is ShotRole.REPLAY
    counting_the_cut = PlayParams(bug_settle_s=0.0)  # 2 of its 4 s without the bug: "hidden"
    assert shot_roles(shots, spans, vectors, bug_visible=late, params=counting_the_cut)[4].role is ShotRole.REPLAY


def test_thresholds_and_lookback_are_honoured(broadcast: tuple) -> None:
    shots, spans, vectors = broadcast
    strict = shot_roles(shots, spans, vectors, params=PlayParams(min_similarity=0.999))
    short = shot_roles(shots, spans, vectors, params=PlayParams(max_lookback_s=5.0))

    assert all(r.role is ShotRole.LIVE for r in strict)
    assert short[2].role is ShotRole.LIVE  # shot 0 started 6 s before the replay


def test_events_belong_to_the_play_holding_their_time(broadcast: tuple) -> None:
    plays = group_plays(*broadcast)

    assert event_plays(plays, [0, 13_999, 14_000, 21_999, 22_000, None]) == [0, 0, 1, 1, None, None]
    assert event_plays([], [5]) == [None]


def test_mismatched_inputs_raise() -> None:
    with pytest.raises(ValueError, match="window spans"):
        shot_roles([ShotSpan(0, 1000)], _windows(2.0), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="shot_scores"):
        group_plays([ShotSpan(0, 1000)], _windows(1.0), np.ones((1, 4)), shot_scores=[1.0, 2.0])


def test_frame_signature_ignores_brightness_and_tells_frames_apart() -> None:
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 200, size=(90, 160, 3), dtype=np.uint8)
    brighter = (frame.astype(np.int16) + 40).clip(0, 255).astype(np.uint8)
    other = rng.integers(0, 200, size=(90, 160, 3), dtype=np.uint8)

    s, t, u = frame_signature(frame), frame_signature(brighter), frame_signature(other)

    assert s.shape == (576,) and s.dtype == np.float32
    assert float(s @ t) > 0.99
    assert float(s @ u) < 0.5
    assert not frame_signature(np.full((90, 160), 7, dtype=np.uint8)).any()


# ---------------------------------------------------------------------------------------------- real footage

CARD = "color=c=0x1f3a93:s=640x360:r=24:d=0.5"  # a plain card before each replay, like a broadcast's wipe


@pytest.fixture(scope="module")
def replay_footage(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """Real clips, two of them followed by a card and a half-speed copy (replays), and one hard negative.

    In order: baseball pitches, card, the same at half speed; tennis hard court; tennis clay, card, clay at half
    speed; then the wide soccer camera (0-6 s), the NBA clip, and the soccer camera again (6-14 s) at full
    speed: the same camera after a cut-away, which is live action, not a replay. Built with ffmpeg from the
    shared clips (scaled to 640x360 at 24 fps, no audio). Returns the file and the replay spans in seconds.
    """
    names = ("baseball_mlb_pitch_7s", "tennis_atp_hardcourt_5s", "tennis_atp_clay_6s", "soccer_laliga_wide_21s",
             "basketball_nba_broadcast_5s")  # fmt: skip
    paths = [video_dir / f"{n}.mp4" for n in names]
    out = tmp_path_factory.mktemp("replays") / "replays.mp4"
    norm = "scale=640:360,setsar=1,fps=24"
    graph = (
        f"[0:v]{norm},split[a][a2];[a2]setpts=2*PTS,fps=24[a2s];[1:v]{norm}[b];"
        f"[2:v]{norm},split[c][c2];[c2]setpts=2*PTS,fps=24[c2s];[5:v]setsar=1[w1];[6:v]setsar=1[w2];"
        f"[3:v]{norm},split[s1][s2];[s1]trim=0:6,setpts=PTS-STARTPTS[d1];[s2]trim=6:14,setpts=PTS-STARTPTS[d2];"
        f"[4:v]{norm}[e];[a][w1][a2s][b][c][w2][c2s][d1][e][d2]concat=n=10:v=1:a=0[v]"
    )
    inputs = [arg for p in paths for arg in ("-i", str(p))] + ["-f", "lavfi", "-i", CARD] * 2
    subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph,
         "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    a, b, c = (probe_video(p).duration_s for p in paths[:3])
    replays = [(a + 0.5, a + 0.5 + 2 * a), (a + 0.5 + 2 * a + b + c + 0.5, a + 0.5 + 2 * a + b + c + 0.5 + 2 * c)]
    return out, replays


@pytest.fixture(scope="module")
def analysed(replay_footage: tuple[Path, list], tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, Path]:
    """The pipeline's own analysis of the constructed video (settings' sampling, real I3D), with its keyframes."""
    from indexer import artifacts, runtime

    path, _ = replay_footage
    keyframes = tmp_path_factory.mktemp("keyframes")
    params = artifacts.analysis_params()
    analysis = analyse_video(path, probe_video(path), runtime.action_recognizer(), params, keyframe_dir=keyframes)
    return analysis, keyframes


def _truth(shot: ShotSpan, replays: list[tuple[float, float]]) -> bool:
    centre = (shot.start_ms + shot.end_ms) / 2000
    return any(start <= centre < end for start, end in replays)


def _precision_recall(roles: list, shots: list[ShotSpan], replays: list[tuple[float, float]]) -> tuple[float, float]:
    """Replay precision and recall over shots; a shot is truly a replay when its centre lies in a slowed copy."""
    truth = [_truth(s, replays) for s in shots]
    found = [r.role is ShotRole.REPLAY for r in roles]
    hits = sum(t and f for t, f in zip(truth, found, strict=True))
    assert sum(truth) >= 2  # the shot detector found each replay's cut
    return hits / max(sum(found), 1), hits / max(sum(truth), 1)


@pytest.mark.slow
def test_replays_of_real_clips_are_found_by_keyframe_signatures(
    analysed: tuple[Analysis, Path], replay_footage: tuple[Path, list]
) -> None:
    analysis, keyframes = analysed
    _, replays = replay_footage
    signatures = keyframe_signatures(keyframes, len(analysis.spans_s))

    roles = shot_roles(analysis.shots, analysis.spans_s, signatures)

    precision, recall = _precision_recall(roles, analysis.shots, replays)
    print(f"replay detection (keyframe signatures): precision {precision:.2f}, recall {recall:.2f}")
    assert precision == 1.0
    assert recall >= 0.75
    for role in roles:
        if role.role is ShotRole.REPLAY:
            original = analysis.shots[role.replay_of]  # type: ignore[index]
            assert not _truth(original, replays)
            assert role.speed is not None and role.speed < 0.75  # slowed: 2x in the footage
    plays = group_plays(analysis.shots, analysis.spans_s, signatures)
    assert plays[0].start_ms == 0 and plays[0].replays
    assert plays[0].shots[plays[0].main].role is ShotRole.LIVE
    assert any(p.replays and p.replays[-1].end_ms > replays[1][1] * 1000 - 1500 for p in plays)  # the clay replay
    assert roles[-1].role is ShotRole.LIVE  # the soccer camera again after the cut-away


@pytest.mark.slow
def test_replays_of_real_clips_by_action_embeddings(
    analysed: tuple[Analysis, Path], replay_footage: tuple[Path, list]
) -> None:
    analysis, _ = analysed
    _, replays = replay_footage

    roles = shot_roles(analysis.shots, analysis.spans_s, analysis.features)

    precision, recall = _precision_recall(roles, analysis.shots, replays)
    print(f"replay detection (I3D embeddings): precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.75 and recall >= 0.5
