"""Search API latency at up to millions of clips, FAISS similar-clip latency, and reel render speed; one JSON line.

Figures:
  * ``search_p50_ms`` / ``search_p95_ms``: ``GET /api/search/?q=...`` through Django's full stack (URL routing,
    auth, query parsing, PostgreSQL, the capped count, serialisation of a 24-clip page) over a mix of natural
    queries; ``search_by_kind`` gives ``{kind: {"p50_ms", "p95_ms", "queries"}}`` for each kind of query of
    :data:`QUERIES` (sport, action words, free words, player, team, event, score, newest, page 2+), and
    ``search_cpu_by_kind`` what the requests of each kind cost (:class:`Cost`: ``cpu_p95_ms`` is Django's process
    CPU plus its PostgreSQL backend's, the figure to compare while other work loads the machine; ``sql_p95_ms`` the
    time in SQL statements); ``search_cpu_by_query`` each query's ``cpu_p95_ms``; ``slowest_query`` names the query
    with the highest p95, and ``slowest_plan`` holds the top lines of ``EXPLAIN (ANALYZE, BUFFERS)`` of its slowest
    SQL statement (the whole plan goes to stderr);
  * ``similar_p50_ms`` / ``similar_p95_ms``: ``GET /api/clips/<id>/similar/`` against a FAISS index of the same
    clips (1024-d clustered embeddings, ``benchmarks.vector_bench``), built by a writer process with the configured
    factories (trained from ``HL_FAISS_CLIP_TRAIN_ROWS`` on); ``similar_cost`` what they cost (as
    ``search_cpu_by_kind``; the web process opens the snapshot before the first timed request);
    ``similar_recall_at_10`` against exact search, ``similar_index``, ``similar_nprobe``, ``index_build_s``,
    ``index_train_s``, and ``peak_rss_mb`` per process (writer, web) come from
    :func:`benchmarks.vector_bench.clip_figures`; with ``--faces M``, ``identify_*`` and ``faces_index`` from
    :func:`benchmarks.vector_bench.face_bench` (M face-track vectors); all null with ``--no-similar``;
  * ``render_x_realtime``: wall seconds to render a 3-clip reel of the shared footage (1080p, 540p and portrait
    sources, 1280x720 out) divided by the reel's duration;
  * ``populate_s``: seconds spent inserting the synthetic archive (0 when it was reused).
Targets: every kind of search p95 < 50 ms at 1 M clips; render < 0.5x the reel's duration on 2 cores.

The synthetic archive (seeded, so every run builds the same one): ``--clips`` clips over one game
per 200 clips (5 000 games at 1 M) of every sport, dated 2020-2026, between teams of the seeded
``Team`` table (tennis: between players); each clip has an action of its sport's taxonomy and one
of its model classes, a highlight score (beta(2, 3)) and a review status (5 % rejected, 10 %
verified); 40 % of the clips have a player named by the graphics (``Appearance``), and one
clip in eight carries a scoring or play-by-play ``Event`` of its sport's types, with the player
for play-by-play games. Rows go in by ``COPY`` (psycopg 3), not the ORM.

Usage::

    .venv/bin/python benchmarks/search_api.py [--clips 100000] [--requests 200] [--faces 0] [--no-similar]

Runs against its own database (``highlights_bench_search`` on the embedded server unless
DATABASE_URL is set) and its own var folder under ``var/bench/``; an archive of the same number
of clips is reused, unless embeddings are asked for and it has none (``--no-similar`` builds one without them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HL_EMBEDDED_DB_NAME", "highlights_bench_search")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "highlights.settings")
os.environ.setdefault("HL_INDEX_DIR", str(ROOT / "var" / "bench" / "search-index"))
# latency is measured, not the throttles (an anonymous client is throttled by address at the user rate too)
os.environ.setdefault("HL_API_ANON_RATE", "100000000/minute")
os.environ.setdefault("HL_API_USER_RATE", "100000000/minute")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks import vector_bench  # noqa: E402
from highlights.models import (  # noqa: E402
    Action,
    Appearance,
    Clip,
    Event,
    Game,
    IndexTombstone,
    Person,
    ReviewStatus,
    Sport,
    Team,
)
from highlights.rendering import Segment, render_video  # noqa: E402
from highlights.services import output_format  # noqa: E402
from indexer import runtime  # noqa: E402
from search.clips import clip_index  # noqa: E402
from search.faces import face_track_index  # noqa: E402

# (kind, query string of /api/search/): the mix, each kind several queries of the search grammar.
QUERIES: list[tuple[str, str]] = [
    ("sport", "q=tennis"),
    ("sport", "q=basketball"),
    ("sport", "q=hockey"),
    ("action", "q=dunks"),
    ("action", "q=rally"),
    ("action", "q=pitches"),
    ("words", "q=red+sox+hitting"),
    ("words", "q=playing+tennis"),
    ("player", "q=ortiz"),
    ("player", "q=Ortiz+home+runs"),
    ("player", "q=player%3Aortiz+event%3A%22home+run%22+last+10"),
    ("player", "q=djokovic"),
    ("team", "q=Real+Madrid+goals"),
    ("team", "q=LAD"),
    ("team", "q=lakers+2025"),
    ("team", "q=celtics&date_from=2024-01-01&date_to=2024-06-30"),
    ("event", "q=dunks+2026"),
    ("event", "q=goals"),
    ("event", "q=Djokovic+aces"),
    ("event", "q=scoring+plays+2024"),
    ("score", "q=score%3E%3D0.8"),
    ("score", "q=basketball+top+10"),
    ("recent", "q=rally+last+10"),
    ("recent", "q=baseball+last+20"),
    ("page", "q=tennis&page=3"),
    ("page", "q=score%3E%3D0.5&page=2"),
    ("page", "q=dunks&page=5"),
]
VIDEO = ROOT.parent / "shared" / "data" / "video"
CLIPS_PER_GAME = 200
FIRST_NAMES = ["David", "Maria", "Jose", "Luis", "Carlos", "Ana", "James", "Michael", "Kevin", "Chris", "Daniel",
               "Marcus", "Anthony", "Juan", "Pedro", "Tyler", "Ryan", "Jordan", "Andre", "Sam"]  # fmt: skip
SURNAMES = ["Ortiz", "Garcia", "Rodriguez", "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis",
            "Martinez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
            "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
            "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores"]  # fmt: skip
TENNIS_PLAYERS = ["Novak Djokovic", "Carlos Alcaraz", "Jannik Sinner", "Daniil Medvedev", "Alexander Zverev",
                  "Stan Wawrinka", "Casper Ruud", "Holger Rune", "Taylor Fritz", "Iga Swiatek", "Aryna Sabalenka",
                  "Coco Gauff", "Elena Rybakina", "Jessica Pegula"]  # fmt: skip
# Event types per sport with their points, and whether a play-by-play import carries them only.
EVENT_TYPES: dict[str, list[tuple[str, int]]] = {
    Sport.BASEBALL: [("run", 1), ("home_run", 1), ("strikeout", 0), ("single", 0), ("double", 0)],
    Sport.BASKETBALL: [("two_pointer", 2), ("three_pointer", 3), ("free_throw", 1), ("dunk", 2), ("block", 0)],
    Sport.SOCCER: [("goal", 1), ("yellow_card", 0), ("corner", 0), ("shot_on_target", 0)],
    Sport.HOCKEY: [("goal", 1), ("penalty", 0)],
    Sport.FOOTBALL: [("touchdown", 6), ("field_goal", 3)],
    Sport.TENNIS: [("ace", 0), ("game", 1), ("double_fault", 0)],
}
SPORT_SHARE = {Sport.BASEBALL: 0.22, Sport.BASKETBALL: 0.22, Sport.SOCCER: 0.16, Sport.HOCKEY: 0.1,
               Sport.FOOTBALL: 0.1, Sport.TENNIS: 0.12, Sport.OTHER: 0.08}  # fmt: skip
CHUNK = 50_000


def copy_rows(
    model: type[Model], fields: Sequence[Any], rows: Iterable[Sequence[Any]], types: Sequence[str] | None = None
) -> None:
    """``COPY`` of ``rows`` into ``model``'s table through psycopg 3 (binary format when ``types`` are given).

    ``fields`` are the model's field descriptors (``Clip.model_class``), in the order of each row's values.
    """
    columns = ", ".join(f.field.column for f in fields)
    binary = " (FORMAT BINARY)" if types else ""
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN{binary}") as copy,
    ):
        if types:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def populate(n_clips: int, dim: int, *, vectors: bool) -> float:
    """Insert the synthetic archive of the module docstring (``n_clips`` clips) by COPY, unless it is there.

    Args:
        n_clips: clips to insert.
        dim: embedding dimension of the clip index.
        vectors: store the embeddings of :func:`benchmarks.vector_bench.clip_vectors` (else empty ones); the
            FAISS index is built from the same vectors by :func:`benchmarks.vector_bench.clip_figures`.

    Returns:
        The seconds spent inserting (0.0 when the archive was reused: as many clips, with embeddings of ``dim``
        where ``vectors`` asks for them).
    """
    first = Clip.objects.order_by("pk").values_list("embedding", flat=True).first()
    if Clip.objects.count() == n_clips and first is not None and (not vectors or len(first) == 4 * dim):
        return 0.0
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(  # clips, appearances, events, face tracks, reels ... go with them; ids start again at 1
            f"TRUNCATE {Game._meta.db_table}, {Person._meta.db_table}, {IndexTombstone._meta.db_table}"
            " RESTART IDENTITY CASCADE"
        )
    rng = np.random.default_rng(0)
    now = timezone.now()
    actions: dict[str, list[tuple[int, str]]] = {}
    for action in Action.objects.all():
        actions.setdefault(action.sport, []).extend((action.pk, c) for c in action.model_classes[:1])
    teams: dict[str, list[tuple[int, str]]] = {}
    for team in Team.objects.all():
        teams.setdefault(team.sport, []).append((team.pk, team.name))

    # players: a squad of 15 per team (names from the lists above), and the tennis players
    players: list[tuple[str, str, int | None]] = [(name, "", None) for name in TENNIS_PLAYERS]
    for sport in sorted(teams):
        for _, team_name in teams[sport]:
            for k in range(15):
                first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
                players.append((f"{first} {last}", team_name, int(rng.integers(0, 100)) if k % 5 else None))
    copy_rows(Person, [Person.name, Person.team, Person.number, Person.created_at], ((*p, now) for p in players))
    person_ids = dict(enumerate(Person.objects.order_by("pk").values_list("pk", flat=True)))
    squad: dict[str, list[int]] = {}
    for i, (_, team_name, _) in enumerate(players):
        squad.setdefault(team_name, []).append(person_ids[i])
    tennis_ids = [person_ids[i] for i in range(len(TENNIS_PLAYERS))]

    n_games = max(1, n_clips // CLIPS_PER_GAME)
    sports = rng.choice(list(SPORT_SHARE), size=n_games, p=list(SPORT_SHARE.values()))
    first_day = dt.date(2020, 1, 1)
    days = rng.integers(0, (dt.date(2026, 11, 30) - first_day).days, size=n_games)
    games: list[dict[str, Any]] = []
    for g in range(n_games):
        sport = str(sports[g])
        if sport == Sport.TENNIS:
            a, b = rng.choice(len(TENNIS_PLAYERS), size=2, replace=False)
            sides, side_players = (TENNIS_PLAYERS[a], TENNIS_PLAYERS[b]), [tennis_ids[a], tennis_ids[b]]
        elif sport in teams:
            a, b = rng.choice(len(teams[sport]), size=2, replace=False)
            sides = (teams[sport][a][1], teams[sport][b][1])
            side_players = squad[sides[0]] + squad[sides[1]]
        else:
            sides, side_players = ("", ""), []
        games.append(
            {"sport": sport, "sides": sides, "players": side_players, "pbp": bool(rng.random() < 0.3),
             "date": first_day + dt.timedelta(days=int(days[g])), "read_teams": bool(sides[0]) and rng.random() < 0.5}
        )  # fmt: skip
    copy_rows(
        Game,
        [Game.sport, Game.title, Game.home_team, Game.away_team, Game.date, Game.source_path, Game.sha256,
         Game.duration_s, Game.has_audio, Game.status, Game.top_classes, Game.graphics, Game.created_at,
         Game.updated_at],
        (
            (g["sport"], f"{g['sides'][1]} at {g['sides'][0]}" if g["sides"][0] else f"{g['sport']} {i}",
             g["sides"][0], g["sides"][1], g["date"], f"/archive/{i}.mp4", f"{i:064x}", 3600.0, True,
             Game.Status.INDEXED, "[]", json.dumps({"teams": list(g["sides"])} if g["read_teams"] else {}), now, now)
            for i, g in enumerate(games)
        ),
    )  # fmt: skip
    game_ids = list(Game.objects.order_by("pk").values_list("pk", flat=True))

    clip_fields = [Clip.game, Clip.start_ms, Clip.end_ms, Clip.model_class, Clip.action, Clip.confidence,
                   Clip.highlight_score, Clip.audio_energy, Clip.motion, Clip.model_version, Clip.pipeline_version,
                   Clip.params_key, Clip.embedding, Clip.thumbnail, Clip.review_status, Clip.created_at]  # fmt: skip
    clip_types = ["bigint", "integer", "integer", "varchar", "bigint", "float8", "float8", "float8", "float8",
                  "varchar", "varchar", "varchar", "bytea", "varchar", "varchar", "timestamptz"]  # fmt: skip
    statuses = [ReviewStatus.UNREVIEWED.value, ReviewStatus.VERIFIED.value, ReviewStatus.REJECTED.value]
    empty = b""
    appearances: list[tuple[int, int, int, int, int]] = []
    events: list[tuple[int, int, str, int, int | None, str, int, int]] = []
    clip_id = 0
    embedding_chunks = vector_bench.clip_vectors(n_clips, dim) if vectors else None
    pending = np.empty((0, dim), np.float32)
    for chunk_start in range(0, n_clips, CHUNK):
        size = min(CHUNK, n_clips - chunk_start)
        scores, confidence = rng.beta(2, 3, size), rng.random(size)
        z = rng.standard_normal((size, 2))
        status = rng.choice(3, size=size, p=[0.85, 0.10, 0.05])
        embeddings = None
        if embedding_chunks is not None:  # the vector chunks (100 000) are cut to this chunk's rows, in pk order
            while len(pending) < size:
                pending = np.concatenate([pending, next(embedding_chunks)])
            embeddings, pending = pending[:size], pending[size:]
        rows = []
        for k in range(size):
            i = chunk_start + k
            g = min(i // CLIPS_PER_GAME, n_games - 1)
            game = games[g]
            sport_actions = actions.get(game["sport"]) or actions[Sport.OTHER]
            action_id, label = sport_actions[int(rng.integers(len(sport_actions)))]
            start = (i - g * CLIPS_PER_GAME) * 15_000 + 1000
            clip_id += 1
            rows.append(
                (game_ids[g], start, start + 4000 + int(rng.integers(6000)), label, action_id, float(confidence[k]),
                 float(scores[k]), float(z[k, 0]), float(z[k, 1]), "bench", "bench", "",
                 embeddings[k].tobytes() if embeddings is not None else empty, "", statuses[status[k]], now)
            )  # fmt: skip
            if game["players"] and rng.random() < 0.4:
                player = game["players"][int(rng.integers(len(game["players"])))]
                appearances.append((player, game_ids[g], clip_id, start, start + 3000))
            if game["sport"] in EVENT_TYPES and rng.random() < 1 / 8:
                kinds = EVENT_TYPES[game["sport"]]
                kind, points = kinds[int(rng.integers(len(kinds)))]
                source = Event.Source.PLAY_BY_PLAY if game["pbp"] else Event.Source.GRAPHICS
                if source == Event.Source.GRAPHICS and points == 0:
                    continue  # the score bug only shows scoring events
                player = (game["players"][int(rng.integers(len(game["players"])))]
                          if source == Event.Source.PLAY_BY_PLAY and game["players"] else None)  # fmt: skip
                events.append((game_ids[g], clip_id, kind, points, player, source.value, start + 2000, g))
        copy_rows(Clip, clip_fields, rows, clip_types)
    copy_rows(
        Appearance,
        [
            Appearance.person,
            Appearance.game,
            Appearance.clip,
            Appearance.source,
            Appearance.role,
            Appearance.start_ms,
            Appearance.end_ms,
            Appearance.confidence,
        ],
        ((p, g, c, Appearance.Source.GRAPHICS.value, "batter", s, e, 0.9) for p, g, c, s, e in appearances),
    )
    copy_rows(
        Event,
        [Event.game, Event.clip, Event.type, Event.points, Event.person, Event.source, Event.time_ms,
         Event.description, Event.raw, Event.created_at],
        ((g, c, kind, pts, p, src, t, "", "{}", now) for g, c, kind, pts, p, src, t, _ in events),
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the visibility map autovacuum would set: index-only scans stay so
    return time.perf_counter() - started


def percentiles(times: Sequence[float]) -> dict[str, float]:
    """``{"p50_ms", "p95_ms"}`` of latencies in milliseconds."""
    return {"p50_ms": round(float(np.percentile(times, 50)), 2), "p95_ms": round(float(np.percentile(times, 95)), 2)}


@dataclass(frozen=True)
class Cost:
    """What one request cost, milliseconds: wall time, CPU (Django's process + its PostgreSQL backend), SQL.

    ``django_cpu_ms`` is ``time.process_time`` around the request (the test client runs Django in
    this process); ``db_cpu_ms`` is the backend's utime + stime from ``/proc/<pg_backend_pid()>/stat``
    (the embedded server runs on this machine; clock ticks, 10 ms each on Linux, so it is coarse per
    request and meaningful over many); ``sql_ms`` is the wall time of the request's SQL statements
    (``connection.execute_wrapper``), so request overhead (``wall_ms - sql_ms``) shows beside it.
    On an idle server a request's latency is about its CPU; on a loaded one the CPU figures stay
    where the wall times grow.
    """

    wall_ms: float
    django_cpu_ms: float
    db_cpu_ms: float
    sql_ms: float

    @property
    def cpu_ms(self) -> float:
        return self.django_cpu_ms + self.db_cpu_ms


class RequestMeter:
    """Measures :class:`Cost` of requests made through a Django test client on ``connection``."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backend_stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
        self.tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        self.sql_ms = 0.0

    def backend_cpu_ms(self) -> float:
        """The PostgreSQL backend's CPU so far (utime + stime), ms; 0 where its ``/proc`` entry is not readable."""
        try:
            fields = self.backend_stat.read_text().rpartition(")")[2].split()
        except OSError:  # DATABASE_URL names a server on another machine
            return 0.0
        return (int(fields[11]) + int(fields[12])) * self.tick_ms  # fields 14 and 15 of proc(5)

    def _time_sql(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql_ms += (time.perf_counter() - started) * 1000

    def get(self, client: Client, url: str) -> Cost:
        """``GET url`` and what it cost (a non-200 answer stops the benchmark)."""
        self.sql_ms = 0.0
        db_before, cpu_before, started = self.backend_cpu_ms(), time.process_time(), time.perf_counter()
        with connection.execute_wrapper(self._time_sql):
            resp = client.get(url)
        wall = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_before) * 1000
        assert resp.status_code == 200, (url, resp.status_code, resp.content[:300])
        return Cost(wall, cpu, self.backend_cpu_ms() - db_before, self.sql_ms)


def cost_figures(costs: Sequence[Cost]) -> dict[str, float]:
    """Percentiles of :class:`Cost`: ``cpu_p50_ms``, ``cpu_p95_ms`` (Django + PostgreSQL), ``django_cpu_p95_ms``,
    ``db_cpu_p95_ms`` and ``sql_p95_ms``."""
    cpu = percentiles([c.cpu_ms for c in costs])
    return {
        "cpu_p50_ms": cpu["p50_ms"],
        "cpu_p95_ms": cpu["p95_ms"],
        "django_cpu_p95_ms": percentiles([c.django_cpu_ms for c in costs])["p95_ms"],
        "db_cpu_p95_ms": percentiles([c.db_cpu_ms for c in costs])["p95_ms"],
        "sql_p95_ms": percentiles([c.sql_ms for c in costs])["p95_ms"],
    }


def slowest_statement_plan(client: Client, url: str) -> tuple[str, list[str]]:
    """The slowest SQL statement of one ``GET url`` and its ``EXPLAIN (ANALYZE, BUFFERS)`` plan lines."""
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    sql = max(queries.captured_queries, key=lambda q: float(q["time"]))["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return sql, [row[0] for row in cursor.fetchall()]


def search_figures(client: Client, requests: int) -> dict[str, Any]:
    """Search latency and cost overall and per kind over ``requests`` requests of :data:`QUERIES` in turn, and the
    slowest query's plan (module docstring)."""
    urls = [f"/api/search/?{qs}" for _, qs in QUERIES]
    meter = RequestMeter()
    for url in urls:  # warm up caches and connections
        meter.get(client, url)
    costs: dict[int, list[Cost]] = {i: [] for i in range(len(QUERIES))}
    for n in range(max(requests, len(QUERIES))):
        costs[n % len(QUERIES)].append(meter.get(client, urls[n % len(QUERIES)]))
    times = {i: [c.wall_ms for c in cs] for i, cs in costs.items()}
    by_kind: dict[str, list[Cost]] = {}
    for i, (kind, _) in enumerate(QUERIES):
        by_kind.setdefault(kind, []).extend(costs[i])
    slowest = max(times, key=lambda i: np.percentile(times[i], 95))
    sql, plan = slowest_statement_plan(client, urls[slowest])
    print(f"slowest query {urls[slowest]}:\n{sql}\n" + "\n".join(plan), file=sys.stderr)
    every = [c for cs in costs.values() for c in cs]
    return {
        **{f"search_{k}": v for k, v in percentiles([c.wall_ms for c in every]).items()},
        "search_cpu_p95_ms": cost_figures(every)["cpu_p95_ms"],
        "search_by_kind": {
            kind: {**percentiles([c.wall_ms for c in cs]), "queries": [qs for k, qs in QUERIES if k == kind]}
            for kind, cs in by_kind.items()
        },
        "search_cpu_by_kind": {kind: cost_figures(cs) for kind, cs in by_kind.items()},
        "search_by_query": {QUERIES[i][1]: percentiles(ts)["p95_ms"] for i, ts in times.items()},
        "search_cpu_by_query": {QUERIES[i][1]: cost_figures(cs)["cpu_p95_ms"] for i, cs in costs.items()},
        "slowest_query": urls[slowest],
        "slowest_plan": plan[:12],
    }


def vector_figures(
    client: Client, sample: list[int], requests: int, *, n_clips: int, dim: int, faces: int
) -> dict[str, Any]:
    """The vector side: the clip index built by a writer process and searched by a web process
    (:func:`benchmarks.vector_bench.clip_figures`), ``similar_*`` through the API, and with ``faces``
    face-track vectors ``identify_*`` (:func:`benchmarks.vector_bench.face_bench`)."""
    first_id = Clip.objects.order_by("pk").values_list("pk", flat=True)[0]  # the vectors' ids follow the clips'
    figures = vector_bench.clip_figures(n_clips, dim, first_id=first_id)
    if faces:
        training = face_track_index().training
        assert training is not None
        folder = Path(os.environ["HL_INDEX_DIR"]) / "faces"
        found = vector_bench.face_bench(faces, training, folder, Path(settings.HL_WEIGHTS_DIR))
        figures["peak_rss_mb"]["faces_writer"] = found.pop("faces_writer_peak_rss_mb")
        figures.update(found)
    meter = RequestMeter()
    meter.get(client, f"/api/clips/{sample[-1]}/similar/")  # the web process opens the snapshot once
    costs = [meter.get(client, f"/api/clips/{sample[i % len(sample)]}/similar/") for i in range(requests // 4)]
    figures.update({f"similar_{k}": v for k, v in percentiles([c.wall_ms for c in costs]).items()})
    figures["similar_cost"] = cost_figures(costs)
    return figures


def render_figures() -> dict[str, float]:
    """Render a 3-clip reel of the shared footage: its duration, the wall seconds and their ratio."""
    segments = [
        Segment(VIDEO / "tennis_atp_hardcourt_5s.mp4", 1.0, 4.5),
        Segment(VIDEO / "baseball_mlb_pitch_7s.mp4", 0.5, 5.5),
        Segment(VIDEO / "press_conference_face_12s.mp4", 2.0, 5.0),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        duration_s = render_video(segments, Path(tmp) / "reel.mp4", output_format())
        render_s = time.perf_counter() - started
    return {
        "reel_duration_s": round(duration_s, 2),
        "render_s": round(render_s, 2),
        "render_x_realtime": round(render_s / duration_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--faces", type=int, default=0, help="face-track vectors for identify_* (0: not measured)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--similar", action=argparse.BooleanOptionalAction, default=True, help="store embeddings, measure FAISS"
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    dim = clip_index(runtime.model_weights()).dim
    populate_s = populate(args.clips, dim, vectors=args.similar)
    visible = Clip.objects.exclude(review_status=ReviewStatus.REJECTED).order_by("pk")
    sample = list(visible.values_list("pk", flat=True)[:1000])  # clips a fan may open
    client = Client()
    search = search_figures(client, args.requests)
    vectors: dict[str, Any] = {"similar_p50_ms": None, "similar_p95_ms": None, "similar_cost": None}
    if args.similar:
        vectors = vector_figures(client, sample, args.requests, n_clips=args.clips, dim=dim, faces=args.faces)
    slowest_plan = search.pop("slowest_plan")
    figures = {
        "clips": Clip.objects.count(),
        "games": Game.objects.count(),
        "events": Event.objects.count(),
        "appearances": Appearance.objects.count(),
        "faces": args.faces,
        "populate_s": round(populate_s, 1),
        **search,
        **vectors,
        **render_figures(),
        "slowest_plan": slowest_plan,
        "cores": os.cpu_count(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
