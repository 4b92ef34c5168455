"""HTML pages on real indexed footage: search grid, clip, game timeline, reels, jobs; range requests; permissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client

from highlights.models import Clip, Game, Reel, ReviewStatus

Login = Callable[[str], Client]


@pytest.fixture(scope="module")
def env(games: dict[str, Game], users: dict) -> dict[str, Game]:
    return games


def test_search_page_grid_and_htmx_partial(env: dict[str, Game]) -> None:
    page = Client().get("/", {"q": "red sox"})
    assert page.status_code == 200
    html = page.content.decode()
    clip = env["baseball"].clips.first()
    assert f'href="/clips/{clip.pk}/"' in html
    assert f'data-preview="/games/{env["baseball"].pk}/video#t=' in html
    assert "<title>red sox" in html
    partial = Client().get("/", {"q": "tennis", "sport": "tennis"}, HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="results">') and "<html" not in partial
    assert f"/games/{env['tennis'].pk}/" in partial and f"/games/{env['baseball'].pk}/" not in partial
    bad = Client().get("/", {"q": "score:9"})
    assert bad.status_code == 400  # an unreadable query is a bad request, shown on the page
    assert "score must lie in 0..1, got 9.0</p>" in bad.content.decode()
    assert 'href="/clips/' not in bad.content.decode(), "a query that cannot be read lists no clip"


def test_game_video_honours_range_requests(env: dict[str, Game]) -> None:
    game = env["tennis"]
    data = Path(game.source_path).read_bytes()
    part = Client().get(f"/games/{game.pk}/video", HTTP_RANGE="bytes=1000-1999")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    assert b"".join(part.streaming_content) == data[1000:2000]
    whole = Client().get(f"/games/{game.pk}/video")
    assert (whole.status_code, whole["Accept-Ranges"], int(whole["Content-Length"])) == (200, "bytes", len(data))
    assert Client().get(f"/games/{game.pk}/video", HTTP_RANGE=f"bytes={len(data)}-").status_code == 416


def test_clip_page_shows_labels_and_similar_clips(env: dict[str, Game]) -> None:
    clip = env["tennis"].clips.order_by("-highlight_score").first()
    html = Client().get(f"/clips/{clip.pk}/").content.decode()
    top = clip.predictions.order_by("rank").first()
    assert top.model_class in html
    assert f'src="/games/{clip.game_id}/video#t=' in html
    assert "Similar clips" in html
    assert 'id="review"' not in html  # fans and visitors get no review form


def test_game_page_draws_the_timeline_with_a_marker_per_clip(env: dict[str, Game]) -> None:
    html = Client().get(f"/games/{env['baseball'].pk}/").content.decode()
    assert '<path d="M0.0,120.0' in html
    assert html.count('class="marker"') == env["baseball"].clips.count()


def test_editors_review_from_the_clip_page_and_fans_cannot(env: dict[str, Game], login: Login) -> None:
    clip = env["tennis"].clips.first()
    assert login("fan").post(f"/clips/{clip.pk}/review/", {"review_status": "rejected"}).status_code == 403
    assert Clip.objects.get(pk=clip.pk).review_status == ReviewStatus.UNREVIEWED
    assert login("editor").post(f"/clips/{clip.pk}/review/", {"review_status": "verified"}).status_code == 302
    assert Clip.objects.get(pk=clip.pk).review_status == ReviewStatus.VERIFIED


def test_reel_pages_belong_to_their_owner(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    clip = env["tennis"].clips.first()
    resp = fan.post("/reels/new/", {"title": "Page reel", "clip": clip.pk})
    reel = Reel.objects.get(title="Page reel")
    assert resp["Location"] == f"/reels/{reel.pk}/"
    other = env["baseball"].clips.first()
    added = fan.post(f"/reels/{reel.pk}/add/", {"clip": other.pk}, HTTP_HX_REQUEST="true")
    assert "Added" in added.content.decode()
    assert list(reel.items.values_list("clip_id", flat=True)) == [clip.pk, other.pk]
    assert 'id="items"' in fan.get(f"/reels/{reel.pk}/").content.decode()
    assert login("fan2").get(f"/reels/{reel.pk}/").status_code == 403
    assert login("fan2").post(f"/reels/{reel.pk}/add/", {"clip": clip.pk}).status_code == 403
    assert Client().get(f"/reels/{reel.pk}/").status_code == 302  # to sign in
    shared = Client().get(f"/r/{reel.share_token}/")
    assert shared.status_code == 200 and "not rendered yet" in shared.content.decode()


def test_jobs_page_polls_and_only_editors_index(env: dict[str, Game], login: Login, video_dir: Path) -> None:
    html = login("editor").get("/jobs/").content.decode()
    assert 'hx-trigger="every 2s"' in html and "succeeded" in html
    assert 'id="index-form"' in html
    assert login("fan").get("/jobs/").status_code == 403
    assert login("fan").post("/jobs/", {"path": str(video_dir / "walking_plaza_5s.mp4")}).status_code == 403
