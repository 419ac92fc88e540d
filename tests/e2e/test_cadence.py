"""The review cadence is agreed between the two sides in real browsers: the
counterpart proposes weekly reviews from a date, the rep sees it live and
accepts it (binding), and both screens show the agreed cadence; the
agreement, refused before, can then be confirmed."""

import datetime
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal
from room.services import invite_create
from tests.e2e.conftest import LIVE_TIMEOUT, enter_room, open_tool
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal


@pytest.mark.django_db(transaction=True)
def test_one_side_proposes_a_cadence_and_the_other_accepts_it_live(
    context_factory: Callable[..., BrowserContext],
) -> None:
    rep_user = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep_user, team__name="Northwind")
    deal = make_deal(
        owner=rep_user, title="Depot renewal", counterpart_organisation="Acme"
    )
    IssueFactory(deal=deal, name="Price", position=0)
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.CLOSE)
    _, token = invite_create(
        access=deal_access_for_user(rep_user, deal.pk), label="Sam"
    )
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    enter_room(rep, guest, deal.pk, token)
    for page in (rep, guest):
        # In Close the term sheet is the open tool; the cadence sits with the
        # agreement, one click away.
        open_tool(page, "agreement")
        expect(page.locator("#region-cadence")).to_contain_text("No cadence agreed")

    first = timezone.localdate() + datetime.timedelta(days=10)
    form = guest.locator("#region-cadence form[data-action='cadence.propose']")
    form.get_by_label("How often you review").select_option("weekly")
    form.get_by_label("First check-in").fill(first.isoformat())
    form.get_by_role("button", name="Propose").click()

    shown = f"{first.day} {first:%b %Y}"
    pending = rep.locator("#region-cadence .pending-change")
    expect(pending).to_contain_text(f"proposes reviews weekly, the first on {shown}",
                                    timeout=LIVE_TIMEOUT)  # fmt: skip
    expect(guest.locator("#region-cadence")).to_contain_text(
        "Waiting for the other side."
    )
    pending.get_by_role("checkbox").check()
    pending.get_by_role("button", name="Accept this cadence").click()

    for page in (rep, guest):
        expect(page.locator("#cadence-agreed")).to_contain_text(
            f"Reviews weekly, the first on {shown}.", timeout=LIVE_TIMEOUT
        )
    deal.refresh_from_db()
    assert (deal.review_cadence, deal.first_check_in) == ("weekly", first)
