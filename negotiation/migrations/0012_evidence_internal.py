"""Evidence can be marked internal only; the preparation keeps a copy of
those items for the over-sharing guard, read with the rest in one statement."""

from django.db import migrations, models


def copy_internal_evidence(apps, schema_editor):
    EvidenceItem = apps.get_model("negotiation", "EvidenceItem")
    Preparation = apps.get_model("negotiation", "Preparation")
    copies: dict[int, list[list[str]]] = {}
    for party_id, title, detail in EvidenceItem.objects.filter(
        internal=True
    ).values_list("party_id", "title", "detail"):
        copies.setdefault(party_id, []).append([title, detail])
    for party_id, items in copies.items():
        Preparation.objects.filter(party_id=party_id).update(internal_evidence=items)


class Migration(migrations.Migration):
    dependencies = [
        ("negotiation", "0011_agreed_cadence_culture_pause_events"),
    ]

    operations = [
        migrations.AddField(
            model_name="evidenceitem",
            name="internal",
            field=models.BooleanField(default=False, verbose_name="internal only"),
        ),
        migrations.AddField(
            model_name="preparation",
            name="internal_evidence",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(copy_internal_evidence, migrations.RunPython.noop),
    ]
