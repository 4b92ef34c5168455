"""Play-by-play import on real PostgreSQL: the command, the API, editors' corrections and event search.

The feed is the shared MLB GUMBO excerpt (HOU at TOR, 2024-07-01; ../shared/data/plays/MANIFEST.md); the
game row and its clips are made here (no footage): the events are placed by ``--offset-s`` only.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from highlights.models import Clip, Event, Game, Person, Play
from highlights.roles import EDITORS_GROUP
from highlights.selectors import search_clips
from indexer.stages.playbyplay import read_play_by_play

pytestmark = pytest.mark.django_db

FEED = "mlb_gumbo_744914_excerpt.json"
PENA_HOME_RUN_WALL_S = 3_757.0  # Peña's home run pitch, 20:31:16.293Z, is this far after the first pitch (19:28:39)


@pytest.fixture
def feed(shared_dir: Path) -> Path:
    return shared_dir / "data" / "plays" / FEED


@pytest.fixture
def game() -> Game:
    return Game.objects.create(source_path="/nonexistent/hou-tor.mp4", sha256="a" * 64, sport="baseball")


def _clip(game: Game, start_ms: int, end_ms: int) -> Clip:
    return Clip.objects.create(
        game=game,
        start_ms=start_ms,
        end_ms=end_ms,
        model_class="hitting baseball",
        confidence=0.5,
        highlight_score=0.4,
        model_version="test",
        pipeline_version="test",
        embedding=b"",
    )


def _import(*args: str) -> dict[str, object]:
    out = StringIO()
    call_command("import_plays", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def _first_pitch_s(feed: Path) -> float:
    walls = [p.wall_time.timestamp() for e in read_play_by_play(feed).events for p in e.pitches if p.wall_time]
    return min(walls)


def test_import_by_offset_replaces_never_duplicates_and_links_clips(game: Game, feed: Path) -> None:
    parsed = read_play_by_play(feed)
    home_run = next(e for e in parsed.events if e.type == "home_run")
    at_s = home_run.wall_time.timestamp() - _first_pitch_s(feed)  # the video starts at the first pitch
    clip = _clip(game, round(at_s * 1000) - 2_000, round(at_s * 1000) + 5_000)
    known = Person.objects.create(name="Jeremy Pena")  # the feed spells it Peña: the graphics' matcher links them

    summary = _import(str(game.pk), str(feed), "--offset-s", "0")
    assert summary == {"events": len(parsed.events), "aligned": len(parsed.events), "unaligned": 0,
                       "median_residual_s": None}  # fmt: skip
    rows = Event.objects.filter(game=game, source=Event.Source.PLAY_BY_PLAY)
    assert rows.count() == len(parsed.events)
    row = rows.get(type="home_run")
    assert (row.person_id, row.clip_id, row.points) == (known.pk, clip.pk, 1)
    assert abs(row.time_ms / 1000 - at_s) < 0.01
    assert rows.exclude(pk=row.pk).filter(clip__isnull=False).count() == 0  # no other event inside the clip

    again = _import(str(game.pk), str(feed), "--offset-s", "0")
    assert again == summary
    assert Event.objects.filter(game=game, source=Event.Source.PLAY_BY_PLAY).count() == len(parsed.events)
    assert Person.objects.filter(name__icontains="pe").filter(name__icontains="a").count() >= 1
    assert Person.objects.filter(name="Jeremy Peña").count() == 0


def test_without_timeline_or_offset_nothing_is_aligned_or_linked(game: Game, feed: Path) -> None:
    _clip(game, 0, 10_000_000)
    summary = _import(str(game.pk), str(feed))
    assert summary["aligned"] == 0 and summary["unaligned"] == summary["events"] > 0
    assert not Event.objects.filter(game=game, clip__isnull=False).exists()


def test_command_bad_files_exit_2(game: Game, tmp_path: Path, feed: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a play-by-play file\n")
    for args in ([str(game.pk), str(bad)], [str(game.pk), str(tmp_path / "missing.json")], ["999999", str(feed)]):
        with pytest.raises(CommandError) as caught:
            call_command("import_plays", *args)
        assert caught.value.returncode == 2
    with pytest.raises(CommandError) as caught:
        call_command("import_plays", str(game.pk), str(feed), "--format", "nba")
    assert caught.value.returncode == 2 and "nba" in str(caught.value).lower()
    assert not Event.objects.filter(game=game).exists()


def _client(name: str, editor: bool) -> Client:
    user = User.objects.create_user(name, password="a-long-test-password")
    if editor:
        user.groups.add(Group.objects.get(name=EDITORS_GROUP))
    client = Client()
    client.force_login(user)
    return client


def test_api_import_editors_only_and_400_for_a_bad_file(game: Game, feed: Path) -> None:
    url = f"/api/games/{game.pk}/plays/"
    upload = SimpleUploadedFile(FEED, feed.read_bytes(), content_type="application/json")
    fan, editor = _client("fan", editor=False), _client("editor", editor=True)
    assert fan.post(url, {"file": upload, "offset_s": "0"}).status_code == 403
    bad = editor.post(url, {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    assert bad.status_code == 400 and "period, clock and event" in str(bad.json()["file"])
    assert editor.post(url, {}).status_code == 400
    upload.seek(0)
    ok = editor.post(url, {"file": upload, "offset_s": "0"})
    assert ok.status_code == 201
    assert ok.json()["events"] == Event.objects.filter(game=game).count() > 0
    assert Client().get(url).status_code == 200


def test_editor_corrects_an_event_and_search_finds_it_by_player_and_type(game: Game, feed: Path) -> None:
    _import(str(game.pk), str(feed), "--offset-s", "0")
    strikeout = Event.objects.filter(game=game, type="strikeout").order_by("time_ms").first()
    assert strikeout is not None
    clip = _clip(game, strikeout.time_ms - 1_000, strikeout.time_ms + 1_000)
    play = Play.objects.create(game=game, index=0, start_ms=clip.start_ms, end_ms=clip.end_ms, clip=clip)
    assert search_clips("event:home_run") == []  # no home run lies in a clip
    url = f"/api/events/{strikeout.pk}/"
    fan, editor = _client("fan", editor=False), _client("editor", editor=True)
    assert fan.patch(url, {"type": "home_run"}, "application/json").status_code == 403
    resp = editor.patch(url, {"type": "home_run", "time_ms": strikeout.time_ms}, "application/json")
    assert resp.status_code == 200 and resp.json()["source"] == "editor"
    strikeout.refresh_from_db()
    assert (strikeout.type, strikeout.clip_id, strikeout.play_id) == ("home_run", clip.pk, play.pk)
    batter = strikeout.person.name.split()[-1].lower()
    hits = search_clips(f"{batter}'s home runs")
    assert [(h.clip_id, h.matched, h.play_id) for h in hits] == [(clip.pk, "event home_run (editor)", play.pk)]
    assert search_clips("player:nobody event:home_run") == []
    assert editor.patch(url, {"person": 10**9}, "application/json").status_code == 400


def test_a_reel_of_plays_adds_one_replay_per_play_unless_turned_off(game: Game, feed: Path) -> None:
    from highlights.models import PlayShot, Shot
    from highlights.services import create_query_reel

    _import(str(game.pk), str(feed), "--offset-s", "0")
    strikeouts = list(Event.objects.filter(game=game, type="strikeout").order_by("time_ms")[:2])
    owner = User.objects.create_user("fan", password="a-long-test-password")
    replays = []
    for k, event in enumerate(strikeouts):  # each strikeout: a live shot, then a replay shot, as one play
        live = Shot.objects.create(game=game, index=2 * k, start_ms=event.time_ms - 1_000, end_ms=event.time_ms + 1_000)
        again = Shot.objects.create(game=game, index=2 * k + 1, start_ms=live.end_ms, end_ms=live.end_ms + 3_000)
        clip, replay = _clip(game, live.start_ms, live.end_ms), _clip(game, again.start_ms, again.end_ms)
        Clip.objects.filter(pk=clip.pk).update(shot=live)
        Clip.objects.filter(pk=replay.pk).update(shot=again)
        play = Play.objects.create(game=game, index=k, start_ms=live.start_ms, end_ms=again.end_ms, clip=clip)
        PlayShot.objects.create(play=play, shot=live, role=PlayShot.Role.LIVE)
        PlayShot.objects.create(play=play, shot=again, role=PlayShot.Role.REPLAY)
        Event.objects.filter(pk=event.pk).update(clip=clip, play=play)
        replays.append((clip.pk, replay.pk))
    text = "event:strikeout last 2"
    with_replays = create_query_reel(owner, text)
    ordered = sorted(replays, key=lambda r: -Clip.objects.get(pk=r[0]).start_ms)  # newest first: later in the game
    assert [i.clip_id for i in with_replays.items.order_by("position")] == [pk for pair in ordered for pk in pair]
    without = create_query_reel(owner, text, replays=False)
    assert [i.clip_id for i in without.items.order_by("position")] == [pair[0] for pair in ordered]
    page = Client().get(f"/clips/{ordered[0][0]}/").content.decode()
    assert 'class="play"' in page and 'class="replay"' in page and "strikeout" in page
    assert f'href="/clips/{ordered[0][1]}/"' in page and "this clip is a replay" not in page
    replay_page = Client().get(f"/clips/{ordered[0][1]}/").content.decode()
    assert f'class="live" href="/clips/{ordered[0][0]}/"' in replay_page  # the replay links back to the live action
    game_page = Client().get(f"/games/{game.pk}/").content.decode()
    assert game_page.count('class="play-band"') == 2
    assert game_page.count('class="shot live"') == 2 and game_page.count('class="shot replay"') == 2
