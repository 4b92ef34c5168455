"""The score-bug parser, the timeline smoothing and the memory of searched edges, on text and masks written here
(pure logic: no OCR, no video)."""

from __future__ import annotations

import numpy as np

from indexer.stages.graphics import (
    GameState,
    GraphicsParams,
    GraphicsResult,
    NameSighting,
    Reading,
    ScoringEvent,
    Side,
    Timeline,
    Token,
    _SearchedInVain,
    candidate_regions,
    normalise_name,
    parse_bug,
    sample_spans,
    split_line,
)


def row(y: float, *pieces: tuple[str, float], h: float = 16.0, conf: float = 0.95) -> list[Token]:
    """Tokens of one row: ``(text, x)`` pairs, each piece 8 px per character wide."""
    return [Token(text, x, y, 8.0 * len(text), h, conf) for text, x in pieces]


def test_normalise_name_drops_lineup_numbers_and_rejects_non_names() -> None:
    assert normalise_name("5.AGUILAR") == "AGUILAR"
    assert normalise_name("Real  Madrid") == "REAL MADRID"
    assert normalise_name("1-2") is None
    assert normalise_name("A") is None
    assert normalise_name("0FOR1") is None


def test_two_row_baseball_bug_gives_sides_count_batter_and_pitch_count() -> None:
    tokens = [
        *row(10, ("5.AGUILAR", 0), ("0FOR1", 100), (".145AVG", 160)),
        *row(34, ("IA", -18), ("LAD", 8), ("0", 50), ("1-2", 100)),  # "IA": the team logo read as letters
        *row(58, ("MIL", 8), ("0", 50), ("PITCHES", 100), ("60", 165)),
    ]
    reading = parse_bug(tokens)
    assert reading is not None
    assert reading.sides == (Side("LAD", 0), Side("MIL", 0))
    assert reading.kind == "team"
    assert reading.fields == {"batter": "AGUILAR", "balls": 1, "strikes": 2, "pitch_count": 60}
    assert reading.raw_text.split(" | ")[1] == "IA LAD 0 1-2"


def _mlb_bug(inning_y: float, *, pitches_row: float) -> list[Token]:
    """MLB's bug as read on a re-encoded copy: the inning number between the team rows, in the middle column;
    ``PITCHES`` and its count under it, ``pitches_row`` giving the label's vertical centre."""
    return [
        *row(10, ("5.AGUILAR", 0), ("0FOR1", 100), (".145AVG", 160)),
        *row(34, ("LAD", 8), ("0", 50), ("1-2", 150)),
        Token("4", 100, inning_y, 8, 16, 0.95),
        Token("PITCHES", 140, pitches_row, 56, 11, 0.95),
        *row(62, ("MIL", 8), ("0", 50), ("60", 150)),
    ]


def test_the_inning_between_the_team_rows_is_the_period_with_its_half_from_the_marker() -> None:
    seen: list[tuple[str, float, float]] = []

    def marker(token: Token, mid: float, band: float) -> str | None:
        seen.append((token.text, mid, band))
        return "bottom"

    reading = parse_bug(_mlb_bug(49, pitches_row=50), marker)
    assert reading is not None
    assert reading.sides == (Side("LAD", 0), Side("MIL", 0))  # the inning is no score
    assert (reading.period, reading.half) == (4, "bottom")
    assert seen == [("4", 48.0, 28.0)]
    assert reading.fields["pitch_count"] == 60  # the number under the label, not the inning beside it
    unread = parse_bug(_mlb_bug(49, pitches_row=50), lambda *_: None)
    assert unread is not None and (unread.period, unread.half) == (4, None)  # never invented


def test_a_number_level_with_one_team_row_is_no_inning() -> None:
    reading = parse_bug(_mlb_bug(34, pitches_row=50))
    assert reading is not None
    assert reading.period is None and reading.half is None


