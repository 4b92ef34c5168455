"""Search at a million clips, the request's cost (issue #15): the games' search text, an index of events by source.

The index is built without locking writes (``CREATE INDEX CONCURRENTLY``); the generated column
rewrites the game table (one row per video file: thousands, not millions).
"""

import django.db.models.fields.json
import django.db.models.functions.comparison
import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("highlights", "0016_person"),
    ]

    operations = [
        migrations.AddField(
            model_name="game",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        "title",
                        models.Value("\n"),
                        "home_team",
                        models.Value("\n"),
                        "away_team",
                        models.Value("\n"),
                        django.db.models.functions.comparison.Coalesce(
                            django.db.models.fields.json.KeyTextTransform("teams", "graphics"),
                            models.Value(""),
                            output_field=models.TextField(),
                        ),
                        output_field=models.TextField(),
                    )
                ),
                help_text="title, teams and the teams read on the score bug (JSON text), lower case, one per line: "
                "search's free words are looked for in this one column instead of four (issue #15)",
                output_field=models.TextField(),
            ),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(fields=["source", "game"], name="event_source_game"),
        ),
    ]
