"""``python manage.py similar CLIP_ID [--k N] [--json]``: nearest clips by embedding."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.management.commands.search import write_hits
from highlights.models import Clip
from highlights.selectors import similar_clips


class Command(BaseCommand):
    help = "Clips nearest to a clip by embedding (FAISS, cosine similarity)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("clip_id", type=int)
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            clip = Clip.objects.get(pk=options["clip_id"])
        except Clip.DoesNotExist as exc:
            raise CommandError(f"no clip with id {options['clip_id']}", returncode=2) from exc
        write_hits(self, similar_clips(clip, k=options["k"]), options["json"])
