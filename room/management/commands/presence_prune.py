"""Delete presence rows left behind by sockets whose process died.

The next socket to join a deal deletes that deal's stale rows anyway; this
command clears every deal, for a cron job or after a crash."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from room.services.presence import presence_prune


class Command(BaseCommand):
    help = "Delete presence rows not refreshed within the presence window."

    def handle(self, *args, **options) -> None:
        deleted = presence_prune()
        self.stdout.write(f"Deleted {deleted} stale presence row(s).")
