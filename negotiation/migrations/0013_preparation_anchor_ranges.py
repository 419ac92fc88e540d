"""The preparation keeps a copy of the side's opening ranges (its anchor
worksheet's rows with both ends) for the over-sharing guard, read with the
rest of what the guard checks in one statement."""

from django.db import migrations, models


def copy_anchor_ranges(apps, schema_editor):
    AnchorEntry = apps.get_model("negotiation", "AnchorEntry")
    Preparation = apps.get_model("negotiation", "Preparation")
    copies: dict[int, list[list[str]]] = {}
    rows = (
        AnchorEntry.objects.filter(low__isnull=False, high__isnull=False)
        .order_by("issue__position", "issue_id")
        .values_list("party_id", "issue__name", "low", "high")
    )
    for party_id, issue_name, low, high in rows:
        copies.setdefault(party_id, []).append([issue_name, str(low), str(high)])
    for party_id, ranges in copies.items():
        Preparation.objects.filter(party_id=party_id).update(anchor_ranges=ranges)


class Migration(migrations.Migration):
    dependencies = [
        ("negotiation", "0012_evidence_internal"),
    ]

    operations = [
        migrations.AddField(
            model_name="preparation",
            name="anchor_ranges",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(copy_anchor_ranges, migrations.RunPython.noop),
    ]
