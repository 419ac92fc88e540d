"""Presence goes through its service: one row per open socket, refreshed by
the heartbeat, and the room told when someone comes or goes."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from room.models import RoomConnection
from room.services import presence

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(
        presence, "broadcast", lambda deal_id, message: sent.append((deal_id, message))
    )
    return sent


def test_a_socket_joins_once_and_the_room_is_told(deal, host_access, told):
    for _ in range(2):  # a reconnect on the same channel reuses its row
        presence.presence_join(
            deal_id=deal.pk, participant=host_access.participant, channel_name="c-1"
        )

    assert RoomConnection.objects.get().participant == host_access.participant
    assert told == [(deal.pk, {"type": "presence.changed"})] * 2


def test_leaving_forgets_the_socket_and_a_second_leave_tells_nobody(
    deal, host_access, told
):
    presence.presence_join(
        deal_id=deal.pk, participant=host_access.participant, channel_name="c-1"
    )
    told.clear()

    presence.presence_leave(deal_id=deal.pk, channel_name="c-1")
    presence.presence_leave(deal_id=deal.pk, channel_name="c-1")

    assert not RoomConnection.objects.exists()
    assert told == [(deal.pk, {"type": "presence.changed"})]


def test_the_heartbeat_refreshes_the_row_and_tells_nobody(deal, host_access, told):
    presence.presence_join(
        deal_id=deal.pk, participant=host_access.participant, channel_name="c-1"
    )
    old = timezone.now() - datetime.timedelta(minutes=5)
    RoomConnection.objects.update(seen_at=old)
    told.clear()

    presence.presence_seen(channel_name="c-1")

    assert RoomConnection.objects.get().seen_at > old
    assert told == []
