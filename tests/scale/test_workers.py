"""Backfills on real Celery workers through a real Redis: two workers, a corrupt file, SIGKILL, a Redis restart."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from highlights import dispatch
from highlights.celery import app
from highlights.models import Clip, Game, IndexJob
from highlights.services import create_index_job
from ml.weights import sha256_file
from tests.scale.conftest import ScaleEnv, Worker, wait_for

BATCH = ["tennis_atp_hardcourt_5s.mp4", "tennis_atp_clay_6s.mp4", "baseball_mlb_pitch_7s.mp4", "walking_plaza_5s.mp4"]


def _command_json(name: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(name, *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _all_finished(backfill_id: int | None = None) -> bool:
    status = _command_json("backfill_status", *(["--backfill", str(backfill_id)] if backfill_id else []))
    return status["total"] > 0 and status["queued"] + status["running"] == 0


def _assert_no_duplicate_clips() -> None:
    keys = Counter(Clip.objects.values_list("game_id", "start_ms", "pipeline_version", "model_version"))
    assert keys, "some clips were stored"
    assert max(keys.values()) == 1
    assert _command_json("check_index") == {"ok": True, "missing": 0, "extra": 0}


@pytest.fixture(scope="module")
def workers(start_worker: Callable[[str], Worker]) -> list[Worker]:
    return [start_worker("w1"), start_worker("w2")]


def test_a_manifest_backfill_runs_on_two_workers_and_a_corrupt_file_fails_alone(
    workers: list[Worker], scale_env: ScaleEnv, video_dir: Path
) -> None:
    corrupt = scale_env.archive / "corrupt.mp4"
    corrupt.write_bytes(os.urandom(300_000))
    manifest = scale_env.archive / "season.csv"
    rows = [f"{video_dir / name},,{name},2024-05-0{i + 1},Home {i},Away {i}" for i, name in enumerate(BATCH)]
    rows += [f"{video_dir / BATCH[0]},tennis,same content again,,,", "corrupt.mp4,,,,,", "/etc/hostname,,,,,"]
    manifest.write_text("path,sport,title,date,home,away\n" + "\n".join(rows) + "\n")

    report = _command_json("backfill", str(manifest), "--priority", "normal")

    assert len(report["enqueued"]) == len(BATCH) + 1
    assert report["skipped"] == {"duplicate": [str(video_dir / BATCH[0])]}
    assert report["refused"] == {"/etc/hostname": "outside the archive roots"}
    wait_for(lambda: _all_finished(report["backfill_id"]), 240, "the backfill to finish", interval_s=1.0)

    jobs = IndexJob.objects.filter(backfill_id=report["backfill_id"])
    assert jobs.filter(status=IndexJob.Status.SUCCEEDED).count() == len(BATCH)
    failed = jobs.get(status=IndexJob.Status.FAILED)
    assert failed.source_path == str(corrupt)
    assert failed.attempts == 1, "a permanent error is never retried"
    assert str(corrupt) in failed.error
    assert "\n" not in failed.error
    clay = Game.objects.get(title="tennis_atp_clay_6s.mp4")
    assert (clay.status, str(clay.date), clay.home_team) == (Game.Status.INDEXED, "2024-05-02", "Home 1")
    assert jobs.filter(priority=IndexJob.Priority.NORMAL).count() == len(BATCH) + 1
    for worker in workers:
        assert "Task indexer.analyse[" in worker.log_text(), f"{worker.name} indexed no video"
    _assert_no_duplicate_clips()
    status = _command_json("backfill_status", "--backfill", str(report["backfill_id"]))
    assert {k: status[k] for k in ("total", "done", "failed", "running", "queued")} == {
        "total": len(BATCH) + 1, "done": len(BATCH), "failed": 1, "running": 0, "queued": 0,
    }  # fmt: skip
    assert status["eta_s"] == 0.0
    assert status["files_per_min"] > 0

    again = _command_json("backfill", str(manifest))
    assert again["enqueued"] == []
    assert sorted(again["skipped"]) == ["duplicate", "failed", "indexed"]
    assert len(again["skipped"]["indexed"]) == len(BATCH)


def test_a_backfill_outside_the_archive_roots_is_refused_and_a_dry_run_enqueues_nothing(
    scale_env: ScaleEnv, tmp_path: Path, video_dir: Path
) -> None:
    with pytest.raises(CommandError, match="outside the archive roots") as excinfo:
        call_command("backfill", str(tmp_path), "--json")
    assert excinfo.value.returncode == 2
    # Its own folder of new content (a container comment differs): one file is already indexed, one is not.
    folder = scale_env.archive / "dry_run"
    folder.mkdir()
    for name in ("fresh_5s.mp4", "known_5s.mp4", "other_7s.mp4"):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(video_dir / "walking_plaza_5s.mp4"), "-c", "copy",
             "-metadata", f"comment=dry run {name}", str(folder / name)],
            check=True,
        )  # fmt: skip
    known_path = folder / "known_5s.mp4"
    known = Game.objects.create(source_path=str(known_path), sha256=sha256_file(known_path), status=Game.Status.INDEXED)
    try:
        jobs_before = IndexJob.objects.count()
        dry = _command_json("backfill", str(folder), "--glob", "*_5s.mp4", "--dry-run")
        assert dry["dry_run"] is True
        assert dry["backfill_id"] is None
        assert dry["enqueued"] == [str(folder / "fresh_5s.mp4")]
        assert dry["skipped"] == {"indexed": [str(folder / "known_5s.mp4")]}
        assert IndexJob.objects.count() == jobs_before
    finally:
        known.delete()


def _active_analyse_pid(job_id: int) -> int | None:
    with app.connection_for_write() as conn:  # a fresh connection: pooled ones may predate a Redis restart
        active = app.control.inspect(timeout=1.0, connection=conn).active() or {}
    for tasks in active.values():
        for task in tasks:
            if task["name"] == "indexer.analyse" and task["args"] == [job_id]:
                return int(task["worker_pid"])
    return None


def test_a_worker_killed_mid_video_has_its_job_completed_after_the_retry_without_duplicate_clips(
    workers: list[Worker], scale_env: ScaleEnv, video_dir: Path
) -> None:
    job = create_index_job(video_dir / "basketball_practice_shots_51s.mp4", priority=IndexJob.Priority.HIGH)
    dispatch.index_job(job)
    wait_for(
        lambda: IndexJob.objects.filter(pk=job.pk, stage="analyse", progress__gte=10).exists(),
        120,
        "the job to be part-way through decoding and classifying",
    )
    pid = wait_for(lambda: _active_analyse_pid(job.pk), 10, "the worker process running the analyse step")
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: IndexJob.objects.get(pk=job.pk).status != IndexJob.Status.RUNNING, 240, "the retried job")
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (IndexJob.Status.SUCCEEDED, 100, "")
    assert any("SIGKILL" in w.log_text() and str(pid) in w.log_text() for w in workers), "the kill was seen"
    assert Clip.objects.filter(game=job.game).exists()
    _assert_no_duplicate_clips()


def test_a_redis_restart_during_a_backfill_is_survived(
    workers: list[Worker], scale_env: ScaleEnv, redis_server: Any, video_dir: Path
) -> None:
    for i in range(3):  # new content (a container comment differs), so nothing is skipped as indexed
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-i", str(video_dir / BATCH[i]), "-c", "copy",
             "-metadata", f"comment=restart copy {i}", str(scale_env.archive / f"restart_{i}.mp4")],
            check=True,
        )  # fmt: skip
    report = _command_json("backfill", str(scale_env.archive), "--glob", "restart_*.mp4")
    assert len(report["enqueued"]) == 3
    jobs = IndexJob.objects.filter(backfill_id=report["backfill_id"])
    wait_for(lambda: jobs.filter(status=IndexJob.Status.RUNNING).exists(), 60, "a job to start")

    redis_server.restart()

    wait_for(lambda: _all_finished(report["backfill_id"]), 240, "the backfill to finish", interval_s=1.0)
    assert sorted(jobs.values_list("status", flat=True)) == [IndexJob.Status.SUCCEEDED] * 3
    assert all("Connection to broker lost" in w.log_text() for w in workers), "the restart reached the workers"
    _assert_no_duplicate_clips()


def _recover(*args: str) -> list[int]:
    return _command_json("recover_jobs", "--stalled-after", "0", *args)["recovered"]


def test_a_job_whose_whole_worker_died_is_recovered_by_beat_and_completed_without_duplicate_clips(
    workers: list[Worker],
    start_worker: Callable[..., Worker],
    start_beat: Callable[..., Worker],
    scale_env: ScaleEnv,
    video_dir: Path,
) -> None:
    # Runs last: one of the two ingest workers does not come back. New content, so analyse has work to do.
    copy = scale_env.archive / "whole_worker_kill.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(video_dir / "basketball_practice_shots_51s.mp4"), "-c", "copy",
         "-metadata", "comment=whole worker kill", str(copy)],
        check=True,
    )  # fmt: skip
    job = create_index_job(copy, priority=IndexJob.Priority.HIGH)
    dispatch.index_job(job)
    wait_for(
        lambda: IndexJob.objects.filter(pk=job.pk, stage="analyse", progress__gte=10).exists(),
        120,
        "the job to be part-way through decoding and classifying",
    )
    assert _recover() == [], "a job a live worker is running is never re-dispatched"
    child = wait_for(lambda: _active_analyse_pid(job.pk), 10, "the worker process running the analyse step")
    victim = next(w for w in workers if child in w.children())
    os.kill(victim.process.pid, signal.SIGKILL)  # the machine or container dies: main process and child at once
    os.kill(child, signal.SIGKILL)
    victim.process.wait(timeout=10)

    # The compose file's beat and a worker for the default queue (worker-render's), with short periods.
    stall = {"HL_JOB_STALL_S": "10", "HL_RECOVERY_INTERVAL_S": "2"}
    render = start_worker("render", "render,default", **stall)
    start_beat(**stall)
    wait_for(lambda: IndexJob.objects.get(pk=job.pk).status != IndexJob.Status.RUNNING, 300, "the recovered job")

    job.refresh_from_db()
    assert (job.status, job.progress, job.completed_step, job.error) == (
        IndexJob.Status.SUCCEEDED, 100, "thumbnails", "",
    )  # fmt: skip
    assert job.attempts >= 2, "the recovery counts as an attempt"
    assert re.search(rf"recover_stalled_jobs\[[-0-9a-f]+\] succeeded in [0-9.]+s: \[{job.pk}\]", render.log_text())
    assert victim.process.poll() is not None, "the job was finished by the other worker"
    assert Clip.objects.filter(game=job.game).exists()
    _assert_no_duplicate_clips()
    assert _recover() == []
