"""The face step's decode, old path beside new, on the clips of the indexing benchmark; prints one JSON line.

Both paths run the real scan (:func:`indexer.stages.faces.scan_span` with dlib's detector, so the
adaptive sampling decides as it does in the pipeline) over the same clips, one after the other in
one process:

  * ``random``: decord, one frame per request (``FaceFrames(sparse=False)``, the path before issue
    #14): decord decodes every frame from its position, or from the keyframe before the request;
  * ``sparse``: PyAV (``FaceFrames(sparse=True)``): only the reference frames before each requested
    frame are decoded, and a keyframe ahead is sought (:class:`indexer.stages.decode.PyAVReader`).

Figures per path: ``samples`` (frames analysed), ``wall_s`` and ``cpu_s`` (process CPU, all threads)
of the whole scan, opening the file included; ``detect_cpu_s`` (CPU of the calling thread inside
``detect_and_describe``: dlib's detection, landmarks and descriptors); ``decode_cpu_s`` = cpu_s -
detect_cpu_s and ``decode_cpu_per_sample_s``; ``tracks``, ``faces``. Then ``sparse_threaded``: the
pipeline's own scan (:func:`indexer.stages.faces.scan_spans`, ``HL_FACE_THREADS`` shares at once, one
decoder thread each): ``samples``, ``wall_s``, ``cpu_s``. Across paths:
``decode_cpu_ratio`` (sparse over random, per sample), ``same_times`` (share of samples whose frame
has the same presentation time on both paths, within 1 ms) and ``same_tracks`` (the same tracks on
every path: count, faces and first/last face times).

Measured on the 2-core machine under load (load average 10; CPU seconds are the steady figure): decode
CPU per sample 0.112 s (random) against 0.044 s (sparse, 2 decoder threads; ratio 0.39), the threaded
scan 20.9 s CPU for the step against 48.0 s; 341 samples each, no face on this input, and 340 of the 341
on the same frame: at 16.2 s decord's float32 timestamp of the frame shown from 16.2 s reads 16.2000007,
so decord takes the frame before it.

Usage (after ``benchmarks/index_speed.py`` has indexed its input: its clips are read back)::

    .venv/bin/python benchmarks/face_decode.py [--minutes 5] [--height 720] [--threads 2]

Reads the ``highlights_bench`` database on the embedded server unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))


class _Recorded:
    """``FaceFrames`` that notes the presentation time of every frame it returns."""

    def __init__(self, frames: object) -> None:
        self.frames = frames
        self.scale = frames.scale  # type: ignore[attr-defined]
        self.picked: list[float] = []

    def at(self, time_s: float) -> np.ndarray | None:
        from indexer.stages.frames import shown_at

        frame = self.frames.at(time_s)  # type: ignore[attr-defined]
        if frame is not None:
            self.picked.append(float(self.frames.times_s[shown_at(self.frames.times_s, time_s)]))  # type: ignore[attr-defined]
        return frame


def scan(path: Path, size: tuple[int, int], spans_s: list[tuple[float, float]], *, sparse: bool, threads: int) -> dict:
    """Scan every span with the pipeline's settings: costs, the sampled frames' times, track summaries."""

    from indexer import runtime
    from indexer.stages.faces import FaceFrames, scan_span

    recognizer = runtime.face_recognizer()
    params = runtime.face_scan_params()
    detect_cpu = 0.0

    def analyze(frame: np.ndarray) -> list:
        nonlocal detect_cpu
        started = time.thread_time()
        found = recognizer.detect_and_describe(frame)
        detect_cpu += time.thread_time() - started
        return found

    wall, cpu = time.perf_counter(), time.process_time()
    width, height = size
    frames = _Recorded(
        FaceFrames(path, width=width, height=height, short_side=params.short_side, num_threads=threads, sparse=sparse)
    )
    tracks, faces = [], 0
    for start_s, end_s in spans_s:
        found, stats = scan_span(frames, start_s, end_s, analyze, params)  # type: ignore[arg-type]
        tracks += [(len(track.faces), track.start_ms, track.end_ms) for track in found]
        faces += stats.faces
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    samples = len(frames.picked)
    return {
        "samples": samples,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "detect_cpu_s": round(detect_cpu, 2),
        "decode_cpu_s": round(cpu - detect_cpu, 2),
        "decode_cpu_per_sample_s": round((cpu - detect_cpu) / max(1, samples), 4),
        "tracks": len(tracks),
        "faces": faces,
        "picked": frames.picked,
        "track_list": tracks,
    }


def scan_threaded(path: Path, size: tuple[int, int], spans_s: list[tuple[float, float]]) -> dict:
    """The pipeline's scan: ``scan_spans`` with ``HL_FACE_THREADS`` threads (sparse decode, one decoder thread each)."""
    from django.conf import settings

    from indexer import runtime
    from indexer.stages.faces import scan_spans

    params = runtime.face_scan_params()
    analyzers = [runtime.face_recognizer(n).detect_and_describe for n in range(max(1, settings.HL_FACE_THREADS))]
    wall, cpu = time.perf_counter(), time.process_time()
    scans = list(scan_spans(path, spans_s, analyzers, params, width=size[0], height=size[1]))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "threads": len(analyzers),
        "samples": sum(stats.frames for _, stats in scans),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "track_list": [(len(t.faces), t.start_ms, t.end_ms) for tracks, _ in scans for t in tracks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--threads", type=int, default=2, help="decoder threads (the pipeline's default: 2)")
    args = parser.parse_args()
    video = ROOT / "var" / "bench" / f"long_{args.minutes:g}min_{args.height}p.mp4"

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
    os.environ.setdefault("HL_EMBEDDED_DB_NAME", "highlights_bench")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    os.environ.setdefault("HL_WEIGHTS_DIR", str(SHARED / "weights"))
    import django

    django.setup()
    from highlights.models import Game
    from indexer import runtime

    game = Game.objects.filter(source_path=str(video)).first()
    if game is None or not game.clips.exists():
        raise SystemExit(f"{video} is not indexed: run benchmarks/index_speed.py --minutes {args.minutes:g} first")
    spans_s = [(c.start_s, c.end_s) for c in game.clips.order_by("start_ms")]
    runtime.face_recognizer()  # loaded once, as in a warm worker
    size = (game.width or 0, game.height or 0)
    paths = {
        name: scan(video, size, spans_s, sparse=name == "sparse", threads=args.threads) for name in ("random", "sparse")
    }
    paths["sparse_threaded"] = scan_threaded(video, size, spans_s)
    old, new = paths["random"], paths["sparse"]
    same = sum(abs(a - b) < 1e-3 for a, b in zip(old.pop("picked"), new.pop("picked"), strict=False))
    same_tracks = old.pop("track_list") == new.pop("track_list") == paths["sparse_threaded"].pop("track_list")
    print(
        json.dumps(
            {
                "benchmark": "face_decode",
                "video_s": round(float(game.duration_s or 0.0), 1),
                "height": game.height,
                "clips": len(spans_s),
                "clip_s": round(sum(end - start for start, end in spans_s), 1),
                "decoder_threads": args.threads,
                **paths,
                "decode_cpu_ratio": round(
                    new["decode_cpu_per_sample_s"] / max(old["decode_cpu_per_sample_s"], 1e-9), 3
                ),
                "same_times": round(same / max(1, old["samples"]), 4),
                "same_tracks": same_tracks,
                "cpu": platform.processor() or platform.machine(),
                "threads": os.cpu_count(),
                "load_average": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
