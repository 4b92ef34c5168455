"""Fixtures for pipeline tests: real PostgreSQL (the embedded server), real ffmpeg, real footage, real weights.

The pipeline commits as it goes, so these tests use the module-wide committed database
(``committed_env`` in tests/conftest.py) and clean up the rows they made at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command


@pytest.fixture(scope="module")
def pipeline_env(committed_env: Path) -> Iterator[Path]:
    """The committed test database and private var folders; removes the games, jobs and players made at the end.

    Players too: the graphics step creates those named on a score bug, and a later module's matching must not
    find them.
    """
    yield committed_env
    from highlights.models import Game, IndexJob, Player

    IndexJob.objects.all().delete()
    Game.objects.all().delete()
    Player.objects.all().delete()


@pytest.fixture(scope="module")
def index_game(pipeline_env: Path) -> Callable[..., dict[str, Any]]:
    """Run ``manage.py index_game PATH --json`` in-process (local mode) and return its JSON."""

    def run(path: Path, *args: str) -> dict[str, Any]:
        out = StringIO()
        call_command("index_game", str(path), "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    return run
