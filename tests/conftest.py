"""Fixtures shared by every test folder: the read-only material in ../shared and a committed test database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import setup_databases, teardown_databases

ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("HL_SHARED_DIR", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ``../shared`` folder (footage, faces, weights)."""
    if not SHARED_DIR.is_dir():
        pytest.fail(f"{SHARED_DIR} is missing: tests need the shared footage and weights beside the repo")
    return SHARED_DIR


@pytest.fixture(scope="session")
def video_dir(shared_dir: Path) -> Path:
    """Folder of real game footage (see ../shared/data/MANIFEST.md)."""
    return shared_dir / "data" / "video"


@pytest.fixture(scope="session")
def weights_dir(shared_dir: Path) -> Path:
    """Folder of pretrained weights laid out as ``HL_WEIGHTS_DIR`` expects."""
    return Path(os.environ.get("HL_WEIGHTS_DIR", shared_dir / "weights"))


@pytest.fixture(scope="session")
def test_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database, created even when no selected test carries pytest-django's ``django_db`` mark.

    pytest-django sets up databases only for the aliases that selected ``django_db`` tests use; a run
    of modules that commit through :func:`committed_env` alone would otherwise reach the real database.
    """
    with django_db_blocker.unblock():
        own = (
            None
            if connection.settings_dict["NAME"].startswith("test_")
            else setup_databases(verbosity=0, interactive=False, aliases={"default"})
        )
    yield
    if own is not None:
        with django_db_blocker.unblock():
            teardown_databases(own, verbosity=0)


@pytest.fixture(scope="module")
def committed_env(
    test_database: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, weights_dir: Path
) -> Iterator[Path]:
    """The test database unblocked for a whole module, and private var folders for indexes, work files and media.

    The pipeline commits as it goes (each step is its own transaction, as on a worker), so modules
    that index real footage cannot run inside a rolled-back test transaction; they delete the rows
    they made in their own module fixture's teardown.
    """
    if not str(connection.settings_dict["NAME"]).startswith("test_"):
        pytest.fail(f"refusing to run against {connection.settings_dict['NAME']!r}: not a test database")
    var = tmp_path_factory.mktemp("var")
    with (
        django_db_blocker.unblock(),
        override_settings(
            HL_INDEX_DIR=var / "index", HL_WORK_DIR=var / "work", MEDIA_ROOT=var / "media", HL_WEIGHTS_DIR=weights_dir
        ),
    ):
        yield var


@pytest.fixture(scope="session", autouse=True)
def _private_var(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Indexes, work files and media of the whole run in a temporary folder, never the checkout's ``var/``.

    A FAISS index left in ``var/index`` by ``./dev demo`` (1024-d clip embeddings) would otherwise meet
    the small embeddings that tests store.
    """
    var = tmp_path_factory.mktemp("session-var")
    with override_settings(HL_INDEX_DIR=var / "index", HL_WORK_DIR=var / "work", MEDIA_ROOT=var / "media"):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """An empty cache for every test: API throttle counters do not carry over from one test to the next."""
    cache.clear()
