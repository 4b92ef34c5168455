"""The graphics stage with the real OCR (PP-OCRv4 via RapidOCR) on the shared broadcast footage.

Each clip is read once per module (``read`` caches results); a constructed video (a score bug drawn with
ffmpeg over real footage, its score changing at a known time) checks scoring events.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.errors import CorruptVideoError
from indexer.stages.graphics import (
    GraphicsParams,
    GraphicsResult,
    Token,
    graphics_frames,
    read_graphics,
    server_mark,
)
from indexer.stages.probe import probe_video
from ml.ocr import OcrEngine

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
CHANGE_S = 6.0  # when the constructed bug's score changes


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()


@pytest.fixture(scope="module")
def read(ocr: OcrEngine) -> Callable[[Path], GraphicsResult]:
    """Read the graphics of a video once per module."""
    cache: dict[Path, GraphicsResult] = {}

    def run(path: Path) -> GraphicsResult:
        if path not in cache:
            probe = probe_video(path)
            params = GraphicsParams()
            frames = graphics_frames(path, width=probe.width, height=probe.height, params=params)
            cache[path] = read_graphics(frames, ocr, params)
        return cache[path]

    return run


def names(result: GraphicsResult, role: str = "side") -> set[str]:
    return {n.name for n in result.names if n.role == role}


def test_tennis_players_are_read(read: Callable[[Path], GraphicsResult], video_dir: Path) -> None:
    result = read(video_dir / "tennis_atp_hardcourt_5s.mp4")
    assert {"DJOKOVIC", "WAWRINKA"} <= names(result)
    assert {n.kind for n in result.names if n.name in ("DJOKOVIC", "WAWRINKA")} == {"player"}
    assert result.states and result.bug_box is not None
    # Sets, then the games of the set being played, then points (a lit cell's edge once read as a fourth number)
    assert {(tuple(map(tuple, s.fields.get("sets", []))), tuple(s.fields.get("games", []))) for s in result.states} == {
        (((6,), (3,)), (1, 0))
    }
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states} == {(1, 0)}
    assert {s.fields.get("server") for s in result.states} == {"DJOKOVIC"}  # the lit diamond left of his name


def test_clay_bug_is_read_and_its_court_side_boards_are_no_sides(
    read: Callable[[Path], GraphicsResult], video_dir: Path
) -> None:
    # Court-side boards stay put in this static shot ("TENNISTV" in big letters, "160", a row of BNP PARIBAS in small
    # ones): the two-column layout refuses them, and the bug "Tsitsipas 0 40 / Rublev 0 40" is read instead; its boxed
    # games digits (dark on yellow) are not, so the 40s are points, not a score.
    result = read(video_dir / "tennis_atp_clay_6s.mp4")
    assert names(result) == {"TSITSIPAS", "RUBLEV"}
    assert {n.kind for n in result.names} == {"player"}
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states} == {(None, None)}
    assert {tuple(s.fields.get("points", ())) for s in result.states} == {("40", "40")}
    assert {s.fields.get("server") for s in result.states} == {"TSITSIPAS"}  # the yellow mark left of his name


def test_the_server_mark_is_read_from_the_pixels_and_not_without_it(video_dir: Path) -> None:
    path = video_dir / "tennis_atp_hardcourt_5s.mp4"
    probe = probe_video(path)
    _, frame = next(iter(graphics_frames(path, width=probe.width, height=probe.height, params=GraphicsParams())))
    # the two name pieces as the stage reads them in these frames (1280x720)
    djokovic, wawrinka = Token("DJOKOVIC", 140, 624, 82, 25, 0.99), Token("WAWRINKA", 149, 650, 90, 27, 0.99)
    assert server_mark(frame, djokovic, wawrinka) == 0
    unmarked = frame.copy()
    unmarked[611:637, 120:147] = frame[637:663, 120:147]  # Wawrinka's row, which shows no mark, over Djokovic's
    assert server_mark(unmarked, djokovic, wawrinka) is None


def test_baseball_teams_batter_and_count(read: Callable[[Path], GraphicsResult], video_dir: Path) -> None:
    result = read(video_dir / "baseball_mlb_pitch_7s.mp4")
    assert {"LAD", "MIL"} <= names(result)
    assert "AGUILAR" in names(result, "batter")
    state = next(s for s in result.states if s.sides[0].name == "LAD")
    assert (state.fields.get("balls"), state.fields.get("strikes")) == (1, 2)
    assert state.fields.get("pitch_count") == 60
    assert (state.period, state.half) == (4, "bottom")  # "4" between the rows, its lower arrow lit
    assert {n.team for n in result.names if n.name == "AGUILAR"} == {"MIL"}  # the home team bats in the bottom
    assert not names(result) & {"AMERICAN FAMILY INSURANCE", "USBANK", "DISCOUNT DAYS"}  # boards are no names


def test_basketball_clock_falls_about_one_second_per_second(
    read: Callable[[Path], GraphicsResult], video_dir: Path
) -> None:
    result = read(video_dir / "basketball_nba_broadcast_5s.mp4")
    clocked = [s for s in result.states if s.clock_s is not None]
    assert len(clocked) >= 3
    elapsed_s = (clocked[-1].time_ms - clocked[0].time_ms) / 1000
    fallen_s = clocked[0].clock_s - clocked[-1].clock_s  # type: ignore[operator]
    assert elapsed_s >= 2
    assert fallen_s == pytest.approx(elapsed_s, abs=1.5)
    assert 11 * 60 + 10 <= clocked[0].clock_s <= 11 * 60 + 15  # the bug shows 11:15 at the start, never 1:15
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states} == {(2, 2)}
    assert {s.period for s in result.states} <= {1, None}  # "1ST" where read
    assert not names(result) & {"FOLLOWME", "FOLLOW ME", "SUBSCRIBE"}  # captions beside the bug


def test_soccer_teams_score_and_elapsed_clock(read: Callable[[Path], GraphicsResult], video_dir: Path) -> None:
    # The bug shows the three-letter codes; "Real Madrid" / "Sevilla FC" appear on screen only in the
    # "#RealMadridSevillaFC" caption (never a name) and in a line-up graphic cut away by the edit list.
    result = read(video_dir / "soccer_laliga_wide_21s.mp4")
    assert {"RMA", "SEV"} <= names(result)
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states} == {(0, 0)}
    clocks = [s.clock_s for s in result.states if s.clock_s is not None]
    assert clocks and clocks == sorted(clocks)  # soccer's clock counts up
    assert not any("SEVILLAFC" in n.replace(" ", "") for n in names(result))


def test_reading_only_changed_lines_gives_the_states_of_reading_every_line(
    read: Callable[[Path], GraphicsResult], ocr: OcrEngine, video_dir: Path
) -> None:
    # NBA's clock runs: its line changes every second while the rest of the bug stays; with a change threshold of 0
    # every line of every sample is recognised again.
    path = video_dir / "basketball_nba_broadcast_5s.mp4"
    probe = probe_video(path)
    every_line = GraphicsParams(change_threshold=0.0)
    recognised = ocr.stats["recognize_crops"]
    frames = graphics_frames(path, width=probe.width, height=probe.height, params=every_line)
    slow = read_graphics(frames, ocr, every_line)
    assert ocr.stats["recognize_crops"] - recognised > 2 * slow.samples  # it did read every line each time
    fast = read(path)
    assert [(s.time_ms, s.sides, s.period, s.clock_s, s.fields) for s in fast.states] == [
        (s.time_ms, s.sides, s.period, s.clock_s, s.fields) for s in slow.states
    ]


@pytest.fixture(scope="module")
def change_of_broadcast(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """NBA's clip (its clock running) then ATP's hard-court clip (no clock), both at 1280x720: a cut to another game."""
    out = tmp_path_factory.mktemp("graphics") / "nba_then_tennis.mp4"
    sources = [video_dir / "basketball_nba_broadcast_5s.mp4", video_dir / "tennis_atp_hardcourt_5s.mp4"]
    scale = "scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:-1:-1,setsar=1,fps=30"
    graph = ";".join(f"[{i}:v]{scale}[v{i}]" for i in range(2)) + ";[v0][v1]concat=n=2:v=1[out]"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *(a for p in sources for a in ("-i", str(p))), "-filter_complex", graph,
         "-map", "[out]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_a_game_clock_is_not_carried_over_to_another_broadcast(
    read: Callable[[Path], GraphicsResult], change_of_broadcast: Path
) -> None:
    result = read(change_of_broadcast)
    nba = [s for s in result.states if s.sides[0].name != "DJOKOVIC"]
    tennis = [s for s in result.states if s.sides[0].name == "DJOKOVIC"]
    assert any(s.clock_s is not None for s in nba)  # the NBA clock was read ...
    assert tennis and all(s.clock_s is None for s in tennis)  # ... and tennis shows none


def test_practice_video_has_no_states(read: Callable[[Path], GraphicsResult], video_dir: Path) -> None:
    result = read(video_dir / "basketball_practice_shots_51s.mp4")
    assert result.states == [] and result.events == [] and result.names == []
    assert result.samples >= 100


@pytest.fixture(scope="module", params=["960x540 -b:v 400k", "1280x720 -crf 23"])
def reencoded_mlb(request: pytest.FixtureRequest, video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MLB clip re-encoded with ffmpeg at a lower resolution or bitrate (or scaled up, as the long benchmark input
    does)."""
    size, option, value = request.param.split()
    out = tmp_path_factory.mktemp("reencoded") / f"mlb_{size}_{value}.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(video_dir / "baseball_mlb_pitch_7s.mp4"), "-vf",
         f"scale={size.replace('x', ':')}", "-c:v", "libx264", "-preset", "veryfast", option, value, "-an", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_reencoded_mlb_copies_are_read(read: Callable[[Path], GraphicsResult], reencoded_mlb: Path) -> None:
    result = read(reencoded_mlb)
    assert {"LAD", "MIL"} <= names(result)
    assert any((s.fields.get("balls"), s.fields.get("strikes")) == (1, 2) for s in result.states)
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states if s.sides[0].name == "LAD"} == {(0, 0)}


