"""Email each side the room has been waiting for while it was away.

Run it every few minutes (cron, a systemd timer, a scheduled job): a side
with no open room for 10 minutes gets one email per waiting item (a trade to
answer, a stage change, a commitment or the agreement to confirm…); a rerun
sends nothing new (``room.services.waiting``).

    python manage.py send_waiting_emails
        [--base-url https://parley.example.com] [--dry-run]
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from room.services.waiting import waiting_emails_send


class Command(BaseCommand):
    help = "Email the sides the room waits for, once per waiting item."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--base-url",
            default=os.environ.get("PARLEY_BASE_URL", "http://127.0.0.1:8000"),
            help="Where Parley is served, for the links in the emails "
            "(default: $PARLEY_BASE_URL or http://127.0.0.1:8000).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what would be sent; send and record nothing.",
        )

    def handle(self, *args, **options) -> None:
        try:
            mails = waiting_emails_send(
                now=timezone.now(),
                base_url=options["base_url"],
                dry_run=options["dry_run"],
            )
        except Exception as error:
            # waiting_emails_send logged the traceback; those not sent stay due.
            raise CommandError(
                f"An email could not be sent ({error}). Emails not sent stay "
                "due and go out on the next run; check EMAIL_URL."
            ) from error
        verb = "Would send" if options["dry_run"] else "Sent"
        for mail in mails:
            self.stdout.write(
                f"{verb} “{mail.subject}” to participant {mail.participant.pk}"
            )
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(mails)} waiting email(s)."))
