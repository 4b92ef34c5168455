"""The visible clips' ids as an index of their own, so a set's capped count is read from the index alone (#15).
Built without locking writes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("highlights", "0021_event_type_index_only"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="clip",
            index=models.Index(
                condition=models.Q(("review_status", "rejected"), _negated=True),
                fields=["id"],
                name="clip_visible_id",
            ),
        ),
    ]
