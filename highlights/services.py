"""Write side of the product: actions that change data and dispatch work (on commit)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from django.db import transaction

from highlights.models import IndexJob
from indexer.pipeline import PIPELINE_VERSION, canvas


def request_indexing(
    path: Path, *, sport: str = "", title: str = "", home_team: str = "", away_team: str = ""
) -> IndexJob:
    """Create an IndexJob for a video file and dispatch its pipeline once the transaction commits.

    The file is probed and hashed by the pipeline's first step, which attaches the job to the
    Game with the same sha256 (one Game per file content, however often it is indexed).
    In local mode (no broker) the pipeline runs in-process before this returns.

    Returns:
        The job row; read it again for status, progress and error.
    """
    fields = {"sport": sport, "title": title, "home_team": home_team, "away_team": away_team}
    with transaction.atomic():
        job = IndexJob.objects.create(
            source_path=str(Path(path).resolve()),
            pipeline_version=PIPELINE_VERSION,
            game_fields={k: v for k, v in fields.items() if v},
        )
        transaction.on_commit(partial(canvas(job.pk).apply_async))
    return job
