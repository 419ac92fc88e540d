"""The deal's lock and its gapless log, under ``applied_once``.

A room action locks the deal and takes its event's ``seq`` in one statement;
these tests pin that, and that a ``seq`` taken but not used is given back.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from negotiation.models import Deal, DealEvent
from negotiation.services.base import append_event, applied_once, lock_deal
from room import services as room

pytestmark = pytest.mark.django_db


def seqs(deal: Deal) -> list[int]:
    return list(deal.events.order_by("seq").values_list("seq", flat=True))


def test_a_room_action_locks_the_deal_then_takes_its_seq(host_access):
    with CaptureQueriesContext(connection) as queries:
        room.message_post(access=host_access, body="Shall we start with volume?")

    deal_statements = [
        q["sql"] for q in queries.captured_queries if '"negotiation_deal"' in q["sql"]
    ]
    lock, take = deal_statements
    assert lock.startswith("SELECT")
    if connection.features.has_select_for_update:
        assert lock.endswith("FOR UPDATE")
    assert take.startswith('UPDATE "negotiation_deal" SET "last_seq" = "last_seq" + 1')
    event = DealEvent.objects.get(kind="message.posted")
    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == event.seq
    assert seqs(host_access.deal)[-1] == event.seq


def test_an_action_that_appends_nothing_takes_no_seq(host_access):
    @applied_once
    def look_only(*, access, client_msg_id=None):
        return lock_deal(access)

    before = Deal.objects.get(pk=host_access.deal.pk).last_seq

    look_only(access=host_access)
    room.message_post(access=host_access, body="Next, the payment term.")

    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before + 1
    assert seqs(host_access.deal) == list(range(1, before + 2))  # no gap


def test_locking_twice_in_one_action_takes_one_seq_per_event(host_access):
    @applied_once
    def two_events(*, access, client_msg_id=None):
        deal = lock_deal(access)
        again = lock_deal(access)  # a helper locking what is already locked
        append_event(deal=again, kind="setup.updated", actor=access.participant)
        append_event(deal=deal, kind="setup.updated", actor=access.participant)

    before = Deal.objects.get(pk=host_access.deal.pk).last_seq

    two_events(access=host_access)

    assert seqs(host_access.deal) == list(range(1, before + 3))
    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before + 2


def test_a_refused_action_leaves_the_seq_as_it_was(host_access):
    before = Deal.objects.get(pk=host_access.deal.pk).last_seq

    with pytest.raises(Exception, match="Write something first"):
        room.message_post(access=host_access, body="   ")

    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before
    assert seqs(host_access.deal)[-1] == before


def test_the_lock_refuses_a_revoked_participant(host_access):
    host_access.participant.revoked_at = timezone.now()
    host_access.participant.save(update_fields=["revoked_at"])
    before = Deal.objects.get(pk=host_access.deal.pk).last_seq

    with pytest.raises(PermissionDenied):
        room.message_post(access=host_access, body="Still here?")

    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before


def test_outside_an_action_the_lock_takes_no_seq(host_access):
    from django.db import transaction

    before = Deal.objects.get(pk=host_access.deal.pk).last_seq
    with transaction.atomic():
        deal = lock_deal(host_access)
        event = append_event(deal=deal, kind="setup.updated", actor=None)

    assert event.seq == before + 1
    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before + 1


def test_an_inner_action_that_fails_leaves_the_outer_ones_seq(host_access):
    @applied_once
    def inner(*, access, client_msg_id=None):
        append_event(deal=lock_deal(access), kind="setup.updated", actor=None)
        raise PermissionDenied("changed its mind")

    @applied_once
    def outer(*, access, client_msg_id=None):
        deal = lock_deal(access)
        with pytest.raises(PermissionDenied):
            inner(access=access)
        append_event(deal=deal, kind="setup.updated", actor=None)

    before = Deal.objects.get(pk=host_access.deal.pk).last_seq

    outer(access=host_access)

    assert seqs(host_access.deal) == list(range(1, before + 2))
    assert Deal.objects.get(pk=host_access.deal.pk).last_seq == before + 1
