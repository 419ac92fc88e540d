"""First Move: what a side shares of its interests, ranking and matrix.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest

from negotiation.models import Deal, DealEvent
from negotiation.services.base import EditConflict
from room import services
from room.models import (
    SharedPosition,
)
from tests.factories import make_deal
from tests.room.conftest import (
    fresh,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- First Move: shared positions ----------------------------------------------


def test_a_side_shares_its_interests_ranking_and_chosen_matrix_columns(
    first_move, issues, guest_access, log
):
    price, terms = issues

    with log.expect("position.updated"):
        position = services.position_update(
            access=guest_access,
            version=None,
            interests=" Cash flow in Q4 ",
            ranking=[terms.pk, price.pk],
            shared_matrix={str(price.pk): ["want_get", "can_give"]},
        )

    position.refresh_from_db()
    assert position.party == guest_access.party
    assert position.interests == "Cash flow in Q4"
    assert position.ranking == [terms.pk, price.pk]
    assert position.shared_matrix == {str(price.pk): ["can_give", "want_get"]}
    assert DealEvent.objects.filter(deal=first_move).last().payload == {
        "party": "counterpart"
    }


def test_a_position_update_names_the_version_it_was_made_on(
    first_move, issues, host, log
):
    price, _ = issues
    position = services.position_update(
        access=host, version=None, interests="v1", ranking=[price.pk]
    )

    with log.expect("position.updated"):
        services.position_update(
            access=host, version=position.version, interests="v2", ranking=[]
        )
    with log.refused(EditConflict):
        services.position_update(
            access=host, version=position.version, interests="v3", ranking=[]
        )

    assert fresh(position).interests == "v2"


@pytest.mark.parametrize("ranking", ["duplicate", "foreign", "not an id"])
def test_the_ranking_holds_this_deals_issues_at_most_once(
    first_move, issues, host, log, ranking
):
    price, terms = issues
    foreign = make_deal(title="Other").issues.create(name="Volume")
    ranking = {
        "duplicate": [price.pk, terms.pk, price.pk],
        "foreign": [price.pk, foreign.pk],
        "not an id": [price.pk, "terms"],
    }[ranking]

    with log.refused() as refusal:
        services.position_update(
            access=host, version=None, interests="", ranking=ranking
        )

    assert "ranking" in refusal.value.message_dict
    assert not SharedPosition.objects.exists()


@pytest.mark.parametrize(
    "column", ["importance", "batna", "reservation_point", "reservation_value"]
)
def test_only_what_a_side_can_give_wants_and_would_ideally_get_can_be_shared(
    first_move, issues, host, log, column
):
    price, _ = issues
    position = services.position_update(
        access=host,
        version=None,
        interests="Shared",
        ranking=[price.pk],
        shared_matrix={str(price.pk): ["can_give"]},
    )

    with log.refused(match="Walk-away points never leave your side"):
        services.position_update(
            access=host,
            version=position.version,
            interests="Changed",
            ranking=[price.pk],
            shared_matrix={str(price.pk): ["can_give", column]},
        )

    position.refresh_from_db()
    assert position.interests == "Shared"
    assert position.shared_matrix == {str(price.pk): ["can_give"]}


def test_a_matrix_row_of_another_deals_issue_cannot_be_shared(first_move, host, log):
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused(match="not on this deal's agenda"):
        services.position_update(
            access=host,
            version=None,
            interests="",
            ranking=[],
            shared_matrix={str(foreign.pk): ["can_give"]},
        )


def test_positions_are_shared_in_first_move_and_midgame_only(deal, issues, host, log):
    with log.refused() as refusal:
        services.position_update(access=host, version=None, interests="", ranking=[])

    assert refusal.value.code == "wrong_stage"
