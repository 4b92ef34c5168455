"""The model registry under concurrency, training jobs' lifecycle and typed hyperparameters, on the real database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.db import connection
from django.test import override_settings

from highlights import learning
from highlights.models import ActionClassifier, TrainingJob
from ml.heads import EmbeddingHead

RACE = ["race-b", "race-a"]


@pytest.fixture
def registry_env(committed_env: Path, tmp_path: Path) -> Iterator[Path]:
    """Committed database (threads see each other's rows) and a private models folder; rows removed after."""
    with override_settings(HL_MODELS_DIR=tmp_path / "models"):
        yield tmp_path / "models"
        TrainingJob.objects.all().delete()
        ActionClassifier.objects.filter(action_set__startswith="race-").delete()


def test_two_concurrent_registrations_of_one_action_set_get_distinct_versions(
    registry_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = learning.Examples(clips=[], y=np.zeros(0, dtype=np.int64), classes=sorted(RACE))
    real_save = torch.save

    def slow_save(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)  # widen the window between reading the latest version and adding the row
        real_save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", slow_save)
    barrier = threading.Barrier(2)
    registered: dict[int, float] = {}  # version -> the weight value that training wrote
    errors: list[BaseException] = []
    params = learning.HeadParams(in_features=4, hidden=0, epochs=1, rows=0).to_dict()

    def train_and_register(value: float) -> None:
        head = EmbeddingHead(4, 2)
        with torch.no_grad():
            head.net[-1].weight.fill_(value)
        try:
            barrier.wait()
            activation = learning.register(
                examples, ActionClassifier.Kind.HEAD, head, parent="test@0", params=params, metrics={}
            )
            registered[activation.model.version] = value
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=train_and_register, args=(value,)) for value in (1.0, 2.0)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(registered) == [1, 2] and sorted(registered.values()) == [1.0, 2.0]
    rows = ActionClassifier.objects.filter(action_set="race-a,race-b")
    assert sorted(rows.values_list("version", flat=True)) == [1, 2]
    assert list(rows.filter(is_active=True).values_list("version", flat=True)) == [2]
    for model in rows:  # each version's file holds its own training's weights
        weight = learning.load_network(model).net[-1].weight
        assert torch.all(weight == registered[model.version])


def test_activating_a_head_asks_for_the_archive_to_be_labelled(registry_env: Path) -> None:
    examples = learning.Examples(clips=[], y=np.zeros(0, dtype=np.int64), classes=["race-c"])
    activation = learning.register(
        examples, ActionClassifier.Kind.HEAD, EmbeddingHead(4, 1), parent="test@0", params={}, metrics={}
    )
    assert activation.labelling == learning.Labelling(activation.model.pk)
    assert activation.model.is_active and ActionClassifier.objects.get(pk=activation.model.pk).is_active
    with pytest.raises(learning.LearningError, match="is a head"):
        learning.request_crnn_labelling(activation.model, [])


def test_a_training_job_that_cannot_train_fails_with_the_reason_once(registry_env: Path) -> None:
    job = TrainingJob.objects.create(action_set="race-nothing-verified", kind=ActionClassifier.Kind.HEAD)
    assert learning.run_training_job(job.pk) is None
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.FAILED and job.is_finished
    assert "no verified clip labelled race-nothing-verified" in job.error and "\n" not in job.error
    assert job.started_at is not None and job.finished_at is not None and job.model is None
    finished_at = job.finished_at
    assert learning.run_training_job(job.pk) is None, "a finished job is not run again"
    job.refresh_from_db()
    assert job.finished_at == finished_at


def test_requesting_a_training_checks_labels_and_kind_before_adding_a_job(registry_env: Path) -> None:
    with pytest.raises(learning.LearningError, match="no verified clip labelled race-x"):
        learning.request_training(["race-x"], ActionClassifier.Kind.CRNN)
    with pytest.raises(learning.LearningError, match="unknown model kind 'svm'"):
        learning.request_training(["race-x"], "svm")
    with pytest.raises(learning.LearningError, match="without commas"):
        learning.request_training([" "], ActionClassifier.Kind.HEAD)
    assert not TrainingJob.objects.exists()


def test_hyperparameters_round_trip_through_the_stored_json() -> None:
    params = learning.CRNNParams(frames=8, input_size=112, hidden=256, trainable_blocks=2, epochs=3)
    assert learning.CRNNParams.from_dict({**params.to_dict(), "extra": 1}) == params
    head = learning.HeadParams(in_features=1024, hidden=0, epochs=300, rows=42)
    assert head.to_dict() == {"in_features": 1024, "hidden": 0, "epochs": 300, "rows": 42}
    with pytest.raises(learning.LearningError, match="lack epochs, rows"):
        learning.HeadParams.from_dict({"in_features": 1024, "hidden": 0})
