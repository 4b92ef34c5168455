"""The REST API on real indexed footage: schema, search, clips, reels with real renders, jobs, permissions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.serializers import ModelSerializer

from highlights import selectors
from highlights.api.serializers import ClipSerializer
from highlights.models import Action, Clip, FaceTrack, Game, IndexJob, Person, Reel, ReviewStatus
from highlights.pagination import CappedPageNumberPagination
from tests.web.conftest import ffprobe, moov_before_mdat

Login = Callable[[str], Client]


@pytest.fixture(scope="module")
def env(games: dict[str, Game], users: dict) -> dict[str, Game]:
    return games


def _clip(game: Game) -> Clip:
    return game.clips.order_by("-highlight_score").first()


def test_openapi_schema_lists_every_endpoint(env: dict[str, Game]) -> None:
    resp = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in (
        "/api/games/",
        "/api/games/{id}/plays/",
        "/api/events/{id}/",
        "/api/clips/",
        "/api/clips/{id}/",
        "/api/search/",
        "/api/people/",
        "/api/reels/",
        "/api/reels/{id}/render/",
        "/api/reels/{id}/status/",
        "/api/reels/condensed/",
        "/api/reels/from-search/",
        "/api/jobs/",
    ):
        assert path in paths, path
    assert "post" in paths["/api/reels/{id}/render/"]


def test_search_parses_the_query_and_ranks_by_highlight_score(env: dict[str, Game]) -> None:
    hits = Client().get("/api/search/", {"q": "tennis"}).json()
    assert hits["count"] == env["tennis"].clips.count()
    scores = [h["highlight_score"] for h in hits["results"]]
    assert scores == sorted(scores, reverse=True)
    assert {h["sport"] for h in hits["results"]} == {"tennis"}
    assert hits["results"][0]["thumbnail_url"].endswith("/thumb.jpg")

    baseball = Client().get("/api/search/", {"q": "red sox 2026"}).json()
    assert baseball["count"] == env["baseball"].clips.count() > 0
    assert Client().get("/api/search/", {"q": "red sox 2025"}).json()["count"] == 0
    assert Client().get("/api/search/", {"q": "hits top 1"}).json()["count"] == 1


def test_a_clip_reads_as_drfs_field_by_field_walk_reads_it(env: dict[str, Game]) -> None:
    clips = list(selectors.visible_clips().order_by("pk"))
    clips[0].action, clips[-1].thumbnail = None, ""  # in memory only: no action, no thumbnail
    serializer = ClipSerializer()
    for clip in clips:
        assert serializer.to_representation(clip) == ModelSerializer.to_representation(serializer, clip), clip.pk
        assert serializer.get_url(clip) == reverse("clip", args=[clip.pk])  # the template reversed once
        if clip.thumbnail:
            assert serializer.get_thumbnail_url(clip) == reverse("clip-thumbnail", args=[clip.pk])
    assert {c["thumbnail_url"] is None for c in ClipSerializer(clips, many=True).data} == {True, False}


@pytest.mark.parametrize("url", ["/api/search/", "/api/clips/"])
def test_a_list_page_reads_every_column_it_shows_in_its_own_statements(
    env: dict[str, Game], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def statements(page_size: int) -> tuple[int, int]:
        monkeypatch.setattr(CappedPageNumberPagination, "page_size", page_size)
        with CaptureQueriesContext(connection) as queries:
            shown = Client().get(url).json()["results"]
        return len(shown), len(queries.captured_queries)

    (few, few_statements), (many, many_statements) = statements(1), statements(5)
    assert 1 == few < many  # a shown column left unread would cost a statement per clip (a deferred load)
    assert few_statements == many_statements, (few_statements, many_statements)


def test_search_filters_and_bad_queries(env: dict[str, Game]) -> None:
    best = max(c.highlight_score for c in Clip.objects.all())
    top = Client().get("/api/search/", {"q": "", "min_score": best}).json()
    assert [r["highlight_score"] for r in top["results"]] == [best]
    assert Client().get("/api/clips/", {"sport": "baseball", "team": "yankees"}).json()["count"] > 0
    assert Client().get("/api/clips/", {"game": env["tennis"].pk}).json()["count"] == env["tennis"].clips.count()
    bad = Client().get("/api/search/", {"q": "score:7"})
    assert bad.status_code == 400
    assert "score" in bad.json()["q"]


def test_games_and_similar_clips(env: dict[str, Game]) -> None:
    games = Client().get("/api/games/").json()
    assert {g["sport"] for g in games["results"]} == {"tennis", "baseball"}
    similar = Client().get(f"/api/clips/{_clip(env['tennis']).pk}/similar/").json()
    assert similar and _clip(env["tennis"]).pk not in {c["id"] for c in similar}


@pytest.mark.parametrize("overfetch", [10, 1], ids=["over-fetched", "narrow-filter"])
def test_similar_clips_within_a_filter_are_the_nearest_clips_of_the_filter(
    env: dict[str, Game], overfetch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "SIMILAR_OVERFETCH", overfetch)  # 1: too few pass, the exact path answers
    query = _clip(env["tennis"])
    baseball = list(Clip.objects.filter(game__sport="baseball"))
    vector = query.embedding_vector() / np.linalg.norm(query.embedding_vector())
    cosine = {c.pk: float(c.embedding_vector() @ vector / np.linalg.norm(c.embedding_vector())) for c in baseball}
    expected = sorted(cosine, key=cosine.__getitem__, reverse=True)[:12]
    similar = Client().get(f"/api/clips/{query.pk}/similar/", {"sport": "baseball"}).json()
    assert {c["sport"] for c in similar} == {"baseball"} and {c["id"] for c in similar} == set(expected)
    ranked = [cosine[c["id"]] for c in similar]  # best first (ties within float32 rounding in either order)
    assert all(a >= b - 1e-5 for a, b in pairwise(ranked))
    assert Client().get(f"/api/clips/{query.pk}/similar/", {"q": "score:7"}).status_code == 400


def test_a_fan_cannot_relabel_but_an_editor_can(env: dict[str, Game], login: Login) -> None:
    clip = _clip(env["baseball"])
    pitch = Action.objects.get(sport="baseball", name="pitch or catch")
    assert login("fan").patch(f"/api/clips/{clip.pk}/", {"action": pitch.pk}, "application/json").status_code == 403
    assert Client().patch(f"/api/clips/{clip.pk}/", {"action": pitch.pk}, "application/json").status_code == 403
    resp = login("editor").patch(f"/api/clips/{clip.pk}/", {"action": pitch.pk}, "application/json")
    assert resp.status_code == 200
    assert (resp.json()["action"], resp.json()["review_status"]) == ("pitch or catch", "verified")
    tennis_label = Action.objects.get(sport="tennis", name="rally")
    wrong = login("editor").patch(f"/api/clips/{clip.pk}/", {"action": tennis_label.pk}, "application/json")
    assert wrong.status_code == 400


def test_rejected_clips_leave_search_for_fans_but_not_for_editors(env: dict[str, Game], login: Login) -> None:
    clip = _clip(env["tennis"])
    resp = login("editor").patch(f"/api/clips/{clip.pk}/", {"review_status": "rejected"}, "application/json")
    assert resp.status_code == 200
    try:
        assert clip.pk not in {r["id"] for r in Client().get("/api/search/", {"q": "tennis"}).json()["results"]}
        assert clip.pk in {r["id"] for r in login("editor").get("/api/search/", {"q": "tennis"}).json()["results"]}
    finally:
        Clip.objects.filter(pk=clip.pk).update(review_status=ReviewStatus.UNREVIEWED)


def test_session_writes_need_the_csrf_token(env: dict[str, Game], users: dict) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["fan"])
    resp = client.post("/api/reels/", {"title": "no token"}, "application/json")
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["detail"]


def test_reel_render_on_real_footage(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    tennis, baseball = _clip(env["tennis"]), _clip(env["baseball"])
    items = [
        {
            "clip": baseball.pk,
            "trim_in_ms": baseball.start_ms,
            "trim_out_ms": min(baseball.start_ms + 1700, baseball.end_ms),
        },
        {"clip": tennis.pk, "trim_in_ms": 1234, "trim_out_ms": 3567},
    ]
    resp = fan.post("/api/reels/", {"title": "My mix", "items": items}, "application/json")
    assert resp.status_code == 201, resp.content
    reel = resp.json()
    assert [i["clip"] for i in reel["items"]] == [baseball.pk, tennis.pk]
    expected_ms = sum(i["trim_out_ms"] - i["trim_in_ms"] for i in items)
    assert (reel["duration_ms"], reel["status"], reel["video_url"]) == (expected_ms, "draft", None)

    started = fan.post(f"/api/reels/{reel['id']}/render/")  # local mode: renders on commit, before returning
    assert started.status_code == 202
    status = fan.get(f"/api/reels/{reel['id']}/status/").json()
    assert (status["status"], status["progress"], status["rendered_version"]) == ("ready", 100, 1)

    row = Reel.objects.get(pk=reel["id"])
    video = Path(settings.MEDIA_ROOT) / row.video.name
    info = ffprobe(video)
    codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert float(info["format"]["duration"]) == pytest.approx(expected_ms / 1000, abs=0.1)
    video_stream = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert (video_stream["width"], video_stream["height"]) == (settings.HL_REEL_WIDTH, settings.HL_REEL_HEIGHT)
    assert moov_before_mdat(video)

    # the same version again: nothing is re-rendered
    stamp = video.stat().st_mtime_ns
    assert fan.post(f"/api/reels/{reel['id']}/render/").json()["status"] == "ready"
    assert video.stat().st_mtime_ns == stamp

    # reorder: a new version, back to draft, rendered again into a new file
    swapped = fan.patch(f"/api/reels/{reel['id']}/", {"items": items[::-1]}, "application/json").json()
    assert (swapped["version"], swapped["status"], [i["clip"] for i in swapped["items"]]) == (
        2, "draft", [tennis.pk, baseball.pk]
    )  # fmt: skip
    assert fan.post(f"/api/reels/{reel['id']}/render/").json()["rendered_version"] == 2
    downloaded = fan.get(f"/api/reels/{reel['id']}/").json()["video_url"]
    resp = fan.get(downloaded, {"download": 1})
    assert resp.status_code == 200
    assert 'attachment; filename="My mix.mp4"' in resp["Content-Disposition"]


def test_a_failed_render_shows_its_error_and_can_be_retried(env: dict[str, Game], login: Login, tmp_path: Path) -> None:
    source = Path(env["tennis"].source_path)
    copy = tmp_path / "copy.mp4"
    shutil.copy(source, copy)
    Game.objects.filter(pk=env["tennis"].pk).update(source_path=str(copy))
    fan = login("fan")
    try:
        clip = _clip(env["tennis"])
        reel = fan.post("/api/reels/", {"title": "fragile", "items": [{"clip": clip.pk}]}, "application/json").json()
        copy.unlink()
        failed = fan.post(f"/api/reels/{reel['id']}/render/").json()
        assert failed["status"] == "failed"
        assert "source video missing" in failed["error"]
        shutil.copy(source, copy)
        retried = fan.post(f"/api/reels/{reel['id']}/render/").json()
        assert (retried["status"], retried["error"]) == ("ready", "")
    finally:
        Game.objects.filter(pk=env["tennis"].pk).update(source_path=str(source))


def test_a_fan_cannot_see_or_edit_another_fans_reel(env: dict[str, Game], login: Login) -> None:
    clip = _clip(env["tennis"])
    reel = login("fan").post("/api/reels/", {"title": "mine", "items": [{"clip": clip.pk}]}, "application/json").json()
    other = login("fan2")
    assert other.get(f"/api/reels/{reel['id']}/").status_code == 404
    assert other.patch(f"/api/reels/{reel['id']}/", {"title": "stolen"}, "application/json").status_code == 404
    assert other.post(f"/api/reels/{reel['id']}/render/").status_code == 404
    assert reel["id"] not in {r["id"] for r in other.get("/api/reels/").json()["results"]}
    # editors see it but may not edit it; only they may publish; then everyone sees it, read-only
    editor = login("editor")
    assert editor.patch(f"/api/reels/{reel['id']}/", {"title": "edited"}, "application/json").status_code == 403
    assert login("fan").patch(f"/api/reels/{reel['id']}/", {"published": True}, "application/json").status_code == 403
    assert login("admin").patch(f"/api/reels/{reel['id']}/", {"published": True}, "application/json").status_code == 200
    assert other.get(f"/api/reels/{reel['id']}/").json()["title"] == "mine"
    assert other.patch(f"/api/reels/{reel['id']}/", {"title": "stolen"}, "application/json").status_code == 403
    assert Reel.objects.get(pk=reel["id"]).title == "mine"


def test_trims_outside_the_video_are_refused(env: dict[str, Game], login: Login) -> None:
    clip = _clip(env["tennis"])
    bad = [{"clip": clip.pk, "trim_in_ms": 0, "trim_out_ms": 60_000}]
    resp = login("fan").post("/api/reels/", {"title": "too long", "items": bad}, "application/json")
    assert resp.status_code == 400
    assert "outside" in resp.json()["items"]


def test_auto_reels_condensed_game_and_from_search(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    condensed = fan.post("/api/reels/condensed/", {"game": env["baseball"].pk}, "application/json")
    assert condensed.status_code == 201, condensed.content
    body = condensed.json()
    action_clips = env["baseball"].clips.filter(action__isnull=False).order_by("start_ms")
    assert body["kind"] == "condensed"
    assert body["items"][0]["trim_in_ms"] == action_clips.first().start_ms
    video_ms = int(env["baseball"].duration_s * 1000)
    assert body["items"][-1]["trim_out_ms"] == min(action_clips.last().end_ms, video_ms)
    assert body["duration_ms"] <= sum(c.end_ms - c.start_ms for c in action_clips)

    top = fan.post("/api/reels/from-search/", {"q": "tennis top 1"}, "application/json").json()
    assert (top["kind"], top["query"], len(top["items"])) == ("query", "tennis top 1", 1)
    assert top["items"][0]["clip"] == _clip(env["tennis"]).pk
    none = fan.post("/api/reels/from-search/", {"q": "curling"}, "application/json")
    assert none.status_code == 400


def test_jobs_editors_index_files_from_the_ingest_folders(env: dict[str, Game], login: Login, video_dir: Path) -> None:
    body = {"path": str(video_dir / "tennis_atp_clay_6s.mp4")}
    assert login("fan").post("/api/jobs/", body, "application/json").status_code == 403
    outside = login("editor").post("/api/jobs/", {"path": "/etc/passwd"}, "application/json")
    assert outside.status_code == 400
    assert "outside the archive roots" in outside.json()["path"]
    created = login("editor").post("/api/jobs/", {**body, "title": "Clay"}, "application/json")
    assert created.status_code == 201
    job = created.json()
    assert (job["status"], job["progress"], job["error"], job["completed_step"]) == ("succeeded", 100, "", "thumbnails")
    started, heartbeat, finished = (
        datetime.fromisoformat(job[k]) for k in ("started_at", "heartbeat_at", "finished_at")
    )
    assert started <= heartbeat <= finished
    listed = login("editor").get("/api/jobs/").json()["results"]
    assert job["id"] in {j["id"] for j in listed}
    assert IndexJob.objects.get(pk=job["id"]).game.title == "Clay"


def test_players_endpoint_lists_named_players(env: dict[str, Game]) -> None:
    clip = _clip(env["tennis"])
    named = Person.objects.create(name="Test Ace", team="ATP", number=7)
    unnamed = Person.objects.create()
    try:
        for person in (named, unnamed):
            FaceTrack.objects.create(
                game=clip.game, clip=clip, start_ms=clip.start_ms, end_ms=clip.end_ms,
                embedding=bytes(512), model_version="test", person=person,
            )  # fmt: skip
        resp = Client().get("/api/people/")
        assert resp.status_code == 200
        listed = {p["id"]: p for p in resp.json()["results"]}
        assert listed[named.pk] == {"id": named.pk, "name": "Test Ace", "team": "ATP", "number": 7, "clips": 1}
        assert unnamed.pk not in listed, "an unnamed person is not a player to list"
    finally:
        FaceTrack.objects.filter(person__in=[named, unnamed]).delete()
        Person.objects.filter(pk__in=[named.pk, unnamed.pk]).delete()
