"""Indexing speed on a long 720p input built from the shared clips; prints one JSON line.

Figures, measured side by side in one run:
  * ``index_rtf``: video seconds indexed per wall second by the whole pipeline (probe, decode,
    action model, audio, motion, shots, clips, FAISS, thumbnails), model already loaded;
  * ``decode_rtf``: the same file decoded alone at the pipeline's sampling settings;
  * ``ratio``: index_rtf / decode_rtf (1.0 would mean the model and the rest cost nothing);
  * ``model_s_per_window``: the action model alone on batches of real windows of the same file
    (preprocessing included, nothing else running), median of ``--model-batches`` batches;
  * ``pipeline_s_per_window``: the ``analyse`` step (decode, model, audio, motion, shots, keyframes)
    per window, and ``overhead`` = pipeline / model (1.0: nothing but the model costs time);
  * ``index_s_per_window``: the whole indexing job per window;
  * ``precision``, ``device``, ``torch_threads``: where and how the model ran (``HL_PRECISION``,
    ``HL_DEVICE``, ``HL_TORCH_THREADS``);
  * ``fp32_agreement``: on the shared clips, how many keep fp32's top-1 video label at the run's
    precision, and the largest change of a video-label probability (null when the run is fp32);
  * ``graphics_added``: wall seconds of the ``graphics`` step (score-bug OCR and its rows) over those of
    every other step: the share it adds to indexing time (issue #12's budget: at most 0.15);
  * ``peak_rss_mb``: peak resident memory of this process.

With ``--graphics-only`` it runs the ``graphics`` step's stage alone on the same input (its own ffmpeg decode and
the OCR, as the pipeline runs it, without storing rows) and prints ``stage_s.graphics``, the CPU seconds of this
process, the OCR calls (``ocr``: detection and recognition calls, crops recognised) and what was read: a quick
check of the step's cost that needs no action model and no database.

Usage (a few minutes on 2 cores)::

    ./dev demo >/dev/null   # once, for the virtualenv and weights
    .venv/bin/python benchmarks/index_speed.py [--minutes 5] [--height 720] [--model-batches 5] [--graphics-only]
    HL_PRECISION=bf16 .venv/bin/python benchmarks/index_speed.py   # another precision (see ml/device.py)

The input is cached under ``var/bench/``. Runs in local mode against its own database
(``highlights_bench`` on the embedded server unless DATABASE_URL is set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))
SOURCES = [
    "soccer_laliga_wide_21s.mp4",
    "basketball_nba_broadcast_5s.mp4",
    "tennis_atp_hardcourt_5s.mp4",
    "baseball_mlb_pitch_7s.mp4",
    "basketball_practice_shots_51s.mp4",
    "tennis_atp_clay_6s.mp4",
]


def build_long_video(minutes: float, height: int) -> Path:
    """Concatenate the shared clips (re-encoded to one size, 30 fps, AAC) until ``minutes`` long."""
    out = ROOT / "var" / "bench" / f"long_{minutes:g}min_{height}p.mp4"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    width = round(height * 16 / 9 / 2) * 2
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for name in SOURCES:
            part = Path(tmp) / name
            vf = f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:-1:-1,fps=30"
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-i", str(SHARED / "data" / "video" / name), "-vf", vf,
                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-ar", "44100", "-ac", "2",
                 str(part)],
                check=True,
            )  # fmt: skip
            parts.append(part)
        total = sum(float(_duration(p)) for p in parts)
        repeats = int(minutes * 60 // total) + 1
        listing = Path(tmp) / "list.txt"
        listing.write_text("".join(f"file '{p}'\n" for _ in range(repeats) for p in parts))
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-t", str(minutes * 60),
             "-c", "copy", "-movflags", "+faststart", str(out)],
            check=True,
        )  # fmt: skip
    return out


def _duration(path: Path) -> str:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def model_seconds_per_window(recognizer: object, video: Path, probe: object, batches: int) -> float:
    """Median seconds per window of the action model alone on batches of the video's own first windows."""
    from django.conf import settings

    from indexer import runtime
    from indexer.stages.frames import FrameSampler

    window, size = settings.HL_WINDOW_FRAMES, settings.HL_BATCH_WINDOWS
    sampler = FrameSampler(
        video, width=probe.width, height=probe.height, sample_fps=settings.HL_SAMPLE_FPS,
        short_side=runtime.decode_short_side(), batch_size=window * size,
    )  # fmt: skip
    frames = next(iter(sampler)).frames
    clips = frames[: window * size].reshape(size, window, *frames.shape[1:])
    recognizer(clips)  # warm-up: oneDNN picks its kernels on the first call
    seconds = []
    for _ in range(batches):
        started = time.perf_counter()
        recognizer(clips)
        seconds.append((time.perf_counter() - started) / size)
    return statistics.median(seconds)


