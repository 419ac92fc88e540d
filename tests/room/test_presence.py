"""Presence goes through its service: one row per open socket, refreshed by
the heartbeat, and the room told when someone comes or goes."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
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
    # The joining socket is named: it renders its own arrival, not this.
    assert told == [(deal.pk, {"type": "presence.changed", "joined": "c-1"})] * 2


def test_a_join_writes_its_row_in_one_statement(deal, host_access, told):
    """Every reconnect joins: the row is one INSERT … ON CONFLICT, with no
    savepoint and no locking read of its own."""
    with CaptureQueriesContext(connection) as queries:
        presence.presence_join(
            deal_id=deal.pk,
            participant=host_access.participant,
            channel_name="c-1",
            limit=5,
        )
    sql = [q["sql"].upper() for q in queries.captured_queries]
    on_the_table = [s for s in sql if "ROOMCONNECTION" in s]
    # The row, the deal's stale rows, the participant's sockets beyond the limit.
    assert len(on_the_table) == 3
    assert on_the_table[0].startswith("INSERT")
    # The one savepoint is the join's own transaction, nested in the test's.
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 1


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


def test_joining_deletes_the_deals_stale_rows_only(deal, host_access, told):
    presence.presence_join(
        deal_id=deal.pk, participant=host_access.participant, channel_name="dead"
    )
    presence.presence_join(
        deal_id=deal.pk, participant=host_access.participant, channel_name="alive"
    )
    RoomConnection.objects.filter(channel_name="dead").update(
        seen_at=timezone.now() - datetime.timedelta(minutes=5)
    )

    presence.presence_join(
        deal_id=deal.pk, participant=host_access.participant, channel_name="new"
    )

    assert set(RoomConnection.objects.values_list("channel_name", flat=True)) == {
        "alive",
        "new",
    }


def test_joining_beyond_the_limit_forgets_and_returns_the_oldest(
    deal, host_access, told
):
    for n in range(5):
        assert presence.presence_join(
            deal_id=deal.pk,
            participant=host_access.participant,
            channel_name=f"c-{n}",
            limit=3,
        ) == ([] if n < 3 else [f"c-{n - 3}"])

    assert set(RoomConnection.objects.values_list("channel_name", flat=True)) == {
        "c-2",
        "c-3",
        "c-4",
    }


def test_the_prune_command_deletes_every_stale_row(deal, host_access, told):
    for name in ("c-1", "c-2"):
        presence.presence_join(
            deal_id=deal.pk, participant=host_access.participant, channel_name=name
        )
    RoomConnection.objects.filter(channel_name="c-1").update(
        seen_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    out = io.StringIO()

    call_command("presence_prune", stdout=out)

    assert list(RoomConnection.objects.values_list("channel_name", flat=True)) == [
        "c-2"
    ]
    assert "Deleted 1 stale" in out.getvalue()
