"""Replay cues beyond "a slowed copy" on footage built with ffmpeg from the real shared clips.

The footage (1280x720, 24 fps, no audio) strings four replay cases and a hard negative together:

- **A** the MLB pitch (0-5 s), the logo sting, the pitch at half speed, the sting: slowed, stings, the clip's
  own score bug in both (a copy keeps the bug drawn into its pictures);
- **B** the clay-court rally, the sting, the rally again at full speed, the sting: only the stings tell;
- **C** the NBA clip cropped to leave out its own bug and captions, with a score bug drawn over it (drawbox and
  drawtext, as the graphics tests draw one), then cut to the same pictures at full speed without the bug:
  only the hidden bug tells;
- **D** the hard-court rally, wiped (ffmpeg ``xfade`` ``wipeleft``, 0.5 s) into itself at half speed: the
  wipe is a gradual change, the shot detector does not cut there, and the replay shares the live shot;
- **N** the wide soccer camera (0-4 s), a cut-away to the practice court (3 s, no bug), the soccer camera
  again (4-8 s): live action, not a replay.

The logo sting is a 1.25 s card drawn with ffmpeg (a white bar and "REPLAY" on blue), the same before and
after each replay, as broadcasts do. The shots, keyframe signatures and score-bug spans are the pipeline's
own (``analyse_video`` with real I3D, ``read_graphics`` with the real OCR); each cue is switched off in turn.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer.stages.analysis import Analysis, analyse_video
from indexer.stages.graphics import GraphicsParams, graphics_frames, read_graphics
from indexer.stages.plays import PlayParams, PlayShot, ShotRole, keyframe_signatures, shot_roles
from indexer.stages.probe import probe_video
from indexer.stages.shots import ShotSpan
from ml.ocr import OcrEngine

pytestmark = pytest.mark.slow

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
STING_S = 1.25
SIZE = "scale=1280:720,setsar=1,fps=24,format=yuv420p"
TEXT = f"fontfile={FONT}:fontsize=30:fontcolor=white"
BUG = ",".join([
    "drawbox=x=1040:y=610:w=220:h=90:color=black@0.85:t=fill",
    f"drawtext={TEXT}:x=1050:y=616:text='LAD'", f"drawtext={TEXT}:x=1050:y=658:text='MIL'",
    f"drawtext={TEXT}:x=1225:y=616:text='3'", f"drawtext={TEXT}:x=1225:y=658:text='1'",
])  # fmt: skip
STING = (
    f"color=c=0x0b3d91:s=1280x720:r=24:d={STING_S},format=yuv420p,"
    "drawbox=x=340:y=240:w=600:h=140:color=white@0.9:t=fill,"
    f"drawtext=fontfile={FONT}:fontsize=80:fontcolor=white:x=(w-tw)/2:y=500:text='REPLAY'"
)
SOURCES = ("baseball_mlb_pitch_7s", "tennis_atp_clay_6s", "basketball_nba_broadcast_5s", "tennis_atp_hardcourt_5s",
           "soccer_laliga_wide_21s", "basketball_practice_shots_51s")  # fmt: skip
WIPE_S = 0.5


def _trim(start: float, end: float) -> str:
    return f"trim={start}:{end},setpts=PTS-STARTPTS"


@dataclass(frozen=True)
class Footage:
    """The constructed video, its replays ``{case: (start_s, end_s)}`` and its negative's spans."""

    path: Path
    replays: dict[str, tuple[float, float]]
    same_camera_again: tuple[float, float]


