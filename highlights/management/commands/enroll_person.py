"""``python manage.py enroll_person --name NAME [--team T] [--number N] PHOTO...``: enrol a person from face photos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.models import Assignment
from highlights.people import PeopleError, enroll_person


class Command(BaseCommand):
    help = "Enrol a named person from photos of their face, then re-identify the unknown face tracks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("photos", nargs="+", type=Path)
        parser.add_argument("--name", required=True)
        parser.add_argument("--team", default="")
        parser.add_argument("--number", type=int, default=None, help="jersey number")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            person = enroll_person(options["name"], options["photos"], team=options["team"], number=options["number"])
        except PeopleError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        result = {
            "person_id": person.pk,
            "name": person.name,
            "team": person.team,
            "number": person.number,
            "photos": person.photos.count(),
            "tracks": person.face_tracks.count(),
            "identified_tracks": person.face_tracks.filter(source=Assignment.AUTO).count(),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"person {person.pk}: {person.name} ({result['photos']} photo(s), {result['tracks']} face track(s))"
            )
