"""Close and Implementation: the term sheet, commitments, the agreement and
its check-ins.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import datetime

import pytest

from negotiation.access import (
    deal_access_for_user,
)
from negotiation.models import Deal, DealEvent
from negotiation.services.base import EditConflict
from room import actions, services
from room.models import (
    AgreementConfirmation,
    CheckIn,
    Commitment,
    Trade,
)
from tests.factories import make_deal
from tests.room.conftest import (
    add_commitment,
    at_stage,
    fresh,
    propose,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- Close: the term sheet -----------------------------------------------------


def test_a_term_is_set_then_edited_on_its_current_version_only(
    close, issues, host, guest_access, log
):
    price, _ = issues
    with log.refused(match="removed meanwhile"):
        services.term_set(access=host, issue_id=price.pk, version=3, value="100")
    with log.expect("term.updated"):
        entry = services.term_set(
            access=host, issue_id=price.pk, version=None, value=" 100 "
        )
    assert entry.value == "100"
    assert entry.version == 1

    with log.expect("term.updated"):
        services.term_set(access=guest_access, issue_id=price.pk, version=1, value="95")
    for stale in (1, None):
        with log.refused(EditConflict):
            services.term_set(
                access=host, issue_id=price.pk, version=stale, value="110"
            )

    entry.refresh_from_db()
    assert entry.value == "95"
    assert entry.version == 2
    assert entry.updated_by == guest_access.participant


def test_a_term_needs_a_value_and_an_issue_of_this_deal(close, issues, host, log):
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused() as refusal:
        services.term_set(access=host, issue_id=issues[0].pk, version=None, value=" ")
    assert "value" in refusal.value.message_dict
    with log.refused(match="not on this deal's agenda"):
        services.term_set(access=host, issue_id=foreign.pk, version=None, value="1")


# --- Close: commitments --------------------------------------------------------


def test_adding_a_commitment_binds_nobody_yet(close, guest_access, log):
    with log.expect("commitment.added"):
        commitment = add_commitment(guest_access, owner_side="counterpart")

    # Confirming is a binding act of its own, for each side.
    assert commitment.counterpart_confirmed_at is None
    assert commitment.host_confirmed_at is None
    assert not commitment.is_confirmed
    assert commitment.owner_party == guest_access.party


def test_confirming_a_commitment_confirms_the_confirming_side(
    close, host, guest_access, log
):
    commitment = add_commitment(host)

    with log.expect("commitment.confirmed"):
        services.commitment_confirm(
            access=guest_access, commitment_id=commitment.pk, version=1
        )

    commitment.refresh_from_db()
    assert commitment.counterpart_confirmed_at is not None
    assert commitment.host_confirmed_at is None
    assert not commitment.is_confirmed
    with log.expect("commitment.confirmed"):
        services.commitment_confirm(access=host, commitment_id=commitment.pk, version=1)
    assert fresh(commitment).is_confirmed
    with log.refused(EditConflict):
        services.commitment_confirm(access=host, commitment_id=commitment.pk, version=0)


def test_editing_a_commitment_withdraws_the_confirmations_it_had(
    close, host, guest_access, log
):
    commitment = add_commitment(host)
    for side in (host, guest_access):
        services.commitment_confirm(access=side, commitment_id=commitment.pk, version=1)
    assert fresh(commitment).is_confirmed

    with log.expect("commitment.updated"):
        services.commitment_update(
            access=guest_access,
            commitment_id=commitment.pk,
            version=1,
            target=" 90% ",
        )

    commitment.refresh_from_db()
    assert commitment.target == "90%"
    assert commitment.version == 2
    # Both sides confirmed the old wording: neither confirmation carries over.
    assert commitment.host_confirmed_at is None
    assert commitment.counterpart_confirmed_at is None
    assert not commitment.is_confirmed


def test_a_commitment_edit_is_refused_on_a_stale_version_or_unknown_field(
    close, host, log
):
    commitment = add_commitment(host)

    with log.refused(EditConflict):
        services.commitment_update(
            access=host, commitment_id=commitment.pk, version=5, target="1"
        )
    with log.refused(match="Unknown commitment fields"):
        services.commitment_update(
            access=host, commitment_id=commitment.pk, version=1, status="done"
        )

    assert fresh(commitment).version == 1


# --- Close: the agreement ------------------------------------------------------


def test_both_sides_confirming_the_same_agreement_agrees_the_deal(
    ready, deal, host, guest_access, log
):
    with log.expect("agreement.confirmed"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))
    assert fresh(deal).status == Deal.Status.OPEN

    with log.expect("agreement.confirmed"):
        services.agreement_confirm(
            access=guest_access, digest=services.agreement_digest(deal)
        )

    deal.refresh_from_db()
    assert deal.status == Deal.Status.AGREED
    assert deal.closed_at is not None
    assert AgreementConfirmation.objects.filter(deal=deal).count() == 2


def test_an_agreement_confirmed_on_a_stale_digest_is_refused(
    ready, deal, issues, host, guest_access, log
):
    shown = services.agreement_digest(deal)
    services.agreement_confirm(access=host, digest=shown)
    # The host side changes a term after confirming: the guest saw the old one.
    price = issues[0]
    services.term_set(access=host, issue_id=price.pk, version=1, value="97")

    with log.refused() as refusal:
        services.agreement_confirm(access=guest_access, digest=shown)

    assert refusal.value.code == "stale_version"
    assert fresh(deal).status == Deal.Status.OPEN
    # Confirming what stands now does not agree the deal either: the host
    # side's confirmation was of something else.
    services.agreement_confirm(
        access=guest_access, digest=services.agreement_digest(deal)
    )
    assert fresh(deal).status == Deal.Status.OPEN
    assert AgreementConfirmation.objects.get(party=guest_access.party)
    assert not AgreementConfirmation.objects.filter(party=host.party).exists()


def test_the_agreement_needs_every_term(close, issues, host, log):
    services.term_set(access=host, issue_id=issues[0].pk, version=None, value="95")

    with log.refused(match="Every issue needs an agreed value"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(close))


def test_the_agreement_needs_every_commitment_confirmed_by_both(ready, deal, host, log):
    add_commitment(host, description="Quarterly business review")

    with log.refused(match="Both sides must confirm every commitment"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))


def test_the_agreement_is_confirmed_in_close_only(ready, deal, host, log):
    at_stage(deal, Stage.MIDGAME)

    with log.refused() as refusal:
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))

    assert refusal.value.code == "wrong_stage"


def test_after_the_agreement_its_terms_are_locked(
    agreed, issues, host, guest_access, log
):
    price, terms = issues
    at_stage(agreed, Stage.MIDGAME)

    with log.refused(match="terms are locked"):
        propose(host, price, "-1%", terms, "29 days")
    with log.refused(match="terms are locked"):
        services.term_set(access=guest_access, issue_id=price.pk, version=1, value="1")
    with log.refused(match="terms are locked"):
        add_commitment(guest_access)

    assert not Trade.objects.exists()


def test_after_the_agreement_check_ins_track_the_commitments(
    agreed, ready, host, guest_access, log
):
    change = services.stage_change_propose(access=host, to_stage=Stage.IMPLEMENTATION)
    services.stage_change_respond(access=guest_access, change_id=change.pk, accept=True)

    with log.expect("checkin.added"):
        check_in = services.check_in_add(
            access=guest_access,
            held_on=datetime.date(2026, 1, 15),
            notes=" 40 of 60 stores live ",
            statuses={ready.pk: Commitment.Status.AT_RISK},
        )
    with log.expect("message.posted"):
        services.message_post(access=host, body="We will add a second installer.")

    assert fresh(ready).status == Commitment.Status.AT_RISK
    assert check_in.notes == "40 of 60 stores live"
    assert [(i.commitment_id, i.status) for i in check_in.items.all()] == [
        (ready.pk, Commitment.Status.AT_RISK)
    ]
    assert fresh(agreed).status == Deal.Status.AGREED


@pytest.mark.parametrize("statuses", ["foreign commitment", "unknown status"])
def test_a_check_in_covers_this_deals_commitments_with_known_statuses(
    agreed, ready, host, log, statuses
):
    at_stage(agreed, Stage.IMPLEMENTATION)
    other = at_stage(make_deal(title="Other"), Stage.CLOSE)
    foreign = add_commitment(deal_access_for_user(other.owner, other.pk))
    statuses = {
        "foreign commitment": {foreign.pk: Commitment.Status.DONE},
        "unknown status": {ready.pk: "finished"},
    }[statuses]

    with log.refused():
        services.check_in_add(
            access=host, held_on=datetime.date(2026, 1, 15), notes="", statuses=statuses
        )

    assert not CheckIn.objects.exists()
    assert fresh(ready).status == Commitment.Status.PLANNED
    assert fresh(foreign).status == Commitment.Status.PLANNED


def test_check_ins_happen_in_implementation_only(close, host, log):
    with log.refused() as refusal:
        services.check_in_add(
            access=host, held_on=datetime.date(2026, 1, 15), notes="", statuses={}
        )

    assert refusal.value.code == "wrong_stage"


# --- editing and removing commitments from the room -------------------------------


def test_a_vague_commitment_is_made_measurable_from_the_room(
    close, host, guest_access, log
):
    commitment = add_commitment(
        host, description="We will do our best", metric="", target="", due_date=None
    )
    services.commitment_confirm(
        access=guest_access, commitment_id=commitment.pk, version=commitment.version
    )

    with log.expect("commitment.updated"):
        actions.perform(
            host,
            "commitment.update",
            {
                "commitment_id": commitment.pk,
                "version": commitment.version,
                "owner_name": "Robin",
                "description": "Onboard every store",
                "metric": "stores onboarded",
                "target": "40",
                "due_date": "2027-03-31",
                "contingency": "",
            },
        )

    commitment = fresh(commitment)
    assert commitment.is_measurable
    assert commitment.description == "Onboard every store"
    # The other side confirmed the old wording: not the new one.
    assert commitment.counterpart_confirmed_at is None


def test_a_commitment_is_removed_until_both_sides_confirmed_it(
    deal, close, host, guest_access, log
):
    commitment = add_commitment(host, description="We will do our best")
    services.commitment_confirm(
        access=host, commitment_id=commitment.pk, version=commitment.version
    )

    with log.expect("commitment.removed"):
        actions.perform(
            guest_access,
            "commitment.remove",
            {"commitment_id": commitment.pk, "version": commitment.version},
        )

    assert not Commitment.objects.filter(pk=commitment.pk).exists()
    assert DealEvent.objects.filter(deal=deal).latest("seq").payload["text"] == (
        "We will do our best"
    )


def test_a_commitment_both_sides_confirmed_is_not_removed(
    close, host, guest_access, log
):
    commitment = add_commitment(host)
    for side in (host, guest_access):
        services.commitment_confirm(
            access=side, commitment_id=commitment.pk, version=commitment.version
        )

    with log.refused(match="edit it instead"):
        services.commitment_remove(
            access=host, commitment_id=commitment.pk, version=commitment.version
        )

    assert Commitment.objects.filter(pk=commitment.pk).exists()


def test_removing_a_commitment_names_its_current_version(close, host, log):
    commitment = add_commitment(host)

    with log.refused(EditConflict):
        services.commitment_remove(access=host, commitment_id=commitment.pk, version=9)
