"""``python manage.py identify_face IMAGE [--json]``: who is in a photo (enrolled people, by face)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from highlights.people import PeopleError, identify_image


class Command(BaseCommand):
    help = 'Find every face in an image and name its person: {"faces": [{"bbox", "person", "distance"}]}.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("image", type=Path)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            faces = identify_image(options["image"])
        except PeopleError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"faces": [asdict(f) for f in faces]}))
            return
        for face in faces:
            distance = "-" if face.distance is None else f"{face.distance:.3f}"
            self.stdout.write(f"{face.bbox}  {face.person or 'unknown':<32} {distance}")
        self.stdout.write(f"{len(faces)} face(s)")
