"""Fixtures for face tests: real PostgreSQL (the embedded server), real dlib weights, real photos and footage.

Enrolment, indexing and the people services commit as they go (as on a worker), so these tests run
with the database unblocked for the whole module, in private var folders, and delete what they made.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def faces_dir(shared_dir: Path) -> Path:
    """``../shared/data/faces``: photos of 7 identities and a two-face group photo."""
    return shared_dir / "data" / "faces"


@pytest.fixture(scope="session")
def face_photos(faces_dir: Path) -> dict[str, list[Path]]:
    """Identity → its photos, in ``labels.csv`` order."""
    photos: dict[str, list[Path]] = {}
    with open(faces_dir / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            photos.setdefault(row["identity"], []).append(faces_dir / row["file"])
    return photos


@pytest.fixture(scope="module")
def faces_env(committed_env: Path) -> Iterator[Path]:
    """The committed test database and private var folders; removes the games, jobs and people made at the end."""
    yield committed_env
    from highlights.models import Game, IndexJob, Person

    IndexJob.objects.all().delete()
    Game.objects.all().delete()
    Person.objects.all().delete()


@pytest.fixture(scope="module")
def command(faces_env: Path) -> Callable[..., dict[str, Any]]:
    """Run ``manage.py NAME ARGS... --json`` in-process and return its JSON."""

    def run(name: str, *args: str) -> dict[str, Any]:
        out = StringIO()
        call_command(name, *args, stdout=out)
        return json.loads(out.getvalue())

    return run
