"""``validate``: ``full_clean`` without reading again the rows a service set
its foreign keys from, and without letting through what ``full_clean`` would
refuse."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiation.services.base import validate
from room.models import Trade

pytestmark = pytest.mark.django_db


def new_trade(deal, host_access, **fields) -> Trade:
    price, terms = deal.issues.order_by("position")
    values = {
        "deal": deal,
        "party": host_access.party,
        "proposed_by": host_access.participant,
        "give_issue": price,
        "give_value": "30 days",
        "ask_issue": terms,
        "ask_value": "5% more volume",
        **fields,
    }
    return Trade(**values)


def test_foreign_keys_set_from_objects_are_not_read_again(deal, host_access):
    trade = new_trade(deal, host_access)

    with CaptureQueriesContext(connection) as queries:
        validate(trade)

    assert [q["sql"] for q in queries.captured_queries] == []


def test_a_foreign_key_set_as_a_bare_id_is_still_proved(deal, host_access):
    trade = new_trade(deal, host_access, give_issue=None)
    trade.give_issue_id = 10**9  # no such issue

    with pytest.raises(ValidationError) as refused:
        validate(trade)

    assert "give_issue" in refused.value.message_dict


def test_a_required_foreign_key_set_to_none_is_refused(deal, host_access):
    trade = new_trade(deal, host_access, party=None)

    with pytest.raises(ValidationError) as refused:
        validate(trade)

    assert "party" in refused.value.message_dict


def test_an_update_checks_only_the_fields_it_changes(deal, host_access):
    trade = new_trade(deal, host_access)
    trade.save()
    trade.ask_value = "x" * 161  # over max_length, but not being changed
    trade.give_value = ""

    with pytest.raises(ValidationError) as refused:
        validate(trade, fields=["give_value"])

    assert set(refused.value.message_dict) == {"give_value"}