def test_one_row_columns_with_clock_give_both_sides_and_elapsed_clock() -> None:
    reading = parse_bug(row(20, ("04:43", 0), ("RMA", 60), ("0", 100), ("0", 120), ("SEV", 140)))
    assert reading is not None
    assert reading.sides == (Side("RMA", 0), Side("SEV", 0))
    assert reading.clock_s == 4 * 60 + 43


def test_tennis_columns_give_sets_games_points_and_players() -> None:
    tokens = [
        *row(10, ("DJOKOVIC", 0), ("6", 100), ("4", 120), ("30", 140), h=20),
        *row(40, ("WAWRINKA", 0), ("3", 100), ("2", 120), ("15", 140), h=20),
    ]
    reading = parse_bug(tokens)
    assert reading is not None
    assert [s.name for s in reading.sides or ()] == ["DJOKOVIC", "WAWRINKA"]
    assert reading.kind == "player"
    assert reading.fields == {"points": ["30", "15"], "games": [4, 2], "sets": [[6], [3]]}
    assert [s.score for s in reading.sides or ()] == [4, 2]  # games of the current set


def test_a_lit_cells_border_read_as_a_digit_is_dropped_from_the_tennis_columns() -> None:
    # The pieces the stage read on ATP's hard-court bug (frame pixels): "DJOKOVIC 6 1 0" / "WAWRINKA 3 0 1 0", the
    # "1" beside Wawrinka's 0 being the edge of the lit games cell (5 px wide, confidence 0.57).
    tokens = [
        Token("DJOKOVIC", 140, 624, 82, 25, 0.99),
        Token("6", 277, 624, 9, 15, 1.0),
        Token("1", 300, 622, 6, 11, 1.0),
        Token("0", 328, 624, 10, 13, 0.95),
        Token("WAWRINKA", 149, 650, 90, 27, 0.99),
        Token("3", 277, 649, 9, 14, 1.0),
        Token("0", 299, 648, 9, 13, 0.98),
        Token("1", 309, 648, 5, 13, 0.57),
        Token("0", 328, 648, 9, 13, 0.98),
    ]
    reading = parse_bug(tokens)
    assert reading is not None
    assert reading.fields == {"points": ["0", "0"], "games": [1, 0], "sets": [[6], [3]]}
    assert [s.score for s in reading.sides or ()] == [1, 0]


def test_the_server_mark_names_the_server_on_tennis_columns_only() -> None:
    tennis = [
        *row(10, ("DJOKOVIC", 0), ("6", 100), ("4", 120), ("30", 140), h=20),
        *row(40, ("WAWRINKA", 0), ("3", 100), ("2", 120), ("15", 140), h=20),
    ]
    asked: list[tuple[str, str]] = []

    def second_row_marked(first: Token, second: Token) -> int:
        asked.append((first.text, second.text))
        return 1

    reading = parse_bug(tennis, server_marker=second_row_marked)
    assert reading is not None and reading.fields["server"] == "WAWRINKA"
    assert asked == [("DJOKOVIC", "WAWRINKA")]
    unmarked = parse_bug(tennis, server_marker=lambda first, second: None)
    assert unmarked is not None and "server" not in unmarked.fields
    baseball = [*row(10, ("LAD", 0), ("0", 50)), *row(34, ("MIL", 0), ("3", 50))]
    teams = parse_bug(baseball, server_marker=second_row_marked)
    assert teams is not None and "server" not in teams.fields and len(asked) == 1  # no tennis columns: not looked for


def test_court_side_boards_in_one_row_are_no_two_column_bug() -> None:
    # The pieces read on the clay clip's boards (frame pixels): a logo's letters, "160" (read twice), sponsor names in
    # letters of another height.
    tokens = [
        Token("TENNISTV.", 120, 48, 140, 37, 0.97),
        Token("160", 310, 78, 17, 15, 0.99),
        Token("160", 316, 78, 9, 9, 0.99),
        Token("PPARIDAS BNPPARIBAS DNP PARIBAS DNPPAUBAS", 338, 71, 145, 23, 0.82),
    ]
    reading = parse_bug(tokens)
    assert reading is None or reading.sides is None


