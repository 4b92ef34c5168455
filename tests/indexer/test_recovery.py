"""Recovery of jobs whose messages were lost, and dropping of duplicate deliveries, on real footage in local mode."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from highlights.locks import LockKey, session_lock
from highlights.models import Clip, IndexJob
from indexer.pipeline import run_step


@pytest.fixture(scope="module")
def indexed_job(index_game: Callable[..., dict[str, Any]], video_dir: Path) -> IndexJob:
    report = index_game(video_dir / "tennis_atp_clay_6s.mp4")
    return IndexJob.objects.get(game_id=report["game_id"])


def _stall(job: IndexJob, *, completed_step: str, minutes_ago: float = 60) -> None:
    """Put the job back as a worker that died after ``completed_step`` would have left it."""
    Clip.objects.filter(game=job.game).update(thumbnail="")
    IndexJob.objects.filter(pk=job.pk).update(
        status=IndexJob.Status.RUNNING,
        stage=completed_step,
        progress=50,
        completed_step=completed_step,
        finished_at=None,
        heartbeat_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _recover(*args: str) -> list[int]:
    out = StringIO()
    call_command("recover_jobs", "--json", *args, stdout=out)
    return json.loads(out.getvalue())["recovered"]


@pytest.fixture
def lock_held_elsewhere(indexed_job: IndexJob) -> Iterator[None]:
    """Another database session (a live worker's) holds the job's lock while the test runs."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session_lock(LockKey.JOB, indexed_job.pk) as held:
            assert held
            taken.set()
            release.wait(30)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    yield
    release.set()
    thread.join(10)


def test_the_index_job_records_its_last_step_and_heartbeat(indexed_job: IndexJob) -> None:
    assert indexed_job.status == IndexJob.Status.SUCCEEDED
    assert indexed_job.completed_step == "thumbnails"
    assert indexed_job.started_at <= indexed_job.heartbeat_at <= indexed_job.finished_at


def test_a_stalled_job_is_resumed_from_its_first_step_not_completed_without_duplicate_clips(
    indexed_job: IndexJob,
) -> None:
    clips_before = sorted(Clip.objects.filter(game=indexed_job.game).values_list("pk", flat=True))
    _stall(indexed_job, completed_step="index")
    assert _recover("--dry-run") == [indexed_job.pk]
    assert IndexJob.objects.get(pk=indexed_job.pk).status == IndexJob.Status.RUNNING, "a dry run sends nothing"

    assert _recover() == [indexed_job.pk]  # local mode: the remaining steps run in-process

    job = IndexJob.objects.get(pk=indexed_job.pk)
    assert (job.status, job.completed_step, job.progress) == (IndexJob.Status.SUCCEEDED, "thumbnails", 100)
    assert job.attempts == indexed_job.attempts + 1
    clips = Clip.objects.filter(game=job.game)
    assert sorted(clips.values_list("pk", flat=True)) == clips_before
    assert not clips.filter(thumbnail="").exists(), "the thumbnails step ran again"
    assert max(Counter(clips.values_list("start_ms", flat=True)).values()) == 1
    assert _recover("--stalled-after", "0") == [], "a finished job is never recovered"


def test_a_job_with_a_recent_heartbeat_is_not_stalled(indexed_job: IndexJob) -> None:
    _stall(indexed_job, completed_step="faces", minutes_ago=1)
    assert _recover() == []  # default HL_JOB_STALL_S: 15 minutes
    assert _recover("--stalled-after", "30") == [indexed_job.pk]
    assert IndexJob.objects.get(pk=indexed_job.pk).status == IndexJob.Status.SUCCEEDED


@pytest.mark.usefixtures("lock_held_elsewhere")
def test_a_job_a_live_process_holds_is_not_recovered_and_a_duplicate_delivery_is_dropped(
    indexed_job: IndexJob,
) -> None:
    _stall(indexed_job, completed_step="index")
    assert _recover("--stalled-after", "0") == []
    assert run_step(indexed_job.pk, "faces") is False
    job = IndexJob.objects.get(pk=indexed_job.pk)
    assert (job.stage, job.completed_step) == ("index", "index"), "the dropped delivery changed nothing"


def test_a_delivery_of_a_completed_step_is_dropped(indexed_job: IndexJob) -> None:
    _stall(indexed_job, completed_step="faces")
    before = IndexJob.objects.get(pk=indexed_job.pk)
    assert run_step(indexed_job.pk, "clips") is False
    assert run_step(indexed_job.pk, "faces") is False
    assert IndexJob.objects.get(pk=indexed_job.pk).heartbeat_at == before.heartbeat_at
    assert run_step(indexed_job.pk, "thumbnails") is True
    assert IndexJob.objects.get(pk=indexed_job.pk).status == IndexJob.Status.SUCCEEDED


def test_queued_jobs_are_re_sent_only_when_asked(indexed_job: IndexJob) -> None:
    queued = IndexJob.objects.create(
        source_path=indexed_job.source_path, pipeline_version=indexed_job.pipeline_version, priority="low"
    )
    IndexJob.objects.filter(pk=queued.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert _recover() == []
    assert _recover("--queued", "--dry-run") == [queued.pk]
    assert _recover("--queued") == [queued.pk]
    job = IndexJob.objects.get(pk=queued.pk)
    assert (job.status, job.attempts, job.game_id) == (IndexJob.Status.SUCCEEDED, 1, indexed_job.game_id)
