"""``python manage.py index_game PATH [--sport S] [--title T] [--json]``: index one file and wait for it.

``--json`` prints ``{"game_id", "duration_s", "wall_s", "sport", "top_classes", "graphics": {"teams": [str],
"players": [str], "states": int}, "events": [{"t_s", "type", "side", "score": [int, int]}], "clips": [...]}``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights import dispatch
from highlights.graphics import event_side, graphics_summary
from highlights.models import Game, IndexJob, Sport
from highlights.services import create_index_job

_TERMINAL = (IndexJob.Status.SUCCEEDED, IndexJob.Status.FAILED)


class Command(BaseCommand):
    help = "Index one video file (probe, actions, audio, motion, shots, clips, FAISS, thumbnails) and wait."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--sport", choices=Sport.values, default="")
        parser.add_argument("--title", default="")
        parser.add_argument("--home", default="", help="home team")
        parser.add_argument("--away", default="", help="away team")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait for a worker")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        started = time.perf_counter()
        job = create_index_job(
            path, sport=options["sport"], title=options["title"], home_team=options["home"], away_team=options["away"]
        )
        dispatch.index_job(job)  # in local mode the pipeline runs here; the job row records a failure
        job = self._wait(job, started + options["timeout"])
        if job.status != IndexJob.Status.SUCCEEDED:
            raise CommandError(f"indexing {path} failed: {job.error or job.status}", returncode=2)
        game = Game.objects.get(pk=job.game_id)
        result = {
            "game_id": game.pk,
            "duration_s": round(game.duration_s or 0.0, 3),
            "wall_s": round(time.perf_counter() - started, 3),
            "sport": game.sport,
            "top_classes": game.top_classes,
            "graphics": graphics_summary(game),
            "events": [
                {
                    "t_s": e.t_s,
                    "type": e.type,
                    "side": event_side(game, e),
                    "score": [e.score_a, e.score_b],
                }
                for e in game.events.select_related("team")
            ],
            "clips": [
                {
                    "id": c.pk,
                    "start_s": c.start_s,
                    "end_s": c.end_s,
                    "model_class": c.model_class,
                    "confidence": round(c.confidence, 4),
                    "highlight_score": round(c.highlight_score, 4),
                }
                for c in game.clips.order_by("start_ms")
            ],
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self._print_table(game, result)

    def _wait(self, job: IndexJob, deadline: float) -> IndexJob:
        job.refresh_from_db()
        while job.status not in _TERMINAL:
            if time.perf_counter() > deadline:
                raise CommandError(f"job {job.pk} still {job.status} at stage {job.stage!r}", returncode=2)
            time.sleep(0.5)
            job.refresh_from_db()
        return job

    def _print_table(self, game: Game, result: dict[str, Any]) -> None:
        out = self.stdout
        out.write(
            f"game {game.pk}: {game} ({game.sport}), {result['duration_s']:.1f} s indexed in {result['wall_s']:.1f} s"
        )
        out.write("video classes: " + ", ".join(f"{name} {p:.2f}" for name, p in result["top_classes"]))
        graphics = result["graphics"]
        if graphics["states"]:
            out.write(
                f"score bug: {graphics['states']} states; teams {', '.join(graphics['teams']) or '-'}; "
                f"players {', '.join(graphics['players']) or '-'}"
            )
        for e in result["events"]:
            out.write(f"event {e['type']} {e['side']} {e['score'][0]}-{e['score'][1]} at {e['t_s']} s")
        out.write(f"{'clip':>6}  {'start':>7}  {'end':>7}  {'class':<32} {'conf':>5}  {'score':>5}")
        for c in result["clips"]:
            out.write(
                f"{c['id']:>6}  {c['start_s']:>7.2f}  {c['end_s']:>7.2f}  {c['model_class']:<32} "
                f"{c['confidence']:>5.2f}  {c['highlight_score']:>5.2f}"
            )