@pytest.fixture(scope="module")
def footage(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Footage:
    """Build the cases of the module docstring with one ffmpeg run."""
    if not FONT.exists():
        pytest.fail(f"the constructed video needs {FONT} (apt-get install fonts-dejavu-core)")
    paths = [video_dir / f"{name}.mp4" for name in SOURCES]
    clay, nba, hard = (probe_video(p).duration_s for p in paths[1:4])
    graph = ";".join([
        f"[0:v]{SIZE},{_trim(0, 5)},split[a][a2];[a2]setpts=2*PTS[aR]",
        f"[1:v]{SIZE},split[b][bR]",
        f"[2:v]crop=iw*0.75:ih*0.75:0:0,{SIZE},split[c][cR];[c]{BUG}[cL]",  # the clip's own bug cropped away
        f"[3:v]{SIZE},split[d][d2];[d2]setpts=2*PTS[dR];"
        f"[d][dR]xfade=transition=wipeleft:duration={WIPE_S}:offset={hard - WIPE_S}[dW]",
        f"[4:v]{SIZE},split[s1][s2];[s1]{_trim(0, 4)}[n1];[s2]{_trim(4, 8)}[n3]",
        f"[5:v]{SIZE},{_trim(0, 3)}[n2]",
        *[f"[{6 + k}:v]setsar=1[t{k}]" for k in range(4)],
        "[a][t0][aR][t1][b][t2][bR][t3][cL][cR][dW][n1][n2][n3]concat=n=14:v=1:a=0,fps=24[v]",
    ])  # fmt: skip
    inputs = [arg for p in paths for arg in ("-i", str(p))] + ["-f", "lavfi", "-i", STING] * 4
    out = tmp_path_factory.mktemp("replay_cues") / "replay_cues.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    a = 5.0 + STING_S
    b = a + 10.0 + STING_S + clay + STING_S
    c = b + clay + STING_S + nba
    d = c + nba + hard
    replays = {"A": (a, a + 10.0), "B": (b, b + clay), "C": (c, c + nba), "D": (d, d - WIPE_S + 2 * hard)}
    n3 = d - WIPE_S + 2 * hard + 4.0 + 3.0
    return Footage(out, replays, (n3, n3 + 4.0))


@pytest.fixture(scope="module")
def signals(footage: Footage, tmp_path_factory: pytest.TempPathFactory) -> tuple[Analysis, Path, list]:
    """The pipeline's analysis (settings' sampling, real I3D, keyframes kept) and the bug spans the OCR read."""
    from indexer import artifacts, runtime

    keyframes = tmp_path_factory.mktemp("keyframes")
    probe = probe_video(footage.path)
    params = artifacts.analysis_params()
    analysis = analyse_video(footage.path, probe, runtime.action_recognizer(), params, keyframe_dir=keyframes)
    graphics = GraphicsParams()
    frames = graphics_frames(footage.path, width=probe.width, height=probe.height, params=graphics)
    bug = read_graphics(frames, OcrEngine(), graphics).bug_spans
    assert bug, "the score bugs of the footage are read"
    return analysis, keyframes, bug


def _case(shot: ShotSpan, footage: Footage) -> str | None:
    """The replay case holding the shot's centre, None for a live shot."""
    centre = (shot.start_ms + shot.end_ms) / 2000
    return next((k for k, (start, end) in footage.replays.items() if start <= centre < end), None)


def _roles(signals: tuple[Analysis, Path, list], *, speed: bool, stings: bool, bug: bool) -> list[PlayShot]:
    analysis, keyframes, bug_spans = signals
    params = PlayParams(
        max_speed=PlayParams.max_speed if speed else 0.0,
        max_transition_s=PlayParams.max_transition_s if stings else 0.0,
    )
    vectors = keyframe_signatures(keyframes, len(analysis.spans_s))
    return shot_roles(analysis.shots, analysis.spans_s, vectors, bug_visible=bug_spans if bug else None, params=params)


def _scores(roles: list[PlayShot], shots: list[ShotSpan], footage: Footage) -> tuple[float, float, set[str]]:
    """Precision over shots called replays, recall over the cases, and the cases found."""
    called = [(r, _case(s, footage)) for r, s in zip(roles, shots, strict=True) if r.role is ShotRole.REPLAY]
    found = {case for _, case in called if case is not None}
    precision = sum(case is not None for _, case in called) / max(len(called), 1)
    return precision, len(found) / len(footage.replays), found


CUES = {  # (speed, stings, hidden bug)
    "speed": (True, False, False),
    "hidden bug": (False, False, True),
    "stings": (False, True, False),
    "speed + bug": (True, False, True),
    "speed + stings": (True, True, False),
    "all": (True, True, True),
}


def test_each_cue_finds_its_replays_and_none_calls_the_same_camera_again(
    signals: tuple[Analysis, Path, list], footage: Footage
) -> None:
    analysis = signals[0]
    results = {}
    for name, (speed, stings, bug) in CUES.items():
        roles = _roles(signals, speed=speed, stings=stings, bug=bug)
        results[name] = (*_scores(roles, analysis.shots, footage), roles)
        print(f"replay cues {name}: precision {results[name][0]:.2f}, recall {results[name][1]:.2f}, "
              f"cases {''.join(sorted(results[name][2])) or '-'}")  # fmt: skip
    assert "A" in results["speed"][2]  # slowed: found by speed alone
    assert "B" not in results["speed + bug"][2] and "B" in results["speed + stings"][2]  # the stings tell
    assert "C" in results["hidden bug"][2]  # the bug hidden (speed finds it too: a 2-window shot reads coarse)
    assert results["stings"][2] == {"B"}
    precision, recall, found, roles = results["all"]
    assert precision == 1.0 and recall >= 0.75 and found >= {"A", "B", "C"}
    transitions = [s for s, r in zip(analysis.shots, roles, strict=True) if r.role is ShotRole.TRANSITION]
    assert len(transitions) >= 4 and all(s.end_ms - s.start_ms <= 1500 for s in transitions)  # the four stings
    start, end = footage.same_camera_again
    again = [r for s, r in zip(analysis.shots, roles, strict=True) if start <= (s.start_ms + s.end_ms) / 2000 < end]
    assert again and all(r.role is ShotRole.LIVE for r in again)
