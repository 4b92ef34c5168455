"""Learned actions end to end on indexed shared footage: heads, registry, search, CRNN, evaluation."""

from __future__ import annotations

import json
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from highlights import learning
from highlights.models import Action, ActionClassifier, Clip, LearnedAction, ReviewStatus, TrainingJob
from highlights.selectors import search_clips

# Editors' new labels, one per sport: the clips of these games are verified; clay and practice_late are held out.
NEW_LABELS = {
    "tennis": ("tennis", "rally"),
    "baseball": ("baseball", "windup"),
    "nba": ("basketball", "possession"),
    "practice": ("basketball", "possession"),
}


def _json(command: str, *args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(command, *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def verified(indexed: dict[str, int]) -> dict[str, list[int]]:
    """Mark the clips of the tennis, baseball and NBA games verified with the new labels (as editors would)."""
    for game, (sport, name) in NEW_LABELS.items():
        action, _ = Action.objects.get_or_create(sport=sport, name=name)
        Clip.objects.filter(game_id=indexed[game]).update(action=action, review_status=ReviewStatus.VERIFIED)
    return {g: list(Clip.objects.filter(game_id=gid).values_list("pk", flat=True)) for g, gid in indexed.items()}


@pytest.fixture(scope="module")
def head(verified: dict[str, list[int]]) -> dict[str, Any]:
    return _json("train_classifier", "--labels", "rally,windup,possession", "--kind", "head")


def _labels(model_id: int, clip_ids: list[int]) -> set[str]:
    return set(LearnedAction.objects.filter(model_id=model_id, clip_id__in=clip_ids).values_list("action", flat=True))


def test_head_labels_the_held_out_shared_clips(head: dict[str, Any], verified: dict[str, list[int]]) -> None:
    assert head["kind"] == "head" and head["version"] == 1 and head["parent"].startswith("i3d_rgb_kinetics400@")
    assert head["classes"] == ["possession", "rally", "windup"]
    assert head["training_clips"] == sum(len(verified[g]) for g in NEW_LABELS)
    assert verified["clay"] and verified["practice_late"]
    assert _labels(head["model_id"], verified["clay"]) == {"rally"}
    assert _labels(head["model_id"], verified["practice_late"]) == {"possession"}
    assert 0.0 <= head["metrics"]["top1"] <= 1.0 and len(head["metrics"]["classes"]) == 3


def test_new_labels_are_searchable_and_applying_decodes_no_video(
    head: dict[str, Any], verified: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    hits = {h.clip_id for h in search_clips("rally")}
    assert set(verified["clay"]) <= hits and not hits & set(verified["baseball"] + verified["practice_late"])
    LearnedAction.objects.filter(model_id=head["model_id"]).delete()
    assert not {h.clip_id for h in search_clips("possession")} & set(verified["practice_late"])  # only via the head

    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("applying a head must not decode video")

    monkeypatch.setattr("decord.VideoReader", no_decoding)
    assert learning.apply_head(head["model_id"]) == sum(len(ids) for ids in verified.values())
    assert {h.clip_id for h in search_clips("possession")} >= set(verified["practice_late"])


def test_each_training_registers_a_version_and_rollback_restores_the_previous(head: dict[str, Any]) -> None:
    second = _json("train_classifier", "--labels", "windup,rally,possession")
    assert second["version"] == 2
    active = ActionClassifier.objects.filter(action_set="possession,rally,windup", is_active=True)
    assert list(active.values_list("version", flat=True)) == [2]
    rolled = _json("classifiers", "rollback", "rally,windup,possession")
    assert [m["version"] for m in rolled["models"]] == [1]
    assert list(active.values_list("version", flat=True)) == [1]
    assert search_clips("rally"), "version 1's stored labels are searchable again"


def test_crnn_fine_tune_round_trips_through_the_registry(
    verified: dict[str, list[int]], indexed: dict[str, int]
) -> None:
    activation = learning.train_model(["rally", "windup"], ActionClassifier.Kind.CRNN)
    model = activation.model
    assert activation.labelling is None, "a CRNN labels the games an operator picks, not the archive"
    assert model.parent == "mobilenet_v2_imagenet1k@b0353104" and model.params["frames"] == 8
    losses = model.metrics["losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert set(model.training_clips.values_list("pk", flat=True)) >= set(verified["tennis"] + verified["baseball"])
    assert learning.unload_network(model) == 0, "training does not load the registered network"
    learning.label_game_with_crnn(model.pk, indexed["clay"])  # read from the file, as another process would
    clay = LearnedAction.objects.filter(model=model, clip_id__in=verified["clay"])
    assert clay.count() == LearnedAction.objects.filter(model=model, clip__game_id=indexed["clay"]).count()
    path = Path(settings.HL_MODELS_DIR) / model.weights_path
    path.write_bytes(path.read_bytes() + b"tampered")
    assert learning.unload_network(model) == 1, "labelling loaded it into the worker's model cache"
    with pytest.raises(learning.LearningError, match="sha256"):
        learning.load_network(model)


def test_a_training_job_records_its_progress_and_the_version_it_registered(
    verified: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = learning.request_training(["windup", "possession"], ActionClassifier.Kind.HEAD)
    assert (job.status, job.progress, job.action_set) == (TrainingJob.Status.QUEUED, 0, "possession,windup")
    seen: list[tuple[int, str]] = []
    advance = TrainingJob.advance

    def record(self: TrainingJob, progress: int, stage: str) -> None:
        seen.append((TrainingJob.objects.get(pk=self.pk).status, progress))
        advance(self, progress, stage)

    monkeypatch.setattr(TrainingJob, "advance", record)
    activation = learning.run_training_job(job.pk)
    assert activation is not None and activation.labelling == learning.Labelling(activation.model.pk)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error, job.model) == (TrainingJob.Status.SUCCEEDED, 100, "", activation.model)
    assert [p for _, p in seen] == sorted(p for _, p in seen) and len(seen) >= 3
    assert {status for status, _ in seen} == {TrainingJob.Status.RUNNING}
    assert activation.model.action_set == "possession,windup" and activation.model.is_active
    assert learning.run_training_job(job.pk) is None, "a finished job is not trained again"
    assert ActionClassifier.objects.filter(action_set="possession,windup").count() == 1


def test_evaluate_prints_metrics_and_writes_pngs(video_dir: Path, tmp_path: Path, head: dict[str, Any]) -> None:
    manifest = tmp_path / "eval.csv"
    manifest.write_text(
        "path,start_s,end_s,label\n"
        f"{video_dir / 'tennis_atp_clay_6s.mp4'},0.5,4.5,playing tennis\n"
        f"{video_dir / 'baseball_mlb_pitch_7s.mp4'},0.5,5.0,hitting baseball\n"
    )
    report = _json("evaluate", str(manifest), "--plots", str(tmp_path / "plots"))
    assert report["model"] == "action model" and report["count"] == 2
    assert report["top1"] == 1.0 and report["mAP"] == 1.0
    assert [c["label"] for c in report["classes"]] == ["hitting baseball", "playing tennis"]
    for png in report["plots"]:
        assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_labels_are_refused(db: None) -> None:
    with pytest.raises(learning.LearningError, match="no verified clip labelled alley-oop"):
        learning.verified_examples(["alley-oop"])


def test_a_newly_indexed_game_is_labelled_by_the_active_head(
    head: dict[str, Any], learning_env: Path, video_dir: Path
) -> None:
    cut = learning_env / "clay_cut.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-ss", "0.5", "-i", str(video_dir / "tennis_atp_clay_6s.mp4"),
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(cut)],
        check=True,
    )  # fmt: skip
    game_id = _json("index_game", str(cut))["game_id"]
    active = ActionClassifier.objects.get(action_set="possession,rally,windup", is_active=True)
    clips = list(Clip.objects.filter(game_id=game_id).values_list("pk", flat=True))
    assert clips
    assert _labels(active.pk, clips) == {"rally"}
