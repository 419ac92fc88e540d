"""What the room's busiest path reads from the database.

Every edit costs the sender's socket one write and the other side's socket
one render. These tests pin the reads that keep that cheap: the sender's own
update comes from the events it just wrote, the other side renders the next
event from the group message, and a first attempt pays no replay lookup.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiation.access import DealAccess
from negotiation.models import DealEvent
from negotiation.services.base import delivered_by
from room import services
from room.consumers import RoomConsumer
from room.models import Message
from room.render import render_events
from room.selectors import messages_by_id
from tests.factories import make_deal

# Real commits: the group messages and the collected events come at commit.
pytestmark = pytest.mark.django_db(transaction=True)


def sync_method(name: str):
    """The function a consumer's ``database_sync_to_async`` method wraps."""
    return inspect.getattr_static(RoomConsumer, name).func


def consumer_for(access: DealAccess) -> RoomConsumer:
    """A consumer in the state ``connect`` leaves it in, without a socket."""
    consumer = RoomConsumer()
    consumer.scope = {"cookies": {}}
    consumer.deal_id = access.deal.pk
    consumer.access = access
    consumer.access_checked_at = time.monotonic()
    consumer.last_seq = access.deal.last_seq
    consumer.people = {}
    consumer.sending = []
    return consumer


def post(access: DealAccess, body: str) -> dict[str, Any]:
    """Post a message; return its group message."""
    sent = []
    with delivered_by(lambda group, message: sent.append(message)):
        services.message_post(access=access, body=body)
    (message,) = sent
    return message


def selects(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]


def test_the_other_side_renders_the_next_message_reading_only_that_message(
    host_access, guest_access
):
    guest_socket = consumer_for(guest_access)
    guest_socket.last_seq = guest_access.deal.last_seq
    update = sync_method("_event_update")
    first = post(host_access, "Shall we start with volume?")
    update(guest_socket, first, guest_socket.last_seq)  # learns who the host is
    guest_socket.last_seq = first["seq"]

    second = post(host_access, "Or with the payment term?")
    with CaptureQueriesContext(connection) as queries:
        frame = update(guest_socket, second, guest_socket.last_seq)

    assert frame["seq"] == second["seq"]
    assert "Or with the payment term?" in frame["html"]
    assert "wrote in the discussion" in frame["announce"]
    (only,) = selects(queries)
    assert 'FROM "negotiation_message"' in only
    assert "negotiation_dealevent" not in only


def test_the_senders_own_update_is_rendered_without_reading_back(host_access):
    host_socket = consumer_for(host_access)
    sent = []
    host_socket._send_soon = lambda group, message: sent.append(message)
    perform = sync_method("_perform")
    before = host_socket.last_seq

    with CaptureQueriesContext(connection) as queries:
        seq, frame, _ = perform(
            host_socket, "message.post", {"body": "Here is our draft."}, "first-try"
        )

    assert seq == frame["seq"] == before + 1
    assert [message["seq"] for message in sent] == [seq]
    assert "Here is our draft." in frame["html"]
    assert frame["announce"] == ""
    read = " ".join(selects(queries))
    # No replay lookup on a first attempt, and neither the event nor the
    # message is read back to render the sender's own update.
    assert "negotiation_dealevent" not in read
    assert 'FROM "negotiation_message"' not in read


def test_a_message_costs_the_sender_five_statements(host_access):
    """The guard's read, the lock, the message, the seq and its event: the
    room's most frequent action, pinned statement by statement."""
    host_socket = consumer_for(host_access)
    host_socket._send_soon = lambda group, message: None
    perform = sync_method("_perform")
    # The first one also reads who is in the room, for announcements.
    host_socket.last_seq, _, _ = perform(
        host_socket, "message.post", {"body": "Good morning."}, "m-1"
    )

    with CaptureQueriesContext(connection) as queries:
        perform(host_socket, "message.post", {"body": "About the volume."}, "m-2")

    statements = [
        q["sql"].split(" (")[0].split(" WHERE")[0]
        for q in queries.captured_queries
        if not q["sql"].startswith(("BEGIN", "COMMIT"))
    ]
    assert statements == [
        'SELECT "id", "batna", "reservation_point", "reservation_value", '
        '"target_outcome", "sensitive_figures", "internal_evidence", '
        '"anchor_ranges", "their_constraints", '
        '"their_decision_path", "their_pressures" FROM "negotiation_preparation"',
        'SELECT "id", "team_id", "owner_id", "title", "context", '
        '"counterpart_organisation", "counterpart_contact", "ground_rules", '
        '"review_cadence", "first_check_in", "shared_purpose", "deadline", '
        '"stage", "status", '
        '"outcome_note", "last_seq", "version", "created_at", "updated_at", '
        '"closed_at" FROM "negotiation_deal"',
        'INSERT INTO "negotiation_message"',
        'UPDATE "negotiation_deal" SET "last_seq" = "last_seq" + 1',
        'INSERT INTO "negotiation_dealevent"',
    ]


def test_messages_are_read_with_their_authors_and_only_from_their_deal(
    host_access, guest_access
):
    posted = post(guest_access, "What volume do you have in mind?")["ids"]
    note = Message.objects.create(deal=host_access.deal, author=None, body="Recap")
    elsewhere = make_deal(title="Another deal")
    stray = Message.objects.create(deal=elsewhere, author=None, body="Not here")

    found = messages_by_id(host_access.deal, [posted["message_id"], note.pk, stray.pk])

    assert set(found) == {posted["message_id"], note.pk}
    guest = guest_access.participant
    author = found[posted["message_id"]].author
    assert (author.pk, author.display_name, author.party_id) == (
        guest.pk,
        guest.display_name,
        guest.party_id,
    )
    assert found[note.pk].author is None
    html = render_events(
        host_access,
        [
            DealEvent(seq=1, kind="message.posted", payload={"message_id": pk})
            for pk in (posted["message_id"], note.pk)
        ],
    )
    assert guest.display_name in html
    assert "What volume do you have in mind?" in html
    assert "Recap" in html
    assert "mine" not in html
