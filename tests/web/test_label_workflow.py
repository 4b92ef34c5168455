"""The editors' workflow for a new action in the web app: define, tag, train, review, publish, search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client, override_settings

from highlights.models import Action, ActionClassifier, Clip, Game, LearnedAction, ReviewStatus, TrainingJob

Login = Callable[[str], Client]
NEW_LABEL = "groundstroke"


@pytest.fixture(scope="module")
def env(games: dict[str, Game], users: dict, web_env: Path) -> Iterator[dict[str, Game]]:
    """The web fixtures' games, with trained models written under the module's var folder and removed at the end."""
    with override_settings(HL_MODELS_DIR=web_env / "models"):
        yield games
        TrainingJob.objects.all().delete()
        ActionClassifier.objects.all().delete()
        Action.objects.filter(name=NEW_LABEL).delete()


def test_fans_get_403_on_every_label_page_and_post(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    assert fan.get("/labels/").status_code == 403
    assert fan.post("/labels/", {"sport": "tennis", "name": "sneaky"}).status_code == 403
    assert fan.post("/labels/train/", {"labels": ["rally"]}).status_code == 403
    assert Client().get("/labels/").status_code == 403
    assert not Action.objects.filter(name="sneaky").exists()
    assert "/labels/" not in fan.get("/").content.decode()
    assert 'href="/labels/"' in login("editor").get("/").content.decode()


def test_posts_need_the_csrf_token(env: dict[str, Game], login: Login) -> None:
    editor = login("editor")
    del editor.defaults["HTTP_X_CSRFTOKEN"]
    assert editor.post("/labels/", {"sport": "tennis", "name": "nocsrf"}).status_code == 403
    assert not Action.objects.filter(name="nocsrf").exists()


def test_define_tag_train_review_publish_then_search(env: dict[str, Game], login: Login) -> None:
    editor = login("editor")
    assert editor.post("/labels/", {"sport": "tennis", "name": NEW_LABEL}).status_code == 302
    label = Action.objects.get(sport="tennis", name=NEW_LABEL)
    assert editor.post("/labels/", {"sport": "tennis", "name": NEW_LABEL}).status_code == 302  # refused, no dup
    assert Action.objects.filter(name=NEW_LABEL).count() == 1

    # Tag through the clip page's review form: tennis clips get the new label, baseball clips are negatives.
    tennis = list(env["tennis"].clips.values_list("pk", flat=True))
    baseball = list(env["baseball"].clips.values_list("pk", flat=True))
    pitch = Action.objects.get(sport="baseball", name="pitch or catch")
    assert f'<option value="{label.pk}">{NEW_LABEL}</option>' in editor.get(f"/clips/{tennis[0]}/").content.decode()
    for pk in tennis:
        assert editor.post(f"/clips/{pk}/review/", {"action": label.pk, "review_status": "verified"}).status_code == 302
    for pk in baseball:
        assert editor.post(f"/clips/{pk}/review/", {"action": pitch.pk, "review_status": "verified"}).status_code == 302
    assert Clip.objects.filter(pk__in=tennis, action=label, review_status=ReviewStatus.VERIFIED).count() == len(tennis)
    page = editor.get("/labels/").content.decode()
    assert f'value="{NEW_LABEL}"' in page and f"<td>{NEW_LABEL}</td>" in page

    # Train twice through the page: each is a training job (run in-process here, with no broker) that
    # registers and activates the next version; the labels page shows the jobs and links their versions.
    first = editor.post("/labels/train/", {"labels": [NEW_LABEL], "kind": "head"})
    assert first["Location"] == "/labels/#training"
    v1 = ActionClassifier.objects.get(action_set=NEW_LABEL, version=1)
    job = TrainingJob.objects.get(action_set=NEW_LABEL)
    assert (job.status, job.progress, job.model, job.kind) == ("succeeded", 100, v1, "head")
    editor.post("/labels/train/", {"labels": [NEW_LABEL]})
    v2 = ActionClassifier.objects.get(action_set=NEW_LABEL, version=2)
    polled = editor.get("/labels/", HTTP_HX_REQUEST="true").content.decode()
    assert polled.startswith('<div id="training"') and "hx-trigger" not in polled, "nothing left to poll"
    for version in (v1, v2):
        assert f'<a href="/labels/models/{version.pk}/">v{version.version}</a>' in polled
    assert 'aria-valuenow="100"' in polled and "<html" not in polled
    queued = TrainingJob.objects.create(action_set=NEW_LABEL, kind="crnn")
    polling = editor.get("/labels/").content.decode()
    assert 'hx-trigger="every 2s"' in polling and f'data-job="{queued.pk}"' in polling
    queued.delete()
    assert v2.is_active and not ActionClassifier.objects.get(pk=v1.pk).is_active
    assert set(v1.training_clips.values_list("pk", flat=True)) == set(tennis + baseball)

    html = editor.get(f"/labels/models/{v1.pk}/").content.decode()
    assert 'id="metrics"' in html and 'id="publish"' in html and f"/clips/{tennis[0]}/" in html
    for c in v1.metrics["classes"]:
        assert f"<td>{c['label']}</td><td>{c['precision']:.3f}</td><td>{c['recall']:.3f}</td>" in html
    png = editor.get(f"/labels/models/{v1.pk}/confusion.png")
    body = b"".join(png.streaming_content)
    assert (png.status_code, png["Content-Type"]) == (200, "image/png") and body.startswith(b"\x89PNG\r\n\x1a\n")
    assert login("fan").get(f"/labels/models/{v1.pk}/confusion.png").status_code == 403

    # Publish v1 again: it becomes the active version, applied to the archive, and the new label searches.
    LearnedAction.objects.all().delete()
    assert login("fan").post(f"/labels/models/{v1.pk}/publish/").status_code == 403
    assert editor.post(f"/labels/models/{v1.pk}/publish/")["Location"] == f"/labels/models/{v1.pk}/"
    assert ActionClassifier.objects.get(pk=v1.pk).is_active and not ActionClassifier.objects.get(pk=v2.pk).is_active
    assert 'id="publish"' not in editor.get(f"/labels/models/{v1.pk}/").content.decode()
    hits = Client().get("/api/search/", {"q": NEW_LABEL}).json()
    found = {h["id"] for h in hits["results"]}
    assert set(tennis) <= found and not found & set(baseball)
    assert LearnedAction.objects.filter(model=v1, clip_id__in=tennis).count() == len(tennis)


def test_training_without_verified_clips_says_why(env: dict[str, Game], login: Login) -> None:
    editor = login("editor")
    resp = editor.post("/labels/train/", {"labels": ["dunk"]}, follow=True)
    assert "no verified clip labelled dunk" in resp.content.decode()
    assert not TrainingJob.objects.filter(action_set="dunk").exists(), "no job is queued for what cannot train"
