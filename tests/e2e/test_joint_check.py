"""Integrative analysis in a real browser: both sides score packages in their
private preparation, the host presents a suggested MESO set, both allow the
joint check, and a package better for both is shown to both and accepted by
both. Neither side's figures reach the other side's pages or frames."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal
from room import services
from room.models import JointCheck, TermSheetEntry
from room.services import invite_create
from tests.e2e.conftest import open_tool
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

PASSWORD = "correct-horse-9"  # UserFactory's
LIVE_TIMEOUT = 5_000

# (weight, [(value, score), (value, score)]) per issue, and the minimum. The
# host cares most about price, the counterpart about long payment terms.
HOST = {"Price": (70, [("100", "0"), ("200", "100")]),
        "Payment terms": (30, [("0", "100"), ("100", "0")])}  # fmt: skip
GUEST = {"Price": (30, [("100", "100"), ("200", "0")]),
         "Payment terms": (70, [("0", "0"), ("100", "100")])}  # fmt: skip
HOST_MINIMUM, GUEST_MINIMUM = "41.37", "38.29"


def _set_up() -> tuple[Deal, str]:
    rep = UserFactory(username="riley", first_name="Riley")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    IssueFactory(deal=deal, name="Payment terms", unit="days", position=1)
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    access = deal_access_for_user(rep, deal.pk)
    price, payment = deal.issues.order_by("position")
    services.term_set(access=access, issue_id=price.pk, version=None, value="EUR 150")
    services.term_set(access=access, issue_id=payment.pk, version=None, value="50 days")
    _, token = invite_create(access=access, label="Sam")
    return deal, token


def _frames(page: Page) -> list[str]:
    """Every websocket frame the page receives, from now on."""
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))),
    )
    return frames


def _score(page: Page, deal: Deal, spec: dict, minimum: str) -> None:
    """Fill and save the side's scoring page, as its user would."""
    page.goto(f"/deals/{deal.pk}/prep/scoring/")
    for issue, (weight, points) in spec.items():
        page.get_by_label(f"Weight of {issue}").fill(str(weight))
        for n, (value, score) in enumerate(points, start=1):
            page.get_by_label(f"{issue}: value {n}", exact=True).fill(value)
            page.get_by_label(f"{issue}: score of value {n}").fill(score)
    page.get_by_label("Reservation score").fill(minimum)
    page.get_by_role("button", name="Save scoring").click()
    expect(page.get_by_text("Scoring saved.")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_both_sides_score_run_the_joint_check_and_accept_a_better_package(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    rep_frames, guest_frames = _frames(rep), _frames(guest)

    rep.goto("/accounts/login/")
    rep.get_by_label(re.compile(r"^Username")).fill("riley")
    rep.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    rep.locator("main").get_by_role("button", name="Log in").click()
    guest.goto(f"/join/{token}/")
    guest.get_by_label(re.compile(r"^Your name")).fill("Sam Rivera")
    guest.get_by_role("button", name="Join the room").click()
    _score(rep, deal, HOST, HOST_MINIMUM)
    _score(guest, deal, GUEST, GUEST_MINIMUM)
    for page in (rep, guest):
        page.goto(f"/room/{deal.pk}/")
        expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    # Each side sees its own score of the term sheet: 50 for both here.
    expect(rep.locator("#terms-score")).to_contain_text("Your score 50/100")
    expect(guest.locator("#terms-score")).to_contain_text("Your score 50/100")

    # The host asks for three packages worth the same to it, and presents them.
    # (The MESO form is open while no packages have been presented.)
    open_tool(rep, "packages")
    packages = rep.locator("#region-packages")
    packages.get_by_role("button", name="Suggest three packages").click()
    expect(rep.locator("#meso-form")).to_contain_text("worth the same to you")
    expect(rep.locator('input[name="p1_name"]')).to_have_value("Package 1")
    rep.locator("#meso-form").get_by_role(
        "button", name="Present these packages"
    ).click()
    meso = guest.locator("#meso-list .meso").first
    expect(meso).to_contain_text("presented 3 packages", timeout=LIVE_TIMEOUT)
    expect(meso.locator(".own-score-row")).to_contain_text("Your score")

    # Both allow the joint check; the counterpart runs it.
    for page in (rep, guest):
        open_tool(page, "jointcheck")
        page.get_by_role("button", name="Allow a joint check").click()
    run = guest.get_by_role("button", name="Run the joint check")
    expect(run).to_be_visible(timeout=LIVE_TIMEOUT)
    run.click()
    for page in (rep, guest):
        expect(page.locator("#region-jointcheck")).to_contain_text(
            "The terms on the table leave value behind", timeout=LIVE_TIMEOUT
        )
    check = JointCheck.objects.get(deal=deal)
    chosen = check.suggestions[0]

    # Both accept the first package: it becomes the term sheet.
    for page in (rep, guest):
        form = page.locator(
            "#region-jointcheck form[data-action='jointcheck.accept']"
        ).first
        form.locator("input[name='confirm']").check()
        form.get_by_role("button", name="Accept package 1").click()
        page.wait_for_timeout(300)
    for page in (rep, guest):
        expect(page.locator("#region-jointcheck")).to_contain_text(
            "Both sides accepted a package", timeout=LIVE_TIMEOUT
        )
    terms = {str(t.issue_id): t.value for t in TermSheetEntry.objects.filter(deal=deal)}
    assert terms == chosen
    for page in (rep, guest):
        expect(page.locator("#region-terms")).to_contain_text(
            chosen[str(deal.issues.get(name="Price").pk)], timeout=LIVE_TIMEOUT
        )

    # Neither side's minimum reached the other side, on a page or in a frame.
    rep_seen = rep.content() + "".join(rep_frames)
    guest_seen = guest.content() + "".join(guest_frames)
    assert rep_frames
    assert guest_frames
    assert GUEST_MINIMUM not in rep_seen
    assert HOST_MINIMUM not in guest_seen
