"""Midgame: MESO sets, ranked or picked by the other side.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from negotiation.models import Deal
from negotiation.services import deals as deal_services
from negotiation.services.base import EditConflict
from room import actions, services
from room.models import (
    MesoSet,
    TermSheetEntry,
)
from tests.room.conftest import (
    fresh,
    packages_for,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- Midgame: MESO packages ----------------------------------------------------


def test_three_equivalent_packages_are_presented_at_once(midgame, issues, host, log):
    with log.expect("meso.presented"):
        meso = services.meso_present(
            access=host, packages=packages_for(*issues), note=" All equal to us "
        )

    assert meso.note == "All equal to us"
    assert [p.name for p in meso.packages.order_by("pk")] == ["Fast", "Cheap", "Middle"]
    assert {p.party_id for p in meso.packages.all()} == {host.party.pk}


@pytest.mark.parametrize(
    "change",
    ["same names", "blank name", "value missing", "foreign issue", "none", "six"],
)
def test_a_meso_set_is_one_to_five_named_packages_valuing_every_issue(
    midgame, issues, host, log, change
):
    price, terms = issues
    packages = packages_for(price, terms)
    if change == "same names":
        packages[2]["name"] = "Fast"
    elif change == "blank name":
        packages[1]["name"] = "  "
    elif change == "value missing":
        packages[0]["values"][str(terms.pk)] = "  "
    elif change == "foreign issue":
        packages[0]["values"]["999999"] = "yes"
    elif change == "none":
        packages = []
    elif change == "six":
        packages = [
            {"name": f"P{n}", "values": {str(price.pk): "1", str(terms.pk): "1"}}
            for n in range(6)
        ]

    with log.refused():
        services.meso_present(access=host, packages=packages)

    assert not MesoSet.objects.exists()


def test_the_other_side_ranks_the_packages(meso, guest_access, log):
    fast, cheap, _ = meso.packages.order_by("pk")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access,
            meso_id=meso.pk,
            version=meso.version,
            preference=[cheap.pk, fast.pk],
        )

    meso.refresh_from_db()
    assert meso.preference == [cheap.pk, fast.pk]
    assert meso.status == MesoSet.Status.ANSWERED
    assert meso.picked is None
    assert meso.answered_by == guest_access.participant
    assert not TermSheetEntry.objects.exists()


def test_picking_a_package_puts_every_value_on_the_term_sheet(
    meso, issues, guest_access, log
):
    price, terms = issues
    cheap = meso.packages.get(name="Cheap")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=cheap.pk
        )

    assert fresh(meso).picked == cheap
    assert {t.issue_id: t.value for t in TermSheetEntry.objects.all()} == {
        price.pk: "90",
        terms.pk: "60 days",
    }


def test_picking_a_package_that_predates_a_new_issue_leaves_that_issue_open(
    meso, issues, host, guest_access, log
):
    """The host side may add an issue after presenting: the pick sets the terms
    the package holds, and the new issue stays open (nothing crashes)."""
    price, terms = issues
    warranty = deal_services.issue_add(access=host, name="Warranty")
    cheap = meso.packages.get(name="Cheap")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=cheap.pk
        )

    terms_set = {t.issue_id: t.value for t in TermSheetEntry.objects.all()}
    assert terms_set == {price.pk: "90", terms.pk: "60 days"}
    assert warranty.pk not in terms_set


@pytest.mark.parametrize(
    "answer", ["foreign package", "twice the same", "foreign pick", "nothing"]
)
def test_an_answer_ranks_or_picks_this_sets_packages_only(
    meso, midgame, issues, host, guest_access, log, answer
):
    fast = meso.packages.order_by("pk").first()
    other = services.meso_present(access=host, packages=packages_for(*issues))
    stranger = other.packages.first()
    kwargs = {
        "foreign package": {"preference": [fast.pk, stranger.pk]},
        "twice the same": {"preference": [fast.pk, fast.pk]},
        "foreign pick": {"picked_id": stranger.pk},
        "nothing": {"preference": []},
    }[answer]

    with log.refused():
        services.meso_respond(access=guest_access, meso_id=meso.pk, version=1, **kwargs)

    assert fresh(meso).status == MesoSet.Status.PRESENTED
    assert not TermSheetEntry.objects.exists()


def test_a_meso_answer_names_the_version_it_was_made_on(meso, guest_access, log):
    fast = meso.packages.first()
    services.meso_respond(
        access=guest_access, meso_id=meso.pk, version=1, preference=[fast.pk]
    )

    with log.refused(EditConflict):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=fast.pk
        )

    assert fresh(meso).picked is None
    assert not TermSheetEntry.objects.exists()


def test_a_side_cannot_answer_its_own_packages(meso, host, log):
    with log.refused(PermissionDenied):
        services.meso_respond(
            access=host,
            meso_id=meso.pk,
            version=1,
            picked_id=meso.packages.first().pk,
        )


def test_a_single_counter_package_answers_one_of_the_other_sides(
    meso, issues, host, guest_access, log
):
    price, terms = issues
    fast = meso.packages.get(name="Fast")
    values = {str(price.pk): "100", str(terms.pk): "30 days"}
    counter = [{"name": "Fast, later", "values": values}]

    with log.refused(match="only counter the other side's package"):
        services.meso_present(access=host, packages=counter, counter_of_id=fast.pk)
    with log.expect("meso.presented"):
        answer = services.meso_present(
            access=guest_access, packages=counter, counter_of_id=fast.pk
        )

    assert answer.packages.get().counter_of == fast


# --- a pick that would change terms already on the sheet ---------------------------


def pick_data(meso: MesoSet, package, **extra) -> dict:
    return {
        "meso_id": meso.pk,
        "version": meso.version,
        "picked_id": package.pk,
        "confirm": "on",
        **extra,
    }


def test_a_pick_that_changes_an_agreed_term_asks_first_and_changes_nothing(
    meso, issues, host, guest_access
):
    """The price was settled at 95 by a trade; the "Cheap" package says 90."""
    price, _ = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    cheap = meso.packages.get(name="Cheap")

    with pytest.raises(actions.ActionRefused) as asked:
        actions.perform(guest_access, "meso.respond", pick_data(meso, cheap))

    assert asked.value.code == "changes_agreed"
    assert "Price from “95” to “90”" in asked.value.message
    assert TermSheetEntry.objects.get(issue=price).value == "95"
    assert fresh(meso).picked is None
    assert fresh(meso).status == MesoSet.Status.PRESENTED


def test_a_pick_confirmed_over_an_agreed_term_replaces_it(
    meso, issues, host, guest_access
):
    price, _ = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    cheap = meso.packages.get(name="Cheap")

    actions.perform(
        guest_access,
        "meso.respond",
        pick_data(meso, cheap, confirm_overwrite="on"),
    )

    assert TermSheetEntry.objects.get(issue=price).value == "90"
    assert fresh(meso).picked == cheap


def test_a_pick_that_keeps_or_only_adds_terms_is_not_asked(
    meso, issues, host, guest_access
):
    """The sheet holds the package's own price: nothing it holds changes."""
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="90")
    cheap = meso.packages.get(name="Cheap")

    actions.perform(guest_access, "meso.respond", pick_data(meso, cheap))

    assert TermSheetEntry.objects.get(issue=terms).value == "60 days"