def fp32_agreement(recognizer: object) -> dict | None:
    """Top-1 video labels of the shared clips at the run's precision against float32 (None for an fp32 run)."""
    from indexer import artifacts, runtime
    from indexer.stages.analysis import analyse_video
    from indexer.stages.probe import probe_video
    from ml.device import Placement
    from ml.recognizer import ActionRecognizer

    placement = runtime.placement()
    if placement.precision == "fp32":
        return None
    reference = ActionRecognizer(
        recognizer.model, recognizer.weights, crop_size=recognizer.crop_size, placement=Placement(placement.device)
    )
    params = artifacts.analysis_params()
    same, largest, clips = 0, 0.0, sorted((SHARED / "data" / "video").glob("*.mp4"))
    for path in clips:
        probe = probe_video(path)
        ours = analyse_video(path, probe, recognizer, params).probs.mean(axis=0)
        theirs = analyse_video(path, probe, reference, params).probs.mean(axis=0)
        same += int(ours.argmax() == theirs.argmax())
        largest = max(largest, float(abs(ours - theirs).max()))
    return {"clips": len(clips), "same_top1": same, "max_prob_change": round(largest, 4)}


def graphics_only(video: Path) -> dict:
    """The ``graphics`` step's stage alone on ``video`` with the pipeline's settings: seconds, OCR calls, readings."""
    from indexer import artifacts, runtime
    from indexer.stages.graphics import graphics_frames, read_graphics
    from indexer.stages.probe import probe_video

    probe = probe_video(video)
    params = artifacts.graphics_params()
    ocr = runtime.ocr_engine()
    started, cpu = time.perf_counter(), time.process_time()
    result = read_graphics(graphics_frames(video, width=probe.width, height=probe.height, params=params), ocr, params)
    return {
        "benchmark": "index_speed",
        "graphics_only": True,
        "video_s": round(probe.duration_s, 1),
        "height": probe.height,
        "stage_s": {"graphics": round(time.perf_counter() - started, 2)},
        "graphics_cpu_s": round(time.process_time() - cpu, 2),
        "ocr": {key: round(value, 2) for key, value in ocr.stats.items()},
        "samples": result.samples,
        "states": len(result.states),
        "names": sorted({n.name for n in result.names}),
        "cpu": platform.processor() or platform.machine(),
        "threads": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--model-batches", type=int, default=5, help="batches timed for the model alone")
    parser.add_argument("--graphics-only", action="store_true", help="time the graphics step's stage alone")
    args = parser.parse_args()
    video = build_long_video(args.minutes, args.height)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
    os.environ.setdefault("HL_EMBEDDED_DB_NAME", "highlights_bench")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    bench_var = Path(tempfile.mkdtemp(prefix="hl-bench-"))
    for name in ("HL_INDEX_DIR", "HL_WORK_DIR", "HL_MEDIA_DIR"):
        os.environ[name] = str(bench_var / name.lower())
    import django

    django.setup()
    if args.graphics_only:
        print(json.dumps(graphics_only(video)))
        return
    import torch
    from django.conf import settings
    from django.core.management import call_command

    from highlights import dispatch
    from highlights.models import Game, IndexJob
    from highlights.services import create_index_job
    from indexer import runtime
    from indexer.stages.frames import FrameSampler, window_starts
    from indexer.stages.probe import probe_video

    call_command("migrate", verbosity=0)
    Game.objects.filter(source_path=str(video)).delete()  # re-index from scratch
    probe = probe_video(video)
    recognizer = runtime.action_recognizer()  # load once, as a warm worker would
    placement = runtime.placement()

    started = time.perf_counter()
    frames = sum(
        len(batch.frames)
        for batch in FrameSampler(
            video,
            width=probe.width,
            height=probe.height,
            sample_fps=settings.HL_SAMPLE_FPS,
            short_side=runtime.decode_short_side(),
        )
    )
    decode_s = time.perf_counter() - started
    model_s = model_seconds_per_window(recognizer, video, probe, args.model_batches)

    started = time.perf_counter()
    job = create_index_job(video)
    dispatch.index_job(job)  # local mode: the pipeline runs here
    index_s = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != IndexJob.Status.SUCCEEDED:
        raise SystemExit(f"indexing failed: {job.error}")
    windows = len(window_starts(frames, settings.HL_WINDOW_FRAMES, settings.HL_WINDOW_OVERLAP))
    pipeline_s = job.timings["analyse"] / windows
    graphics_s = float(job.timings.get("graphics", 0.0))

    print(
        json.dumps(
            {
                "benchmark": "index_speed",
                "video_s": round(probe.duration_s, 1),
                "height": probe.height,
                "model": runtime.model_weights().version,
                "sample_fps": settings.HL_SAMPLE_FPS,
                "window_frames": settings.HL_WINDOW_FRAMES,
                "overlap": settings.HL_WINDOW_OVERLAP,
                "input_size": settings.HL_INPUT_SIZE,
                "sampled_frames": frames,
                "clips": Game.objects.get(pk=job.game_id).clips.count(),
                "decode_rtf": round(probe.duration_s / decode_s, 2),
                "index_rtf": round(probe.duration_s / index_s, 2),
                "ratio": round(decode_s / index_s, 3),
                "stage_s": job.timings,
                "windows": windows,
                "model_s_per_window": round(model_s, 3),
                "pipeline_s_per_window": round(pipeline_s, 3),
                "overhead": round(pipeline_s / model_s, 2),
                "index_s_per_window": round(index_s / windows, 3),
                "precision": placement.precision,
                "device": str(placement.device),
                "torch_threads": torch.get_num_threads(),
                "fp32_agreement": fp32_agreement(recognizer),
                "graphics_added": round(graphics_s / max(index_s - graphics_s, 1e-9), 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "cpu": platform.processor() or platform.machine(),
                "threads": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
