"""The over-sharing guard runs in the action's transaction: a refused action
leaves nothing behind, its warning included; a confirmed one commits with the
warning recorded for the review."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiation.models import Deal, DealEvent, Party, Preparation, PriorityEntry
from room import actions
from room.models import Message, Nudge, SharedPosition, Trade
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db

FIGURE_TEXT = "Between us: we can go down to 186,500."


@pytest.fixture
def host_walk_away(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.reservation_value = Decimal("186500")
    prep.save()
    return prep


def test_a_held_message_leaves_no_message_no_event_and_no_warning(
    deal, host_access, host_walk_away
):
    events = DealEvent.objects.filter(deal=deal).count()

    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host_access, "message.post", {"body": FIGURE_TEXT})

    assert held.value.code == "over_sharing"
    assert not Message.objects.exists()
    assert DealEvent.objects.filter(deal=deal).count() == events
    assert not Nudge.objects.exists()


def test_a_confirmed_message_is_sent_with_its_warning_recorded(
    deal, host_access, host_walk_away
):
    actions.perform(
        host_access, "message.post", {"body": FIGURE_TEXT, "confirm_share": "on"}
    )

    message = Message.objects.get()
    nudge = Nudge.objects.get()
    assert nudge.party == host_access.party
    assert nudge.kind == Nudge.Kind.OVER_SHARING
    assert "chose to send it anyway" in nudge.message
    assert DealEvent.objects.filter(deal=deal, kind="message.posted").count() == 1
    assert message.body == FIGURE_TEXT


def test_a_confirmed_share_that_the_service_refuses_records_no_warning(
    deal, host_access, host_walk_away
):
    """Confirmed, but trades belong to Midgame: the refusal takes the warning
    with it (they commit together, or not at all)."""
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, terms = deal.issues.order_by("position")

    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host_access,
            "trade.propose",
            {
                "give_issue_id": price.pk,
                "give_value": "186500",
                "ask_issue_id": terms.pk,
                "ask_value": "60 days",
                "confirm_share": "on",
            },
        )

    assert refused.value.code == "wrong_stage"
    assert not Trade.objects.exists()
    assert not Nudge.objects.exists()


def test_an_action_with_no_text_reads_no_preparation(
    deal, host_access, guest_access, host_walk_away
):
    """Withdrawing a trade shares no text: the guard has nothing to check and
    does not read the side's walk-away point. (A binding step does read it,
    for the side's own limits: tests/room/test_limits.py.)"""
    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.order_by("position")
    trade = actions.perform(
        host_access,
        "trade.propose",
        {
            "give_issue_id": price.pk,
            "give_value": "30 days sooner",
            "ask_issue_id": terms.pk,
            "ask_value": "5% more volume",
        },
    )

    with CaptureQueriesContext(connection) as queries:
        actions.perform(
            host_access,
            "trade.withdraw",
            {"trade_id": trade.pk, "version": trade.version},
        )

    trade.refresh_from_db()
    assert trade.status == Trade.Status.WITHDRAWN
    assert not [q for q in queries if "negotiation_preparation" in q["sql"]]


# --- figures however written, sensitive figures, shared matrix cells ------------------


@pytest.fixture
def walk_away_104k(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.reservation_value = Decimal("104000")
    prep.sensitive_figures = "Unit cost: 61.40\nBudget ceiling: €250k"
    prep.save()
    return prep


@pytest.mark.parametrize(
    "text",
    [
        "We could do 104000.00 in the end.",
        "€104k is where we'd land",
        "Maybe 104,000?",
        "104.000 would work",
        "about 104 thousand",
        "EUR 104 000, final",
    ],
)
def test_the_walk_away_figure_is_caught_however_it_is_written(
    deal, host_access, walk_away_104k, text
):
    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host_access, "message.post", {"body": text})

    assert held.value.code == "over_sharing"
    assert "walk-away figure" in held.value.message


@pytest.mark.parametrize(
    "text",
    [
        "We could do 104,500 in the end.",  # a different figure
        "Our list price is 140k.",
        "We need 104 more stores.",  # small numbers are said all the time
        "Delivery in 10 days, 4 sites.",
    ],
)
def test_figures_that_only_look_like_the_walk_away_are_sent(
    deal, host_access, walk_away_104k, text
):
    actions.perform(host_access, "message.post", {"body": text})

    assert Message.objects.get().body == text


