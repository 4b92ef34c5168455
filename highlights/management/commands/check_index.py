"""``python manage.py check_index [--json]``: do the FAISS clip index ids equal the database's clip ids?"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from indexer.index_writer import check_clip_index


class Command(BaseCommand):
    help = "Compare the FAISS clip index with the Clip rows; exit status 1 when they disagree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help='print {"ok": bool, "missing": n, "extra": n}')

    def handle(self, *args: Any, **options: Any) -> None:
        check = check_clip_index()
        if options["json"]:
            self.stdout.write(json.dumps({"ok": check.ok, "missing": check.missing, "extra": check.extra}))
        else:
            self.stdout.write(
                f"index version {check.version}: {check.vectors} vectors, {check.missing} clips missing, "
                f"{check.extra} extra ids"
            )
        if not check.ok:
            raise CommandError(
                "the clip index disagrees with the database: run `manage.py rebuild_index`", returncode=1
            )
