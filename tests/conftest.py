"""Fixtures shared by every test folder: the read-only material in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
