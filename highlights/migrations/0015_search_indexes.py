"""Indexes for search at a million clips (issue #15), built without locking writes (``CREATE INDEX CONCURRENTLY``)."""

import django.db.models.functions.text
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("highlights", "0014_play_transitions"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="clip",
            index=models.Index(
                condition=models.Q(("review_status", "rejected"), _negated=True),
                fields=["-highlight_score", "id"],
                include=("game", "action", "model_class"),
                name="clip_visible_by_score",
            ),
        ),
        AddIndexConcurrently(
            model_name="clip",
            index=models.Index(fields=["action", "game"], include=("id",), name="clip_action_game"),
        ),
        AddIndexConcurrently(
            model_name="clip",
            index=models.Index(fields=["model_class", "game"], include=("id",), name="clip_class_game"),
        ),
        AddIndexConcurrently(
            model_name="playerappearance",
            index=models.Index(fields=["player", "clip"], name="appearance_player_clip"),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                django.db.models.functions.text.Upper("type"),
                models.F("clip"),
                models.F("game"),
                name="event_type_clip_game",
            ),
        ),
        AddIndexConcurrently(
            model_name="game",
            index=models.Index(
                models.OrderBy(models.F("date"), descending=True, nulls_last=True),
                models.OrderBy(models.F("created_at"), descending=True),
                name="game_newest",
            ),
        ),
    ]
