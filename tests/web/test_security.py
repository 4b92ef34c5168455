"""Security fixes on real footage, real ffprobe and real renders: uploads, rejected clips, publication, jobs,
deleting a game, renders that die (issue 10, items 3, 5, 8 and 9)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from highlights import dispatch, services, tasks, uploads
from highlights.models import Clip, Game, IndexJob, Reel, ReviewStatus
from highlights.rendering import RenderError
from indexer.index_writer import check_clip_index
from indexer.pipeline import RETRYABLE_ERRORS

Login = Callable[[str], Client]
JSON = "application/json"


@pytest.fixture(scope="module")
def env(games: dict[str, Game], users: dict) -> dict[str, Game]:
    return games


def _upload(client: Client, name: str, data: bytes) -> HttpResponse:
    return client.post("/jobs/", {"video": SimpleUploadedFile(name, data, content_type="video/mp4")})


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _best(game: Game) -> Clip:
    return game.clips.order_by("-highlight_score", "pk").first()


# --- uploads -----------------------------------------------------------------------------------


def test_uploads_with_the_same_name_keep_their_own_files(env: dict[str, Game], login: Login, video_dir: Path) -> None:
    editor = login("editor")
    upload_dir = Path(settings.HL_UPLOAD_DIR)
    contents = [(video_dir / n).read_bytes() for n in ("tennis_atp_clay_6s.mp4", "basketball_nba_broadcast_5s.mp4")]
    for data in contents:
        assert _upload(editor, "game.mp4", data).status_code == 302
    games = [Game.objects.get(sha256=_sha256(data)) for data in contents]
    paths = [Path(g.source_path) for g in games]
    for game, data, path in zip(games, contents, paths, strict=True):
        assert path == upload_dir / game.sha256[:16] / "game.mp4"
        assert path.read_bytes() == data
        assert game.clips.exists()
        assert game.jobs.get().sha256 == game.sha256

    # the same content again, under another name: its Game and job are reused and no second file is kept
    jobs = IndexJob.objects.count()
    again = _upload(editor, "copy of game.mp4", contents[0])
    assert again.status_code == 302
    assert "already" in editor.get(again["Location"]).content.decode()
    assert IndexJob.objects.count() == jobs
    assert _files(upload_dir) == sorted(paths)


def test_bad_uploads_are_refused_and_leave_no_file(env: dict[str, Game], login: Login, video_dir: Path) -> None:
    editor = login("editor")
    upload_dir = Path(settings.HL_UPLOAD_DIR)
    before, jobs = _files(upload_dir), IndexJob.objects.count()

    text = _upload(editor, "notes.mp4", b"these are not the frames you are looking for\n" * 100)
    assert text.status_code == 400
    assert "notes.mp4 is not a readable video" in text.content.decode()
    assert str(upload_dir) not in text.content.decode()  # no server path in the message
    empty = _upload(editor, "empty.mp4", b"")
    assert empty.status_code == 400
    assert "empty.mp4 is empty" in empty.content.decode()
    video = (video_dir / "press_conference_face_12s.mp4").read_bytes()
    with override_settings(HL_UPLOAD_MAX_BYTES=len(video) // 2):
        big = _upload(editor, "big.mp4", video)
    assert big.status_code == 413
    assert "larger than" in big.content.decode()

    assert _files(upload_dir) == before
    assert IndexJob.objects.count() == jobs


def test_the_upload_handler_stops_reading_past_the_limit(video_dir: Path) -> None:
    video = (video_dir / "tennis_atp_clay_6s.mp4").read_bytes()

    def parsed(limit: int) -> HttpRequest:
        request = RequestFactory().post("/jobs/", {"video": SimpleUploadedFile("clay.mp4", video), "title": "t"})
        with override_settings(HL_UPLOAD_MAX_BYTES=limit):
            assert request.FILES is not None  # parses the body under the limit
        return request

    stopped = parsed(len(video) - 1)
    assert "video" not in stopped.FILES
    with pytest.raises(uploads.UploadTooLargeError, match="larger than the upload limit"):
        uploads.refuse_if_over_limit(stopped)
    kept = parsed(len(video))
    assert kept.FILES["video"].read() == video
    uploads.refuse_if_over_limit(kept)


# --- rejected clips, publication, jobs ----------------------------------------------------------


def test_rejected_clips_are_hidden_from_fans_everywhere(env: dict[str, Game], login: Login) -> None:
    rejected, other = _best(env["tennis"]), _best(env["baseball"])
    editor, fan = login("editor"), login("fan")
    assert editor.patch(f"/api/clips/{rejected.pk}/", {"review_status": "rejected"}, JSON).status_code == 200
    try:
        for client in (Client(), fan):
            assert client.get(f"/api/clips/{rejected.pk}/").status_code == 404
            assert client.get(f"/clips/{rejected.pk}/thumb.jpg").status_code == 404
            assert client.get(f"/api/clips/{rejected.pk}/similar/").status_code == 404
            assert rejected.pk not in {c["id"] for c in client.get(f"/api/clips/{other.pk}/similar/").json()}
            assert f'href="/clips/{rejected.pk}/"' not in client.get(f"/clips/{other.pk}/").content.decode()
        assert editor.get(f"/api/clips/{rejected.pk}/").status_code == 200
        assert editor.get(f"/clips/{rejected.pk}/thumb.jpg").status_code == 200
        assert rejected.pk in {c["id"] for c in editor.get(f"/api/clips/{other.pk}/similar/").json()}
        assert f'href="/clips/{rejected.pk}/"' in editor.get(f"/clips/{other.pk}/").content.decode()

        # nor can a fan put it in a reel by its id, through the API or the page
        sneaky = fan.post("/api/reels/", {"title": "sneaky", "items": [{"clip": rejected.pk}]}, JSON)
        assert sneaky.status_code == 400
        reel = fan.post("/api/reels/", {"title": "honest", "items": [{"clip": other.pk}]}, JSON).json()
        assert fan.post(f"/reels/{reel['id']}/add/", {"clip": rejected.pk}).status_code == 404
        added = fan.patch(f"/api/reels/{reel['id']}/", {"items": [{"clip": other.pk}, {"clip": rejected.pk}]}, JSON)
        assert added.status_code == 400
        assert list(Reel.objects.get(pk=reel["id"]).items.values_list("clip_id", flat=True)) == [other.pk]
    finally:
        Clip.objects.filter(pk=rejected.pk).update(review_status=ReviewStatus.UNREVIEWED)


def test_editors_publish_any_reel_and_an_edit_takes_it_off_publication(env: dict[str, Game], login: Login) -> None:
    fan, fan2, editor = login("fan"), login("fan2"), login("editor")
    clip = _best(env["tennis"])
    reel = fan.post("/api/reels/", {"title": "for approval", "items": [{"clip": clip.pk}]}, JSON).json()
    url = f"/api/reels/{reel['id']}/"
    approved = editor.patch(url, {"published": True}, JSON)
    assert approved.status_code == 200
    assert approved.json()["published"] is True
    assert editor.patch(url, {"title": "an editor's words"}, JSON).status_code == 403  # publishing is not editing
    assert fan2.get(url).status_code == 200

    edited = fan.patch(url, {"title": "changed after approval"}, JSON)
    assert (edited.status_code, edited.json()["published"]) == (200, False)
    assert fan2.get(url).status_code == 404
    assert editor.patch(url, {"published": True}, JSON).status_code == 200
    kept = fan.patch(url, {"title": "changed again", "published": True}, JSON)  # a fan cannot re-approve
    assert (kept.status_code, kept.json()["published"]) == (200, False)
    assert not Reel.objects.get(pk=reel["id"]).published


def test_jobs_are_for_editors_only(env: dict[str, Game], login: Login, video_dir: Path) -> None:
    anonymous = Client().get("/jobs/")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == "/accounts/login/?next=/jobs/"
    for client in (login("fan"), Client()):
        page = client.get("/jobs/", HTTP_HX_REQUEST="true")
        api = client.get("/api/jobs/")
        assert page.status_code in (302, 403) and api.status_code == 403
        assert str(video_dir) not in page.content.decode() + api.content.decode()
    assert login("fan").get("/jobs/").status_code == 403
    assert login("editor").get("/jobs/").status_code == 200
    listed = login("editor").get("/api/jobs/")
    assert listed.status_code == 200 and listed.json()["count"] == IndexJob.objects.count()
    assert 'href="/jobs/"' not in login("fan").get("/").content.decode()
    assert 'href="/jobs/"' in login("editor").get("/").content.decode()


# --- deleting a game ---------------------------------------------------------------------------


def test_deleting_a_game_flags_reels_removes_its_files_and_keeps_job_history(
    env: dict[str, Game], login: Login, video_dir: Path
) -> None:
    editor, fan = login("editor"), login("fan")
    data = (video_dir / "walking_plaza_5s.mp4").read_bytes()
    assert _upload(editor, "plaza.mp4", data).status_code == 302
    game = Game.objects.get(sha256=_sha256(data))
    upload = Path(game.source_path)
    media = Path(settings.MEDIA_ROOT)
    thumbs, faces = media / "thumbs" / f"game_{game.pk}", media / "faces" / f"game_{game.pk}"
    assert upload.is_file() and _files(thumbs)
    keep, gone = _best(env["tennis"]), _best(game)
    reel = fan.post("/api/reels/", {"title": "plaza mix", "items": [{"clip": keep.pk}, {"clip": gone.pk}]}, JSON)
    reel_id = reel.json()["id"]
    assert fan.post(f"/api/reels/{reel_id}/render/").json()["status"] == "ready"
    rendered = media / Reel.objects.get(pk=reel_id).video.name
    assert rendered.is_file()
    job_ids = list(game.jobs.values_list("pk", flat=True))

    assert services.delete_game(game)  # local mode: the files go when the transaction commits, i.e. at once
    dispatch.prune_indexes()  # as the admin does

    assert not Game.objects.filter(pk=game.pk).exists()
    jobs = IndexJob.objects.filter(pk__in=job_ids)
    assert [(j.game_id, j.source_path, j.sha256) for j in jobs] == [(None, str(upload), _sha256(data))] * len(job_ids)
    assert not upload.exists() and not upload.parent.exists()
    assert not thumbs.exists() and not faces.exists()
    assert not rendered.exists()
    assert check_clip_index().extra == 0  # its clips left the FAISS index too
    row = Reel.objects.get(pk=reel_id)
    assert list(row.items.values_list("clip_id", flat=True)) == [keep.pk]
    assert (row.version, row.status, row.is_rendered) == (2, Reel.Status.DRAFT, False)
    assert "plaza.mp4 was deleted" in row.render_reason
    assert "plaza.mp4 was deleted" in fan.get(f"/reels/{reel_id}/").content.decode()
    assert "plaza.mp4 was deleted" not in login("fan2").get(f"/r/{row.share_token}/").content.decode()
    again = fan.post(f"/api/reels/{reel_id}/render/").json()
    assert again["status"] == "ready"
    assert Reel.objects.get(pk=reel_id).render_reason == ""


def test_the_admin_deletes_games_through_the_same_service_and_never_archive_files(
    env: dict[str, Game], login: Login, video_dir: Path, web_env: Path
) -> None:
    archive = web_env / "archive"
    archive.mkdir(exist_ok=True)
    made = []
    for name in ("press_conference_face_12s.mp4", "soccer_laliga_wide_21s.mp4"):
        path = archive / name
        shutil.copy(video_dir / name, path)
        digest = _sha256(path.read_bytes())
        game = Game.objects.create(source_path=str(path), sha256=digest, title=name)
        job = IndexJob.objects.create(game=game, source_path=str(path), pipeline_version="1")  # sha256 unknown
        made.append((path, digest, game, job))
    admin = login("admin")
    (one, d1, g1, j1), (two, d2, g2, j2) = made
    assert admin.post(f"/admin/highlights/game/{g1.pk}/delete/", {"post": "yes"}).status_code == 302
    bulk = {"action": "delete_selected", "_selected_action": [g2.pk], "post": "yes"}
    assert admin.post("/admin/highlights/game/", bulk).status_code == 302
    assert not Game.objects.filter(pk__in=[g1.pk, g2.pk]).exists()
    j1.refresh_from_db()
    j2.refresh_from_db()
    assert (j1.game_id, j1.sha256, j2.game_id, j2.sha256) == (None, d1, None, d2)
    assert one.is_file() and two.is_file()  # archive files are never removed


# --- renders that die ----------------------------------------------------------------------------


def test_a_stale_render_can_be_rendered_again_and_a_live_one_cannot(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    clip = _best(env["baseball"])
    reel = fan.post("/api/reels/", {"title": "interrupted", "items": [{"clip": clip.pk}]}, JSON).json()
    url = f"/api/reels/{reel['id']}/render/"
    beat = timezone.now()
    Reel.objects.filter(pk=reel["id"]).update(status=Reel.Status.RENDERING, progress=40, heartbeat_at=beat)
    live = fan.post(url)
    assert (live.status_code, live.json()["status"], live.json()["progress"]) == (202, "rendering", 40)
    assert Reel.objects.get(pk=reel["id"]).heartbeat_at == beat  # nothing started a second render

    stale = beat - timedelta(seconds=settings.HL_RENDER_STALL_S + 1)
    Reel.objects.filter(pk=reel["id"]).update(heartbeat_at=stale)
    again = fan.post(url).json()
    assert (again["status"], again["rendered_version"]) == ("ready", 1)
    assert Reel.objects.get(pk=reel["id"]).heartbeat_at > beat


def test_the_render_task_has_the_indexers_policy_and_marks_the_reel_failed(env: dict[str, Game], login: Login) -> None:
    task = tasks.render_reel
    assert task.acks_late and task.reject_on_worker_lost
    assert set(RETRYABLE_ERRORS) <= set(task.autoretry_for)
    assert task.retry_backoff and task.retry_jitter and task.max_retries
    clip = _best(env["tennis"])
    reel = login("fan").post("/api/reels/", {"title": "doomed", "items": [{"clip": clip.pk}]}, JSON).json()
    Reel.objects.filter(pk=reel["id"]).update(status=Reel.Status.RENDERING)
    error = RenderError("ffmpeg failed: Conversion failed!")
    task.on_failure(error, "task-id", (reel["id"],), {}, None)
    row = Reel.objects.get(pk=reel["id"])
    assert (row.status, row.error) == (Reel.Status.FAILED, "ffmpeg failed: Conversion failed!")
