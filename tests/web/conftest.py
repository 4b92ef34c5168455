"""Fixtures for the web app and API: real PostgreSQL, real footage indexed once per module, real ffmpeg.

Indexing and rendering commit as they go (as on a worker), so the module runs with the database
unblocked and removes the rows it made at the end. Users: two fans, an editor and an admin.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.test import Client, override_settings

from highlights.models import Game, IndexJob, Reel
from highlights.roles import EDITORS_GROUP

PASSWORD = "a-long-test-password"


@pytest.fixture(scope="module")
def web_env(committed_env: Path, video_dir: Path) -> Iterator[Path]:
    """The committed test database, private var folders (uploads too), and ``video_dir`` as an archive root."""
    with override_settings(
        HL_ARCHIVE_ROOTS=[video_dir, committed_env / "archive"], HL_UPLOAD_DIR=committed_env / "uploads"
    ):
        yield committed_env
        Reel.objects.all().delete()
        IndexJob.objects.all().delete()
        Game.objects.all().delete()
        User.objects.filter(username__in=["fan", "fan2", "editor", "admin"]).delete()


@pytest.fixture(scope="module")
def games(web_env: Path, video_dir: Path) -> dict[str, Game]:
    """Two short real games indexed in local mode: a tennis rally (2025) and a baseball pitch (2026, Red Sox)."""

    def index(name: str, *args: str) -> Game:
        out = StringIO()
        call_command("index_game", str(video_dir / name), "--json", *args, stdout=out)
        return Game.objects.get(pk=json.loads(out.getvalue())["game_id"])

    tennis = index("tennis_atp_hardcourt_5s.mp4", "--title", "ATP hard court")
    baseball = index("baseball_mlb_pitch_7s.mp4", "--sport", "baseball", "--home", "Red Sox", "--away", "Yankees")
    Game.objects.filter(pk=tennis.pk).update(date=date(2025, 8, 30))
    Game.objects.filter(pk=baseball.pk).update(date=date(2026, 4, 12))
    tennis.refresh_from_db()
    baseball.refresh_from_db()
    assert tennis.clips.exists() and baseball.clips.exists()
    return {"tennis": tennis, "baseball": baseball}


@pytest.fixture(scope="module")
def users(web_env: Path) -> dict[str, User]:
    """``fan``, ``fan2``, ``editor`` (in the editors group) and ``admin`` (superuser), all with ``PASSWORD``."""
    made = {name: User.objects.create_user(name, password=PASSWORD) for name in ("fan", "fan2", "editor")}
    made["editor"].groups.add(Group.objects.get(name=EDITORS_GROUP))
    made["admin"] = User.objects.create_superuser("admin", password=PASSWORD)
    return made


@pytest.fixture
def login(users: dict[str, User]) -> Callable[..., Client]:
    """A signed-in test client (CSRF checks enforced, as in a browser)."""

    def make(name: str) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(users[name])
        client.get("/")  # sets the csrftoken cookie
        client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
        return client

    return make


def ffprobe(path: Path) -> dict[str, Any]:
    """ffprobe's JSON for a media file: ``format`` and ``streams``."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def moov_before_mdat(path: Path) -> bool:
    """Whether an MP4's index (``moov``) precedes its media data (``mdat``): ``+faststart``."""
    data = path.read_bytes()[:4_000_000]
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    return moov != -1 and (mdat == -1 or moov < mdat)
