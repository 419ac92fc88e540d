"""Nudges get a random public key, so a side's room no longer names its
nudges by row ids shared with the other side's nudges."""

import secrets

from django.db import migrations, models

import room.models


def fill_keys(apps, schema_editor):
    Nudge = apps.get_model("live_sessions", "Nudge")
    nudges = list(Nudge.objects.only("pk"))
    for nudge in nudges:
        nudge.key = secrets.token_urlsafe(8)
    Nudge.objects.bulk_update(nudges, ["key"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("live_sessions", "0007_nudge_kinds_positional_accountability"),
    ]

    operations = [
        migrations.AddField(
            model_name="nudge",
            name="key",
            field=models.CharField(max_length=16, null=True, editable=False),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="nudge",
            name="key",
            field=models.CharField(
                max_length=16, default=room.models.new_nudge_key, editable=False
            ),
        ),
        migrations.AddConstraint(
            model_name="nudge",
            constraint=models.UniqueConstraint(
                fields=("party", "key"), name="nudge_key_per_side"
            ),
        ),
    ]
