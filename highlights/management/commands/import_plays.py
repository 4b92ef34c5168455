"""``python manage.py import_plays GAME_ID FILE [--format F] [--offset-s S] [--json]``: import a play-by-play feed.

Parses the file (``indexer.stages.playbyplay``: MLB GUMBO, NBA CDN, stats.nba.com, StatsBomb, SoccerNet
Labels-v2 or CSV), aligns it with the game's score-bug timeline and replaces the game's play-by-play events
(``highlights.plays.import_play_by_play``). Prints ``{"events": n, "aligned": n, "unaligned": n,
"median_residual_s": float | null}`` (seconds); ``--json`` prints it as one JSON object. A file that cannot be
read as a feed, or an unknown game, exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.models import Game
from highlights.plays import import_play_by_play
from indexer.stages.playbyplay import FORMATS, PlayByPlayError


class Command(BaseCommand):
    help = "Import a play-by-play file for a game, align it with the score bug and store its events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("game_id", type=int)
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=("auto", *FORMATS), default="auto")
        parser.add_argument(
            "--offset-s", type=float, default=None, help="video time, seconds, of the feed's first event"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read ({exc.strerror or exc})", returncode=2) from exc
        try:
            summary = import_play_by_play(options["game_id"], data, fmt=options["format"], offset_s=options["offset_s"])
        except Game.DoesNotExist as exc:
            raise CommandError(f"no game {options['game_id']}", returncode=2) from exc
        except PlayByPlayError as exc:
            raise CommandError(f"{path.name}: {exc}", returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps(summary))
        else:
            residual = summary["median_residual_s"]
            self.stdout.write(
                f"{summary['events']} events: {summary['aligned']} aligned, {summary['unaligned']} unaligned"
                + (f", median residual {residual:.2f} s" if residual is not None else "")
            )
