"""Backfill throughput and worker memory on one ingest worker; prints one JSON line.

Builds ``--files`` distinct files (the shared short clips re-muxed with a different container
comment, so every file is new content), starts a private Redis and one worker with the compose
file's command line, runs ``manage.py backfill`` over them and samples the worker's resident
memory (main process + pool children, from /proc) while it works. Figures:

  * ``files_per_min`` and ``video_s_per_wall_s`` (real-time factor) from the first job started to
    the last one finished;
  * ``rss_mb_at_file_20`` and ``rss_mb_at_last_file``: the median resident memory (main process +
    pool children, sampled each second) while files 11-20 and the last 10 files finished;
    ``rss_growth_pct`` compares them (target: under 5 %). Each window spans a whole pool child's
    life (50 tasks, 8⅓ files), and the median follows a leak while ignoring the second-long peaks of
    one file's decode buffers, which differ by content: ``rss_peak_mb_*`` give those peaks;
    ``main_rss_mb_*`` the main process alone (median).

Usage (about 10 minutes on 2 cores)::

    .venv/bin/python benchmarks/backfill.py [--files 200] [--max-tasks-per-child 50]

Files are cached under ``var/bench/backfill/``; the database is ``highlights_bench_backfill`` on
the embedded server (dropped and recreated each run; DATABASE_URL must be unset).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import django
import psycopg

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))
SOURCES = [
    "basketball_nba_broadcast_5s.mp4",
    "tennis_atp_hardcourt_5s.mp4",
    "tennis_atp_clay_6s.mp4",
    "baseball_mlb_pitch_7s.mp4",
    "walking_plaza_5s.mp4",
]
DB_NAME = "highlights_bench_backfill"


def build_files(count: int) -> Path:
    """``count`` distinct files in ``var/bench/backfill`` made from the shared clips by stream copy."""
    folder = ROOT / "var" / "bench" / "backfill"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        out = folder / f"file_{i:04d}.mp4"
        if not out.exists():
            source = SHARED / "data" / "video" / SOURCES[i % len(SOURCES)]
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy", "-metadata", f"comment=bench {i}",
                 str(out)],
                check=True,
            )  # fmt: skip
    return folder


def rss_mb(pid: int) -> float:
    """Resident memory of one process, MiB (Linux /proc); 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except FileNotFoundError:
        pass
    return 0.0


def worker_rss_mb(pid: int) -> tuple[float, float]:
    """``(main, children)``: resident memory of a worker's main process and of its pool children, MiB."""
    try:
        children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return 0.0, 0.0
    return rss_mb(pid), sum(rss_mb(child) for child in children)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--max-tasks-per-child", type=int, default=50, help="0: never recycle pool children")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--samples", type=Path, help="also write every sample as CSV: seconds, files finished, MiB")
    args = parser.parse_args()
    if os.environ.get("DATABASE_URL"):
        parser.error("the benchmark drops and recreates its database on the embedded server: unset DATABASE_URL")

    folder = build_files(args.files)
    video_s = sum(
        float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                              str(SHARED / "data" / "video" / SOURCES[i % len(SOURCES)])],
                             capture_output=True, text=True, check=True).stdout)
        for i in range(args.files)
    )  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="hl-bench-backfill-"))
    port = free_port()
    env = {
        **os.environ,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0",
        "HL_EMBEDDED_DB_NAME": DB_NAME,
        "HL_INDEX_DIR": str(tmp / "index"),
        "HL_WORK_DIR": str(tmp / "work"),
        "HL_MEDIA_DIR": str(tmp / "media"),
        "HL_ARCHIVE_ROOTS": str(folder),
        "HL_WEIGHTS_DIR": os.environ.get("HL_WEIGHTS_DIR", str(SHARED / "weights")),
        "HL_MAX_TASKS_PER_CHILD": str(args.max_tasks_per_child),
    }
    os.environ.update(env, DJANGO_SETTINGS_MODULE="highlights.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Max, Min

    from highlights.embedded_postgres.base import ensure_server
    from highlights.models import IndexJob

    def command_json(*argv: str) -> dict:
        out = StringIO()
        call_command(*argv, "--json", stdout=out)
        return json.loads(out.getvalue())

    server = ensure_server(Path(settings.DATABASES["default"]["PGDATA"]))
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    call_command("migrate", "--noinput", verbosity=0)
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )
    worker = None
    try:
        time.sleep(0.5)
        worker_cmd = [str(Path(sys.executable).with_name("celery")), "-A", "highlights", "worker", "-Q", "ingest",
                      "-c", "1", "--prefetch-multiplier", "1", "-n", "bench@%h", "-l", "WARNING"]  # fmt: skip
        worker = subprocess.Popen(worker_cmd, cwd=ROOT, env=env, stdout=(tmp / "worker.log").open("wb"), stderr=-2)
        report = command_json("backfill", str(folder), "--priority", "low")
        assert len(report["enqueued"]) == args.files, report
        samples: list[tuple[float, int, float, float]] = []  # (s, files finished, main MiB, children MiB)
        start = time.monotonic()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            status = command_json("backfill_status")
            finished = status["done"] + status["failed"]
            samples.append((round(time.monotonic() - start, 1), finished, *worker_rss_mb(worker.pid)))
            if finished >= args.files:
                break
            time.sleep(1.0)
        span = IndexJob.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
    finally:
        if worker:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    wall_s = (span["last"] - span["first"]).total_seconds()
    if args.samples:
        args.samples.write_text(
            "seconds,files_finished,main_mb,children_mb\n" + "".join(",".join(map(str, s)) + "\n" for s in samples)
        )

    def rss(first: int, last: int, part: slice = slice(2, 4), of: Callable = statistics.median) -> float:
        return of([sum(s[part]) for s in samples if first <= s[1] <= last] or [0.0])

    early, late = (11, 20), (args.files - 9, args.files)
    rss_early, rss_late = rss(*early), rss(*late)
    print(
        json.dumps(
            {
                "files": args.files,
                "done": status["done"],
                "failed": status["failed"],
                "video_s": round(video_s, 1),
                "wall_s": round(wall_s, 1),
                "files_per_min": round(args.files / wall_s * 60.0, 2),
                "video_s_per_wall_s": round(video_s / wall_s, 3),
                "rss_mb_at_file_20": round(rss_early, 1),
                "rss_mb_at_last_file": round(rss_late, 1),
                "rss_growth_pct": round((rss_late - rss_early) / rss_early * 100.0, 2) if rss_early else None,
                "rss_peak_mb_at_file_20": round(rss(*early, of=max), 1),
                "rss_peak_mb_at_last_file": round(rss(*late, of=max), 1),
                "main_rss_mb_at_file_20": round(rss(*early, slice(2, 3)), 1),
                "main_rss_mb_at_last_file": round(rss(*late, slice(2, 3)), 1),
                "max_tasks_per_child": args.max_tasks_per_child,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
