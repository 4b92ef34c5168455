"""Fixtures for learned actions: the short shared clips indexed once per module, real weights, real database.

Indexing commits as it goes (as on a worker), so these tests use the module-wide committed database
(``committed_env``) and delete the rows they made at the end. CRNN fine-tunes run 3 epochs (``HL_CRNN_EPOCHS``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="module")
def learning_env(committed_env: Path) -> Iterator[Path]:
    """The committed test database and private var folders (index, work files, media, trained models)."""
    var = committed_env
    with override_settings(VAR_DIR=var, HL_MODELS_DIR=var / "models", HL_CRNN_EPOCHS=3):
        yield var
        from highlights.models import Action, ActionClassifier, Game, IndexJob

        ActionClassifier.objects.all().delete()
        IndexJob.objects.all().delete()
        Game.objects.all().delete()
        Action.objects.filter(model_classes=[]).delete()


@pytest.fixture(scope="module")
def indexed(learning_env: Path, video_dir: Path) -> dict[str, int]:
    """Game ids of the indexed shared clips; two 8 s pieces (0-8 s, 30-38 s) are cut from the 51 s practice video."""
    practice = {}
    for name, start in (("practice", 0), ("practice_late", 30)):
        practice[name] = learning_env / f"basketball_{name}_8s.mp4"
        source = video_dir / "basketball_practice_shots_51s.mp4"
        subprocess.run(
            [
                *("ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", str(source), "-t", "8"),
                *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(practice[name])),
            ],
            check=True,
        )
    videos = {
        "tennis": video_dir / "tennis_atp_hardcourt_5s.mp4",
        "clay": video_dir / "tennis_atp_clay_6s.mp4",
        "baseball": video_dir / "baseball_mlb_pitch_7s.mp4",
        "nba": video_dir / "basketball_nba_broadcast_5s.mp4",
        **practice,
    }
    games = {}
    for name, path in videos.items():
        out = StringIO()
        call_command("index_game", str(path), "--json", stdout=out)
        games[name] = json.loads(out.getvalue())["game_id"]
    return games