@pytest.fixture(scope="module")
def score_change_video(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of real footage with a drawn bug "LAD 0 / MIL 0" whose LAD score becomes 1 at ``CHANGE_S``."""
    if not FONT.exists() or shutil.which("ffmpeg") is None:
        pytest.fail(f"the constructed video needs ffmpeg and {FONT} (apt-get install fonts-dejavu-core)")
    out = tmp_path_factory.mktemp("graphics") / "score_change.mp4"
    text = f"fontfile={FONT}:fontsize=30:fontcolor=white"
    before, after = f"enable='lt(t,{CHANGE_S})'", f"enable='gte(t,{CHANGE_S})'"
    overlays = [
        "drawbox=x=900:y=560:w=300:h=110:color=black@0.85:t=fill",
        f"drawtext={text}:x=920:y=575:text='LAD'",
        f"drawtext={text}:x=920:y=625:text='MIL'",
        f"drawtext={text}:x=1100:y=575:text='0':{before}",
        f"drawtext={text}:x=1100:y=575:text='1':{after}",
        f"drawtext={text}:x=1100:y=625:text='0'",
    ]
    return _drawn_on_footage(video_dir, overlays, out)


def _drawn_on_footage(video_dir: Path, overlays: list[str], out: Path, seconds: float = 12) -> Path:
    """``seconds`` of the shared practice footage (a static camera) at 1280x720 with ffmpeg ``overlays``
    (drawbox/drawtext filters) drawn."""
    source = video_dir / "basketball_practice_shots_51s.mp4"
    vf = ",".join(["scale=1280:720", *overlays])
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-t", str(seconds), "-vf", vf, "-an", "-c:v", "libx264",
         "-preset", "veryfast", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_constructed_score_change_is_one_event_within_a_second(
    read: Callable[[Path], GraphicsResult], score_change_video: Path
) -> None:
    result = read(score_change_video)
    assert len(result.events) == 1
    event = result.events[0]
    assert (event.side, event.points, event.score) == (0, 1, (1, 0))
    assert abs(event.time_ms / 1000 - CHANGE_S) <= 1.0
    assert [(s.sides[0].score, s.sides[1].score) for s in result.states if s.sides[0].name == "LAD"] == [
        (0, 0),
        (1, 0),
    ]
    assert result.bug_spans is not None and len(result.bug_spans) == 1  # on screen throughout
    start, end = result.bug_spans[0]
    assert start <= 2000 and end >= 11_000


@pytest.fixture(scope="module")
def bug_cut_away_video(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of real footage with a drawn bug "LAD 0 / MIL 0" hidden from 4 s to 7 s (a cut to a replay)."""
    out = tmp_path_factory.mktemp("graphics") / "cut_away.mp4"
    shown = "enable='lt(t,4)+gte(t,7)'"
    text = f"fontfile={FONT}:fontsize=30:fontcolor=white:{shown}"
    overlays = [
        f"drawbox=x=900:y=560:w=300:h=110:color=black@0.85:t=fill:{shown}",
        *(f"drawtext={text}:x={x}:y={y}:text='{t}'" for x, y, t in [(920, 575, "LAD"), (920, 625, "MIL")]),
        *(f"drawtext={text}:x=1100:y={y}:text='0'" for y in (575, 625)),
    ]
    return _drawn_on_footage(video_dir, overlays, out)


def test_a_bug_back_after_a_cut_is_read_again_without_a_search(ocr: OcrEngine, bug_cut_away_video: Path) -> None:
    probe = probe_video(bug_cut_away_video)
    params = GraphicsParams()
    detections_when_back: list[float] = []

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        size = {"width": probe.width, "height": probe.height}
        for time_ms, frame in graphics_frames(bug_cut_away_video, **size, params=params):
            if time_ms >= 7000 and not detections_when_back:
                detections_when_back.append(ocr.stats["detect_calls"])
            yield time_ms, frame

    result = read_graphics(frames(), ocr, params)
    assert ocr.stats["detect_calls"] == detections_when_back[0]  # recognised in place: no text detection
    assert any(n.start_ms <= 1500 and n.end_ms >= 11_000 for n in result.names if n.name == "LAD")


LATE_BUG_S = 20.0  # when the bug of the late-bug video appears


@pytest.fixture(scope="module")
def late_bug_video(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of a static shot (the practice footage, searched in vain from the start) whose drawn bug "LAD 0 / MIL 0"
    appears only at ``LATE_BUG_S``: a broadcast back from a long cut-away, or a bug shown late."""
    shown = f"enable='gte(t,{LATE_BUG_S})'"
    text = f"fontfile={FONT}:fontsize=30:fontcolor=white:{shown}"
    overlays = [
        f"drawbox=x=900:y=560:w=300:h=110:color=black@0.85:t=fill:{shown}",
        *(f"drawtext={text}:x={x}:y={y}:text='{t}'" for x, y, t in [(920, 575, "LAD"), (920, 625, "MIL")]),
        *(f"drawtext={text}:x=1100:y={y}:text='0'" for y in (575, 625)),
    ]
    return _drawn_on_footage(video_dir, overlays, tmp_path_factory.mktemp("graphics") / "late_bug.mp4", seconds=40)


def test_a_bug_appearing_late_over_a_shot_searched_in_vain_is_found_within_the_back_off(
    read: Callable[[Path], GraphicsResult], late_bug_video: Path
) -> None:
    result = read(late_bug_video)
    first = min(s.time_ms for s in result.states if (s.sides[0].name, s.sides[1].name) == ("LAD", "MIL")) / 1000
    # the next search after it appears, at most redetect_s later; its probe spans one second
    assert LATE_BUG_S <= first <= LATE_BUG_S + GraphicsParams().redetect_s + 1.0
    assert {(s.sides[0].score, s.sides[1].score) for s in result.states} == {(0, 0)}


@pytest.fixture(scope="module")
def boards_after_a_bug_video(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of the practice footage (no bug: its wall and boards are searched in vain), the hard-court tennis clip (a
    bug found), then the same 6 s of practice footage again, all at 1280x720."""
    out = tmp_path_factory.mktemp("graphics") / "boards_after_a_bug.mp4"
    part = "scale=1280:720,setsar=1,fps=30,setpts=PTS-STARTPTS"
    graph = f"[0:v]trim=0:6,{part}[a];[1:v]{part}[b];[2:v]trim=0:6,{part}[c];[a][b][c]concat=n=3:v=1:a=0[v]"
    practice, tennis = video_dir / "basketball_practice_shots_51s.mp4", video_dir / "tennis_atp_hardcourt_5s.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(practice), "-i", str(tennis), "-i", str(practice),
         "-filter_complex", graph, "-map", "[v]", "-an", "-c:v", "libx264", "-preset", "veryfast", str(out)],
        check=True,
    )  # fmt: skip
    return out