def test_lone_tennis_points_are_points_not_a_score() -> None:
    tokens = [*row(10, ("Tsitsipas", 0), ("40", 120), h=20), *row(40, ("Rublev", 0), ("15", 120), h=20)]
    reading = parse_bug(tokens)
    assert reading is not None
    assert reading.sides == (Side("TSITSIPAS", None), Side("RUBLEV", None))
    assert reading.fields == {"points": ["40", "15"]}
    basketball = parse_bug([*row(10, ("LAL", 0), ("40", 60)), *row(34, ("BOS", 0), ("38", 60)), *row(58, ("4TH", 0))])
    assert basketball is not None and basketball.sides == (Side("LAL", 40), Side("BOS", 38))


def test_numbers_in_separate_cells_are_all_kept() -> None:
    tokens = [*row(10, ("LAD", 0), ("0", 50), ("12", 70)), *row(34, ("MIL", 0), ("10", 50), ("2", 78))]
    reading = parse_bug(tokens)
    assert reading is not None
    assert reading.sides == (Side("LAD", 0), Side("MIL", 10))


def test_logo_sides_with_period_and_clock_keep_empty_names() -> None:
    tokens = [*row(10, ("2", 0), ("LWRS", 20), ("2", 80), h=14), *row(30, ("1ST", -40), ("11:15", 0), ("21", 60), h=14)]
    reading = parse_bug(tokens)
    assert reading is not None
    assert reading.sides == (Side("", 2), Side("", 2))
    assert reading.period == 1
    assert reading.clock_s == 675.0


def test_a_caption_beside_the_bug_is_not_a_side() -> None:
    # "FOLLOW ME" is far to the left of the bug's "2 2": a separate segment, never a team name.
    tokens = [*row(10, ("FOLLOWME", -300), ("2", 0), ("2", 80), h=14), *row(30, ("11:15", 0), h=14)]
    reading = parse_bug(tokens)
    assert reading is not None and reading.sides is not None
    assert all(side.name == "" for side in reading.sides)


def test_sponsor_boards_without_scores_are_not_a_bug() -> None:
    tokens = [*row(10, ("AMERICAN FAMILY", 0), ("DISCOUNT DAYS", 200)), *row(30, ("INSURANCE", 0), ("SAVE50%", 200))]
    assert parse_bug(tokens) is None


def test_shot_clock_tenths_and_impossible_clock() -> None:
    assert parse_bug(row(0, ("24.3", 0))).clock_s == 24.3  # type: ignore[union-attr]
    assert parse_bug(row(0, ("12:75", 0))) is None


def reading(
    a: int | None, b: int | None, clock: float | None = None, names: tuple[str, str] = ("LAD", "MIL")
) -> Reading:
    return Reading(
        sides=(Side(names[0], a), Side(names[1], b)),
        kind="team",
        period=None,
        half=None,
        clock_s=clock,
        fields={},
        raw_text=f"{names[0]} {a} | {names[1]} {b}",
        confidence=0.9,
    )


def test_timeline_counts_persistent_rises_and_drops_noise() -> None:
    timeline = Timeline(min_persist=3)
    sequence = [reading(0, 0)] * 4 + [reading(0, 8)] + [reading(0, 0)] * 2 + [reading(1, 0)] * 4
    sequence += [reading(0, 0)] * 3  # a score that jumps back is a misreading
    sequence += [reading(1, None)] * 2  # a reading missing a score confirms the current state
    for i, r in enumerate(sequence):
        timeline.push(i * 500, r)
    assert [(s.time_ms, s.sides[0].score, s.sides[1].score) for s in timeline.states] == [(0, 0, 0), (3500, 1, 0)]
    assert timeline.events == [ScoringEvent(time_ms=3500, side=0, points=1, score=(1, 0))]
    names = timeline.names()
    assert {(n.name, n.start_ms, n.end_ms) for n in names} == {("LAD", 0, 7500), ("MIL", 0, 7500)}


