"""``python manage.py people list|tracks|cluster|name|merge|split|reject|assign``: editors' work on people.

Examples::

    manage.py people list                       # every person: id, name, tracks
    manage.py people tracks 12                  # person 12's face tracks (ids, game, times, source)
    manage.py people cluster                    # re-cluster every clustered and unknown track (full)
    manage.py people name 12 "Jane Doe" --team "Red Sox" --number 23
    manage.py people merge 12 15                # person 15 into person 12
    manage.py people split 40 41 --name "John Roe"   # tracks 40, 41 out of their person
    manage.py people reject 40                  # "not this person" for track 40
    manage.py people assign 12 40 41            # tracks 40, 41 to person 12
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count

from highlights import people
from highlights.models import FaceTrack, Person


class Command(BaseCommand):
    help = "List, cluster, name, merge and split people found by face, and correct their face tracks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every person with their track count")
        tracks = sub.add_parser("tracks", help="a person's face tracks")
        tracks.add_argument("person", type=int)
        sub.add_parser("cluster", help="re-cluster every clustered and unknown face track into people")
        name = sub.add_parser("name", help="name a person (their tracks become references)")
        name.add_argument("person", type=int)
        name.add_argument("name")
        name.add_argument("--team", default="")
        name.add_argument("--number", type=int, default=None)
        merge = sub.add_parser("merge", help="merge the second person into the first")
        merge.add_argument("target", type=int)
        merge.add_argument("source", type=int)
        split = sub.add_parser("split", help="move face tracks out of their person into a new one")
        split.add_argument("tracks", type=int, nargs="+")
        split.add_argument("--name", default="")
        reject = sub.add_parser("reject", help='"not this person" for face tracks')
        reject.add_argument("tracks", type=int, nargs="+")
        assign = sub.add_parser("assign", help="put face tracks with a person")
        assign.add_argument("person", type=int)
        assign.add_argument("tracks", type=int, nargs="+")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            result: dict[str, Any] = getattr(self, f"_{action}")(options)
        except people.PeopleError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for key, value in result.items():
            if isinstance(value, list):
                for row in value:
                    self.stdout.write("  ".join(f"{k}={v}" for k, v in row.items()))
            else:
                self.stdout.write(f"{key}: {value}")

    def _list(self, options: dict[str, Any]) -> dict[str, Any]:
        rows = Person.objects.annotate(tracks=Count("face_tracks")).order_by("pk")
        return {
            "people": [
                {"id": p.pk, "name": p.name, "team": p.team, "number": p.number, "tracks": p.tracks} for p in rows
            ]
        }

    def _tracks(self, options: dict[str, Any]) -> dict[str, Any]:
        tracks = FaceTrack.objects.filter(person_id=options["person"]).order_by("game_id", "start_ms")
        return {
            "tracks": [
                {
                    "id": t.pk,
                    "game_id": t.game_id,
                    "clip_id": t.clip_id,
                    "start_ms": t.start_ms,
                    "end_ms": t.end_ms,
                    "source": t.source,
                    "distance": t.distance,
                }
                for t in tracks
            ]
        }

    def _cluster(self, options: dict[str, Any]) -> dict[str, Any]:
        return asdict(people.cluster_people())

    def _name(self, options: dict[str, Any]) -> dict[str, Any]:
        person = people.name_person(options["person"], options["name"], team=options["team"], number=options["number"])
        return {"person": person.pk, "name": person.name, "tracks": person.face_tracks.count()}

    def _merge(self, options: dict[str, Any]) -> dict[str, Any]:
        person = people.merge_people(options["target"], options["source"])
        return {"person": person.pk, "name": person.name, "tracks": person.face_tracks.count()}

    def _split(self, options: dict[str, Any]) -> dict[str, Any]:
        person = people.split_tracks(options["tracks"], name=options["name"])
        return {"person": person.pk, "name": person.name, "tracks": person.face_tracks.count()}

    def _reject(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"rejected": people.reject_tracks(options["tracks"])}

    def _assign(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"assigned": people.assign_tracks(options["tracks"], options["person"])}
