"""``python manage.py backfill PATH_OR_MANIFEST [--glob PATTERN] [--priority P] [--dry-run] [--json]``."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights import dispatch
from highlights.backfill import BackfillError, run_backfill
from highlights.models import IndexJob


class Command(BaseCommand):
    help = (
        "Enqueue indexing of an archive folder or CSV manifest (path,sport,title,date,home,away), once per file "
        "content; re-running skips what is indexed, queued or running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", type=Path, help="a folder inside HL_ARCHIVE_ROOTS, or a .csv manifest")
        parser.add_argument("--glob", default="", help="files of a folder to take, e.g. '2019/**/*.mp4'")
        parser.add_argument("--priority", choices=IndexJob.Priority.values, default=IndexJob.Priority.LOW)
        parser.add_argument("--dry-run", action="store_true", help="hash and report; enqueue nothing")
        parser.add_argument("--retry-failed", action="store_true", help="enqueue again content whose job failed")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = not options["json"] and sys.stderr.isatty()
        try:
            report = run_backfill(
                options["source"],
                send=dispatch.index_job,
                pattern=options["glob"],
                priority=options["priority"],
                dry_run=options["dry_run"],
                retry_failed=options["retry_failed"],
                progress=self._progress_bar if interactive else None,
            )
        except BackfillError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if interactive:
            sys.stderr.write("\n")
        if options["json"]:
            self.stdout.write(json.dumps({"dry_run": options["dry_run"], **asdict(report)}))
            return
        verb = "would enqueue" if options["dry_run"] else "enqueued"
        skipped = ", ".join(f"{len(paths)} {reason}" for reason, paths in sorted(report.skipped.items())) or "none"
        self.stdout.write(f"{verb} {len(report.enqueued)} files; skipped {skipped}; refused {len(report.refused)}")
        for path, reason in report.refused.items():
            self.stdout.write(f"  refused {path}: {reason}")
        if report.backfill_id:
            self.stdout.write(f"backfill {report.backfill_id}: follow it with `manage.py backfill_status`")

    def _progress_bar(self, done: int, total: int, path: Path) -> None:
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {path.name[:40]:<40}")
        sys.stderr.flush()
