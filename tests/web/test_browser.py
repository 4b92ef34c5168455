"""The whole flow in a real browser (Playwright driving Debian's chromium) against a live server.

search → open a clip → the video plays → add two clips to a reel → reorder by drag and drop →
render with the progress bar → the downloaded MP4 is valid (duration = sum of trims, audio present);
the game page's play strip shows each play's shots and seeks the video to the one clicked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from highlights.models import Game, Play, PlayShot, Reel
from tests.web.conftest import PASSWORD, ffprobe

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path("/tmp/highlights-screens")


@pytest.fixture(scope="module")
def server(games: dict[str, Game], users: dict[str, User]) -> Iterator[str]:
    """pytest-django's live server thread, started on the module's committed data.

    (The ``live_server`` fixture itself would force ``transactional_db``, whose flush after the test
    removes the module's indexed games and the seeded taxonomy.)
    """
    live = LiveServer("localhost")
    yield live.url
    live.stop()
    with connection.cursor() as cursor:  # request threads still streaming video when the page closed
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as pw:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_search_watch_build_reorder_render_download(
    server: str, page: Page, games: dict[str, Game], tmp_path: Path
) -> None:
    page.goto(f"{server}/accounts/login/?next=/")
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".who")).to_contain_text("fan")

    # search, then open the best tennis clip
    page.fill("input[name=q]", "tennis")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#results .parsed")).to_contain_text("sport tennis")
    expect(page.locator(".clip-card").first).to_be_visible()
    shot(page, "search")
    page.locator(".clip-card a.label").first.click()
    page.wait_for_url("**/clips/*/")

    # the video plays: its currentTime advances
    page.wait_for_function("document.querySelector('video#player').currentTime > 0.5", timeout=20_000)
    shot(page, "clip")

    # a new reel with this clip, then a baseball clip from the search grid
    page.fill("#new-reel input[name=title]", "Browser reel")
    page.click("#new-reel button")
    expect(page.locator(".messages, .card")).not_to_have_count(0)
    page.goto(f"{server}/?q=red+sox")
    add = page.locator(".clip-card .add-to-reel").first
    add.click()
    expect(page.locator(".clip-card .added").first).to_contain_text("Added")

    reel = Reel.objects.get(title="Browser reel", owner__username="fan")
    first, second = list(reel.items.values_list("clip_id", flat=True))
    page.goto(f"{server}/reels/{reel.pk}/")
    items = page.locator("#items .item")
    expect(items).to_have_count(2)

    # drag the second item above the first
    page.locator("#items .item").nth(1).locator(".handle").drag_to(
        page.locator("#items .item").nth(0).locator(".handle")
    )
    expect(items.nth(0)).to_have_attribute("data-clip", str(second))

    # trim the baseball clip to 2.0 s and render; the progress bar ends at "ready"
    items.nth(0).locator(".trim-out").fill(f"{float(items.nth(0).locator('.trim-in').input_value()) + 2.0:.1f}")
    page.click("#render")
    expect(page.locator("#progress")).to_have_attribute("data-status", "ready", timeout=120_000)
    expect(page.locator("#progress-text")).to_have_text("ready")
    expect(page.locator("#reel-video")).to_be_visible()
    shot(page, "reel")

    reel.refresh_from_db()
    assert list(reel.items.values_list("clip_id", flat=True)) == [second, first]
    expected_s = sum(i.duration_ms for i in reel.items.all()) / 1000

    with page.expect_download() as download:
        page.click("#download")
    target = tmp_path / "reel.mp4"
    download.value.save_as(target)
    info = ffprobe(target)
    assert float(info["format"]["duration"]) == pytest.approx(expected_s, abs=0.1)
    assert {s["codec_type"]: s["codec_name"] for s in info["streams"]} == {"video": "h264", "audio": "aac"}

    # the other pages render
    page.goto(f"{server}/games/{games['baseball'].pk}/")
    page.locator("#timeline .marker").first.click()
    page.wait_for_function("document.querySelector('video#player').currentTime > 0")
    shot(page, "game")
    page.goto(f"{server}/reels/")
    expect(page.locator("table.list")).to_contain_text("Browser reel")
    shot(page, "reels")
    page.goto(f"{server}/accounts/login/?next=/jobs/")  # jobs are for editors: sign in as one
    page.fill("input[name=username]", "editor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#jobs-table")).to_contain_text("succeeded")
    shot(page, "jobs")
    shutil.copy(target, SCREENSHOTS / "reel.mp4")


def test_a_reel_title_with_markup_does_not_run_in_the_add_to_reel_reply(
    server: str, page: Page, games: dict[str, Game]
) -> None:
    title = '<img src=x onerror="window.__xss = document.cookie || 1">'
    reel = Reel.objects.create(owner=User.objects.get(username="fan"), title=title)
    page.goto(f"{server}/accounts/login/?next=/reels/{reel.pk}/")  # the editor makes it the fan's current reel
    page.fill("input[name=username]", "fan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/reels/{reel.pk}/")
    page.goto(f"{server}/?q=tennis")
    page.locator(".clip-card .add-to-reel").first.click()
    added = page.locator(".clip-card .added").first
    expect(added).to_be_visible()
    page.wait_for_load_state("networkidle")  # an injected image would have failed to load by now
    assert page.evaluate("window.__xss") is None  # its onerror never ran
    expect(added).to_contain_text(f"Added to “{title}”")  # the markup shows as text
    assert added.locator("img").count() == 0
    assert reel.items.count() == 1


def test_the_play_strip_shows_every_play_and_its_shots_and_a_shot_seeks_the_video(
    server: str, page: Page, games: dict[str, Game]
) -> None:
    game = games["baseball"]
    plays = Play.objects.filter(game=game)
    roles = list(PlayShot.objects.filter(play__game=game).order_by("shot__start_ms").values_list("role", flat=True))
    assert plays.exists() and roles
    page.goto(f"{server}/games/{game.pk}/")
    expect(page.locator("#playline .play-band")).to_have_count(plays.count())
    shots = page.locator("#playline .shot")
    expect(shots).to_have_count(len(roles))
    assert [shots.nth(k).get_attribute("class") for k in range(len(roles))] == [f"shot {r}" for r in roles]
    last = shots.last
    seek = float(last.get_attribute("data-seek") or "nan")
    last.click()
    page.wait_for_function(f"Math.abs(document.querySelector('video#player').currentTime - {seek}) < 0.3")
    shot(page, "game_plays")
