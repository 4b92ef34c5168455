"""A clip's action and model class lose their own indexes (and the class's ``LIKE`` twin): ``clip_action_game`` and
``clip_class_game`` (action or class, then game) serve every lookup by either, and the planner no longer picks
the narrower one for a look-alike part, reading every clip of the action to test its game."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("highlights", "0022_clip_visible_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="clip",
            name="action",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="clips",
                to="highlights.action",
            ),
        ),
        migrations.AlterField(
            model_name="clip",
            name="model_class",
            field=models.CharField(
                help_text="the action model's class, e.g. Kinetics-400 'playing tennis'", max_length=128
            ),
        ),
    ]
