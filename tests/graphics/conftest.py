"""Fixtures for the graphics tests: real PostgreSQL, real ffmpeg, real footage, the real OCR and action model.

Indexing commits as it goes, so the end-to-end module uses the committed test database
(``committed_env`` in tests/conftest.py) and starts and ends with no games, jobs or people.
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
def graphics_env(committed_env: Path) -> Iterator[Path]:
    """The committed test database and private var folders, with no games, jobs or people before and after.

    Emptied at the start too: a module run earlier in the session may leave the same shared clip
    indexed, and re-indexing a known file reuses its game (linked before this module's people existed).
    """
    from highlights.models import Game, IndexJob, Person

    def empty() -> None:
        IndexJob.objects.all().delete()
        Game.objects.all().delete()
        Person.objects.all().delete()

    empty()
    yield committed_env
    empty()


@pytest.fixture(scope="module")
def manage(graphics_env: Path) -> Callable[..., Any]:
    """Run ``manage.py NAME ARGS... --json`` in-process (local mode) and return its parsed JSON."""

    def run(name: str, *args: str) -> Any:
        out = StringIO()
        call_command(name, *args, "--json", stdout=out)
        return json.loads(out.getvalue())

    return run
