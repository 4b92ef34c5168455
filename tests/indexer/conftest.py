"""Fixtures for pipeline tests: real PostgreSQL (the embedded server), real ffmpeg, real footage, real weights.

The pipeline commits as it goes, so these tests use the module-wide committed database
(``committed_env`` in tests/conftest.py) and clean up the rows they made at the end.
"""

from __future__ import annotations

import json
import subprocess
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
    from highlights.models import Game, IndexJob, Person

    IndexJob.objects.all().delete()
    Game.objects.all().delete()
    Person.objects.all().delete()


@pytest.fixture(scope="module")
def index_game(pipeline_env: Path) -> Callable[..., dict[str, Any]]:
    """Run ``manage.py index_game PATH --json`` in-process (local mode) and return its JSON."""

    def run(path: Path, *args: str) -> dict[str, Any]:
        out = StringIO()
        call_command("index_game", str(path), "--json", *args, stdout=out)
        return json.loads(out.getvalue())

    return run


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


@pytest.fixture(scope="session")
def animated_gif(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared NBA broadcast clip as an animated GIF (10 fps, 854x480), which decord refuses to open."""
    out = tmp_path_factory.mktemp("gif") / "nba_broadcast.gif"
    _ffmpeg("-i", str(video_dir / "basketball_nba_broadcast_5s.mp4"), "-vf", "fps=10", "-loop", "0", str(out))
    return out


@pytest.fixture(scope="session")
def interlaced_ts(video_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared NBA broadcast clip as MPEG-2 1080i (scaled to 1920x1080) in a transport stream, top field first.

    ``tinterlace=interleave_top`` weaves the top field of each odd frame with the bottom field of
    the next, so every frame holds two instants 1/30 s apart (combing wherever things move), as a
    broadcast 1080i camera records; ``+ilme+ildct -top 1`` codes it as interlaced MPEG-2.
    """
    out = tmp_path_factory.mktemp("ts") / "nba_broadcast_1080i.ts"
    _ffmpeg(
        "-i", str(video_dir / "basketball_nba_broadcast_5s.mp4"),
        "-vf", "scale=1920:1080,fps=30,tinterlace=mode=interleave_top,setfield=tff",
        "-c:v", "mpeg2video", "-b:v", "15M", "-maxrate", "15M", "-bufsize", "4M", "-flags", "+ilme+ildct", "-top", "1",
        "-c:a", "mp2", "-b:a", "192k", "-f", "mpegts", str(out),
    )  # fmt: skip
    return out
