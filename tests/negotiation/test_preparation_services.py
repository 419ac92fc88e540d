"""Writes to a side's private preparation: versions, conflicts, and who may write."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from negotiation.models import (
    AnchorEntry,
    Deal,
    EvidenceItem,
    Preparation,
    PriorityEntry,
)
from negotiation.services.base import EditConflict
from negotiation.services.preparation import (
    anchor_set,
    culture_set,
    evidence_add,
    evidence_remove,
    preparation_update,
    priority_set,
)

pytestmark = pytest.mark.django_db


def host_prep(deal: Deal) -> Preparation:
    return Preparation.objects.get(party__deal=deal, party__side="host")


# --- preparation_update -------------------------------------------------------


def test_preparation_update_saves_the_section_and_bumps_the_version(deal, host_access):
    saved = preparation_update(
        access=host_access,
        section="walkaway",
        version=1,
        batna="Renew with Globex",
        reservation_value=Decimal("92000"),
    )

    assert saved.version == 2
    prep = host_prep(deal)
    assert (prep.batna, prep.reservation_value, prep.version) == (
        "Renew with Globex",
        Decimal("92000"),
        2,
    )
    assert prep.readiness_reviewed_at is None


def test_saving_the_readiness_check_records_that_it_was_reviewed(deal, host_access):
    preparation_update(
        access=host_access, section="readiness", version=1, crisis_deadline=True
    )

    prep = host_prep(deal)
    assert prep.crisis_deadline
    assert prep.readiness_reviewed_at is not None


def test_a_stale_preparation_edit_raises_a_conflict_and_writes_nothing(
    deal, host_access
):
    preparation_update(access=host_access, section="walkaway", version=1, batna="A")

    with pytest.raises(EditConflict) as raised:
        preparation_update(access=host_access, section="walkaway", version=1, batna="B")

    assert raised.value.current.batna == "A"
    assert raised.value.current.version == 2
    prep = host_prep(deal)
    assert (prep.batna, prep.version) == ("A", 2)


def test_a_section_cannot_write_fields_of_another_section(deal, host_access):
    with pytest.raises(ValidationError):
        preparation_update(
            access=host_access, section="counterparty", version=1, batna="Sneaky"
        )
    with pytest.raises(ValidationError):
        preparation_update(access=host_access, section="secrets", version=1)
    assert host_prep(deal).batna == ""


def test_private_edits_write_no_event_and_broadcast_nothing(
    deal, host_access, django_capture_on_commit_callbacks
):
    last_seq = Deal.objects.get(pk=deal.pk).last_seq
    issue = deal.issues.first()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        preparation_update(
            access=host_access, section="walkaway", version=1, batna="Private"
        )
        priority_set(access=host_access, issue_id=issue.pk, version=None, importance=3)
        anchor_set(access=host_access, issue_id=issue.pk, version=None, low=1, high=2)
        evidence_add(access=host_access, kind="roi", title="Private ROI")

    assert callbacks == []
    assert Deal.objects.get(pk=deal.pk).last_seq == last_seq


# --- who may write ------------------------------------------------------------


def test_a_manager_reviewing_the_deal_cannot_write_anything(deal, manager_access):
    issue = deal.issues.first()
    attempts = [
        lambda: preparation_update(
            access=manager_access, section="walkaway", version=1, batna="No"
        ),
        lambda: priority_set(
            access=manager_access, issue_id=issue.pk, version=None, importance=3
        ),
        lambda: anchor_set(access=manager_access, issue_id=issue.pk, version=None),
        lambda: evidence_add(access=manager_access, kind="case", title="No"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()

    assert host_prep(deal).version == 1
    assert not PriorityEntry.objects.exists()
    assert not AnchorEntry.objects.exists()
    assert not EvidenceItem.objects.exists()


def test_a_manager_cannot_remove_evidence(deal, host_access, manager_access):
    item = evidence_add(access=host_access, kind="case", title="Keep me")

    with pytest.raises(PermissionDenied):
        evidence_remove(access=manager_access, evidence_id=item.pk)

    assert EvidenceItem.objects.filter(pk=item.pk).exists()


def test_nobody_writes_the_preparation_of_a_closed_deal(deal, closed_deal_access):
    with pytest.raises(PermissionDenied):
        preparation_update(
            access=closed_deal_access, section="walkaway", version=1, batna="Late"
        )
    assert host_prep(deal).batna == ""


# --- priority_set -------------------------------------------------------------


def test_priority_set_creates_then_updates_with_a_version_bump(deal, host_access):
    issue = deal.issues.first()

    created = priority_set(
        access=host_access, issue_id=issue.pk, version=None, importance=5
    )
    assert created.version == 1

    updated = priority_set(
        access=host_access,
        issue_id=issue.pk,
        version=1,
        importance=3,
        can_give="Longer term",
    )

    assert updated.pk == created.pk
    assert (updated.importance, updated.can_give, updated.version) == (
        3,
        "Longer term",
        2,
    )
    assert PriorityEntry.objects.count() == 1


def test_a_priority_row_created_meanwhile_is_a_conflict(deal, host_access):
    issue = deal.issues.first()
    priority_set(access=host_access, issue_id=issue.pk, version=None, importance=2)

    with pytest.raises(EditConflict) as raised:
        priority_set(access=host_access, issue_id=issue.pk, version=None, importance=5)

    assert raised.value.current.importance == 2
    assert PriorityEntry.objects.get().importance == 2


def test_a_stale_priority_edit_is_a_conflict(deal, host_access):
    issue = deal.issues.first()
    priority_set(access=host_access, issue_id=issue.pk, version=None, importance=2)
    priority_set(access=host_access, issue_id=issue.pk, version=1, importance=3)

    with pytest.raises(EditConflict):
        priority_set(access=host_access, issue_id=issue.pk, version=1, importance=5)

    entry = PriorityEntry.objects.get()
    assert (entry.importance, entry.version) == (3, 2)


@pytest.mark.parametrize("importance", [0, 6, 9])
def test_an_importance_outside_the_scale_is_refused(deal, host_access, importance):
    issue = deal.issues.first()

    with pytest.raises(ValidationError):
        priority_set(
            access=host_access, issue_id=issue.pk, version=None, importance=importance
        )

    assert not PriorityEntry.objects.exists()


def test_an_issue_of_another_deal_is_refused(deal, host_access, other_deal):
    foreign_issue = other_deal.issues.get()

    with pytest.raises(ValidationError):
        priority_set(
            access=host_access, issue_id=foreign_issue.pk, version=None, importance=3
        )
    with pytest.raises(ValidationError):
        anchor_set(access=host_access, issue_id=foreign_issue.pk, version=None, low=1)

    assert not PriorityEntry.objects.exists()
    assert not AnchorEntry.objects.exists()


# --- anchor_set ---------------------------------------------------------------


def test_anchor_set_creates_then_updates_with_a_version_bump(deal, host_access):
    issue = deal.issues.first()

    created = anchor_set(
        access=host_access,
        issue_id=issue.pk,
        version=None,
        low=Decimal("98000"),
        high=Decimal("115000"),
        benchmark="Median of three peers",
    )
    updated = anchor_set(
        access=host_access,
        issue_id=issue.pk,
        version=created.version,
        low=Decimal("99000"),
        high=Decimal("115000"),
    )

    assert updated.pk == created.pk
    assert (updated.low, updated.version, updated.benchmark) == (
        Decimal("99000"),
        2,
        "",
    )


def test_an_anchor_with_low_above_high_is_refused(deal, host_access):
    issue = deal.issues.first()

    with pytest.raises(ValidationError):
        anchor_set(
            access=host_access,
            issue_id=issue.pk,
            version=None,
            low=Decimal("2"),
            high=Decimal("1"),
        )

    assert not AnchorEntry.objects.exists()


def test_a_stale_anchor_edit_is_a_conflict(deal, host_access):
    issue = deal.issues.first()
    anchor_set(access=host_access, issue_id=issue.pk, version=None, low=1, high=5)
    anchor_set(access=host_access, issue_id=issue.pk, version=1, low=2, high=5)

    with pytest.raises(EditConflict) as raised:
        anchor_set(access=host_access, issue_id=issue.pk, version=1, low=3, high=5)

    assert raised.value.current.low == 2
    assert AnchorEntry.objects.get().low == 2


# --- the reading of their culture: the counterparty map and the room ---------


@pytest.mark.parametrize("section", ["counterparty", "culture"])
def test_an_unknown_culture_reading_is_refused_by_either_path(
    deal, host_access, section
):
    with pytest.raises(ValidationError) as refused:
        preparation_update(
            access=host_access,
            section=section,
            version=1,
            their_style="loud",
            their_decisions="anarchy",
        )

    assert refused.value.message_dict == {
        "their_style": ["Choose direct or high-context, or leave it open."],
        "their_decisions": [
            "Choose hierarchical, by consensus or one person, or leave it open."
        ],
    }
    prep = host_prep(deal)
    assert (prep.version, prep.their_style, prep.their_decisions) == (1, "", "")


def test_a_changed_reading_refreshes_only_the_own_sides_coach(
    deal, host_access, django_capture_on_commit_callbacks, monkeypatch
):
    from negotiation.services import preparation

    sent = []
    monkeypatch.setattr(
        preparation, "broadcast", lambda deal_id, message: sent.append(message)
    )
    with django_capture_on_commit_callbacks(execute=True):
        preparation_update(
            access=host_access,
            section="counterparty",
            version=1,
            their_constraints="Budget frozen",
            their_style="direct",
        )
        # The same reading again, or the map's text alone: nothing to refresh.
        preparation_update(
            access=host_access,
            section="counterparty",
            version=2,
            their_constraints="Budget frozen until Q3",
            their_style="direct",
        )
        culture_set(access=host_access, version=3, their_style="direct")
        culture_set(access=host_access, version=4, their_decisions="consensus")

    assert sent == [
        {"type": "coach.changed", "side": "host"},
        {"type": "coach.changed", "side": "host"},
    ]
    prep = host_prep(deal)
    assert (prep.their_style, prep.their_decisions) == ("", "consensus")
    assert prep.their_constraints == "Budget frozen until Q3"


# --- the copy of the opening ranges the over-sharing guard reads ---------------


def anchor_ranges(deal: Deal, side: str = "host") -> list[list[str]]:
    return Preparation.objects.get(party__deal=deal, party__side=side).anchor_ranges


def test_the_preparation_keeps_a_copy_of_the_opening_ranges(deal, host_access):
    price, terms = deal.issues.order_by("position")
    anchor_set(
        access=host_access,
        issue_id=price.pk,
        version=None,
        low=Decimal("120000"),
        high=Decimal("130000"),
        benchmark="Peers pay 125k",
    )
    # Only an opening with both ends is a range.
    anchor_set(access=host_access, issue_id=terms.pk, version=None, high=Decimal("45"))
    assert anchor_ranges(deal) == [["Price", "120000.00", "130000.00"]]

    anchor_set(
        access=host_access,
        issue_id=price.pk,
        version=1,
        low=Decimal("118000"),
        high=Decimal("128000"),
    )
    assert anchor_ranges(deal) == [["Price", "118000.00", "128000.00"]]

    # Clearing the ends takes the range off the copy.
    anchor_set(access=host_access, issue_id=price.pk, version=2)
    assert anchor_ranges(deal) == []


def test_a_refused_anchor_edit_leaves_the_copy_as_it_was(deal, host_access):
    price = deal.issues.get(name="Price")
    anchor_set(access=host_access, issue_id=price.pk, version=None, low=1, high=5)

    with pytest.raises(EditConflict):
        anchor_set(access=host_access, issue_id=price.pk, version=7, low=2, high=9)
    with pytest.raises(ValidationError):
        anchor_set(access=host_access, issue_id=price.pk, version=1, low=9, high=2)

    assert anchor_ranges(deal) == [["Price", "1.00", "5.00"]]


def test_renaming_or_removing_an_issue_updates_both_sides_copies(deal, host_access):
    from negotiation.services.deals import issue_remove, issue_update

    price = deal.issues.get(name="Price")
    anchor_set(access=host_access, issue_id=price.pk, version=None, low=1, high=5)
    # The counterpart's own worksheet, as its guest would have saved it.
    AnchorEntry.objects.create(
        party=deal.parties.get(side="counterpart"), issue=price, low=3, high=4
    )

    issue_update(access=host_access, issue_id=price.pk, version=1, name="Licence fee")
    assert anchor_ranges(deal) == [["Licence fee", "1.00", "5.00"]]
    assert anchor_ranges(deal, "counterpart") == [["Licence fee", "3.00", "4.00"]]

    issue_remove(access=host_access, issue_id=price.pk, version=2)
    assert anchor_ranges(deal) == []
    assert anchor_ranges(deal, "counterpart") == []


def test_the_migration_fills_the_copy_from_existing_worksheets(deal):
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "negotiation.migrations.0013_preparation_anchor_ranges"
    )
    price, terms = deal.issues.order_by("position")
    host = deal.parties.get(side="host")
    AnchorEntry.objects.create(party=host, issue=terms, low=30, high=45)
    AnchorEntry.objects.create(party=host, issue=price, low=120000, high=130000)
    AnchorEntry.objects.create(
        party=deal.parties.get(side="counterpart"), issue=price, high=99000
    )

    migration.copy_anchor_ranges(apps, None)

    assert anchor_ranges(deal) == [
        ["Price", "120000.00", "130000.00"],
        ["Payment terms", "30.00", "45.00"],
    ]
    assert anchor_ranges(deal, "counterpart") == []


# --- evidence -----------------------------------------------------------------


def test_evidence_is_added_to_and_removed_from_the_own_side(deal, host_access):
    item = evidence_add(
        access=host_access,
        kind=EvidenceItem.Kind.BENCHMARK,
        title="Industry median",
        url="https://example.com/median",
    )

    assert item.party == host_access.host_party
    evidence_remove(access=host_access, evidence_id=item.pk)
    assert not EvidenceItem.objects.exists()


def test_evidence_with_a_bad_link_is_refused(deal, host_access):
    with pytest.raises(ValidationError):
        evidence_add(access=host_access, kind="case", title="X", url="not a url")
    assert not EvidenceItem.objects.exists()


def test_the_other_sides_evidence_cannot_be_removed(
    deal, host_access, counterpart_secrets
):
    theirs = EvidenceItem.objects.get(party__side="counterpart")

    with pytest.raises(ValidationError):
        evidence_remove(access=host_access, evidence_id=theirs.pk)

    assert EvidenceItem.objects.filter(pk=theirs.pk).exists()
