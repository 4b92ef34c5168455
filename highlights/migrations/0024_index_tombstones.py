"""Tombstones of deleted clips and face tracks for the FAISS index writer (issue #15): ``IndexTombstone``, filled by
statement-level triggers on the two tables.

A game's index write removed the ids of deleted rows by reading every id of the table (a million clips, ten
million face tracks) and comparing it with the index's; it now reads the tombstones written since the last write.
The triggers record each row a ``DELETE`` removes (ORM, cascade, raw SQL), in the deleting transaction: a
rolled-back delete leaves none. ``TRUNCATE`` fires no trigger (rebuild the index after one).
"""

from django.db import migrations, models

TOMBSTONES = """
CREATE FUNCTION highlights_record_tombstones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO highlights_indextombstone (kind, row_id) SELECT TG_ARGV[0], id FROM gone;
    RETURN NULL;
END
$$;

CREATE TRIGGER highlights_clip_tombstones AFTER DELETE ON highlights_clip
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION highlights_record_tombstones('clips');
CREATE TRIGGER highlights_facetrack_tombstones AFTER DELETE ON highlights_facetrack
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION highlights_record_tombstones('face_tracks');
"""

UNDO = """
DROP TRIGGER highlights_clip_tombstones ON highlights_clip;
DROP TRIGGER highlights_facetrack_tombstones ON highlights_facetrack;
DROP FUNCTION highlights_record_tombstones();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("highlights", "0023_clip_lookalike_indexes_only"),
    ]

    operations = [
        migrations.CreateModel(
            name="IndexTombstone",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("clips", "Clips"), ("face_tracks", "Face Tracks")], max_length=16)),
                ("row_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(TOMBSTONES, UNDO),
    ]
