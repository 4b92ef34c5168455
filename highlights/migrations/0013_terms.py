"""One word per concept (issue #11): the action taxonomy, action classifiers and their predictions, model classes, audio energy."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("highlights", "0012_plays")]

    operations = [
        migrations.RenameModel("ActionLabel", "Action"),
        migrations.RenameModel("HighlightModel", "ActionClassifier"),
        migrations.RenameModel("LearnedLabel", "LearnedAction"),
        migrations.RenameField("clip", "label", "model_class"),
        migrations.RenameField("clip", "excitement", "audio_energy"),
        migrations.RenameField("clipprediction", "label", "model_class"),
        migrations.RenameField("learnedaction", "label", "action"),
        migrations.RenameField("actionclassifier", "label_set", "action_set"),
        migrations.RenameField("trainingjob", "label_set", "action_set"),
        migrations.RenameField("game", "top_labels", "top_classes"),
        migrations.AlterModelOptions(
            name='actionclassifier',
            options={'ordering': ['action_set', '-version']},
        ),
        migrations.RemoveConstraint(
            model_name='action',
            name='unique_action_label',
        ),
        migrations.RemoveConstraint(
            model_name='actionclassifier',
            name='unique_highlight_model_version',
        ),
        migrations.RemoveConstraint(
            model_name='actionclassifier',
            name='one_active_highlight_model',
        ),
        migrations.RemoveConstraint(
            model_name='learnedaction',
            name='unique_learned_label',
        ),
        migrations.AlterField(
            model_name='actionclassifier',
            name='version',
            field=models.PositiveIntegerField(help_text='1, 2, ... within the action set'),
        ),
        migrations.AlterField(
            model_name='clip',
            name='audio_energy',
            field=models.FloatField(default=0.0, help_text="audio energy, z-score vs the game's baseline"),
        ),
        migrations.AlterField(
            model_name='clip',
            name='model_class',
            field=models.CharField(db_index=True, help_text="the action model's class, e.g. Kinetics-400 'playing tennis'", max_length=128),
        ),
        migrations.AlterField(
            model_name='game',
            name='top_classes',
            field=models.JSONField(blank=True, default=list, help_text='[[model class, probability], ...] for the whole video'),
        ),
        migrations.AlterField(
            model_name='learnedaction',
            name='action',
            field=models.CharField(db_index=True, help_text="one of the classifier's actions", max_length=128),
        ),
        migrations.AlterField(
            model_name='learnedaction',
            name='clip',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='learned_actions', to='highlights.clip'),
        ),
        migrations.AddConstraint(
            model_name='action',
            constraint=models.UniqueConstraint(fields=('sport', 'name'), name='unique_action'),
        ),
        migrations.AddConstraint(
            model_name='actionclassifier',
            constraint=models.UniqueConstraint(fields=('action_set', 'version'), name='unique_classifier_version'),
        ),
        migrations.AddConstraint(
            model_name='actionclassifier',
            constraint=models.UniqueConstraint(condition=models.Q(('is_active', True)), fields=('action_set',), name='one_active_classifier'),
        ),
        migrations.AddConstraint(
            model_name='learnedaction',
            constraint=models.UniqueConstraint(fields=('clip', 'model'), name='unique_learned_action'),
        ),
    ]
