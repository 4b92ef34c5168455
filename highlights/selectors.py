"""Read side: querysets used by the command line, views and the API."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import BooleanField, F, Func, JSONField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject, Lower, Upper

from highlights.models import (
    Appearance,
    Clip,
    Event,
    FaceTrack,
    Game,
    GameEvents,
    GameState,
    LearnedAction,
    Person,
    ReviewStatus,
    Sport,
    search_words,
)
from indexer.runtime import model_weights
from search.clips import clip_index
from search.query import SCORING, Order, ParsedQuery, parse_query, singular


@dataclass(frozen=True)
class ClipHit:
    """One search result; times in seconds.

    ``matched`` says what an event query matched on: ``"event home_run (play-by-play)"`` (an event of that
    type links to the clip), or ``"action hit"`` (the look-alike action class, in a game whose events the
    index cannot know); empty for other queries. ``play_id`` is the play of the matched event.
    """

    clip_id: int
    game_id: int
    start_s: float
    end_s: float
    model_class: str
    score: float
    matched: str = ""
    play_id: int | None = None

    @classmethod
    def of(cls, clip: Clip, score: float, query: ParsedQuery | None = None) -> ClipHit:
        """A hit for ``clip``; with the ``query`` of :func:`clip_queryset`, what it matched on and its play."""
        return cls(
            clip.pk,
            clip.game_id,
            clip.start_s,
            clip.end_s,
            clip.model_class,
            round(score, 6),
            match_reason(clip, query) if query else "",
            matched_play(clip),
        )


def match_reason(clip: Clip, query: ParsedQuery) -> str:
    """What a clip of :func:`clip_queryset` matched an event query on (empty for a query without an event)."""
    if not query.event:
        return ""
    matched = getattr(clip, "matched_event", None)
    if matched:
        return f"event {query.event} ({Event.Source(matched['source']).label.lower()})"
    return f"action {query.action}"


def matched_play(clip: Clip) -> int | None:
    """The play of the event a clip of :func:`clip_queryset` matched an event query on (``None``: no such event,
    or one outside any play)."""
    matched = getattr(clip, "matched_event", None)
    return matched["play"] if matched else None


def _people(**person_filters: object) -> list[int]:
    """The ids of the people matching ``person_filters`` (``name__icontains``, ``number``).

    The people are resolved first (a small table), so the clip and event tables meet a list of ids the planner
    can estimate rather than a correlated test per row.
    """
    return list(Person.objects.filter(**person_filters).values_list("pk", flat=True))


_INLINE_IDS = 20_000
"""A clip-id set of at most this many ids is bound as an array; a larger one stays a subquery."""


def _person_clips(person_ids: list[int]) -> Q:
    """Clips any of the people is in: a face track of theirs, their name on the score bug, or an event of theirs;
    read first (:func:`_clip_set`)."""
    return _clip_set(_person_links(person_ids))


def _person_links(person_ids: list[int]) -> QuerySet[FaceTrack]:
    """The clip ids of :func:`_person_clips` (with repeats), as one ``UNION ALL`` of the three links."""
    people = _in_array("person_id", person_ids)
    return (
        FaceTrack.objects.filter(people)
        .order_by()
        .values_list("clip_id", flat=True)
        .union(
            Appearance.objects.filter(people, clip__isnull=False).order_by().values_list("clip_id", flat=True),
            Event.objects.filter(people, clip__isnull=False).order_by().values_list("clip_id", flat=True),
            all=True,
        )
    )


def _clip_set(ids: QuerySet[Any]) -> Q:
    """Clips whose id ``ids`` (a flat ``values_list`` of clip ids, repeats allowed) yields.

    The ids are read first (one index-only query, at most :data:`_INLINE_IDS` + 1 of them): a small set is
    bound as an array, whose size PostgreSQL knows, so it fetches those few clips by primary key and ranks
    them; a large one stays ``id IN (subquery)``, checked while walking down the ranking index, which finds
    a page of a dense set early. Either plan is wrong for the other kind of set, and PostgreSQL cannot tell
    them apart in advance (it sizes an ``IN (... UNION ALL ...)`` at 200 rows whatever its real size).

    PostgreSQL counts the ids and writes them as one array literal (``array_agg(...)::text``), which goes back
    as the parameter as it came: thousands of ids (a common surname's clips) never become Python integers,
    where reading them one by one cost more than both queries that use them. Repeats stay (``= ANY`` means
    the same with them, and an index scan sorts its array anyway): dropping them sorted every id, 3-4 ms of
    the 11 000 of "ortiz".
    """
    try:
        sql, params = ids.query.get_compiler(using=ids.db).as_sql()
    except EmptyResultSet:  # Django knows the set is empty without asking (no person matched: ``person__in=[]``)
        return Q(pk__in=[])
    with connections[ids.db].cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(array_agg(u.id), '{{}}')::text FROM (SELECT * FROM ({sql}) v LIMIT %s) u(id)",
            (*params, _INLINE_IDS + 1),
        )
        found, array = cursor.fetchone()
    if found <= _INLINE_IDS:
        return Q(_AnyOf("id", array))
    return Q(pk__in=ids)


def _event_clips(
    events: QuerySet[Event], players: list[list[int]], lookalikes: QuerySet[Clip] | None
) -> tuple[QuerySet[Any], QuerySet[Event]]:
    """The clip ids an event query matches (repeats allowed), from its ``events`` (of its type and games), its
    ``players`` (each the ids of the people one of them names) and its ``lookalikes`` (:func:`_lookalike_clips`
    meeting its words); and the events as seen from a clip of its results (for what a result matched on).

    An event naming a player is theirs; an event naming nobody (a score change), and a look-alike, count when
    every player of the query is in its clip: both are tested together, one ``INTERSECT`` with each player's
    links (:func:`_person_links`), so the 11 000 clips of "ortiz" are read once, not once per part (or bound
    as an array in every statement). Every clip of the results is linked to the query's players, so
    the second queryset drops that test, keeping only "theirs or nobody's".
    """
    of_result = events
    for people in players:
        of_result = of_result.filter(_in_array("person_id", people) | Q(person__isnull=True))
    if not players:
        matched = events.order_by().values_list("clip_id", flat=True)
        return (matched if lookalikes is None else matched.union(lookalikes, all=True)), of_result
    named = events.filter(_in_array("person_id", sorted(set.intersection(*map(set, players)))))
    candidates = events.filter(person__isnull=True).order_by().values_list("clip_id", flat=True)
    if lookalikes is not None:
        candidates = candidates.union(lookalikes, all=True)
    theirs = candidates.intersection(*(_person_links(people) for people in players))
    return named.order_by().values_list("clip_id", flat=True).union(theirs, all=True), of_result


def _games_unknowing(event_type: str, games: Q) -> RawSQL:
    """``ARRAY(SELECT id ...)`` of the games whose events of ``event_type`` the index cannot know: no imported
    play-by-play or edited events, no event of that type read (:class:`highlights.models.GameEvents`, a row per game
    with events, kept by triggers), among the games ``games`` (:func:`_game_filters` of ``Game`` rows) selects.

    One statement's subquery over the game table and its summary rows (thousands), where the games knowing the
    events were read from the event table (34 000 play-by-play entries per request at 1 M clips). As an array
    (an ``InitPlan``, evaluated once) it is a condition the ``(action, game)`` index takes: PostgreSQL visits
    those games' entries of the action only, not the action's every clip (54 000 dunks) to test its game.

    Compiled once (``RawSQL``), for each look-alike part to bind as it is: Django resolved and compiled the
    subquery once per part, a third of an event query's Python.
    """
    known = GameEvents.objects.filter(Q(complete=True) | Q(types__contains=[Upper(Value(event_type))]))
    unknowing = Game.objects.filter(games).exclude(pk__in=known.values("game_id")).order_by().values("pk")
    sql, params = unknowing.query.sql_with_params()
    return RawSQL(f"ARRAY({sql})", params)


def _game_filters(query: ParsedQuery, game: str = "game__") -> Q:
    """The query's conditions on the game of a clip or an event (both have a ``game``): sport, team, game, dates.

    ``game`` is the lookup path to the game (``""``: conditions on ``Game`` rows themselves).
    """
    games = Q()
    if query.sport:
        games &= Q(**{f"{game}sport": query.sport})
    if query.team:
        games &= Q(**{f"{game}home_team__icontains": query.team}) | Q(**{f"{game}away_team__icontains": query.team})
    if query.game_id is not None:
        games &= Q(**{f"{game}id": query.game_id})
    if query.date_from:
        games &= Q(**{f"{game}date__gte": query.date_from})
    if query.date_to:
        games &= Q(**{f"{game}date__lte": query.date_to})
    return games


def _action_parts(action_name: str, vocabulary: _Vocabulary) -> list[Q]:
    """The conditions one of which a clip of an action meets: its taxonomy action, a model class containing the
    name, or (when an active classifier has such a class) a learned action containing it."""
    action = action_name.lower()
    learned = [name for name in vocabulary.learned if action in name.lower()]
    parts = [
        Q(action__in=[pk for pk, name in vocabulary.actions if name.lower() == action]),
        Q(model_class__in=[name for name in vocabulary.classes if action in name.lower()]),
    ]
    return [*parts, Q(pk__in=_learned_action_clips(learned))] if learned else parts


def _action_q(action_name: str, vocabulary: _Vocabulary) -> Q:
    """Clips of an action of the taxonomy, a model class containing it, or a learned action containing it."""
    return Q(*_action_parts(action_name, vocabulary), _connector=Q.OR)


def _lookalike_clips(
    action_name: str, event_type: str, clip_filters: Q, games: Q, vocabulary: _Vocabulary
) -> QuerySet[Clip]:
    """Ids of the clips of the look-alike action of an event query, in games whose events of ``event_type`` the
    index cannot know (:func:`_games_unknowing`, among the games ``games``, :func:`_game_filters` of ``Game`` rows,
    selects) of the sports whose taxonomy has that action (a dunk is looked for in basketball games, not in a
    tennis clip the model took for "dunking basketball"; any sport when the taxonomy lacks the action), meeting
    the query's conditions on clips ``clip_filters`` (its free words); its players are the caller's
    (:func:`_event_clips`).

    One ``UNION ALL`` part per condition of :func:`_action_parts`, each an index-only scan of its ``(action, game)``
    or ``(model_class, game)`` index within those games; ``clip_filters`` is a filter on the few rows found, not
    the scan. The free words stay in ``clip_filters`` (not only on the ranked query), so the set stays within
    their clips however many games cannot know the events.
    """
    if sports := vocabulary.sports_of(action_name):
        games &= Q(sport__in=sorted(sports))
    unknown = Q(_AnyOf("game_id", _games_unknowing(event_type, games)))
    first, *rest = (
        Clip.objects.filter(part, unknown, clip_filters).order_by().values_list("pk", flat=True)
        for part in _action_parts(action_name, vocabulary)
    )
    return first.union(*rest, all=True)


def _word_conditions(
    words: Sequence[str], vocabulary: _Vocabulary, games: Q, *, people_are_players: bool
) -> tuple[list[Q], Q, list[list[int]]]:
    """One condition per free-text word: clips whose model class, learned action, action, sport, title, teams or
    players have a word starting with it (or its singular: "dunk" names "dunking basketball", "sox" the Boston
    Red Sox, "red" not "shredding paper"); the words naming only games (a team, a title) come back apart,
    as one condition on ``game_id`` (the games every one of them names), which an event's row meets as its
    clip does.

    Only games that the query's conditions on games ``games`` (:func:`_game_filters` of ``Game`` rows) select
    are read: "lakers 2025" tests the 11 Lakers games of 2025, not their 78 games of every year (15 000 clips).
    An event query puts the game-only condition on its events: "Real Madrid goals" reads the goals of Real
    Madrid's 90 games, not the archive's ten thousand, and its clips need no game test of their own (an
    event's clip is in the event's game), so PostgreSQL fetches the few matched clips by primary key.

    With ``people_are_players`` (an event query) a word naming people only is one of the query's players, like
    ``player:`` ("Ortiz home runs": the home runs of an Ortiz, not any home run with an Ortiz on screen): the
    third value holds the ids of each such word's people, and the word has no condition of its own.

    Teams are the game's home and away teams, the teams read on its score bug, and the full names of
    the teams whose code the word is (``LAD`` → Los Angeles Dodgers). Players are linked by face or by
    the graphics.

    Every word is resolved at once against the class vocabularies and the small tables (actions,
    teams, games, players) in two statements whatever the number of words (:func:`_names`, the games and
    people through the GIN indexes of their words' prefixes; :class:`_Vocabulary`), so the clip
    table is filtered on indexed columns only (``model_class IN``, ``action_id IN``, ``game_id IN``,
    ``id IN``) rather than by a substring test on every clip row; a word that matches nothing yields
    an empty condition at no cost. The clips of the players a word names are a set of ids
    (:func:`_clip_set`).
    """
    if not words:
        return [], Q(), []
    forms = {word: {word, singular(word)} for word in words}
    every_form = set().union(*forms.values())
    teams, named_games, players = _names(every_form, games)
    # each game's names as one lower-case text (a form never spans two of them: no form holds a newline)
    game_texts = [
        (pk, sport, home, away, "\n".join([home, away, title, *(read_teams or [])]).lower())
        for pk, sport, home, away, title, read_teams in named_games
    ]
    conditions: list[Q] = []
    games_only: set[int] | None = None
    players_named: list[list[int]] = []
    for word in words:
        word_forms = forms[word]
        # one compiled search per word (the class vocabulary alone is hundreds of names): a form at a word's start
        contains = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(form) for form in sorted(word_forms)) + ")").search
        word_codes = {form.upper() for form in word_forms}
        named_teams = {name for code, aliases, name in teams if code in word_codes or word_codes & set(aliases)}
        classes = [name for name, lowered in vocabulary.lowered_classes if contains(lowered)]
        learned = [name for name in vocabulary.learned if contains(name.lower())]
        game_ids = [
            pk
            for pk, sport, home, away, text in game_texts
            if sport in word_forms or contains(text) or home in named_teams or away in named_teams
        ]
        person_ids = [pk for pk, name in players if contains(name.lower())]
        action_ids = [pk for pk, name in vocabulary.actions if contains(name.lower())]
        if game_ids and not (classes or action_ids or learned or person_ids):
            games_only = set(game_ids) if games_only is None else games_only & set(game_ids)
            continue
        if people_are_players and person_ids and not (classes or action_ids or learned or game_ids):
            players_named.append(person_ids)
            continue
        q = Q(pk__in=[])
        if classes:
            q |= Q(model_class__in=classes)
        if action_ids:
            q |= Q(action__in=action_ids)
        if game_ids:
            q |= _in_array("game_id", game_ids)
        if learned:
            q |= Q(pk__in=_learned_action_clips(learned))
        if person_ids:
            q |= _person_clips(person_ids)
        conditions.append(q)
    return conditions, Q() if games_only is None else _in_array("game_id", sorted(games_only)), players_named


_NAMES = """
WITH team AS (SELECT code, aliases, name FROM highlights_team WHERE code = ANY(%s) OR aliases ?| %s)
SELECT
    (SELECT coalesce(json_agg(json_build_array(code, aliases, name)), '[]') FROM team),
    (SELECT coalesce(json_agg(json_build_array(id, sport, home_team, away_team, title, graphics -> 'teams')), '[]')
       FROM highlights_game
      WHERE (id IN (SELECT id FROM highlights_game WHERE {game_words}) OR sport = ANY(%s)
             OR home_team IN (SELECT name FROM team) OR away_team IN (SELECT name FROM team)) AND {games}),
    (SELECT coalesce(json_agg(json_build_array(id, name)), '[]') FROM highlights_person WHERE {person_words})
"""


def _names(forms: set[str], games: Q) -> list[list[list[Any]]]:
    """What the lower-case ``forms`` name, read in one statement: ``[teams, games, people]``.

    - teams whose code or an alias is a form in upper case, as ``[code, aliases, name]``;
    - games that ``games`` (:func:`_game_filters` of ``Game`` rows) selects, of a sport a form names, or of one of
      those teams, or whose search text may have a word starting with a form (:func:`_words_starting`, the
      words' games read first through their GIN index, so any other test is a cheap one on each game), as
      ``[pk, sport, home_team, away_team, title, teams read on the score bug]``;
    - people whose lower-case name may have a word starting with a form, as ``[pk, name]``.

    Raw SQL, not three querysets: the ORM built and compiled those look-ups (a subquery within a subquery) in
    3-4 ms of Python a query, ten times PostgreSQL's time for them.
    """
    codes = sorted(form.upper() for form in forms)
    game_words, game_params = _words_starting(Game, forms)
    person_words, person_params = _words_starting(Person, forms)
    where, where_params = "TRUE", []
    if games:
        query = Game.objects.filter(games).query
        where, where_params = query.get_compiler(using=DEFAULT_DB_ALIAS).compile(query.where)
    sql = _NAMES.format(game_words=game_words, games=where, person_words=person_words)
    params = [codes, codes, *game_params, sorted(forms & set(Sport.values)), *where_params, *person_params]
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchone())


class _AnyOf(Func):
    """``column = ANY(%s::bigint[])``: a boolean condition binding integer ids as one array literal (``"{1,2}"``),
    or ``column = ANY(ARRAY(SELECT ...))`` for a ``RawSQL`` array of ids."""

    output_field = BooleanField()

    def __init__(self, column: str, array: str | RawSQL) -> None:
        if isinstance(array, str):
            super().__init__(F(column))
            self.array: str | None = array
        else:
            super().__init__(F(column), array)
            self.array = None

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.get_source_expressions()[0])
        if self.array is not None:
            return f"{column} = ANY(%s::bigint[])", (*params, self.array)
        array, array_params = compiler.compile(self.get_source_expressions()[1])
        return f"{column} = ANY({array})", (*params, *array_params)


def _in_array(column: str, ids: list[int]) -> Q:
    """Rows whose integer ``column`` is one of ``ids``: ``column = ANY(%s::bigint[])``, the ids one parameter.

    Same rows as ``column__in=ids``, but Django prepares an ``IN`` list (or an ``ArrayField`` value) value
    by value: for the thousands of ids of a large archive that costs more than PostgreSQL's whole query.
    """
    return Q(_AnyOf(column, "{" + ",".join(str(int(i)) for i in ids) + "}"))


_WORD = re.compile(r"[a-z0-9]+")


def _words_starting(model: type[Game | Person], forms: set[str]) -> tuple[str, list[Any]]:
    """SQL of a condition on ``model``'s rows whose lower-case text (a game's search text, a person's name) may
    have a word starting with one of the lower-case ``forms``, and its parameters: a superset of those rows, for
    :func:`_word_conditions` to test in Python.

    Forms of ``[a-z0-9]`` only are looked up as word prefixes in the GIN index on
    :func:`highlights.models.search_words` of that text (``'sox':* | 'soxs':*``: a few index pages where a
    ``LIKE '%sox%'`` read every row of the table, 3-7 ms for a word at 5 000 games); any other form (an
    accented letter, a hyphen) is looked for anywhere in the text (``LIKE``).
    """
    (text, text_params), (vector, vector_params) = _word_text(model)
    indexed = sorted(form for form in forms if _WORD.fullmatch(form))
    words, params = [], []
    for form in sorted(forms - set(indexed)):
        words.append(f"{text} LIKE %s")
        params += [*text_params, f"%{connection.ops.prep_for_like_query(form)}%"]
    if indexed:
        words.append(f"{vector} @@ to_tsquery('simple', %s)")
        params += [*vector_params, " | ".join(f"{form}:*" for form in indexed)]
    return "(" + " OR ".join(words) + ")", params


@cache
def _word_text(model: type[Game | Person]) -> tuple[tuple[str, tuple[Any, ...]], tuple[str, tuple[Any, ...]]]:
    """The lower-case text ``model``'s word index is built on, and :func:`highlights.models.search_words` of it,
    each compiled as ``(sql, params)``, once."""
    text = F("search_text") if model is Game else Lower("name")
    query = model.objects.all().query
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    (sql, params), (vector, vector_params) = (
        compiler.compile(expression.resolve_expression(query)) for expression in (text, search_words(text))
    )
    return (sql, tuple(params)), (vector, tuple(vector_params))


def _learned_action_clips(actions: list[str]) -> QuerySet[LearnedAction]:
    """Clip ids that an active classifier gives one of ``actions`` at ``HL_LEARNED_MIN_PROBABILITY``."""
    return LearnedAction.objects.filter(
        action__in=actions, model__is_active=True, probability__gte=settings.HL_LEARNED_MIN_PROBABILITY
    ).values("clip_id")


class _Vocabulary:
    """The names a query's words and action are resolved against, read at most once per query (lazily), in one
    statement for both tables.

    ``actions``: the taxonomy's ``(pk, name)``; ``sports_of``: the sports of an action name; ``classes``: every
    model class a clip can carry (the action model's classes and the taxonomy's); ``learned``: the output classes
    of the active learned action classifiers.
    """

    @cached_property
    def _tables(self) -> tuple[list[list[Any]], list[list[str]]]:
        """The taxonomy's ``[pk, name, sport, model_classes]`` and each active classifier's classes."""
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT coalesce(json_agg(json_build_array(id, name, sport, model_classes)), '[]')"
                " FROM highlights_action),"
                " (SELECT coalesce(json_agg(classes), '[]') FROM highlights_actionclassifier WHERE is_active)"
            )
            return cursor.fetchone()

    @property
    def _taxonomy(self) -> list[list[Any]]:
        return self._tables[0]

    @cached_property
    def actions(self) -> list[tuple[int, str]]:
        return [(pk, name) for pk, name, _, _ in self._taxonomy]

    def sports_of(self, action: str) -> set[str]:
        """The sports whose taxonomy has an action named ``action`` (any case); empty for a name it lacks."""
        return {sport for _, name, sport, _ in self._taxonomy if name.lower() == action.lower()}

    @cached_property
    def classes(self) -> set[str]:
        return set(model_weights().categories).union(*(classes for _, _, _, classes in self._taxonomy))

    @cached_property
    def lowered_classes(self) -> list[tuple[str, str]]:
        """``classes`` with each name's lower case: ``(name, lowered)``."""
        return [(name, name.lower()) for name in self.classes]

    @cached_property
    def learned(self) -> set[str]:
        return {name for classes in self._tables[1] for name in classes}


def visible_clips(*, include_rejected: bool = False) -> QuerySet[Clip]:
    """Clips with game and action joined, without those editors rejected unless ``include_rejected`` (editors)."""
    clips: QuerySet[Clip] = Clip.objects.select_related("game", "action")
    return clips if include_rejected else clips.exclude(review_status=ReviewStatus.REJECTED)


def clip_queryset(query: ParsedQuery, *, include_rejected: bool = False) -> QuerySet[Clip]:
    """Clips matching a parsed query (every filter and every free-text word), ranked by ``query.order``.

    Args:
        query: from ``search.query.parse_query`` (form fields merged in by the caller).
        include_rejected: also return clips editors rejected (editors' views).

    Returns:
        An unsliced queryset with game and action joined; ``query.limit`` is the caller's to apply.
    """
    clips = visible_clips(include_rejected=include_rejected)
    vocabulary = _Vocabulary()
    games, game_rows = _game_filters(query), _game_filters(query, game="")
    word_conditions, in_word_games, players_named = _word_conditions(
        query.words, vocabulary, game_rows, people_are_players=bool(query.event)
    )
    words = Q(*word_conditions)
    clips = clips.filter(words, games)
    people = [_people(name__icontains=query.player)] if query.player else []  # each the people one player names
    if query.jersey is not None:
        people.append(_people(number=query.jersey))
    people += players_named
    if query.event:
        events = Event.objects.filter(clip__isnull=False)
        events = events.filter(points__gt=0) if query.event == SCORING else events.filter(type__iexact=query.event)
        lookalikes = None
        if query.action:  # the look-alike action, only where the game's events of that type cannot be known
            lookalikes = _lookalike_clips(query.action, query.event, words & in_word_games, game_rows, vocabulary)
        # the events of the query's games only: "scoring plays 2024" starts from that year's few games
        matched, of_result = _event_clips(events.filter(games, in_word_games), people, lookalikes)
        # the clip's first matched event, source and play in one subquery (a page's rows, and the rows its offset
        # skips, each run it)
        first = of_result.filter(clip=OuterRef("pk")).order_by("source", "pk")
        event = first.values(json=JSONObject(source="source", play="play_id"))[:1]
        clips = clips.filter(_clip_set(matched)).annotate(matched_event=Subquery(event, output_field=JSONField()))
    else:
        clips = clips.filter(*(_person_clips(ids) for ids in people), in_word_games)
        if query.action:
            clips = clips.filter(_action_q(query.action, vocabulary))
    if query.min_score is not None:
        clips = clips.filter(highlight_score__gte=query.min_score)
    if query.order == Order.RECENT:
        return clips.order_by(F("game__date").desc(nulls_last=True), "-game__created_at", "-start_ms", "pk")
    return clips.order_by("-highlight_score", "pk")


def parse_search(text: str) -> ParsedQuery:
    """``search.query.parse_query`` within the abuse limits ``HL_QUERY_MAX_CHARS`` and ``HL_QUERY_MAX_TOKENS``.

    Raises:
        search.query.QueryError: a structured token has an unusable value, or the text is too long.
    """
    return parse_query(text, max_chars=settings.HL_QUERY_MAX_CHARS, max_tokens=settings.HL_QUERY_MAX_TOKENS)


def attach_graphics(clips: Iterable[Clip]) -> list[Clip]:
    """Clips with what the score bug showed when each began, and the players the graphics linked to it.

    Sets ``clip.game_state``: a dict of the GameState in effect at the clip's start (``side_a``,
    ``score_a``, ``score_b``, ``side_b``, ``period``, ``half``, ``clock_s``) or ``None``; and
    ``clip.graphics_players``: the distinct named players of its graphics appearances. Two queries
    for any number of clips (one correlated subquery per clip on the (game, time) index).
    """
    clips = list(clips)
    ids = [c.pk for c in clips]
    state = (
        GameState.objects.filter(game=OuterRef("game_id"), time_ms__lte=OuterRef("start_ms"))
        .order_by("-time_ms")
        .values(
            json=JSONObject(
                side_a="side_a",
                score_a="score_a",
                score_b="score_b",
                side_b="side_b",
                period="period",
                half="half",
                clock_s="clock_s",
            )
        )[:1]
    )
    states = dict(
        Clip.objects.filter(pk__in=ids)
        .annotate(game_state=Subquery(state, output_field=JSONField()))
        .values_list("pk", "game_state")
    )
    players: dict[int, list[Person]] = {}
    for appearance in (
        Appearance.objects.filter(clip__in=ids, source=Appearance.Source.GRAPHICS)
        .exclude(person__name="")
        .select_related("person")
        .order_by("clip_id", "person_id", "start_ms")
        .distinct("clip_id", "person_id")
    ):
        players.setdefault(appearance.clip_id, []).append(appearance.person)
    for clip in clips:
        clip.game_state = states.get(clip.pk)  # type: ignore[attr-defined]
        clip.graphics_players = players.get(clip.pk, [])  # type: ignore[attr-defined]
    return clips


def search_clips(text: str, *, limit: int = 50) -> list[ClipHit]:
    """Clips matching a natural query (grammar: ``search.query``), best highlight first unless it says "last N".

    Scores are the clips' highlight scores (0..1).

    Raises:
        search.query.QueryError: a structured token has an unusable value, or the text is too long.
    """
    query = parse_search(text)
    clips = clip_queryset(query)[: min(limit, query.limit or limit)]
    return [ClipHit.of(c, c.highlight_score, query) for c in clips]


SIMILAR_OVERFETCH = 10  # a filtered similar search first asks FAISS for this many times k unfiltered neighbours
HIDDEN_MARGIN = 2
"""An unfiltered similar search asks FAISS for this many times ``k`` neighbours: with 5 % of clips rejected,
12 neighbours hold a hidden one 46 % of the time (a second FAISS search and fetch), 24 hold fewer than 12
visible ones almost never; an inverted-file search costs the same for either ``k``."""
NARROW_FILTER = 1000  # a filter of at most this many clips is searched exactly, from the embeddings in PostgreSQL


def _nearest_of(
    vector: np.ndarray, rows: list[tuple[int, bytes]], k: int, visible: QuerySet[Clip]
) -> list[tuple[Clip, float]]:
    """The ``k`` rows ``(pk, embedding bytes)`` nearest to ``vector`` by cosine similarity, as (clip, score), best
    first."""
    if not rows:
        return []
    matrix = Clip.embedding_matrix([e for _, e in rows])
    scores = matrix @ vector / np.maximum(np.linalg.norm(matrix, axis=1) * np.linalg.norm(vector), 1e-12)
    best = np.argsort(-scores)[:k]
    found = visible.defer("embedding").in_bulk([rows[i][0] for i in best])
    return [(found[rows[i][0]], float(scores[i])) for i in best if rows[i][0] in found]


def similar_clips(
    clip: Clip, *, k: int = 10, include_rejected: bool = False, within: QuerySet[Clip] | None = None
) -> list[ClipHit]:
    """The hits of :func:`nearest_clips` (same arguments): scores are cosine similarities, best first."""
    nearest = nearest_clips(clip, k=k, include_rejected=include_rejected, within=within)
    return [ClipHit.of(near, score) for near, score in nearest]


def nearest_clips(
    clip: Clip, *, k: int = 10, include_rejected: bool = False, within: QuerySet[Clip] | None = None
) -> list[tuple[Clip, float]]:
    """The ``k`` clips nearest to ``clip`` by embedding that are still stored and visible, with their cosine
    similarity, best first; the clips have game and action joined and their embeddings deferred (views show them).

    Scores are cosine similarities. Rejected clips come back only with ``include_rejected`` (editors).
    The first search asks for ``HIDDEN_MARGIN · k`` neighbours; when fewer than ``k`` of them are
    visible, the hidden or deleted ones are excluded inside FAISS and the search repeated, so ``k``
    clips come back whenever ``k`` eligible ones exist.

    A filter (``within``: e.g. ``clip_queryset`` of a sport, team, player or dates) first over-fetches
    ``SIMILAR_OVERFETCH · k`` unfiltered neighbours and keeps those in the filter: when ``k`` pass,
    they are exactly the ``k`` nearest in the filter (every nearer match ranks before them). When
    fewer pass (a narrow filter, or one far from the clip): a filter of at most ``NARROW_FILTER``
    clips is searched exactly (cosine over their embeddings from PostgreSQL), a larger one restricts
    the search inside FAISS to its ids (an ``IDSelector``), which keeps the index's recall.

    Args:
        clip: the query clip (its own id is never returned).
        k: how many clips to return.
        include_rejected: also return clips editors rejected.
        within: only clips of this queryset may be returned (``None``: any clip).
    """
    index = clip_index(model_weights())
    vector = clip.embedding_vector()
    visible = visible_clips(include_rejected=include_rejected)
    if within is not None:
        visible = visible.filter(pk__in=within.values("pk"))
    hidden, allowed = {clip.pk}, None
    fetch = k * (HIDDEN_MARGIN if within is None else SIMILAR_OVERFETCH)
    while True:
        hits = index.search(vector, fetch, exclude=hidden, allowed=allowed)
        found = visible.defer("embedding").in_bulk([pk for pk, _ in hits])  # 4 KB a clip, not shown
        kept = [(pk, score) for pk, score in hits if pk in found]
        if len(kept) >= k or len(hits) < fetch:
            return [(found[pk], score) for pk, score in kept[:k]]
        if within is not None and allowed is None:
            rows = list(visible.exclude(pk__in=hidden).values_list("pk", "embedding")[: NARROW_FILTER + 1])
            if len(rows) <= NARROW_FILTER:  # one player's clips: exact cosine over them
                return _nearest_of(vector, rows, k, visible)
            allowed, fetch = set(visible.values_list("pk", flat=True)), k
        else:
            hidden |= {pk for pk, _ in hits} - found.keys()
