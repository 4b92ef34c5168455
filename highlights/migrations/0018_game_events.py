"""What each game's events let search know (issue #15): ``GameEvents``, one row per game with events, kept by
statement-level triggers on the event table and backfilled here.

Search's event queries take an action's look-alike clips only in the games that cannot know the events of the
query's type (no play-by-play import or edit, no event of that type read); they read that from this table (a row
per game) instead of the event table's tens of thousands of rows per request. The triggers refresh the rows of the
games a statement's inserted, updated or deleted events belong to (before and after an update: an event moved to
another game refreshes both), whatever wrote them (ORM, ``bulk_create``, ``COPY``, raw SQL); a game left without
events loses its row. Writers of one game's events take turns (a transaction-level advisory lock,
``LockKey.GAME_EVENTS`` and the game's id), so two transactions adding events to one game at once both count.
``TRUNCATE`` fires no trigger: truncate the game table with the events (``CASCADE``).
The index of events by source that the event-table scan read (``event_source_game``, 0017) goes.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

REFRESH = """
CREATE FUNCTION highlights_refresh_game_events(games bigint[]) RETURNS void LANGUAGE sql AS $$
    -- one writer per game at a time, until its transaction ends: the statements below take their snapshot after
    -- the lock, so they see the events a concurrent writer of the same game committed (no lost update)
    SELECT pg_advisory_xact_lock(1212958533, (g % 2147483647)::int)  -- highlights.locks.LockKey.GAME_EVENTS
    FROM (SELECT DISTINCT unnest(games) AS g ORDER BY 1) locked;
    DELETE FROM highlights_gameevents s
    WHERE s.game_id = ANY(games) AND NOT EXISTS (SELECT FROM highlights_event e WHERE e.game_id = s.game_id);
    INSERT INTO highlights_gameevents (game_id, complete, types)
    SELECT e.game_id, bool_or(e.source IN ('play_by_play', 'editor')),
        array_agg(DISTINCT UPPER(e.type) ORDER BY UPPER(e.type))
    FROM highlights_event e WHERE e.game_id = ANY(games) GROUP BY e.game_id
    ON CONFLICT (game_id) DO UPDATE SET complete = EXCLUDED.complete, types = EXCLUDED.types;
$$;

CREATE FUNCTION highlights_event_refresh_games() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM highlights_refresh_game_events(ARRAY(SELECT DISTINCT game_id FROM new_events));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM highlights_refresh_game_events(ARRAY(SELECT DISTINCT game_id FROM old_events));
    ELSE
        PERFORM highlights_refresh_game_events(
            ARRAY(SELECT n.game_id FROM new_events n UNION SELECT o.game_id FROM old_events o)
        );
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER highlights_event_inserted AFTER INSERT ON highlights_event
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION highlights_event_refresh_games();
CREATE TRIGGER highlights_event_updated AFTER UPDATE ON highlights_event
    REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION highlights_event_refresh_games();
CREATE TRIGGER highlights_event_deleted AFTER DELETE ON highlights_event
    REFERENCING OLD TABLE AS old_events FOR EACH STATEMENT EXECUTE FUNCTION highlights_event_refresh_games();

SELECT highlights_refresh_game_events(ARRAY(SELECT DISTINCT game_id FROM highlights_event));
"""

UNDO = """
DROP TRIGGER highlights_event_inserted ON highlights_event;
DROP TRIGGER highlights_event_updated ON highlights_event;
DROP TRIGGER highlights_event_deleted ON highlights_event;
DROP FUNCTION highlights_event_refresh_games();
DROP FUNCTION highlights_refresh_game_events(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("highlights", "0017_search_cost"),
    ]

    operations = [
        migrations.CreateModel(
            name="GameEvents",
            fields=[
                (
                    "game",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="event_summary",
                        serialize=False,
                        to="highlights.game",
                    ),
                ),
                ("complete", models.BooleanField()),
                ("types", django.contrib.postgres.fields.ArrayField(base_field=models.TextField(), size=None)),
            ],
        ),
        migrations.RunSQL(REFRESH, UNDO),
        # read by search's games-knowing scan only, which this table replaces
        migrations.RemoveIndex(model_name="event", name="event_source_game"),
    ]
