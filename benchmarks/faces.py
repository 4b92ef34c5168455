"""Cost of the face stage on the shared footage; prints one JSON line.

Each shared clip is indexed from scratch (models already loaded, as in a warm worker) and the
pipeline's per-step wall times are read from its IndexJob. Figures:

  * ``faces_per_s``: face detections (with landmarks and descriptors) per second of face-stage time;
  * ``frames_per_s``: sampled frames analysed per second of face-stage time;
  * per video: ``faces_s`` (the face step), ``total_s`` (all steps), ``share`` = faces_s / total_s,
    ``slowdown`` = faces_s / (total_s - faces_s), i.e. how much slower indexing is with faces;
  * ``broadcast_slowdown``: the same over the broadcast clips together (target: at most 0.25).

Usage (a few minutes on 2 cores)::

    .venv/bin/python benchmarks/faces.py

Runs in local mode against its own database (``highlights_bench`` on the embedded server unless
DATABASE_URL is set) and private var folders.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))
BROADCAST = [
    "soccer_laliga_wide_21s.mp4",
    "basketball_nba_broadcast_5s.mp4",
    "tennis_atp_hardcourt_5s.mp4",
    "tennis_atp_clay_6s.mp4",
    "baseball_mlb_pitch_7s.mp4",
]
OTHER = ["basketball_practice_shots_51s.mp4", "press_conference_face_12s.mp4", "walking_plaza_5s.mp4"]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
    os.environ.setdefault("HL_EMBEDDED_DB_NAME", "highlights_bench")
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    os.environ.setdefault("HL_WEIGHTS_DIR", str(SHARED / "weights"))
    bench_var = Path(tempfile.mkdtemp(prefix="hl-bench-faces-"))
    for name in ("HL_INDEX_DIR", "HL_WORK_DIR", "HL_MEDIA_DIR"):
        os.environ[name] = str(bench_var / name.lower())
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Sum

    from highlights import dispatch
    from highlights.models import FaceScan, FaceTrack, Game, IndexJob
    from highlights.services import create_index_job
    from indexer import runtime
    from indexer.steps import STEP_NAMES

    call_command("migrate", verbosity=0)
    runtime.action_recognizer()
    runtime.face_recognizer()

    videos = {}
    for name in BROADCAST + OTHER:
        path = SHARED / "data" / "video" / name
        Game.objects.filter(source_path=str(path.resolve())).delete()
        job = create_index_job(path)
        dispatch.index_job(job)  # local mode: the pipeline runs here
        job.refresh_from_db()
        if job.status != IndexJob.Status.SUCCEEDED:
            raise SystemExit(f"indexing {name} failed: {job.error}")
        total = sum(job.timings[step] for step in STEP_NAMES)
        faces_s = job.timings["faces"]
        scans = FaceScan.objects.filter(clip__game_id=job.game_id).aggregate(frames=Sum("frames"), faces=Sum("faces"))
        videos[name] = {
            "total_s": round(total, 2),
            "faces_s": round(faces_s, 2),
            "share": round(faces_s / total, 3),
            "slowdown": round(faces_s / (total - faces_s), 3),
            "frames": scans["frames"] or 0,
            "faces": scans["faces"] or 0,
            "tracks": FaceTrack.objects.filter(game_id=job.game_id).count(),
        }

    face_time = sum(v["faces_s"] for v in videos.values())
    broadcast_faces = sum(videos[n]["faces_s"] for n in BROADCAST)
    broadcast_total = sum(videos[n]["total_s"] for n in BROADCAST)
    print(
        json.dumps(
            {
                "benchmark": "faces",
                "detector": settings.HL_FACE_DETECTOR,
                "short_side": settings.HL_FACE_SHORT_SIDE,
                "min_fps": settings.HL_FACE_MIN_FPS,
                "max_fps": settings.HL_FACE_MAX_FPS,
                "faces_per_s": round(sum(v["faces"] for v in videos.values()) / face_time, 2),
                "frames_per_s": round(sum(v["frames"] for v in videos.values()) / face_time, 2),
                "broadcast_share": round(broadcast_faces / broadcast_total, 3),
                "broadcast_slowdown": round(broadcast_faces / (broadcast_total - broadcast_faces), 3),
                "videos": videos,
                "cpu": platform.processor() or platform.machine(),
                "threads": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
