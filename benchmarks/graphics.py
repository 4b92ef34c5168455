"""Graphics stage: OCR engine accuracy, cost per sample, frame-source cost, share of indexing; one JSON line.

Figures:
  * ``engines``: for RapidOCR (PP-OCRv4) and Tesseract 5 (Debian's ``tesseract`` CLI, ``--psm 11``), the share
    of expected names and of expected clock/count/score strings found in the same score-bug crops (three
    samples per broadcast clip, the bug box the stage found, enlarged 2x for both);
  * ``stage``: the stage end to end with the chosen engine on the shared clips: name accuracy (expected
    names among the name sightings) and score accuracy (clips whose states hold the expected score);
  * ``per_sample_s``: mean wall seconds per sample of the whole stage, per detection call, per recognition
    call and per recognised crop; ``stage_cpu`` is CPU seconds of this process per sample (all threads; the
    ffmpeg decode is another process), steadier than wall seconds on a shared machine;
  * ``long``: on the 5-minute input of ``benchmarks/index_speed.py``: the stage's seconds (its own decode
    included) and CPU seconds of this process, the analysis decode alone for reference, and with ``--index-s``
    (``index_speed.py``'s indexing wall seconds without graphics) the stage's share of indexing time (budget 0.15);
  * ``frame_sources`` (``--sources``): seconds to decode that input for OCR by each candidate.

Usage (minutes on 2 cores)::

    .venv/bin/python benchmarks/graphics.py [--index-s SECONDS] [--sources] [--skip-long]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))

from benchmarks.index_speed import build_long_video  # noqa: E402
from indexer.stages.frames import FrameSampler  # noqa: E402
from indexer.stages.graphics import GraphicsParams, graphics_frames, read_graphics  # noqa: E402
from indexer.stages.probe import probe_video  # noqa: E402
from ml.ocr import OcrEngine  # noqa: E402

# What the bug of each shared broadcast clip shows (read by eye; the item 8).
EXPECTED = {
    "tennis_atp_hardcourt_5s.mp4": {"names": ["DJOKOVIC", "WAWRINKA"], "strings": [r"DJOKOVIC", r"WAWRINKA"]},
    "baseball_mlb_pitch_7s.mp4": {"names": ["LAD", "MIL", "AGUILAR"], "strings": [r"1-2", r"60"], "score": (0, 0)},
    "basketball_nba_broadcast_5s.mp4": {"names": [], "strings": [r"11:1\d", r"1ST"], "score": (2, 2)},
    "soccer_laliga_wide_21s.mp4": {"names": ["RMA", "SEV"], "strings": [r"0[45]:\d\d"], "score": (0, 0)},
}


def tesseract_text(crop: np.ndarray) -> str:
    """Text Tesseract reads in an RGB crop (sparse-text mode)."""
    ok, png = cv2.imencode(".png", np.ascontiguousarray(crop[:, :, ::-1]))
    assert ok
    out = subprocess.run(["tesseract", "-", "-", "--psm", "11"], input=png.tobytes(), capture_output=True, check=True)
    return out.stdout.decode("utf-8", errors="replace")


def found(text: str, names: list[str], strings: list[str]) -> tuple[int, int]:
    flat = re.sub(r"\s+", "", text.upper())
    return sum(n in flat for n in names), sum(bool(re.search(s, flat)) for s in strings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-s", type=float, default=None, help="indexing wall seconds of the long input")
    parser.add_argument("--sources", action="store_true", help="also time the frame-source candidates")
    parser.add_argument("--skip-long", action="store_true", help="skip the 5-minute input")
    args = parser.parse_args()
    params = GraphicsParams()
    ocr = OcrEngine()
    has_tesseract = shutil.which("tesseract") is not None
    counts = {"rapidocr": [0, 0], "tesseract": [0, 0]}
    totals = [0, 0]
    stage_names = [0, 0]
    stage_scores = [0, 0]
    samples = 0
    stage_s = stage_cpu_s = 0.0
    for name, expected in EXPECTED.items():
        path = SHARED / "data" / "video" / name
        probe = probe_video(path)
        frames = list(graphics_frames(path, width=probe.width, height=probe.height, params=params))
        cpu_started = time.process_time()
        result = read_graphics(iter(frames), ocr, params)
        stage_cpu_s += time.process_time() - cpu_started
        samples += result.samples
        stage_s += result.seconds
        read_names = {n.name for n in result.names}
        stage_names[0] += sum(n in read_names for n in expected["names"])
        stage_names[1] += len(expected["names"])
        if "score" in expected:
            scores = {(s.sides[0].score, s.sides[1].score) for s in result.states}
            stage_scores[0] += expected["score"] in scores
            stage_scores[1] += 1
        if result.bug_box is None:
            totals[0] += 3 * len(expected["names"])
            totals[1] += 3 * len(expected["strings"])
            continue
        x, y, w, h = result.bug_box
        x0, y0 = max(0, x - h // 2), max(0, y - h // 2)
        times = [s.time_ms for s in result.states][:3] or [frames[len(frames) // 2][0]]
        by_time = dict(frames)
        for t in (times * 3)[:3]:
            crop = by_time[t][y0 : y + h + h // 2, x0 : x + w + h // 2]
            crop = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            totals[0] += len(expected["names"])
            totals[1] += len(expected["strings"])
            texts = {"rapidocr": " ".join(line.text for line in ocr.read(crop))}
            if has_tesseract:
                texts["tesseract"] = tesseract_text(crop)
            for engine, text in texts.items():
                n, s = found(text, expected["names"], expected["strings"])
                counts[engine][0] += n
                counts[engine][1] += s
    stats = dict(ocr.stats)
    figures: dict[str, object] = {
        "benchmark": "graphics",
        "engine": "rapidocr-onnxruntime==1.4.4 (PP-OCRv4 det+rec)",
        "engines": {
            engine: {
                "name_accuracy": round(c[0] / max(totals[0], 1), 3),
                "string_accuracy": round(c[1] / max(totals[1], 1), 3),
            }
            for engine, c in counts.items()
            if engine == "rapidocr" or has_tesseract
        },
        "stage": {
            "name_accuracy": round(stage_names[0] / max(stage_names[1], 1), 3),
            "score_accuracy": round(stage_scores[0] / max(stage_scores[1], 1), 3),
            "samples": samples,
        },
        "per_sample_s": {
            "stage": round(stage_s / max(samples, 1), 4),
            "stage_cpu": round(stage_cpu_s / max(samples, 1), 4),
            "detect_call": round(stats["detect_s"] / max(stats["detect_calls"], 1), 4),
            "recognize_call": round(stats["recognize_s"] / max(stats["recognize_calls"], 1), 4),
            "recognize_crop": round(stats["recognize_s"] / max(stats["recognize_crops"], 1), 4),
            "detect_calls_per_sample": round(stats["detect_calls"] / max(samples, 1), 3),
            "recognize_calls_per_sample": round(stats["recognize_calls"] / max(samples, 1), 3),
        },
    }
    if not args.skip_long:
        video = build_long_video(5, 720)
        probe = probe_video(video)
        started = time.perf_counter()
        sampled = sum(
            len(b.frames)
            for b in FrameSampler(video, width=probe.width, height=probe.height, sample_fps=5, short_side=256)
        )
        decode_s = time.perf_counter() - started
        long_ocr = OcrEngine()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = read_graphics(
            graphics_frames(video, width=probe.width, height=probe.height, params=params), long_ocr, params
        )
        long_stage_s, long_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        long = {
            "video_s": round(probe.duration_s, 1),
            "stage_s": round(long_stage_s, 2),
            "stage_cpu_s": round(long_cpu_s, 2),
            "stage_samples": result.samples,
            "stage_ocr_s": round(long_ocr.stats["detect_s"] + long_ocr.stats["recognize_s"], 2),
            "stage_states": len(result.states),
            "analysis_decode_s": round(decode_s, 2),
            "analysis_frames": sampled,
        }
        if args.index_s:
            long["stage_share_of_indexing"] = round(long_stage_s / args.index_s, 3)
        figures["long"] = long
        if args.sources:
            figures["frame_sources"] = frame_sources(video, probe.width, probe.height, params)
    print(json.dumps(figures))


def frame_sources(video: Path, width: int, height: int, params: GraphicsParams) -> dict[str, float]:
    """Seconds to get ``params.sample_fps`` OCR frames of ``video`` by each candidate way."""

    def timed(frames: object) -> float:
        started = time.perf_counter()
        for _ in frames:  # type: ignore[attr-defined]
            pass
        return round(time.perf_counter() - started, 2)

    def decord_reader(short_side: int, fps: float) -> object:
        return FrameSampler(video, width=width, height=height, sample_fps=fps, short_side=short_side, num_threads=1)

    return {
        "ffmpeg_noref_nodeblock": timed(graphics_frames(video, width=width, height=height, params=params)),
        "ffmpeg_all_frames_nodeblock": timed(
            graphics_frames(video, width=width, height=height, params=params, skip_nonref=False)
        ),
        "decord_second_reader_720": timed(decord_reader(params.short_side, params.sample_fps)),
        "decord_one_pass_720_for_both": timed(decord_reader(params.short_side, 5.0)),
    }


if __name__ == "__main__":
    main()
