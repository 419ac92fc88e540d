"""The coach's content fits the side and the stage: a buyer gets a buyer's
lines, Implementation shows no Close lines, a template goes out only with its
blanks filled, and "Draft a conditional trade" starts the trade for you."""

from __future__ import annotations

from html import escape

import pytest
from django.urls import reverse

from negotiation.models import Deal
from playbooks.models import ContextPlaybook, split_lines
from room import actions, services
from room.models import Message
from room.selectors import RoomState
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db


def coach_of(client, deal) -> str:
    page = client.get(reverse("live:room", args=[deal.pk])).content.decode()
    return page.split('id="region-coach"')[1].split("</section>")[0]


def first_line(context: str, phase: str) -> str:
    playbook = ContextPlaybook.objects.get(context=context)
    return escape(split_lines(getattr(playbook, phase))[0])  # as the page shows it


def test_in_a_sales_deal_the_seller_gets_sales_lines_and_the_buyer_buying_lines(
    deal, rep_client, guest_client
):
    at_stage(deal, Deal.Stage.MIDGAME)
    seller, buyer = coach_of(rep_client, deal), coach_of(guest_client, deal)

    assert "Lines for sales" in seller
    assert first_line("sales", "proposal") in seller
    assert "Lines for procurement" in buyer
    assert first_line("procurement", "proposal") in buyer
    assert first_line("sales", "proposal") not in buyer


def test_a_hiring_candidate_gets_no_hiring_managers_lines(
    deal, rep_client, guest_client
):
    Deal.objects.filter(pk=deal.pk).update(context=Deal.Context.HIRING)
    at_stage(deal, Deal.Stage.MIDGAME)

    assert "Lines for hiring" in coach_of(rep_client, deal)
    assert "Lines for" not in coach_of(guest_client, deal)


def test_implementation_shows_no_close_lines(deal, rep_client):
    at_stage(deal, Deal.Stage.CLOSE)
    assert first_line("sales", "close") in coach_of(rep_client, deal)

    at_stage(deal, Deal.Stage.IMPLEMENTATION)
    assert first_line("sales", "close") not in coach_of(rep_client, deal)


def test_a_template_with_a_blank_left_is_not_sent(deal, host):
    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host,
            "message.post",
            {
                "body": "We both want [shared goal]. Could we start there?",
                "kind": "question",
                "from_template": "on",
            },
        )

    assert "Fill in [shared goal]" in refused.value.message
    assert not Message.objects.exists()


def test_a_template_filled_in_is_sent(deal, host):
    actions.perform(
        host,
        "message.post",
        {
            "body": "We both want stores live by spring. Could we start there?",
            "kind": "question",
            "from_template": "on",
        },
    )

    assert Message.objects.get().body.startswith("We both want stores live")


def test_brackets_typed_in_the_discussion_are_the_writers_own(deal, host):
    actions.perform(host, "message.post", {"body": "Our [draft] terms follow."})

    assert Message.objects.count() == 1


def test_the_trade_draft_gives_what_matters_less_to_us_and_asks_what_matters_more(
    deal, midgame, issues, host, guest_access, rep_client
):
    price, terms = issues
    services.position_update(
        access=host, version=None, interests="", ranking=[price.pk, terms.pk]
    )
    services.position_update(
        access=guest_access, version=None, interests="", ranking=[terms.pk, price.pk]
    )

    state = RoomState(host)
    assert state.trade_draft == {"give_issue_id": terms.pk, "ask_issue_id": price.pk}
    coach = coach_of(rep_client, deal)
    draft = coach.split("Draft a conditional trade")[1]
    assert f'<option value="{terms.pk}" selected>' in draft.split("Issue we ask on")[0]
    assert f'<option value="{price.pk}" selected>' in draft.split("Issue we ask on")[1]
