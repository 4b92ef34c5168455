"""Search API under load: 50 concurrent clients against gunicorn on loopback; prints one JSON line.

Indexes a few shared clips (local mode) into its own database, starts the web app with the
compose file's gunicorn command line on a free loopback port, and has ``--clients`` threads, each
with its own keep-alive connection, send ``GET /api/search/?q=...`` for ``--seconds``. Figures:
requests per second and latency p50/p95/p99 in milliseconds; any non-200 answer or connection
error counts in ``errors`` and makes the exit status 1.

Usage (about a minute on 2 cores)::

    .venv/bin/python benchmarks/search_load.py [--clients 50] [--seconds 20] [--gunicorn-workers 3]

The database is ``highlights_bench_search`` on the embedded server unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))
VIDEOS = ["tennis_atp_hardcourt_5s.mp4", "baseball_mlb_pitch_7s.mp4", "basketball_nba_broadcast_5s.mp4"]
QUERIES = ["tennis", "baseball", "playing tennis", "basketball", "hitting baseball", "rally"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client(port: int, stop_at: float, latencies: list[float], errors: list[str], seed: int) -> None:
    """One keep-alive client sending searches until ``stop_at`` (monotonic seconds)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = seed
    while time.monotonic() < stop_at:
        query = urllib.parse.urlencode({"q": QUERIES[i % len(QUERIES)]})
        i += 1
        started = time.perf_counter()
        try:
            conn.request("GET", f"/api/search/?{query}")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200 or b'"results"' not in body:
                errors.append(f"HTTP {response.status}")
                continue
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append(time.perf_counter() - started)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hl-bench-search-"))
    env = {
        **os.environ,
        "HL_EMBEDDED_DB_NAME": "highlights_bench_search",
        "HL_INDEX_DIR": str(tmp / "index"),
        "HL_WORK_DIR": str(tmp / "work"),
        "HL_MEDIA_DIR": str(tmp / "media"),
        "HL_WEIGHTS_DIR": os.environ.get("HL_WEIGHTS_DIR", str(SHARED / "weights")),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HL_API_ANON_RATE": "100000000/minute",  # the load is measured, not the anonymous throttle
    }
    env.pop("CELERY_BROKER_URL", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    for name in VIDEOS:
        subprocess.run([*manage, "index_game", str(SHARED / "data" / "video" / name), "--json"],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "highlights.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.gunicorn_workers), "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "gunicorn.log").open("wb"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        latencies: list[float] = []
        errors: list[str] = []
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [
            threading.Thread(target=client, args=(port, stop_at, latencies, errors, i)) for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall_s = time.monotonic() - started
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    ms = np.array(latencies) * 1000.0 if latencies else np.zeros(1)
    print(
        json.dumps(
            {
                "clients": args.clients,
                "seconds": round(wall_s, 1),
                "requests": len(latencies),
                "errors": len(errors),
                "error_kinds": sorted(set(errors)),
                "requests_per_s": round(len(latencies) / wall_s, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1),
                "gunicorn_workers": args.gunicorn_workers,
                "cpus": os.cpu_count(),
            }
        )
    )
    sys.exit(1 if errors or not latencies else 0)


if __name__ == "__main__":
    main()
