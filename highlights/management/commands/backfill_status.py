"""``python manage.py backfill_status [--backfill ID] [--json] [--watch]``: progress of archive backfills."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from highlights.backfill import BackfillStatus, backfill_status


class Command(BaseCommand):
    help = "Counts of backfill jobs by status, throughput (files/min) and an ETA."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backfill", type=int, default=None, help="one backfill's id (default: all)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--watch", action="store_true", help="redraw a progress bar until nothing is left")

    def handle(self, *args: Any, **options: Any) -> None:
        status = backfill_status(options["backfill"])
        if options["json"]:
            self.stdout.write(json.dumps(asdict(status)))
            return
        if options["watch"] and sys.stderr.isatty():
            while status.queued + status.running:
                sys.stderr.write("\r" + _bar(status))
                sys.stderr.flush()
                time.sleep(2.0)
                status = backfill_status(options["backfill"])
            sys.stderr.write("\r" + _bar(status) + "\n")
        eta = "unknown" if status.eta_s is None else f"{status.eta_s / 60:.1f} min"
        self.stdout.write(
            f"{status.total} jobs: {status.done} done, {status.failed} failed, {status.running} running, "
            f"{status.queued} queued; {status.files_per_min:.1f} files/min; ETA {eta}"
        )


def _bar(status: BackfillStatus, width: int = 30) -> str:
    finished = status.done + status.failed
    filled = width * finished // max(status.total, 1)
    eta = "?" if status.eta_s is None else f"{status.eta_s:.0f}s"
    return f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{status.total} failed {status.failed} ETA {eta}"