def test_timeline_clock_needs_agreeing_readings_and_ignores_jumps() -> None:
    timeline = Timeline(min_persist=3)
    clocks = [675.0, 675.0, 674.0, 310.0, 674.0, 673.0]
    for i, clock in enumerate(clocks):
        timeline.push(i * 500, reading(2, 2, clock))
    assert [s.clock_s for s in timeline.states] == [674.0, 673.0]


def test_timeline_new_sides_are_a_new_game_not_an_event() -> None:
    timeline = Timeline(min_persist=2)
    for i, r in enumerate([reading(3, 1)] * 2 + [reading(0, 0, names=("SF", "PIT"))] * 2):
        timeline.push(i * 500, r)
    assert len(timeline.states) == 2
    assert timeline.events == []


def test_result_round_trips_through_json_dict() -> None:
    state = GameState(0, (Side("LAD", 0), Side("MIL", 1)), 4, "top", None, {"balls": 1}, "LAD 0 | MIL 1", 0.9)
    result = GraphicsResult(
        states=[state],
        events=[ScoringEvent(500, 1, 1, (0, 1))],
        names=[NameSighting("LAD", "side", "team", 0, 500, 0.9)],
        bug_box=(1, 2, 3, 4),
        samples=2,
        seconds=0.5,
        bug_spans=[(0, 750)],
    )
    import json

    assert GraphicsResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    written_before_spans = {k: v for k, v in result.to_dict().items() if k != "bug_spans"}
    assert GraphicsResult.from_dict(written_before_spans).bug_spans is None  # unknown, not "never shown"


def test_sample_spans_join_samples_a_period_apart_and_split_at_gaps() -> None:
    assert sample_spans([], 500.0) == []
    assert sample_spans([0, 500, 1000], 500.0) == [(0, 1250)]
    assert sample_spans([1000, 1500, 4000, 4500, 5250], 500.0) == [(750, 1750), (3750, 5500)]  # 750 ms: one miss


def test_split_line_separates_pieces_at_blank_gaps() -> None:
    grey = np.full((20, 100), 200, dtype=np.uint8)
    grey[4:16, 5:35] = 20  # "LAD"
    grey[4:16, 50:58] = 20  # "0", 15 px later
    grey[4:16, 60:70] = 20  # 2 px later: same piece
    assert split_line(grey) == [(5, 35), (50, 70)]


def test_edges_searched_in_vain_are_skipped_by_their_pixels_and_new_edges_beside_them_are_not() -> None:
    board = np.zeros((360, 640), np.uint8)  # a stable_mask at half resolution: a board's edges
    board[100:110, 100:300] = 1
    params = GraphicsParams()
    regions = candidate_regions(board, None, params)
    assert regions == [(192, 192, 416, 36)]  # frame pixels, padded by 8
    searched = _SearchedInVain(4)
    searched.add(board, regions)
    assert candidate_regions(board, searched.mask(board.shape), params) == []
    assert candidate_regions(np.roll(board, 1, axis=1), searched.mask(board.shape), params) == []  # a pixel's jitter
    with_bug = board.copy()
    with_bug[112:124, 150:200] = 1  # a bug appears just under the board
    (x, y, w, h), *_ = candidate_regions(with_bug, searched.mask(board.shape), params)
    assert x <= 300 and y <= 224 and x + w >= 400 and y + h >= 248  # the new edges, and only those, are searched
    assert y >= 200
    searched.add(with_bug, [])  # a search with no region remembers nothing
    assert candidate_regions(with_bug, searched.mask(board.shape), params) != []
