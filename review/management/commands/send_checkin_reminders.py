"""Email the host side about check-ins due within a week (on the cadence and
first date both sides agreed in the room), overdue commitments, and a
post-deal review still unwritten three days after the close.

Run it daily (cron, a systemd timer, a scheduled job): it is idempotent, each
reminder is sent once per check-in date per deal, once per overdue
commitment and once per deal for the review (``ReminderLog``), so a rerun the
same day sends nothing new. Guests (the counterpart) have no email address:
the room itself reminds them of their review (``RoomState.debrief_overdue``).

    python manage.py send_checkin_reminders [--date 2027-01-15]
        [--base-url https://parley.example.com] [--dry-run]
"""

from __future__ import annotations

import datetime
import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from review.services import reminders_send


class Command(BaseCommand):
    help = (
        "Email check-in, overdue-commitment and post-deal review reminders (once each)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--date",
            help="Act as if today were this date (YYYY-MM-DD); default: today.",
        )
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
            today = (
                datetime.date.fromisoformat(options["date"])
                if options["date"]
                else timezone.localdate()
            )
        except ValueError as error:
            raise CommandError(f"--date: {error}") from None
        try:
            emails = reminders_send(
                today=today, base_url=options["base_url"], dry_run=options["dry_run"]
            )
        except Exception as error:
            # reminders_send logged the traceback; those not sent stay due.
            raise CommandError(
                f"A reminder could not be sent ({error}). Reminders not sent "
                "stay due and go out on the next run; check EMAIL_URL."
            ) from error
        verb = "Would send" if options["dry_run"] else "Sent"
        for email in emails:
            self.stdout.write(
                f"{verb} “{email.subject}” to {', '.join(email.recipients)}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {len(emails)} reminder email(s).")
        )
