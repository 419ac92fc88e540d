"""A manager reviews a closed deal in a real browser; the rep reads the comment.

The manager logs in, filters the team dashboard down to agreed deals, opens
the one that closed, steps the timeline replay back and forward (htmx swaps
the replay in place and keeps the URL in step), jumps to the accepted trade
and reads the term sheet as it stood, adds a review comment, prints the
summary and downloads the Markdown, the calendar and the team's CSV. Nothing
downloaded holds the counterpart's private preparation. Then the rep logs in
elsewhere and finds the comment on the review.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from negotiation.models import DealEvent, Membership
from tests.factories import MembershipFactory, UserFactory, make_deal
from tests.scenarios import (
    COUNTERPART_FIGURE_TEXTS,
    COUNTERPART_SECRET,
    negotiate,
)

PASSWORD = "correct-horse-9"  # what UserFactory sets
COMMENT = "Good recovery on payment terms. Next time, open with two packages."


def _field(scope: Page | Locator, label: str) -> Locator:
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def _log_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    _field(page, "Username").fill(username)
    _field(page, "Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deals")


def _download(page: Page, link: Locator) -> str:
    with page.expect_download() as info:
        link.click()
    return Path(info.value.path()).read_text(encoding="utf-8")


def _assert_private_to_the_counterpart_absent(text: str) -> None:
    for secret in (COUNTERPART_SECRET, *COUNTERPART_FIGURE_TEXTS):
        assert secret not in text


def _replay_row(page: Page, issue: str) -> Locator:
    return page.locator("#replay table.replay-terms tr").filter(
        has=page.get_by_role("rowheader", name=issue)
    )


@pytest.mark.django_db(transaction=True)
def test_a_manager_reviews_a_closed_deal_and_the_rep_reads_the_comment(
    context_factory,
):
    rep = UserFactory(username="riley", first_name="Riley")
    team = MembershipFactory(user=rep, team__name="Helio Sales").team
    morgan = UserFactory(username="morgan", first_name="Morgan")
    Membership.objects.create(team=team, user=morgan, role=Membership.Role.MANAGER)
    done = negotiate(owner=rep, team=team, title="Acme renewal")
    negotiate(
        owner=rep, team=team, title="Initech supplies", context="procurement",
        outcome="no_deal", nudges=False,
    )  # fmt: skip
    make_deal(owner=rep, team=team, title="Umbrella pilot")
    kinds = list(
        DealEvent.objects.filter(deal=done.deal)
        .order_by("seq")
        .values_list("kind", flat=True)
    )
    total, accepted = len(kinds), kinds.index("trade.accepted") + 1

    manager = context_factory().new_page()
    _log_in(manager, "morgan")

    # The dashboard, filtered down to the agreed deals.
    manager.goto("/deals/dashboard/")
    expect(manager.get_by_role("heading", level=1)).to_have_text("Team dashboard")
    deals = manager.locator("table.deals tbody")
    expect(deals.locator("tr")).to_have_count(3)
    _field(manager, "Outcome").select_option(label="Agreed")
    manager.get_by_role("button", name="Apply filters").click()
    expect(manager).to_have_url(re.compile(r"status=agreed"))
    expect(deals.locator("tr")).to_have_count(1)
    expect(deals).to_contain_text("Acme renewal")
    expect(deals).not_to_contain_text("Initech supplies")
    expect(manager.locator(".page-head .sub")).to_contain_text("1 deal match")

    # The closed deal's review.
    deals.get_by_role("link", name="Acme renewal").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Deal review")
    expect(manager.locator("#outcome")).to_contain_text("Secured beyond walk-away")
    _assert_private_to_the_counterpart_absent(manager.content())

    # The replay: back and forward in place (htmx), the URL kept in step.
    replay = manager.locator("#replay")
    position = replay.locator(".card-head .muted")
    expect(position).to_have_text(f"Step {total} of {total}")
    replay.get_by_role("link", name="◀ Back").click()
    expect(position).to_have_text(f"Step {total - 1} of {total}")
    expect(manager).to_have_url(re.compile(rf"\?step={total - 1}#replay$"))
    replay.get_by_role("link", name="Forward ▶").click()
    expect(position).to_have_text(f"Step {total} of {total}")

    # Jump to the accepted trade: the term sheet as it stood then.
    _field(replay, "Go to step").fill(str(accepted))
    replay.get_by_role("button", name="Go").click()
    expect(position).to_have_text(f"Step {accepted} of {total}")
    expect(replay.locator(".now")).to_contain_text("accepted “if we give Price: 201000")
    expect(_replay_row(manager, "Price")).to_contain_text("201000")
    expect(_replay_row(manager, "Price")).to_contain_text("changed here")
    replay.get_by_role("link", name="◀ Back").click()
    expect(position).to_have_text(f"Step {accepted - 1} of {total}")
    expect(_replay_row(manager, "Price")).to_contain_text("225000")
    replay.get_by_role("link", name="Forward ▶").click()
    expect(_replay_row(manager, "Price")).to_contain_text("201000")

    # A review comment for the rep.
    comments = manager.locator("#comments")
    _field(comments, "Your comment").fill(COMMENT)
    comments.get_by_role("button", name="Add comment").click()
    expect(manager.locator(".messages")).to_contain_text("Comment added.")
    expect(manager.locator("#comments .comments")).to_contain_text(COMMENT)

    # The exports.
    host = done.host.party.organisation
    markdown = _download(
        manager, manager.get_by_role("link", name="Internal review (.md)")
    )
    assert markdown.startswith(f"# Internal review — {host} only: Acme renewal")
    assert "| Price | 201000 |" in markdown
    assert COMMENT in markdown
    _assert_private_to_the_counterpart_absent(markdown)
    calendar = _download(manager, manager.get_by_role("link", name="Check-ins (.ics)"))
    assert calendar.startswith("BEGIN:VCALENDAR")
    assert "SUMMARY:Due: Dashboards live in every store" in calendar

    manager.get_by_role("link", name="Print internal review").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text(
        f"Internal review — {host} only"
    )
    expect(manager.locator("article.summary")).to_contain_text("Two on-site weeks")
    manager.emulate_media(media="print")
    expect(manager.locator("header.topbar")).to_be_hidden()
    expect(manager.locator(".internal-notice")).to_be_visible()
    expect(manager.locator("article.summary")).to_be_visible()
    manager.emulate_media(media="screen")
    _assert_private_to_the_counterpart_absent(manager.content())

    manager.goto("/deals/dashboard/")
    exported = _download(manager, manager.get_by_role("link", name="Export CSV"))
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(row["title"] for row in rows) == [
        "Acme renewal", "Initech supplies", "Umbrella pilot",
    ]  # fmt: skip
    _assert_private_to_the_counterpart_absent(exported)

    # The rep, in a browser of their own, reads the comment.
    riley = context_factory().new_page()
    _log_in(riley, "riley")
    riley.goto(f"/deals/{done.deal.pk}/review/")
    expect(riley.get_by_role("heading", level=1)).to_have_text("Deal review")
    expect(riley.locator("#comments")).to_contain_text(COMMENT)
    expect(riley.locator("#comments")).to_contain_text("Morgan")
    expect(riley.locator("#comments form")).to_have_count(0)  # reps do not comment
