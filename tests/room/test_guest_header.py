"""A guest's header says who and where they are, and lets them leave the
room on this browser."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from negotiation.models import Participant

pytestmark = pytest.mark.django_db

DEBUG = pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])


def test_a_guests_header_names_them_their_side_and_the_deal(deal, guest_client):
    html = guest_client.get(reverse("live:room", args=[deal.pk])).content.decode()
    header = html.split('<header class="topbar">')[1].split("</header>")[0]

    assert "Dana Ortiz" in header
    assert deal.parties.get(side="counterpart").organisation in header
    assert "Acme renewal" in header
    assert reverse("live:leave", args=[deal.pk]) in header
    assert "Log in" not in header
    assert "Sign up" not in header


def test_a_visitor_without_a_room_still_gets_log_in(client, deal):
    html = client.get(reverse("playbooks:index")).content.decode()

    assert "Log in" in html
    assert "Leave this room" not in html


def test_leaving_asks_first_then_ends_this_browsers_guest(deal, guest_client):
    leave = reverse("live:leave", args=[deal.pk])
    room = reverse("live:room", args=[deal.pk])

    asked = guest_client.get(leave)
    assert asked.status_code == 200
    assert "Leave this room on this browser?" in asked.content.decode()
    assert guest_client.get(room).status_code == 200  # asking changed nothing

    done = guest_client.post(leave)

    assert done.status_code == 200
    assert "You left the room on this browser" in done.content.decode()
    response = guest_client.get(room)
    assert response.status_code == 404
    assert "There is nothing for you here" in response.content.decode()


def test_leaving_needs_a_post(deal, guest_client):
    # A GET (a link preview, a prefetch) never ends the guest's session.
    guest_client.get(reverse("live:leave", args=[deal.pk]))
    guest_client.head(reverse("live:leave", args=[deal.pk]))

    assert guest_client.get(reverse("live:room", args=[deal.pk])).status_code == 200


@DEBUG
def test_a_revoked_guest_is_told_their_access_ended(settings, deal, guest, debug):
    settings.DEBUG = debug
    guest_client, participant = guest
    Participant.objects.filter(pk=participant.pk).update(revoked_at=timezone.now())

    for url in (
        reverse("live:room", args=[deal.pk]),
        reverse("negotiation:prep", args=[deal.pk]),
    ):
        response = guest_client.get(url)
        assert response.status_code == 410, url
        html = response.content.decode()
        assert "Your access to this room has ended" in html
        assert "No such deal" not in html
        assert "Log in" not in html
