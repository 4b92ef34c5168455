"""Fixtures for pipeline tests: real PostgreSQL (the embedded server), real ffmpeg, real footage, real weights.

The pipeline commits as it goes (each step is its own transaction, as on a worker), so these tests
run with the database unblocked for the whole module and clean up the rows they made at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="module")
def pipeline_env(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, weights_dir: Path
) -> Iterator[Path]:
    """Unblocked test database and private var folders for index, work files and media."""
    var = tmp_path_factory.mktemp("var")
    with (
        django_db_blocker.unblock(),
        override_settings(
            HL_INDEX_DIR=var / "index", HL_WORK_DIR=var / "work", MEDIA_ROOT=var / "media", HL_WEIGHTS_DIR=weights_dir
        ),
    ):
        yield var
        from highlights.models import Game, IndexJob

        IndexJob.objects.all().delete()
        Game.objects.all().delete()


@pytest.fixture(scope="module")
def index_game(pipeline_env: Path) -> Callable[..., dict[str, Any]]:
    """Run ``manage.py index_game PATH --json`` in-process (local mode) and return its JSON."""

    def run(path: Path, *args: str) -> dict[str, Any]:
        out = StringIO()
        call_command("index_game", str(path), "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    return run
