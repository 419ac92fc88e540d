"""Load the method's content, so that a fresh ``migrate`` has it.

Calls the same loader as ``manage.py load_playbooks``, with this migration's
historical models. Reversing keeps the rows (they are plain content).
"""

from django.db import migrations


def load(apps, schema_editor):
    from playbooks.loader import load_content

    load_content(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop, elidable=True),
    ]
