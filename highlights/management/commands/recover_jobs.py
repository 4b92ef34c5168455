"""``python manage.py recover_jobs [--stalled-after S] [--queued] [--dry-run] [--json]``: re-dispatch lost jobs."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from indexer.recovery import recover_jobs


class Command(BaseCommand):
    help = (
        "Re-dispatch indexing jobs whose messages were lost (a whole worker died, or Redis lost its data): "
        "running jobs no live worker holds and nobody advanced for --stalled-after seconds. "
        "Celery beat does this every HL_RECOVERY_INTERVAL_S; --queued also re-sends old queued jobs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stalled-after",
            type=float,
            default=settings.HL_JOB_STALL_S,
            metavar="S",
            help="seconds without a heartbeat (default: HL_JOB_STALL_S)",
        )
        parser.add_argument(
            "--queued",
            action="store_true",
            help="also re-send queued jobs older than that (after Redis lost its data; duplicates are dropped)",
        )
        parser.add_argument("--dry-run", action="store_true", help="list the jobs, send nothing")
        parser.add_argument("--json", action="store_true", help='print {"recovered": [job ids], "dry_run": bool}')

    def handle(self, *args: Any, **options: Any) -> None:
        ids = recover_jobs(options["stalled_after"], queued=options["queued"], dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps({"recovered": ids, "dry_run": options["dry_run"]}))
            return
        verb = "would re-dispatch" if options["dry_run"] else "re-dispatched"
        self.stdout.write(f"{verb} {len(ids)} job(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))
