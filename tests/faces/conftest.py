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
from django.test import override_settings


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
def faces_env(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, weights_dir: Path
) -> Iterator[Path]:
    """Unblocked test database and private var folders for indexes, work files and media."""
    var = tmp_path_factory.mktemp("var")
    with (
        django_db_blocker.unblock(),
        override_settings(
            HL_INDEX_DIR=var / "index", HL_WORK_DIR=var / "work", MEDIA_ROOT=var / "media", HL_WEIGHTS_DIR=weights_dir
        ),
    ):
        yield var
        from highlights.models import Game, IndexJob, Player

        IndexJob.objects.all().delete()
        Game.objects.all().delete()
        Player.objects.all().delete()


@pytest.fixture(scope="module")
def command(faces_env: Path) -> Callable[..., dict[str, Any]]:
    """Run ``manage.py NAME ARGS... --json`` in-process and return its JSON."""

    def run(name: str, *args: str) -> dict[str, Any]:
        out = StringIO()
        call_command(name, *args, stdout=out)
        return json.loads(out.getvalue())

    return run
