"""The event-type index holds ``type`` and ``person_id`` too, so search's event queries read it alone (issue #15):
PostgreSQL cannot answer from an index on ``UPPER(type)`` without the column itself, and an event query with a
player tests ``person_id``. Built without locking writes, then the old index dropped."""

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("highlights", "0020_search_words"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                django.db.models.functions.text.Upper("type"),
                models.F("clip"),
                models.F("game"),
                include=["type", "person"],
                name="event_type_clip_game_person",
            ),
        ),
        RemoveIndexConcurrently(model_name="event", name="event_type_clip_game"),
    ]
