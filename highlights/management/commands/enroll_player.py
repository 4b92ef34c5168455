"""``python manage.py enroll_player --name NAME [--team T] [--number N] PHOTO...``: enrol a player from face photos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.models import Assignment
from highlights.people import PeopleError, enroll_player


class Command(BaseCommand):
    help = "Enrol a named player from photos of their face, then re-identify the unknown face tracks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("photos", nargs="+", type=Path)
        parser.add_argument("--name", required=True)
        parser.add_argument("--team", default="")
        parser.add_argument("--number", type=int, default=None, help="jersey number")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            player = enroll_player(options["name"], options["photos"], team=options["team"], number=options["number"])
        except PeopleError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        result = {
            "player_id": player.pk,
            "name": player.name,
            "team": player.team,
            "number": player.number,
            "photos": player.photos.count(),
            "tracks": player.face_tracks.count(),
            "identified_tracks": player.face_tracks.filter(source=Assignment.AUTO).count(),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"player {player.pk}: {player.name} ({result['photos']} photo(s), {result['tracks']} face track(s))"
            )
