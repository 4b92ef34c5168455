"""Search's large-archive plans keep its results: semi-joins, game lists, the unordered capped count, paging,
similar clips.

A small archive is built on real PostgreSQL (migrations with the seeded taxonomy and teams); each
expected result follows from how the rows were made (which player, event or game links each clip),
not from the code under test.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from highlights import selectors
from highlights.models import Action, Appearance, Clip, Event, FaceTrack, Game, Person, ReviewStatus
from highlights.pagination import CappedPageNumberPagination, CappedPaginator
from indexer import index_writer
from indexer.runtime import model_weights

pytestmark = pytest.mark.django_db


def _clip(game: Game, n: int, score: float, action: Action, **fields: Any) -> Clip:
    row = {"model_version": "m", "model_class": action.model_classes[0], "embedding": np.zeros(4, np.float32).tobytes()}
    return Clip.objects.create(
        game=game,
        start_ms=n * 10_000,
        end_ms=n * 10_000 + 8_000,
        action=action,
        confidence=0.5,
        highlight_score=score,
        pipeline_version="p",
        **{**row, **fields},
    )


@pytest.fixture
def archive() -> dict[str, Any]:
    """Two baseball games (one with imported play-by-play) and a basketball game, with players linked to clips.

    Clip roles: ``face`` (David Ortiz's face track), ``bug`` (David Ortiz named on the score bug, and his
    home run imported: two links, one clip), ``hr_anon`` (a home run naming no player, in a clip the bug
    names Maria Ortiz in), ``hr_other`` (another player's home run), ``lookalike`` (a hit with Maria Ortiz
    on the bug, in the game without play-by-play), ``lookalike_pbp`` (the same in the play-by-play game,
    whose events are known), ``rejected`` (David Ortiz on the bug, rejected by an editor), ``other``
    (nobody linked), ``dunk`` (basketball).
    """
    hit = Action.objects.get(sport="baseball", name="hit")
    dunk = Action.objects.get(sport="basketball", name="dunk")
    pbp = Game.objects.create(
        sport="baseball",
        home_team="Boston Red Sox",
        away_team="New York Yankees",
        source_path="/a.mp4",
        sha256="a" * 64,
    )
    plain = Game.objects.create(
        sport="baseball", home_team="Los Angeles Dodgers", away_team="Milwaukee Brewers", source_path="/b.mp4",
        sha256="b" * 64,
    )  # fmt: skip
    court = Game.objects.create(
        sport="basketball", home_team="Boston Celtics", away_team="Miami Heat", source_path="/c.mp4", sha256="c" * 64
    )
    david, maria, other = (Person.objects.create(name=n) for n in ("David Ortiz", "Maria Ortiz", "Mookie Betts"))
    clips = {
        "face": _clip(pbp, 0, 0.91, hit),
        "bug": _clip(pbp, 1, 0.82, hit),
        "hr_anon": _clip(pbp, 2, 0.73, hit),
        "hr_other": _clip(pbp, 3, 0.64, hit),
        "lookalike": _clip(plain, 0, 0.55, hit),
        "lookalike_pbp": _clip(pbp, 4, 0.46, hit),
        "rejected": _clip(pbp, 5, 0.99, hit, review_status=ReviewStatus.REJECTED),
        "other": _clip(plain, 1, 0.37, hit),
        "dunk": _clip(court, 0, 0.28, dunk),
    }
    FaceTrack.objects.create(
        game=pbp, clip=clips["face"], start_ms=0, end_ms=1000, embedding=np.zeros(128, dtype=np.float32).tobytes(),
        model_version="m", person=david,
    )  # fmt: skip
    for name, person in (("bug", david), ("hr_anon", maria), ("lookalike", maria), ("lookalike_pbp", maria),
                         ("rejected", david)):  # fmt: skip
        c = clips[name]
        Appearance.objects.create(
            person=person, game=c.game, clip=c, source="graphics", start_ms=c.start_ms, end_ms=c.end_ms
        )
    for name, person in (("bug", david), ("hr_anon", None), ("hr_other", other)):
        Event.objects.create(
            game=pbp, clip=clips[name], type="home_run", points=1, person=person, source=Event.Source.PLAY_BY_PLAY
        )
    return clips


def _names(clips: dict[str, Clip], found: list[Clip] | list[int]) -> list[str]:
    by_pk = {c.pk: name for name, c in clips.items()}
    return [by_pk[c if isinstance(c, int) else c.pk] for c in found]


def _search(text: str) -> list[Clip]:
    return list(selectors.clip_queryset(selectors.parse_search(text)))


def test_a_player_word_finds_each_linked_clip_once_by_score(archive: dict[str, Any]) -> None:
    # face track, score bug and event links; "bug" is linked twice (bug + its event) and appears once
    assert _names(archive, _search("ortiz")) == ["face", "bug", "hr_anon", "lookalike", "lookalike_pbp"]
    assert _names(archive, _search("david ortiz")) == ["face", "bug"]
    assert _names(archive, _search("betts")) == ["hr_other"]  # an event's player


def test_a_word_matching_a_game_and_a_player_takes_both(archive: dict[str, Any]) -> None:
    Person.objects.create(name="Dodgers Fan")  # "dodgers" now names a player (no clip) and a game's team
    assert _names(archive, _search("dodgers")) == ["lookalike", "other"]
    Event.objects.create(game=archive["dunk"].game, clip=archive["dunk"], type="dunk", points=2,
                         person=Person.objects.get(name="Dodgers Fan"), source=Event.Source.PLAY_BY_PLAY)  # fmt: skip
    assert _names(archive, _search("dodgers")) == ["lookalike", "other", "dunk"]


def test_event_queries_take_events_and_lookalikes_only_where_events_are_unknown(archive: dict[str, Any]) -> None:
    # home_run events (any player), plus the hit clips of the game without play-by-play
    assert _names(archive, _search("home runs")) == ["bug", "hr_anon", "hr_other", "lookalike", "other"]
    # ... of which those linked to an Ortiz (face, bug, hr_anon via Maria on the bug, lookalike)
    assert _names(archive, _search("Ortiz home runs")) == ["bug", "hr_anon", "lookalike"]
    # the player filter on an event: their own events, or events naming nobody in a clip they are in
    assert _names(archive, _search('player:ortiz event:"home run"')) == ["bug", "hr_anon"]
    assert _names(archive, _search('player:david event:"home run"')) == ["bug"]
    hits = selectors.search_clips("Ortiz home runs")
    assert [h.matched for h in hits] == ["event home_run (play-by-play import)"] * 2 + ["action hit"]
    hits = selectors.search_clips('player:ortiz event:"home run"')
    assert [h.matched for h in hits] == ["event home_run (play-by-play import)"] * 2
    # what a result matched on is read without the players' clips: each result clip is one of theirs
    statements = _statements('player:ortiz event:"home run"')
    (ranked,) = [sql for sql in statements if sql.startswith('SELECT "highlights_clip"."id"')]
    assert '"highlights_appearance"' not in ranked


def test_a_lookalike_is_looked_for_in_the_sports_whose_taxonomy_has_the_action(archive: dict[str, Any]) -> None:
    # "hit" is baseball's: a clip the model took for a hit ("hitting baseball") in the basketball game, whose events
    # are unknown too, is no home run; the baseball game's look-alike is
    dunk = archive["dunk"]
    stray = _clip(dunk.game, 1, 0.99, dunk.action, model_class="hitting baseball")
    assert _names(archive, _search("home runs")) == ["bug", "hr_anon", "hr_other", "lookalike", "other"]
    # an action the taxonomy lacks is looked for in every sport's games (its model classes)
    assert stray.pk in {c.pk for c in _search('event:"home run" action:"hitting baseball"')}


def test_a_word_naming_players_only_is_an_event_querys_player(archive: dict[str, Any]) -> None:
    # Mookie Betts's home run in the clip of David Ortiz's face: an event of another player, not Ortiz's
    betts = Person.objects.get(name="Mookie Betts")
    face = archive["face"]
    Event.objects.create(game=face.game, clip=face, type="home_run", points=1, person=betts, source=Event.Source.EDITOR)
    assert _names(archive, _search("home runs")) == ["face", "bug", "hr_anon", "hr_other", "lookalike", "other"]
    assert _names(archive, _search("Ortiz home runs")) == ["bug", "hr_anon", "lookalike"]  # as player:ortiz: no "face"
    assert _search("Ortiz home runs") == _search("Ortiz's home runs")  # the possessive names the player
    assert _names(archive, _search("betts home runs")) == ["face", "hr_other"]
    assert _names(archive, _search("ortiz")) == ["face", "bug", "hr_anon", "lookalike", "lookalike_pbp"]  # no event
    # every player of the query: an event names one in all of them, an event naming nobody has each in its clip
    assert _names(archive, _search("maria home runs")) == ["hr_anon", "lookalike"]
    assert _names(archive, _search("player:ortiz david home runs")) == ["bug"]
    assert _search("player:ortiz maria betts home runs") == []


def test_the_capped_count_counts_what_the_ranked_query_lists(
    archive: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for text in ("ortiz", "home runs", "Ortiz home runs", "baseball", "dunks", "nothing-matches-this"):
        clips = selectors.clip_queryset(selectors.parse_search(text))
        assert CappedPaginator(clips, 2).count == len(list(clips)), text
    monkeypatch.setattr("highlights.pagination.COUNT_CAP", 3)
    paginator = CappedPaginator(selectors.clip_queryset(selectors.parse_search("baseball")), 2)
    assert (paginator.count, paginator.capped) == (4, True)  # 7 visible baseball clips, counted up to 3 + 1


def test_the_capped_count_reads_no_joined_row_and_no_matched_event(archive: dict[str, Any]) -> None:
    clips = selectors.clip_queryset(selectors.parse_search("Ortiz home runs"))
    with CaptureQueriesContext(connection) as queries:
        count = CappedPaginator(clips, 2).count
    (statement,) = [q["sql"] for q in queries.captured_queries]
    assert count == len(list(clips)) > 0
    assert statement.startswith("SELECT COUNT(*)")
    assert '"highlights_game"' not in statement and '"highlights_event"' not in statement, statement


def test_api_hits_say_what_they_matched_on(archive: dict[str, Any]) -> None:
    hits = Client().get("/api/search/", {"q": "Ortiz home runs"}).json()["results"]
    pbp = "event home_run (play-by-play import)"
    assert [(h["id"], h["matched"]) for h in hits] == [
        (archive["bug"].pk, pbp), (archive["hr_anon"].pk, pbp), (archive["lookalike"].pk, "action hit"),
    ]  # fmt: skip
    assert all(h["play"] is None for h in hits)  # no plays grouped in this archive
    assert {h["matched"] for h in Client().get("/api/search/", {"q": "ortiz"}).json()["results"]} == {""}


def test_api_pages_return_every_match_once_in_rank_order(
    archive: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CappedPageNumberPagination, "page_size", 3)
    client, seen, url = Client(), [], "/api/search/?q=baseball"
    while url:
        page = client.get(url).json()
        assert page["count"] == 7
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    expected = Clip.objects.filter(game__sport="baseball").exclude(review_status=ReviewStatus.REJECTED)
    assert seen == list(expected.order_by("-highlight_score", "pk").values_list("pk", flat=True))


@pytest.mark.parametrize("inline", [0, 1, 20_000])
def test_a_clip_set_bound_as_an_array_or_kept_a_subquery_gives_the_same_clips(
    archive: dict[str, Any], monkeypatch: pytest.MonkeyPatch, inline: int
) -> None:
    # 0 and 1: every set of these queries is larger (a subquery); 20 000: all are bound as arrays
    monkeypatch.setattr(selectors, "_INLINE_IDS", inline)
    assert _names(archive, _search("ortiz")) == ["face", "bug", "hr_anon", "lookalike", "lookalike_pbp"]
    assert _names(archive, _search("home runs")) == ["bug", "hr_anon", "hr_other", "lookalike", "other"]
    assert _names(archive, _search("Ortiz home runs")) == ["bug", "hr_anon", "lookalike"]


def test_event_queries_take_the_events_and_lookalikes_of_the_querys_games_only(archive: dict[str, Any]) -> None:
    pbp, plain = archive["bug"].game, archive["lookalike"].game
    Game.objects.filter(pk=pbp.pk).update(date=date(2024, 5, 1))
    Game.objects.filter(pk=plain.pk).update(date=date(2025, 5, 1))
    assert _names(archive, _search("home runs 2024")) == ["bug", "hr_anon", "hr_other"]  # the events' game
    assert _names(archive, _search("home runs 2025")) == ["lookalike", "other"]  # the game without play-by-play
    assert _names(archive, _search("scoring plays 2024")) == ["bug", "hr_anon", "hr_other"]
    assert _search("scoring plays 2025") == []
    assert _names(archive, _search("home runs sport:basketball")) == []


def test_an_edited_event_makes_its_game_one_whose_events_are_known(archive: dict[str, Any]) -> None:
    plain = archive["lookalike"].game
    Event.objects.create(game=plain, clip=archive["other"], type="strikeout", source=Event.Source.EDITOR)
    assert _names(archive, _search("home runs")) == ["bug", "hr_anon", "hr_other"]  # no look-alikes left


def test_a_word_finds_games_by_title_teams_and_the_teams_read_on_the_bug(archive: dict[str, Any]) -> None:
    court = archive["dunk"].game
    assert _search("cubs") == []
    Game.objects.filter(pk=court.pk).update(graphics={"teams": ["Chicago Cubs", "MIA"]})
    assert _names(archive, _search("cubs")) == ["dunk"]
    Game.objects.filter(pk=court.pk).update(title="Finals Game 7", home_team="Orlando Magic")
    assert _names(archive, _search("FINALS")) == ["dunk"]  # the stored search text follows the row
    assert _names(archive, _search("orlando")) == ["dunk"]
    assert _search("celtics") == []  # the old home team is gone from it


def test_a_word_matches_names_at_a_words_start_not_inside_one(archive: dict[str, Any]) -> None:
    court = archive["dunk"].game
    shredding = _clip(court, 1, 0.19, archive["dunk"].action)
    Clip.objects.filter(pk=shredding.pk).update(model_class="shredding paper", action=None)
    # "red" starts a word of "Boston Red Sox", not one of "shredding paper"; "sox" and "red" name one game
    assert _names(archive, _search("red sox")) == ["face", "bug", "hr_anon", "hr_other", "lookalike_pbp"]
    assert _search("red") == _search("red sox")
    assert _names(archive, _search("dunk")) == ["dunk"]  # a form that starts "dunking basketball"
    assert [c.pk for c in _search("shredding")] == [shredding.pk]
    assert _search("edding") == []  # inside a word


def test_words_find_names_with_accents_hyphens_and_dots_by_their_words(archive: dict[str, Any]) -> None:
    court, other = archive["dunk"].game, archive["other"]
    Game.objects.filter(pk=court.pk).update(title="St.Louis Jean-Pierre Cup")
    Appearance.objects.create(
        person=Person.objects.create(name="José Ramírez"), game=other.game, clip=other, source="graphics",
        start_ms=other.start_ms, end_ms=other.end_ms,
    )  # fmt: skip
    for word in ("louis", "pierre", "jean", "st", "cup"):  # each a word of the title (GIN lookup of its prefix)
        assert _names(archive, _search(word)) == ["dunk"], word
    assert _search("ouis") == []
    for word in ("ramírez", "josé", "jos", "ram"):  # accented forms are looked for in the text, plain ones in words
        assert _names(archive, _search(word)) == ["other"], word
    assert _search("ramirez") == [] and _search("mírez") == []


def test_similar_clips_are_the_nearest_visible_ones_with_their_rows(tmp_path: Path) -> None:
    weights = model_weights()
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, weights.embedding_dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[1:] += 1.5 * vectors[0]  # every clip near the query clip, at different distances
    game = Game.objects.create(sport="tennis", source_path="/s.mp4", sha256="s" * 64)
    hit = Action.objects.get(sport="baseball", name="hit")
    clips = [
        _clip(game, n, 0.5, hit, embedding=v.tobytes(), model_version=weights.version) for n, v in enumerate(vectors)
    ]
    cosine = vectors[1:] @ vectors[0] / np.linalg.norm(vectors[1:], axis=1)
    by_nearness = [clips[1 + i] for i in np.argsort(-cosine)]
    # 16 of the 24 nearest rejected: the first search (2 k) finds 8 visible, the repeated one the rest
    hidden = [c for i, c in enumerate(by_nearness[:24]) if i % 3]
    Clip.objects.filter(pk__in=[c.pk for c in hidden]).update(review_status=ReviewStatus.REJECTED)
    with override_settings(HL_INDEX_DIR=tmp_path):
        index_writer.sync_game_clips(game.pk)
        nearest = selectors.nearest_clips(clips[0], k=12)
        hits = selectors.similar_clips(clips[0], k=12)
    expected = [c.pk for c in by_nearness if c not in hidden][:12]
    assert [c.pk for c, _ in nearest] == [h.clip_id for h in hits] == expected
    assert all(c.game == game and c.action == hit for c, _ in nearest)  # the rows views show


def _statements(text: str) -> list[str]:
    """The SQL statements one search runs (the ranked clips, read in full)."""
    with CaptureQueriesContext(connection) as queries:
        _search(text)
    return [q["sql"] for q in queries.captured_queries]


def test_a_query_reads_the_taxonomy_and_the_classifiers_once(archive: dict[str, Any]) -> None:
    # "Ortiz home runs": a free word (the taxonomy's actions and classes), an event and its look-alike action
    reads = [_VOCABULARY_READ.findall(sql) for sql in _statements("Ortiz home runs")]
    assert sorted(table for read in reads for table in read) == ["highlights_action", "highlights_actionclassifier"]
    assert sum(bool(read) for read in reads) == 1  # both in one statement
    assert not any(_VOCABULARY_READ.search(sql) for sql in _statements("tennis"))  # no word, no action


_VOCABULARY_READ = re.compile(r'FROM "?(highlights_action(?:classifier)?)\b')


def _plan_nodes(sql: str) -> list[dict[str, Any]]:
    """Every node of ``EXPLAIN (ANALYZE, FORMAT JSON)`` of ``sql``, with fresh statistics and sequential and bitmap
    scans off: the index scans the planner chooses at a million clips, not the whole-table reads that are cheapest
    for a few rows."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE highlights_clip, highlights_game, highlights_gameevents, highlights_event")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (plan,) = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_bitmapscan")
    nodes, pending = [], [plan["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending.extend(node.get("Plans", []))
    return nodes


def _lookalike_statement(text: str) -> str:
    """The statement of one search reading an event query's matched clips (its events and look-alikes)."""
    statements = _statements(text)
    # no statement reads the events to find the games knowing them: a game's summary row says so
    assert not any('"source" IN' in sql for sql in statements)
    (matched,) = [sql for sql in statements if "array_agg" in sql and 'UPPER("highlights_event"."type"' in sql]
    assert matched.count('FROM "highlights_clip"') == 2  # one part for the hit action, one for its model class
    return matched


def test_lookalikes_are_read_within_the_games_not_knowing_the_events(archive: dict[str, Any]) -> None:
    nodes = _plan_nodes(_lookalike_statement("home runs"))
    clip_scans = [n for n in nodes if n.get("Relation Name") == "highlights_clip"]
    assert len(clip_scans) == 2
    for scan in clip_scans:  # each part walks its index within those games, not over the action's every clip
        assert "game_id = ANY" in scan["Index Cond"], scan
        # it finds the hit clips of the game without play-by-play ("lookalike", "other") among the clips of the
        # games not knowing home runs (those two and the basketball game's dunk), never the play-by-play game's six
        read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
        assert scan["Actual Rows"] == 2 and read <= 3, (scan["Index Name"], scan["Index Cond"], read)
    summaries = [n for n in nodes if n.get("Relation Name") == "highlights_gameevents"]
    assert summaries and all(n["Actual Rows"] == 1 for n in summaries)  # the play-by-play game's row, no event
    # a player's look-alikes: the same game test in each part; the players' links read once, for the look-alikes
    # and the events naming nobody together (one INTERSECT)
    matched = _lookalike_statement("Ortiz home runs")
    assert matched.count('"highlights_clip"."game_id" = ANY((ARRAY(SELECT') == 2
    assert matched.count('FROM "highlights_gameevents"') == 2
    assert matched.count(" INTERSECT ") == 1 and matched.count('FROM "highlights_appearance"') == 1


def test_words_naming_games_filter_an_event_querys_events_and_the_games_read(archive: dict[str, Any]) -> None:
    assert _names(archive, _search("red sox home runs")) == ["bug", "hr_anon", "hr_other"]  # the pbp game's events
    assert _names(archive, _search("dodgers home runs")) == ["lookalike", "other"]  # the plain game's look-alikes
    assert _search("red sox dodgers home runs") == []  # no game has both teams
    red_sox = archive["bug"].game_id
    (events,) = [sql for sql in _statements("red sox home runs") if "array_agg" in sql]
    assert f'"highlights_event"."game_id" = ANY(\'{{{red_sox}}}\'::bigint[])' in events
    Game.objects.filter(pk=red_sox).update(date=date(2024, 5, 1))
    assert _names(archive, _search("red sox 2024")) == ["face", "bug", "hr_anon", "hr_other", "lookalike_pbp"]
    assert _search("red sox 2025") == []
    (games,) = [sql for sql in _statements("red sox 2025") if "FROM highlights_game" in sql]
    assert '"highlights_game"."date" >= ' in games  # only the query's games are read


def test_connections_price_random_reads_as_in_memory() -> None:
    """Every connection carries ``HL_DB_RANDOM_PAGE_COST`` (1.1 by default), not the server's disk-seek 4."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert float(cursor.fetchone()[0]) == pytest.approx(1.1)


def test_a_words_names_are_read_through_the_word_indexes(archive: dict[str, Any]) -> None:
    """The raw look-up of what a word names tests the very expression each GIN index holds (a drift would scan)."""
    (names,) = [sql for sql in _statements("ortiz") if "FROM highlights_person" in sql]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # GIN indexes are read by bitmap scans only
        cursor.execute(f"EXPLAIN (FORMAT JSON) {names}")
        (plan,) = cursor.fetchone()[0]
        cursor.execute("RESET enable_seqscan")
    indexes, pending = set(), [plan["Plan"]]
    while pending:
        node = pending.pop()
        indexes.add(node.get("Index Name"))
        pending.extend(node.get("Plans", []))
    assert {"game_search_words", "person_name_words"} <= indexes
