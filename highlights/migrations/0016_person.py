"""One word per concept (issue #11): a person is every one the system knows, named or an unnamed face cluster.

``Player`` → ``Person``, ``PlayerPhoto`` → ``PersonPhoto``, ``PlayerAppearance`` → ``Appearance``, their
``player`` fields → ``person``, ``FaceTrack.rejected_players`` → ``rejected_people``. Renames only: no row changes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("highlights", "0015_search_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="playerappearance", name="appearance_player_clip"),
        migrations.RenameModel("Player", "Person"),
        migrations.RenameModel("PlayerPhoto", "PersonPhoto"),
        migrations.RenameModel("PlayerAppearance", "Appearance"),
        migrations.RenameField("personphoto", "player", "person"),
        migrations.RenameField("facetrack", "player", "person"),
        migrations.RenameField("facetrack", "rejected_players", "rejected_people"),
        migrations.RenameField("appearance", "player", "person"),
        migrations.RenameField("event", "player", "person"),
        migrations.AddIndex(
            model_name="appearance",
            index=models.Index(fields=["person", "clip"], name="appearance_person_clip"),
        ),
        migrations.RenameIndex(
            model_name="appearance",
            new_name="highlights__game_id_711187_idx",
            old_name="highlights__game_id_ca511c_idx",
        ),
        migrations.AlterField(
            model_name="personphoto",
            name="image",
            field=models.FileField(blank=True, upload_to="people/"),
        ),
    ]
