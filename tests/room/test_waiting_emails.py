"""``manage.py send_waiting_emails``: a side away for 10 minutes hears once
per waiting item, with a plain link back to the room."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from room import services
from room.models import GuestEmail, RoomConnection, RoomVisit, WaitingEmail
from tests.room.conftest import join_as, propose

pytestmark = pytest.mark.django_db

GUEST_EMAIL = "dana@retail.example"


def away_for(participant, minutes: int) -> None:
    RoomVisit.objects.update_or_create(
        participant=participant,
        defaults={"present_at": timezone.now() - datetime.timedelta(minutes=minutes)},
    )


def send() -> str:
    out = io.StringIO()
    call_command(
        "send_waiting_emails", "--base-url", "https://parley.test/", stdout=out
    )
    return out.getvalue()


@pytest.fixture
def guest_with_email(guest):
    _, participant = guest
    GuestEmail.objects.create(participant=participant, email=GUEST_EMAIL)
    return participant


@pytest.fixture
def trade_waiting(midgame, issues, host):
    price, terms = issues
    return propose(host, price, "5% off", terms, "30 days sooner")


def test_a_guest_away_for_ten_minutes_is_emailed_once_with_a_plain_room_link(
    midgame, guest_with_email, trade_waiting, invite_and_token
):
    away_for(guest_with_email, 11)

    assert "Sent 1 waiting email(s)." in send()

    [message] = mail.outbox
    assert message.to == [GUEST_EMAIL]
    assert "Acme renewal" in message.subject
    link = "https://parley.test" + reverse("live:room", args=[midgame.pk])
    assert f"Open the room: {link}\n" in message.body
    assert "30 days sooner" in message.body
    token = invite_and_token[1]
    assert token not in message.body
    assert "#" not in message.body
    assert WaitingEmail.objects.get().key == f"trade:{trade_waiting.pk}"

    send()  # a rerun: nothing new
    assert len(mail.outbox) == 1


def test_a_new_item_is_emailed_but_not_the_ones_already_told(
    midgame, issues, host, guest_with_email, trade_waiting
):
    away_for(guest_with_email, 11)
    send()
    price, terms = issues
    second = propose(host, terms, "15 days sooner", price, "2% more")

    send()

    assert len(mail.outbox) == 2
    assert "15 days sooner" in mail.outbox[1].body
    assert "30 days sooner" not in mail.outbox[1].body
    assert {row.key for row in WaitingEmail.objects.all()} == {
        f"trade:{trade_waiting.pk}",
        f"trade:{second.pk}",
    }


def test_no_email_while_a_socket_is_open(guest_with_email, trade_waiting):
    away_for(guest_with_email, 60)
    RoomConnection.objects.create(participant=guest_with_email, channel_name="c1")

    assert "Sent 0 waiting email(s)." in send()
    assert mail.outbox == []


def test_no_email_within_ten_minutes_of_a_visit(guest_with_email, trade_waiting):
    away_for(guest_with_email, 5)

    send()

    assert mail.outbox == []
    assert not WaitingEmail.objects.exists()


def test_a_guest_who_left_no_email_gets_none(guest, trade_waiting):
    away_for(guest[1], 60)

    send()

    assert mail.outbox == []


def test_nothing_waiting_sends_nothing(midgame, guest_with_email):
    away_for(guest_with_email, 60)

    send()

    assert mail.outbox == []


def test_a_rep_away_is_emailed_at_the_accounts_address(deal, rep, host, guest_access):
    services.stage_change_propose(access=guest_access, to_stage="first_move")
    away_for(host.participant, 30)

    send()

    [message] = mail.outbox
    assert message.to == [rep.email]
    assert "First Move" in message.body


def test_the_join_form_keeps_the_optional_email_on_the_guests_side(
    host_access, rep_client, deal
):
    _, token = services.invite_create(access=host_access, label="Sam")

    browser = Client()
    browser.post(reverse("live:join-open"), {"link": token})
    response = browser.post(
        reverse("live:join"), {"display_name": "Sam", "email": "sam@buyer.example"}
    )
    assert response.status_code == 302
    assert GuestEmail.objects.get().email == "sam@buyer.example"
    # The host side's pages never show it.
    for url in (
        reverse("live:room", args=[deal.pk]),
        reverse("live:invites", args=[deal.pk]),
    ):
        assert "sam@buyer.example" not in rep_client.get(url).content.decode()


def test_a_joined_guest_without_email_is_fine(invite_and_token):

    participant = join_as(Client(), invite_and_token[1], "Sam")

    assert participant is not None
    assert not GuestEmail.objects.exists()


def test_a_failed_send_is_told_logged_and_retried(
    settings, guest_with_email, trade_waiting
):
    away_for(guest_with_email, 11)
    locmem = settings.MAILERS
    settings.MAILERS = {"default": {"BACKEND": "common.mail.UnconfiguredEmailBackend"}}

    with pytest.raises(CommandError, match="could not be sent"):
        send()
    assert not WaitingEmail.objects.exists()

    settings.MAILERS = locmem
    send()
    assert len(mail.outbox) == 1
