"""A nudge appears and is withdrawn live, in a real browser: two trades leave
the price untouched, the coach says so; the rep then trades on the price and
the warning leaves its coach panel without a reload."""

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal
from room.models import Nudge
from room.services import invite_create, trade_propose
from tests.e2e.conftest import LIVE_TIMEOUT, enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

WARNING = "“Price” has not been discussed yet"


def _set_up() -> tuple[Deal, str, dict[str, int]]:
    rep = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    names = ("Price", "Payment terms", "Volume", "Support")
    issues = {
        name: IssueFactory(deal=deal, name=name, position=n).pk
        for n, name in enumerate(names)
    }
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    access = deal_access_for_user(rep, deal.pk)
    trade_propose(
        access=access,
        give_issue_id=issues["Volume"],
        give_value="+10%",
        ask_issue_id=issues["Support"],
        ask_value="remote only",
    )
    _, token = invite_create(access=access, label="Sam")
    return deal, token, issues


def _propose(page: Page, give: int, give_value: str, ask: int, ask_value: str):
    form = page.locator("#region-trades form[data-action='trade.propose']")
    form.get_by_label("What we give", exact=True).fill(give_value)
    form.get_by_label("Issue we give on").select_option(str(give))
    form.get_by_label("What we ask for", exact=True).fill(ask_value)
    form.get_by_label("Issue we ask on").select_option(str(ask))
    form.get_by_role("button", name="Propose this trade").click()


@pytest.mark.django_db(transaction=True)
def test_a_nudge_is_withdrawn_live_once_its_situation_ends(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token, issues = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    enter_room(rep, guest, deal.pk, token)
    coach = rep.locator("#region-coach")
    expect(coach).not_to_contain_text(WARNING)

    # A second trade that leaves the price alone: the coach warns.
    _propose(guest, issues["Support"], "on site", issues["Volume"], "+5%")
    expect(coach).to_contain_text(WARNING, timeout=LIVE_TIMEOUT)

    # The rep trades on the price: the warning goes, live, and stays on record.
    _propose(rep, issues["Price"], "EUR 95k", issues["Payment terms"], "30 days")
    expect(coach).not_to_contain_text(WARNING, timeout=LIVE_TIMEOUT)
    nudge = Nudge.objects.get(
        party__side="host",
        kind=Nudge.Kind.AVOIDING_HARD_ISSUE,
        message__contains="“Price”",
    )
    assert nudge.resolved_at is not None
