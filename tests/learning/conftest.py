"""Fixtures for learned highlight types: the short shared clips indexed once per module, real weights, real database.

Indexing commits as it goes (as on a worker), so these tests run with the database unblocked for the
whole module and delete the rows they made at the end. Indexing runs at 112 px (``HL_INPUT_SIZE``) to
keep the suite fast on two cores; the embeddings stay I3D's 1024-d features.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="module")
def learning_env(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, weights_dir: Path
) -> Iterator[Path]:
    """Unblocked test database and private var folders (index, work files, media, trained models)."""
    var = tmp_path_factory.mktemp("var")
    with (
        django_db_blocker.unblock(),
        override_settings(
            VAR_DIR=var,
            HL_INDEX_DIR=var / "index",
            HL_WORK_DIR=var / "work",
            MEDIA_ROOT=var / "media",
            HL_MODELS_DIR=var / "models",
            HL_WEIGHTS_DIR=weights_dir,
            HL_INPUT_SIZE=112,
            HL_CRNN_EPOCHS=3,
        ),
    ):
        yield var
        from highlights.models import ActionLabel, Game, HighlightModel, IndexJob

        HighlightModel.objects.all().delete()
        IndexJob.objects.all().delete()
        Game.objects.all().delete()
        ActionLabel.objects.filter(model_classes=[]).delete()


@pytest.fixture(scope="module")
def indexed(learning_env: Path, video_dir: Path) -> dict[str, int]:
    """Game ids of the indexed shared clips; the 51 s practice video is cut to its first 8 s with ffmpeg."""
    practice = learning_env / "basketball_practice_8s.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(video_dir / "basketball_practice_shots_51s.mp4"), "-t", "8"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(practice)],
        check=True,
    )
    videos = {
        "tennis": video_dir / "tennis_atp_hardcourt_5s.mp4",
        "clay": video_dir / "tennis_atp_clay_6s.mp4",
        "baseball": video_dir / "baseball_mlb_pitch_7s.mp4",
        "nba": video_dir / "basketball_nba_broadcast_5s.mp4",
        "practice": practice,
    }
    games = {}
    for name, path in videos.items():
        out = StringIO()
        call_command("index_game", str(path), "--json", stdout=out)
        games[name] = json.loads(out.getvalue())["game_id"]
    return games
