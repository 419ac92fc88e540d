"""Load the playbook content from ``playbooks/data/*.toml`` (safe to run twice)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from playbooks.loader import ContentError, load_content


class Command(BaseCommand):
    help = (
        "Load stages, playbooks, moves, templates and the rest of the method's "
        "content from playbooks/data/. Rows edited in the admin are kept unless "
        "--force is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Make the database match the files, overwriting admin edits.",
        )

    def handle(self, *args, **options) -> None:
        try:
            report = load_content(force=options["force"])
        except ContentError as error:
            raise CommandError(str(error)) from error
        for line in report.lines():
            self.stdout.write(f"  {line}")
        if report.changed:
            self.stdout.write(self.style.SUCCESS("Playbook content loaded."))
        else:
            self.stdout.write("Playbook content already up to date.")
