"""A link's expiry ends joining with it, not the access of whoever joined.

A negotiation can run for weeks past the link's date, and a rep would not
expect the counterpart to be shut out of the room half-way for it; the host
ends a joined guest's access by revoking the link. The invite form and the
links page say so.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from room.forms import InviteForm
from room.models import Invite
from room.services.invites import invite_revoke

pytestmark = pytest.mark.django_db


def expire(invite: Invite) -> None:
    Invite.objects.filter(pk=invite.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )


def test_a_joined_guest_keeps_the_room_after_the_link_expires(
    deal, invite_and_token, guest_client
):
    invite, _ = invite_and_token
    expire(invite)

    assert guest_client.get(reverse("live:room", args=[deal.pk])).status_code == 200
    assert guest_client.get(
        reverse("negotiation:prep", args=[deal.pk])
    ).status_code == (200)


def test_revoking_an_expired_link_still_removes_its_guest(
    deal, host_access, invite_and_token, guest_client
):
    invite, _ = invite_and_token
    expire(invite)

    invite_revoke(access=host_access, invite_id=invite.pk)

    assert guest_client.get(reverse("live:room", args=[deal.pk])).status_code == 410


def test_the_invite_form_says_expiry_ends_joining_not_access():
    field = InviteForm().fields["valid_days"]

    assert field.label == "Days to join"
    assert "whoever already joined keeps access until you revoke" in field.help_text


def test_the_links_page_shows_a_joined_guest_keeps_access(
    rep_client, deal, invite_and_token, guest
):
    invite, _ = invite_and_token
    expire(invite)

    page = rep_client.get(reverse("live:invites", args=[deal.pk])).content.decode()

    assert "keeps access until you revoke the link" in page
    assert "Could be joined until" not in page  # the date no longer matters