@pytest.mark.parametrize("text", ["Our cost is 61.40 a unit.", "Budget: 250,000"])
def test_a_figure_marked_sensitive_is_held_back_naming_its_line(
    deal, host_access, walk_away_104k, text
):
    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host_access, "message.post", {"body": text})

    assert "marked sensitive" in held.value.message
    assert not Message.objects.exists()


def share_cell(access, issue, column: str, **extra):
    return actions.perform(
        access,
        "position.update",
        {"interests": "", "ranking": [], "share": [f"{issue.pk}:{column}"], **extra},
    )


def test_ticking_a_matrix_cell_that_holds_the_walk_away_is_held_back(
    deal, host_access, walk_away_104k
):
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, _ = deal.issues.order_by("position")
    PriorityEntry.objects.create(
        party=host_access.party, issue=price, importance=5, can_give="down to €104k"
    )

    with pytest.raises(actions.ActionRefused) as held:
        share_cell(host_access, price, "can_give")

    assert held.value.code == "over_sharing"
    assert not SharedPosition.objects.filter(party=host_access.party).exists()

    share_cell(host_access, price, "can_give", confirm_share="on")
    shared = SharedPosition.objects.get(party=host_access.party).shared_matrix
    assert shared == {str(price.pk): ["can_give"]}
    # Shared and confirmed: updating the position later asks no more.
    position = SharedPosition.objects.get(party=host_access.party)
    share_cell(host_access, price, "can_give", version=position.version)


def test_ticking_a_harmless_matrix_cell_is_not_held_back(
    deal, host_access, walk_away_104k
):
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, _ = deal.issues.order_by("position")
    PriorityEntry.objects.create(
        party=host_access.party, issue=price, importance=5, can_give="Longer terms"
    )

    share_cell(host_access, price, "can_give")

    assert SharedPosition.objects.filter(party=host_access.party).exists()


# --- paraphrase of the private wording ------------------------------------------------


@pytest.fixture
def private_words(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.batna = "Extend the Globex pilot by one quarter."
    prep.target_outcome = "Three-year contract with quarterly price reviews."
    prep.their_pressures = "Their CFO freezes spending in December."
    prep.save()
    return prep


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Honestly we might just extend our pilot with Globex for a quarter.", "BATNA"),
        ("We aim for a three-year contract, reviewing price quarterly.", "target"),
        ("We know your CFO freezes all spending come December.", "their side"),
    ],
)
def test_a_paraphrase_of_private_wording_is_held_back(
    deal, host_access, private_words, text, source
):
    with pytest.raises(actions.ActionRefused) as held:
        actions.perform(host_access, "message.post", {"body": text})

    assert "in other words" in held.value.message
    assert source in held.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Our pilot went well this quarter.",  # two of the BATNA's four words
        "What would a longer contract mean for you?",
        "When does your budget year end?",
    ],
)
def test_text_sharing_a_few_words_is_not_a_paraphrase(
    deal, host_access, private_words, text
):
    actions.perform(host_access, "message.post", {"body": text})

    assert Message.objects.get().body == text


# --- editing a matrix cell that the side shares ---------------------------------------


def edit_cell(client, deal, issue, entry, **extra):
    return client.post(
        reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
        {
            "version": entry.version,
            "importance": entry.importance,
            "can_give": "We can go down to €104k",
            **extra,
        },
    )


@pytest.fixture
def shared_row(deal, host_access, walk_away_104k) -> tuple:
    price, _ = deal.issues.order_by("position")
    entry = PriorityEntry.objects.create(
        party=host_access.party, issue=price, importance=5, can_give="Longer terms"
    )
    return price, entry


def test_rewording_a_shared_cell_into_the_walk_away_is_held_back(
    deal, rep_client, host_access, shared_row
):
    price, entry = shared_row
    SharedPosition.objects.create(
        party=host_access.party, shared_matrix={str(price.pk): ["can_give"]}
    )

    response = edit_cell(rep_client, deal, price, entry)

    assert response.status_code == 422
    page = response.content.decode()
    assert "walk-away figure" in page
    assert "Share it anyway" in page
    entry.refresh_from_db()
    assert entry.can_give == "Longer terms"

    edit_cell(rep_client, deal, price, entry, confirm_share="on")
    entry.refresh_from_db()
    assert entry.can_give == "We can go down to €104k"


def test_a_private_cell_holds_what_the_side_likes(
    deal, rep_client, host_access, shared_row
):
    """Not shared: the matrix is the side's own notebook."""
    price, entry = shared_row

    response = edit_cell(rep_client, deal, price, entry)

    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.can_give == "We can go down to €104k"
