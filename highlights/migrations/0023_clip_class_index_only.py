"""The clip's model class loses its own indexes (and their ``LIKE`` twin): ``clip_class_game`` (model class,
game) serves every lookup by class, and the planner no longer picks the narrower one for a look-alike part."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("highlights", "0022_clip_visible_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="clip",
            name="model_class",
            field=models.CharField(
                help_text="the action model's class, e.g. Kinetics-400 'playing tennis'", max_length=128
            ),
        ),
    ]
