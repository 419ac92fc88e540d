"""Follow-through reminders: ``manage.py send_checkin_reminders``.

The host side's users (guests have no email) are told once about a check-in
due within a week and once about each overdue commitment; a rerun sends
nothing new, and a failed send is retried on the next run.
"""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from negotiation.models import Deal, Participant
from review.models import PostDealReview, ReminderLog
from room.models import Commitment
from tests.factories import UserFactory
from tests.scenarios import negotiate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


@pytest.fixture
def done(rep):
    """Agreed; a check-in held yesterday; the commitment 5 days overdue."""
    done = negotiate(owner=rep, due_in_days=-5)
    # Weekly: the next check-in falls in six days.
    Deal.objects.filter(pk=done.deal.pk).update(review_cadence="weekly")
    return done


def run(*args: str) -> str:
    out = StringIO()
    call_command(
        "send_checkin_reminders", "--base-url", "https://parley.example", *args,
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


def test_the_host_side_is_reminded_of_the_check_in_and_the_overdue_commitment(
    done, rep
):
    output = run()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [rep.email]
    next_check_in = timezone.localdate() + datetime.timedelta(days=6)
    assert message.subject == (
        f"Parley · Acme renewal: check-in due {next_check_in.day} "
        f"{next_check_in:%b} and 1 commitment overdue"
    )
    assert "Dashboards live in every store" in message.body
    assert f"https://parley.example/deals/{done.deal.pk}/review/" in message.body
    assert f"/deals/{done.deal.pk}/review/checkins.ics" in message.body
    assert "Sent 1 reminder email(s)." in output
    assert set(ReminderLog.objects.values_list("kind", "key")) == {
        ("checkin", f"checkin:{next_check_in.isoformat()}"),
        (
            "overdue",
            f"overdue:{done.commitment.pk}:{done.commitment.due_date.isoformat()}",
        ),
    }


def test_a_rerun_sends_nothing_new(done):
    run()
    mail.outbox.clear()

    run()

    assert mail.outbox == []
    assert ReminderLog.objects.count() == 2


def test_every_host_side_user_with_an_address_is_told_and_guests_never(done, rep):
    teammate = UserFactory(email="sam@example.com")
    no_address = UserFactory(email="")
    for user in (teammate, no_address):
        Participant.objects.create(
            party=done.host.party, user=user, display_name=user.username
        )

    run()

    assert sorted(mail.outbox[0].to) == sorted([rep.email, "sam@example.com"])
    guest = done.guest.participant
    assert guest.user_id is None  # the counterpart's people have no address here


def test_a_moved_due_date_is_reminded_again(done):
    run()
    mail.outbox.clear()
    Commitment.objects.filter(pk=done.commitment.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=2)
    )

    run()

    assert len(mail.outbox) == 1
    assert "check-in due" not in mail.outbox[0].subject  # already sent
    assert "1 commitment overdue" in mail.outbox[0].subject


def test_nothing_is_due_for_open_deals_ended_deals_or_done_commitments(rep):
    negotiate(owner=rep, title="Ended", outcome="no_deal", nudges=False)
    finished = negotiate(owner=rep, title="On track", due_in_days=-3, nudges=False)
    Commitment.objects.filter(deal=finished.deal).update(status="done")

    run()

    assert mail.outbox == []
    assert not ReminderLog.objects.exists()


def test_a_failed_send_is_told_logged_recorded_nowhere_and_retried(
    done, settings, caplog
):
    locmem = settings.MAILERS
    settings.MAILERS = {"default": {"BACKEND": "common.mail.UnconfiguredEmailBackend"}}

    with pytest.raises(CommandError, match="could not be sent") as refused:
        run()
    assert "next run" in str(refused.value)
    assert "Reminder for deal" in caplog.text
    assert not ReminderLog.objects.exists()

    settings.MAILERS = locmem
    run()
    assert len(mail.outbox) == 1


def test_a_dry_run_lists_and_sends_nothing(done):
    output = run("--dry-run")

    assert "Would send “Parley · Acme renewal:" in output
    assert mail.outbox == []
    assert not ReminderLog.objects.exists()


def test_the_date_can_be_given(done):
    far_future = (timezone.localdate() + datetime.timedelta(days=400)).isoformat()

    run("--date", far_future)

    # A year on, the check-in reminder is for a date long gone: only overdue.
    assert len(mail.outbox) == 1
    assert "check-in due" not in mail.outbox[0].subject


# --- the post-deal review, three days on ----------------------------------------------


def closed_days_ago(deal: Deal, days: int) -> None:
    Deal.objects.filter(pk=deal.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=days)
    )


def test_three_days_after_closing_an_unwritten_review_is_reminded_once(done, rep):
    closed_days_ago(done.deal, 4)

    run()

    (message,) = [m for m in mail.outbox if "post-deal review" in m.subject]
    assert message.to == [rep.email]
    assert "your post-deal review is not written yet" in message.body
    assert ReminderLog.objects.filter(kind=ReminderLog.Kind.DEBRIEF).count() == 1
    mail.outbox.clear()
    run()
    assert not [m for m in mail.outbox if "post-deal review" in m.subject]


def test_a_fresh_close_or_a_written_review_is_not_reminded(done, rep):
    closed_days_ago(done.deal, 2)
    run()
    assert not [m for m in mail.outbox if "post-deal review" in m.subject]

    closed_days_ago(done.deal, 10)
    PostDealReview.objects.create(
        deal=done.deal, party=done.deal.parties.get(side="host")
    )
    run()
    assert not [m for m in mail.outbox if "post-deal review" in m.subject]
