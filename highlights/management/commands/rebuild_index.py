"""``python manage.py rebuild_index [--json]``: regenerate the FAISS clip index from PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from indexer import runtime
from indexer.index_writer import rebuild_clip_index
from search.clips import clip_index


class Command(BaseCommand):
    help = "Regenerate the FAISS clip index of the configured model from the Clip rows, as a new snapshot version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        version, vectors = rebuild_clip_index()
        path = clip_index(runtime.model_weights()).snapshot_path(version)
        if options["json"]:
            self.stdout.write(json.dumps({"version": version, "vectors": vectors, "path": str(path)}))
        else:
            self.stdout.write(f"wrote {vectors} vectors to {path} (version {version})")
