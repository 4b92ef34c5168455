"""The step registry and the IndexJob lifecycle that reads it."""

from __future__ import annotations

import itertools

import pytest

from highlights.dispatch import canvas
from highlights.models import Game, IndexJob
from indexer.steps import STEP_NAMES, STEPS, step, steps_after
from indexer.tasks import STEP_TASKS


def test_progress_ranges_run_from_0_to_100_without_gaps() -> None:
    assert STEPS[0].progress[0] == 0 and STEPS[-1].progress[1] == 100
    for before, after in itertools.pairwise(STEPS):
        assert before.progress[1] == after.progress[0]
        assert before.progress[0] < before.progress[1]


def test_each_step_has_one_name_for_its_task_and_its_lookup() -> None:
    assert STEP_NAMES == ("probe", "analyse", "clips", "graphics", "index", "faces", "thumbnails")
    assert steps_after("index") == (step("faces"), step("thumbnails"))
    assert steps_after("") == STEPS
    with pytest.raises(KeyError, match="no pipeline step 'save_clips'"):
        step("save_clips")
    for s in STEPS:
        task = STEP_TASKS[s.name]
        assert task.name == s.task_name == f"indexer.{s.name}"
        assert (task.soft_time_limit, task.time_limit) == (s.soft_time_limit_s, s.soft_time_limit_s + 60)
        assert task.max_retries == s.retry.max_retries and task.acks_late


def test_the_canvas_chains_the_remaining_steps_by_task_name() -> None:
    assert [sig.task for sig in canvas(7).tasks] == [s.task_name for s in STEPS]
    resumed = canvas(7, step("faces")).tasks
    assert [(sig.task, sig.args, sig.immutable) for sig in resumed] == [
        ("indexer.faces", (7,), True),
        ("indexer.thumbnails", (7,), True),
    ]


@pytest.mark.django_db
def test_the_job_lifecycle_moves_through_the_steps_and_keeps_its_first_error() -> None:
    game = Game.objects.create(sha256="f" * 64, source_path="/archive/x.mp4")
    job = IndexJob.objects.create(source_path="/archive/x.mp4", pipeline_version="1", game=game)
    assert job.next_step == STEPS[0] and job.current_step is None and not job.is_finished

    job.start_step(STEPS[0])
    row = IndexJob.objects.get(pk=job.pk)
    assert (row.status, row.stage, row.progress, row.attempts) == ("running", "probe", 0, 1)
    job.complete_step(STEPS[0], 1.23456)
    job.start_step(step("analyse"))
    job.heartbeat(40)
    row = IndexJob.objects.get(pk=job.pk)
    assert (row.completed_step, row.stage, row.progress, row.attempts) == ("probe", "analyse", 40, 1)
    assert row.timings == {"probe": 1.235}
    assert job.has_completed(STEPS[0]) and not job.has_completed(step("analyse"))
    assert job.next_step == job.current_step == step("analyse")

    for s in STEPS[1:]:
        job.start_step(s)
        job.complete_step(s, 0.5)
    row = IndexJob.objects.get(pk=job.pk)
    assert (row.status, row.progress, row.completed_step) == ("succeeded", 100, "thumbnails")
    assert row.finished_at is not None and row.is_finished and row.next_step is None
    assert Game.objects.get(pk=game.pk).status == Game.Status.INDEXED

    failing = IndexJob.objects.create(source_path="/archive/y.mp4", pipeline_version="1")
    failing.fail("CorruptVideoError: moov atom not found\nmore detail")
    failing.fail("a later error")
    assert IndexJob.objects.get(pk=failing.pk).error == "CorruptVideoError: moov atom not found"
