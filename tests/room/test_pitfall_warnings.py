"""Warn before harm: a concession with nothing in return, a commitment that
cannot be measured, or confirming one, is held back with a warning next to
the form; the side may still send it. Each rule has near-misses that must
stay silent."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from common.phrases import nothing_in_return, placeholder, unmeasurable
from negotiation.models import DealEvent
from room import actions
from room.models import Commitment, Concession, Nudge
from tests.room.conftest import add_commitment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "received",
    [
        "",
        "n/a",
        "N/A.",
        "-",
        "nothing",
        "Nothing in return",
        "None yet",
        "their goodwill",
        "For their goodwill",
        "to keep the peace",
        "The relationship",
        "TBD",
        "good faith",
    ],
)
def test_what_people_write_for_nothing_received(received):
    assert nothing_in_return(received)


@pytest.mark.parametrize(
    "received",
    [
        "A public case study",
        "Faster payment: 30 days",
        "Goodwill clause in the contract renewal",  # says more than goodwill
        "Two more stores in the pilot",
        "A reference call with their CFO",
        "Nothing less than a 3-year term",
    ],
)
def test_something_received_is_taken_at_its_word(received):
    assert not nothing_in_return(received)


@pytest.mark.parametrize(
    "text", ["", "TBD", "tbc", "best efforts", "Our best efforts", "ASAP", "n/a", "?"]
)
def test_placeholders_measure_nothing(text):
    assert placeholder(text)


@pytest.mark.parametrize(
    "text", ["95%", "stores live on dashboards", "under 2 hours", "40 stores", "0 P1s"]
)
def test_real_metrics_and_targets_are_not_placeholders(text):
    assert not placeholder(text)


def test_a_commitment_lacks_what_is_missing_or_a_placeholder():
    due = datetime.date(2027, 3, 31)
    assert unmeasurable("stores live", "95%", due) == []
    assert unmeasurable("stores live", "best efforts", due) == ["target"]
    assert unmeasurable("TBD", "", None) == ["metric", "target", "due date"]


# --- in the room ------------------------------------------------------------------


def test_a_concession_for_nothing_is_held_back_then_sent_on_confirmation(
    deal, midgame, host
):
    data = {"item": "Onboarding", "we_give": "Two workshops", "we_get": "n/a"}
    events = DealEvent.objects.filter(deal=deal).count()

    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host, "concession.add", data)

    assert held.value.code == "pitfall"
    assert "Nothing comes back" in held.value.message
    assert not Concession.objects.exists()
    assert DealEvent.objects.filter(deal=deal).count() == events

    actions.perform(host, "concession.add", {**data, "confirm_pitfall": "on"})
    assert Concession.objects.get().we_get == "n/a"


def test_a_concession_with_something_in_return_is_sent_at_once(midgame, host):
    actions.perform(
        host,
        "concession.add",
        {"item": "Onboarding", "we_give": "Two workshops", "we_get": "A case study"},
    )

    assert Concession.objects.count() == 1
    assert not Nudge.objects.exists()


def commitment_data(**fields) -> dict:
    return {
        "owner_side": "host",
        "owner_name": "Robin",
        "description": "Support the roll-out",
        "metric": "stores live",
        "target": "95%",
        "due_date": "2027-03-31",
        **fields,
    }


def test_an_unmeasurable_commitment_is_held_back_with_what_it_lacks(close, host):
    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host, "commitment.add", commitment_data(target="best efforts"))

    assert held.value.code == "pitfall"
    assert "no real target" in held.value.message
    assert not Commitment.objects.exists()

    actions.perform(
        host,
        "commitment.add",
        commitment_data(target="best efforts", confirm_pitfall="on"),
    )
    assert Commitment.objects.get().target == "best efforts"


def test_a_measurable_commitment_is_added_at_once(close, host):
    actions.perform(host, "commitment.add", commitment_data())

    assert Commitment.objects.get().is_measurable


def test_confirming_an_unmeasurable_commitment_takes_a_confirm_anyway_and_is_kept(
    close, host, guest_access
):
    commitment = add_commitment(host, target="TBD")
    data = {"commitment_id": commitment.pk, "version": 1, "confirm": "on"}

    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(guest_access, "commitment.confirm", data)

    assert held.value.code == "pitfall"
    assert Commitment.objects.get().counterpart_confirmed_at is None

    actions.perform(
        guest_access, "commitment.confirm", {**data, "confirm_pitfall": "on"}
    )
    assert Commitment.objects.get().counterpart_confirmed_at is not None
    kept = Nudge.objects.get(subject=f"confirmed:{commitment.pk}")
    assert (kept.party, kept.kind) == (guest_access.party, Nudge.Kind.VAGUE_COMMITMENT)
    assert kept.message.startswith("You confirmed it anyway.")


def test_confirming_a_measurable_commitment_asks_nothing_more(close, host):
    commitment = add_commitment(host)

    actions.perform(
        host,
        "commitment.confirm",
        {"commitment_id": commitment.pk, "version": 1, "confirm": "on"},
    )

    assert Commitment.objects.get().host_confirmed_at is not None
    assert not Nudge.objects.exists()


def test_the_warning_offers_send_it_anyway(deal, midgame, rep_client):
    response = rep_client.post(
        reverse("live:act", args=[deal.pk, "concession.add"]),
        {"item": "Onboarding", "we_give": "Two workshops", "we_get": "goodwill"},
    )

    page = response.content.decode()
    assert "Nothing comes back" in page
    assert 'name="confirm_pitfall" value="on"' in page
    assert "Send it anyway" in page
    assert not Concession.objects.exists()