def test_boards_searched_in_vain_are_not_searched_again_after_a_cut(
    ocr: OcrEngine, boards_after_a_bug_video: Path
) -> None:
    probe = probe_video(boards_after_a_bug_video)
    params = GraphicsParams()
    pixels: dict[str, float] = {}  # detection work (pixels passed to the detector) when each part starts

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        size = {"width": probe.width, "height": probe.height}
        for time_ms, frame in graphics_frames(boards_after_a_bug_video, **size, params=params):
            part = "practice" if time_ms < 6000 else "tennis" if time_ms < probe.duration_s * 1000 - 6000 else "again"
            pixels.setdefault(part, ocr.stats["detect_pixels"])
            yield time_ms, frame

    start = ocr.stats["detect_pixels"]
    result = read_graphics(frames(), ocr, params)
    assert {"DJOKOVIC", "WAWRINKA"} <= names(result)  # the bug between was found
    first, again = pixels["tennis"] - start, ocr.stats["detect_pixels"] - pixels["again"]
    assert first >= 1280 * 600  # the static shot was searched, whole
    assert again < 0.25 * first  # back after the cut: only edges not seen before (players moved), not the shot


def test_frames_are_sampled_at_the_rate_and_short_side(video_dir: Path) -> None:
    path = video_dir / "tennis_atp_hardcourt_5s.mp4"
    probe = probe_video(path)
    frames = list(graphics_frames(path, width=probe.width, height=probe.height, params=GraphicsParams()))
    times = np.array([t for t, _ in frames])
    assert np.allclose(np.diff(times), 500)
    assert len(frames) == pytest.approx(probe.duration_s * 2, abs=1.5)
    assert frames[0][1].shape == (720, 1280, 3) and frames[0][1].dtype == np.uint8


def test_undecodable_file_is_a_corrupt_video_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(CorruptVideoError):
        list(graphics_frames(bad, width=640, height=360, params=GraphicsParams()))
