"""Search API latency at 100 000 clips, FAISS similar-clip latency, and reel render speed; prints one JSON line.

Figures:
  * ``search_p50_ms`` / ``search_p95_ms``: ``GET /api/search/?q=...`` through Django's full stack
    (URL routing, auth, query parsing, PostgreSQL, serialisation of a 24-clip page) over a mix
    of natural queries, with ``clips`` synthetic rows bulk-inserted into PostgreSQL;
  * ``similar_p50_ms`` / ``similar_p95_ms``: ``GET /api/clips/<id>/similar/`` against a FAISS
    index of the same clips (1024-d, the configured factory);
  * ``render_x_realtime``: wall seconds to render a 3-clip reel of the shared footage (1080p,
    540p and portrait sources, 1280x720 out) divided by the reel's duration.
Targets: search p95 < 50 ms; render < 0.5x the reel's duration on 2 cores.

Usage::

    .venv/bin/python benchmarks/search_api.py [--clips 100000] [--requests 200]

Runs against its own database (``highlights_bench_search`` on the embedded server unless
DATABASE_URL is set) and its own var folder under ``var/bench/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HL_EMBEDDED_DB_NAME", "highlights_bench_search")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
os.environ.setdefault("HL_INDEX_DIR", str(ROOT / "var" / "bench" / "search-index"))
os.environ.setdefault("HL_API_ANON_RATE", "100000000/minute")  # latency is measured, not the anonymous throttle

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from highlights.models import Action, Clip, Game  # noqa: E402
from highlights.rendering import Segment, render_video  # noqa: E402
from highlights.services import output_format  # noqa: E402
from indexer import runtime  # noqa: E402
from search.clips import clip_index  # noqa: E402

QUERIES = ["tennis", "dunks 2026", "red sox hitting", "basketball top 10", "score>=0.8", "rally last 10", "ortiz"]
TEAMS = ["Red Sox", "Yankees", "Lakers", "Celtics", "Barcelona", "Real Madrid", "Dodgers", "Heat"]
VIDEO = ROOT.parent / "shared" / "data" / "video"


def populate(n_clips: int, dim: int) -> list[int]:
    """Bulk-insert ``n_clips`` synthetic clips over 500 games, and build their FAISS index."""
    if Clip.objects.count() == n_clips:
        return list(Clip.objects.values_list("pk", flat=True)[:1000])
    Clip.objects.all().delete()
    Game.objects.all().delete()
    rng = np.random.default_rng(0)
    labels = list(Action.objects.all())
    games = Game.objects.bulk_create(
        Game(
            sport=labels[i % len(labels)].sport,
            title=f"Game {i}",
            home_team=TEAMS[i % len(TEAMS)],
            away_team=TEAMS[(i + 3) % len(TEAMS)],
            date=f"{2024 + i % 3}-0{1 + i % 9}-1{i % 9}",
            source_path=f"/archive/{i}.mp4",
            sha256=f"{i:064x}",
            duration_s=3600.0,
            status=Game.Status.INDEXED,
        )
        for i in range(500)
    )
    vectors = rng.standard_normal((n_clips, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    per_game = n_clips // len(games)
    rows = []
    for i in range(n_clips):
        game = games[i % len(games)]
        action = next(a for a in labels[(i // 7) % len(labels) :] + labels if a.sport == game.sport)
        start = (i // len(games)) * (3_600_000 // per_game)
        rows.append(
            Clip(
                game=game, start_ms=start, end_ms=start + 4000, model_class=action.model_classes[0], action=action,
                confidence=float(rng.random()), highlight_score=float(rng.random()), model_version="bench",
                pipeline_version="bench", embedding=vectors[i].tobytes(),
            )
        )  # fmt: skip
    Clip.objects.bulk_create(rows, batch_size=5000)
    index = clip_index(runtime.model_weights())
    faiss_index = index.empty()
    ids = np.array(Clip.objects.order_by("pk").values_list("pk", flat=True), dtype=np.int64)
    faiss_index.add_with_ids(vectors, ids)
    index.save(faiss_index)
    return ids[:1000].tolist()


def latencies(client: Client, urls: list[str]) -> tuple[float, float]:
    times = []
    for url in urls:
        started = time.perf_counter()
        resp = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert resp.status_code == 200, (url, resp.status_code)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    sample = populate(args.clips, clip_index(runtime.model_weights()).dim)
    client = Client()
    for q in QUERIES:  # warm up caches and connections
        client.get("/api/search/", {"q": q})
    search = latencies(client, [f"/api/search/?q={QUERIES[i % len(QUERIES)]}" for i in range(args.requests)])
    similar = latencies(client, [f"/api/clips/{sample[i % len(sample)]}/similar/" for i in range(args.requests // 4)])

    segments = [
        Segment(VIDEO / "tennis_atp_hardcourt_5s.mp4", 1.0, 4.5),
        Segment(VIDEO / "baseball_mlb_pitch_7s.mp4", 0.5, 5.5),
        Segment(VIDEO / "press_conference_face_12s.mp4", 2.0, 5.0),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        duration_s = render_video(segments, Path(tmp) / "reel.mp4", output_format())
        render_s = time.perf_counter() - started
    print(
        json.dumps(
            {
                "clips": Clip.objects.count(),
                "search_p50_ms": round(search[0], 2),
                "search_p95_ms": round(search[1], 2),
                "similar_p50_ms": round(similar[0], 2),
                "similar_p95_ms": round(similar[1], 2),
                "reel_duration_s": round(duration_s, 2),
                "render_s": round(render_s, 2),
                "render_x_realtime": round(render_s / duration_s, 3),
                "cores": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
