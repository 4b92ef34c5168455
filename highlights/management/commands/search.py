"""``python manage.py search QUERY [--json]``: clips matching the words, best highlight first.

An event query's lines say what each clip matched on (``matched: event home_run (play-by-play import)``, or
``matched: action hit`` where the game's events cannot be known); ``--json`` hits carry it as ``matched``
with the event's ``play_id``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from highlights.selectors import ClipHit, search_clips


def write_hits(command: BaseCommand, hits: list[ClipHit], as_json: bool) -> None:
    """Print hits as ``{"hits": [...]}`` or as a table."""
    if as_json:
        command.stdout.write(json.dumps({"hits": [asdict(h) for h in hits]}))
        return
    command.stdout.write(f"{'clip':>6}  {'game':>5}  {'start':>7}  {'end':>7}  {'class':<32} {'score':>6}")
    for h in hits:
        command.stdout.write(
            f"{h.clip_id:>6}  {h.game_id:>5}  {h.start_s:>7.2f}  {h.end_s:>7.2f}  {h.model_class:<32} {h.score:>6.3f}"
            + (f"  matched: {h.matched}" if h.matched else "")
        )
    command.stdout.write(f"{len(hits)} clip(s)")


class Command(BaseCommand):
    help = "Search clips by action, model class, sport, game title or team."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query")
        parser.add_argument("--limit", type=int, default=50)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        write_hits(self, search_clips(options["query"], limit=options["limit"]), options["json"])
