"""Security issue #10 (items 1, 4, 6, 7) on real indexed footage: escaping, bad input as 400s, abuse limits,
download headers and redirects. Every test here failed on the code before the fix.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils.http import content_disposition_header
from rest_framework.throttling import SimpleRateThrottle

from highlights import selectors
from highlights.models import Action, Clip, Game, IndexJob, Person, Reel
from search.query import parse_query
from tests.web.conftest import PASSWORD

Login = Callable[[str], Client]

PAYLOAD = '"><img src=x onerror=alert(1)>'
ESCAPED = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
NUL = "a\x00b"
_ERROR_LINE = re.compile(r'<p class="error">(.*?)</p>', re.DOTALL)


@pytest.fixture(scope="module")
def env(games: dict[str, Game], users: dict) -> dict[str, Game]:
    return games


def _clip(game: Game) -> Clip:
    return game.clips.order_by("-highlight_score").first()


# --- 1. stored XSS -------------------------------------------------------------------------------


@pytest.fixture
def markup_everywhere(env: dict[str, Game], login: Login) -> Iterator[dict[str, Any]]:
    """Markup in a game's title and teams, a label (set on a clip), a player's name and team, and a reel title."""
    tennis = env["tennis"]
    clip = _clip(tennis)
    kept = Game.objects.filter(pk=tennis.pk).values("title", "home_team", "away_team").get()
    Game.objects.filter(pk=tennis.pk).update(title=PAYLOAD, home_team=PAYLOAD, away_team=PAYLOAD)
    assert login("editor").post("/labels/", {"sport": "tennis", "name": PAYLOAD}).status_code == 302
    label = Action.objects.get(name=PAYLOAD)
    action_id = clip.action_id
    Clip.objects.filter(pk=clip.pk).update(action=label)
    player = Person.objects.create(name=PAYLOAD, team=PAYLOAD)
    assert login("fan").post("/reels/new/", {"title": PAYLOAD, "clip": clip.pk}).status_code == 302
    yield {"game": tennis, "clip": clip, "player": player, "reel": Reel.objects.get(title=PAYLOAD)}
    Reel.objects.filter(title=PAYLOAD).delete()
    player.delete()
    Clip.objects.filter(pk=clip.pk).update(action_id=action_id)
    label.delete()
    Game.objects.filter(pk=tennis.pk).update(**kept)


def test_markup_in_user_strings_comes_back_escaped(markup_everywhere: dict[str, Any], login: Login) -> None:
    game, clip, player, reel = (markup_everywhere[k] for k in ("game", "clip", "player", "reel"))
    fan, editor = login("fan"), login("editor")
    fan.get(f"/reels/{reel.pk}/")  # the fan's current reel: its title is on every card's "add" button
    pages = {
        "query": fan.get("/", {"q": PAYLOAD}),
        "team and player filters": fan.get("/", {"team": PAYLOAD, "player": PAYLOAD}),
        "search grid": fan.get("/", {"q": "tennis"}),
        "search grid (htmx)": fan.get("/", {"q": "tennis"}, HTTP_HX_REQUEST="true"),
        "clip": fan.get(f"/clips/{clip.pk}/"),
        "game": fan.get(f"/games/{game.pk}/"),
        "player": fan.get(f"/people/{player.pk}/"),
        "reels": fan.get("/reels/"),
        "reel editor": fan.get(f"/reels/{reel.pk}/"),
        "share link": Client().get(f"/r/{reel.share_token}/"),
        "add to reel (htmx)": fan.post(f"/reels/{reel.pk}/add/", {"clip": clip.pk}, HTTP_HX_REQUEST="true"),
        "add to reel (message)": fan.post(f"/reels/{reel.pk}/add/", {"clip": clip.pk}, follow=True),
        "labels": editor.get("/labels/"),
    }
    for name, resp in pages.items():
        html = resp.content.decode()
        assert resp.status_code == 200, name
        assert PAYLOAD not in html, name
        assert ESCAPED in html, name
    # an upload's file name reaches the jobs page (in the refusal of a non-video, then in the page)
    upload = SimpleUploadedFile(f"{PAYLOAD}.mp4", b"not a video", content_type="video/mp4")
    refused, page = editor.post("/jobs/", {"video": upload}, follow=True), editor.get("/jobs/")
    assert (refused.status_code, page.status_code) == (400, 200)
    for resp in (refused, page):
        assert PAYLOAD not in resp.content.decode()


# --- 4. bad input answers 400 with one line -----------------------------------------------------

_TOKENS = " ".join(f"w{i}" for i in range(200))
BAD_INPUT: list[tuple[str, str | None, str, str, dict[str, Any]]] = [
    # (case, user, method, url, data); {reel}, {clip} and {video} are filled in
    *[(f"{f} NUL page", None, "get", "/", {f: NUL}) for f in ("q", "team", "player", "sport", "action")],
    *[(f"{f} NUL api", None, "get", "/api/clips/", {f: NUL}) for f in ("q", "team", "player", "sport", "action")],
    ("q NUL search api", None, "get", "/api/search/", {"q": NUL}),
    ("date_from garbage page", None, "get", "/", {"date_from": "garbage"}),
    ("date_to 9999-99-99 page", None, "get", "/", {"date_to": "9999-99-99"}),
    ("date_from garbage api", None, "get", "/api/search/", {"date_from": "garbage"}),
    ("date_to 9999-99-99 api", None, "get", "/api/clips/", {"date_to": "9999-99-99"}),
    ("min_score abc page", None, "get", "/", {"min_score": "abc"}),
    ("game abc api", None, "get", "/api/clips/", {"game": "abc"}),
    ("game:² page", None, "get", "/", {"q": "game:²"}),
    ("game:² api", None, "get", "/api/search/", {"q": "game:²"}),
    ("game:² auto reel", "fan", "post", "/reels/auto/", {"q": "game:²"}),
    ("after:0000 auto reel", "fan", "post", "/reels/auto/", {"q": "after:0000"}),
    ("after:0000 api", "fan", "post", "/api/reels/from-search/", {"q": "after:0000"}),
    ("q too long page", None, "get", "/", {"q": "tennis " * 200}),
    ("q too many tokens api", None, "get", "/api/search/", {"q": _TOKENS}),
    ("q too long auto reel", "fan", "post", "/reels/auto/", {"q": "tennis " * 200}),
    ("q too many tokens from-search", "fan", "post", "/api/reels/from-search/", {"q": _TOKENS}),
    ("label name NUL", "editor", "post", "/labels/", {"sport": "tennis", "name": NUL}),
    ("train label NUL", "editor", "post", "/labels/train/", {"labels": [NUL]}),
    ("train kind unknown", "editor", "post", "/labels/train/", {"labels": ["rally"], "kind": "svm"}),
    ("job path NUL page", "editor", "post", "/jobs/", {"path": f"/tmp/{NUL}.mp4"}),
    ("job path NUL api", "editor", "post", "/api/jobs/", {"path": f"/tmp/{NUL}.mp4"}),
    ("job title too long page", "editor", "post", "/jobs/", {"path": "{video}", "title": "x" * 256}),
    ("job title too long api", "editor", "post", "/api/jobs/", {"path": "{video}", "title": "x" * 256}),
    ("job team NUL page", "editor", "post", "/jobs/", {"path": "{video}", "home_team": NUL}),
    ("reel title too long page", "fan", "post", "/reels/new/", {"title": "x" * 201}),
    ("reel title NUL page", "fan", "post", "/reels/new/", {"title": NUL}),
    ("reel title too long api", "fan", "post", "/api/reels/", {"title": "x" * 201}),
    ("reel title too long patch", "fan", "patch", "/api/reels/{reel}/", {"title": "x" * 201}),
    ("clip abc add", "fan", "post", "/reels/{reel}/add/", {"clip": "abc"}),
    ("clip abc new reel", "fan", "post", "/reels/new/", {"title": "t", "clip": "abc"}),
    ("game abc auto reel", "fan", "post", "/reels/auto/", {"game": "abc"}),
    ("action abc review", "editor", "post", "/clips/{clip}/review/", {"action": "abc"}),
    ("next foo new reel", "fan", "post", "/reels/new/", {"title": "t", "next": "foo"}),
    ("next foo add", "fan", "post", "/reels/{reel}/add/", {"clip": "{clip}", "next": "foo"}),
    ("next foo auto reel", "fan", "post", "/reels/auto/", {"q": "nothing-matches-this", "next": "foo"}),
    ("upload name over 255 bytes", "editor", "post", "/jobs/", {"video": "é" * 128 + ".mp4"}),
]


@pytest.fixture
def fan_reel(env: dict[str, Game], users: dict) -> Iterator[Reel]:
    reel = Reel.objects.create(owner=users["fan"], title="Bad input reel")
    yield reel
    reel.delete()


@pytest.mark.parametrize(("case", "who", "method", "url", "data"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_answers_400_with_one_line(
    case: str,
    who: str | None,
    method: str,
    url: str,
    data: dict[str, Any],
    env: dict[str, Game],
    login: Login,
    fan_reel: Reel,
    video_dir: Path,
) -> None:
    names = {"reel": fan_reel.pk, "clip": _clip(env["tennis"]).pk, "video": video_dir / "walking_plaza_5s.mp4"}
    url = url.format(**names)
    data = {k: str(v).format(**names) if isinstance(v, str) and "{" in v else v for k, v in data.items()}
    if case.startswith("upload"):
        data = {"video": SimpleUploadedFile(data["video"], b"\x00" * 64, content_type="video/mp4")}
    client = login(who) if who else Client()
    jobs_before = IndexJob.objects.count()
    if url.startswith("/api/") and method != "get":
        resp = getattr(client, method)(url, data, "application/json")
    else:
        resp = getattr(client, method)(url, data)
    assert resp.status_code == 400, resp.content[:300]
    if resp["Content-Type"].startswith("application/json"):
        messages = [m for value in resp.json().values() for m in (value if isinstance(value, list) else [value])]
    else:
        messages = [m.strip() for m in _ERROR_LINE.findall(resp.content.decode())]
    assert messages and all(m and "\n" not in m for m in messages), messages
    assert IndexJob.objects.count() == jobs_before  # nothing was queued


@pytest.mark.parametrize("content", ["truncated", "not a video"])
def test_indexing_a_broken_file_in_local_mode_answers_with_the_failed_job(
    content: str, env: dict[str, Game], login: Login, web_env: Path, video_dir: Path
) -> None:
    data = (video_dir / "walking_plaza_5s.mp4").read_bytes()[:30_000] if content == "truncated" else b"hello" * 99
    editor = login("editor")
    (web_env / "archive").mkdir(exist_ok=True)
    for via in ("page", "api"):
        path = web_env / "archive" / f"broken-{content.replace(' ', '-')}-{via}.mp4"
        path.write_bytes(data)
        if via == "page":
            resp = editor.post("/jobs/", {"path": str(path)})
            assert (resp.status_code, resp["Location"]) == (302, "/jobs/")
        else:
            resp = editor.post("/api/jobs/", {"path": str(path)}, "application/json")
            assert resp.status_code == 201, resp.content
            assert resp.json()["status"] == "failed" and resp.json()["error"]
        job = IndexJob.objects.get(source_path=str(path))
        assert job.status == IndexJob.Status.FAILED and job.error


# --- 6. abuse limits ------------------------------------------------------------------------------


def test_free_words_resolve_in_a_bounded_number_of_queries(env: dict[str, Game]) -> None:
    def queries(words: int) -> int:
        text = "red " + " ".join(f"zq{i}" for i in range(words))
        with CaptureQueriesContext(connection) as captured:
            list(selectors.clip_queryset(parse_query(text)))
        return len(captured.captured_queries)

    assert queries(1) == queries(40)
    assert selectors.clip_queryset(parse_query("red sox")).count() == env["baseball"].clips.count() > 0
    assert not selectors.clip_queryset(parse_query("red sox zq1")).exists()


def test_api_throttles_anonymous_and_signed_in_users(env: dict[str, Game], login: Login, monkeypatch) -> None:
    assert set(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "5/minute"})
    anonymous = [Client().get("/api/games/").status_code for _ in range(4)]
    assert anonymous == [200, 200, 200, 429]
    fan = login("fan")
    assert [fan.get("/api/games/").status_code for _ in range(6)] == [200] * 5 + [429]


def _basic(username: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_failed_logins_lock_the_account_out(env: dict[str, Game]) -> None:
    from axes.utils import reset as reset_lockouts  # importing axes needs its app installed

    client = Client()
    try:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            resp = client.post("/accounts/login/", {"username": "fan2", "password": "wrong"})
            assert resp.status_code in (200, 429)
        locked = client.post("/accounts/login/", {"username": "fan2", "password": PASSWORD})
        assert locked.status_code == 429
        assert "_auth_user_id" not in client.session
        assert Client().get("/api/reels/", **_basic("fan2", PASSWORD)).status_code == 403  # Basic auth too
        other = Client().post("/accounts/login/", {"username": "fan", "password": PASSWORD})
        assert other.status_code == 302  # another account is not locked
        # Basic auth: failures count too, and NUL characters fail as bad credentials, not as a 500
        assert Client().get("/api/reels/", **_basic("fan", PASSWORD)).status_code == 200
        assert Client().get("/api/reels/", **_basic("f\x00n", "x\x00")).status_code in (401, 403)
        for _ in range(settings.AXES_FAILURE_LIMIT):
            assert Client().get("/api/reels/", **_basic("fan", "wrong")).status_code in (401, 403)
        assert Client().get("/api/reels/", **_basic("fan", PASSWORD)).status_code == 403
    finally:
        reset_lockouts()


@override_settings(HL_REEL_MAX_ITEMS=2)
def test_reels_hold_at_most_the_configured_number_of_items(env: dict[str, Game], login: Login) -> None:
    fan = login("fan")
    clips = list(Clip.objects.order_by("pk").values_list("pk", flat=True)[:3])
    assert len(clips) == 3
    resp = fan.post("/api/reels/", {"title": "Too long", "items": [{"clip": c} for c in clips]}, "application/json")
    assert resp.status_code == 400 and "2" in str(resp.json())
    reel = fan.post("/api/reels/", {"title": "Two", "items": [{"clip": c} for c in clips[:2]]}, "application/json")
    assert reel.status_code == 201
    pk = reel.json()["id"]
    assert fan.post(f"/reels/{pk}/add/", {"clip": clips[2]}, HTTP_HX_REQUEST="true").status_code == 400
    assert Reel.objects.get(pk=pk).items.count() == 2
    assert fan.post("/api/reels/from-search/", {"q": "top 3"}, "application/json").status_code == 400
    Reel.objects.filter(pk=pk).delete()


def test_old_renders_are_deleted_and_the_206_download_name_is_a_valid_header(
    env: dict[str, Game], login: Login
) -> None:
    fan = login("fan")
    clip = _clip(env["tennis"])
    item = {"clip": clip.pk, "trim_in_ms": clip.start_ms, "trim_out_ms": clip.start_ms + 800}
    pk = fan.post("/api/reels/", {"title": "Cleanup", "items": [item]}, "application/json").json()["id"]
    assert fan.post(f"/api/reels/{pk}/render/").json()["status"] == "ready"
    first = Path(settings.MEDIA_ROOT) / Reel.objects.get(pk=pk).video.name
    assert first.is_file()
    item["trim_out_ms"] += 400
    assert fan.patch(f"/api/reels/{pk}/", {"items": [item]}, "application/json").json()["version"] == 2
    assert fan.post(f"/api/reels/{pk}/render/").json()["rendered_version"] == 2
    second = Path(settings.MEDIA_ROOT) / Reel.objects.get(pk=pk).video.name
    assert second.is_file() and second != first and not first.exists()

    # 7. a title with a quote and a newline: a valid Content-Disposition on the 200 and the 206 paths
    title = 'Say "hi"\r\nSet-Cookie: x=1'
    Reel.objects.filter(pk=pk).update(title=title)
    expected = content_disposition_header(True, f"{title}.mp4")
    for headers in ({}, {"HTTP_RANGE": "bytes=0-99"}):
        resp = fan.get(f"/reels/{pk}/video.mp4", {"download": 1}, **headers)
        assert resp.status_code == (206 if headers else 200)
        assert resp["Content-Disposition"] == expected
        assert "\n" not in resp["Content-Disposition"] and "Set-Cookie" not in resp
    assert fan.delete(f"/api/reels/{pk}/").status_code == 204
    assert not second.exists()


# --- 7. redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
def test_next_never_leaves_the_site(target: str, env: dict[str, Game], login: Login, fan_reel: Reel) -> None:
    fan = login("fan")
    clip = _clip(env["tennis"])
    for url, data in (
        ("/reels/new/", {"title": "Next", "next": target}),
        (f"/reels/{fan_reel.pk}/add/", {"clip": clip.pk, "next": target}),
        ("/reels/auto/", {"q": "nothing-matches-this", "next": target}),
    ):
        resp = fan.post(url, data)
        assert resp.status_code == 400, url
        assert "evil" not in resp.get("Location", "") and "javascript" not in resp.get("Location", "")
    followed = fan.post(f"/reels/{fan_reel.pk}/add/", {"clip": clip.pk, "next": "/?q=tennis"})
    assert (followed.status_code, followed["Location"]) == (302, "/?q=tennis")
    Reel.objects.filter(title="Next").delete()
