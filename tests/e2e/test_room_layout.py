"""The room's layout, in a real browser, for both sides.

At 1366×900 the current stage's work is on the first screen (stage bar,
what is waiting, the main tool, the discussion, the coach, the term sheet);
collapsed tools stay live; a draft survives a remote update in its own form
only; focus stays on the control after a keyboard submit; and at phone
widths the room never scrolls sideways.
"""

import io
import re
from collections.abc import Callable

import pytest
from django.core.management import call_command
from playwright.sync_api import BrowserContext, Page, expect

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Issue, Party, PriorityEntry
from room.selectors import CONCESSIONS_SHOWN, TRADES_SHOWN
from room.services import concession_add, invite_create
from room.services.discussion import message_post
from room.services.trades import trade_propose
from tests.e2e.conftest import LIVE_TIMEOUT, PASSWORD, enter_room
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal
from tests.room.test_room_layout_page import TOOL_ORDER

DESKTOP = {"width": 1366, "height": 900}
HOST_SHARE_TEXT = "A multi-year discount on the licence"


def _midgame_room() -> tuple[Deal, str, dict[str, Issue]]:
    """A deal in Midgame with three issues, one open trade from the host and
    one message; the host's matrix has a value it may share."""
    rep = UserFactory(username="riley", first_name="Riley", last_name="Chen")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(owner=rep, title="Depot renewal", counterpart_organisation="Acme")
    issues = {
        name: IssueFactory(deal=deal, name=name, unit=unit)
        for name, unit in (
            ("Price", "EUR"),
            ("Payment terms", "days"),
            ("Contract length", "months"),
        )
    }
    host = deal.parties.get(side=Party.Side.HOST)
    PriorityEntry.objects.create(
        party=host, issue=issues["Price"], importance=5, can_give=HOST_SHARE_TEXT
    )
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
    access = deal_access_for_user(rep, deal.pk)
    trade_propose(
        access=access,
        give_issue_id=issues["Payment terms"].pk,
        give_value="45 days",
        ask_issue_id=issues["Contract length"].pk,
        ask_value="36 months",
    )
    message_post(access=access, body="Shall we start with payment terms?")
    _, token = invite_create(access=access, label="Sam")
    return deal, token, issues


def _in_first_viewport(page: Page, selector: str, *, whole: bool = False) -> None:
    """The element's top (or, with ``whole``, all of it) is on the first
    screen, with the page scrolled to the top."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not rendered"
    height = page.viewport_size["height"]
    assert 0 <= box["y"] < height - 40, f"{selector} starts at {box['y']}px"
    if whole:
        assert box["y"] + box["height"] <= height, (
            f"{selector} ends at {box['y'] + box['height']}px, below {height}px"
        )


def _no_sideways_scroll(page: Page) -> None:
    scroll, inner = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll <= inner, f"the page is {scroll}px wide in a {inner}px window"


@pytest.mark.django_db(transaction=True)
def test_the_stage_work_is_on_the_first_screen_for_both_sides(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token, _ = _midgame_room()
    rep = context_factory(viewport=DESKTOP).new_page()
    guest = context_factory(viewport=DESKTOP).new_page()
    refused: list[str] = []
    for page in (rep, guest):
        page.on(
            "console",
            lambda message: (
                refused.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
    enter_room(rep, guest, deal.pk, token)

    for page in (rep, guest):
        # A first visit explains the room for this side's role.
        expect(page.locator("#room-orientation")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        _in_first_viewport(page, "#region-stagebar", whole=True)
        _in_first_viewport(page, "#room-attention")
        # Midgame's main tool is the trades: open, its first trade on screen.
        expect(page.locator("#tool-trades")).to_have_attribute("open", "")
        _in_first_viewport(page, "#tool-trades")
        _in_first_viewport(page, "#trade-list .trade")
        _in_first_viewport(page, "#region-discussion")
        _in_first_viewport(page, "#message-body", whole=True)
        _in_first_viewport(page, "#region-coach")
        _in_first_viewport(page, "#room-glance", whole=True)
        # The other tools are one click away, with a count.
        expect(page.locator("#tool-terms")).not_to_have_attribute("open", "")
        expect(page.locator("#tool-terms .tool-count")).to_have_text("0 of 3 set")
        expect(page.locator("#tool-trades .tool-count")).to_have_text("1 trade, 1 open")
    expect(rep.locator("#region-coach")).to_contain_text("Your coach")

    # The trade's card shows the number its button names.
    accept = guest.get_by_role("button", name="Accept trade #")
    number = accept.inner_text().rsplit("#", 1)[1]
    expect(guest.locator(".trade .trade-no")).to_have_text(f"#{number}")

    # The share tick shows the exact words it would publish.
    rep.locator("#tool-positions > summary").click()
    expect(rep.locator("#region-positions .share-choices label").first).to_contain_text(
        HOST_SHARE_TEXT
    )

    # Hidden once, the orientation stays away for this rep on any browser,
    # and only for them.
    with rep.expect_response(lambda response: "/orientation/" in response.url):
        rep.get_by_role("button", name="Got it, hide this").click()
    expect(rep.locator("#room-orientation")).to_be_hidden()
    rep.reload()
    expect(rep.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    expect(rep.locator("#room-orientation")).to_be_hidden()
    other_browser = context_factory(viewport=DESKTOP).new_page()
    other_browser.goto("/accounts/login/")
    other_browser.get_by_label(re.compile(r"^Username")).fill("riley")
    other_browser.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    other_browser.locator("main").get_by_role("button", name="Log in").click()
    other_browser.goto(f"/room/{deal.pk}/")
    expect(other_browser.locator("#live-status")).to_have_text(
        "Live", timeout=LIVE_TIMEOUT
    )
    expect(other_browser.locator("#room-orientation")).to_be_hidden()
    # It can still be brought back there, on the page.
    other_browser.get_by_role("button", name="How this room works").click()
    expect(other_browser.locator("#room-orientation")).to_be_visible()
    guest.reload()
    expect(guest.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    expect(guest.locator("#room-orientation")).to_be_visible()

    # The last stage's main tool is the last of the tools, and still on the
    # first screen (the guest's orientation still showing).
    Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.IMPLEMENTATION)
    for page in (rep, guest):
        page.reload()
        expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)
        expect(page.locator("#tool-checkins")).to_have_attribute("open", "")
        expect(page.locator("#tool-trades")).not_to_have_attribute("open", "")
        _in_first_viewport(page, "#region-stagebar", whole=True)
        _in_first_viewport(page, "#tool-checkins")
        _in_first_viewport(page, "#region-checkins")
        _in_first_viewport(page, "#message-body", whole=True)
        _in_first_viewport(page, "#room-glance")
    # Nothing the room did (styles, scripts, live swaps) broke the CSP.
    assert refused == []


@pytest.mark.django_db(transaction=True)
def test_collapsed_tools_stay_live_and_drafts_stay_in_their_own_form(
    context_factory: Callable[..., BrowserContext],
) -> None:
    # The coach's "Say it" lines come from the playbooks, which a browser
    # test before this one may have flushed with its data.
    call_command("load_playbooks", stdout=io.StringIO())
    deal, token, issues = _midgame_room()
    rep = context_factory(viewport=DESKTOP).new_page()
    guest = context_factory(viewport=DESKTOP).new_page()
    enter_room(rep, guest, deal.pk, token)
    price = issues["Price"]

    # The host sets a term from the keyboard: focus stays on the field even
    # though the live update replaced the term's row.
    rep.locator("#tool-terms > summary").click()
    value = rep.locator(f"#term-{price.pk}-form input[name=value]")
    value.fill("120000")
    value.press("Enter")
    expect(rep.locator(f"#term-{price.pk} td").first).to_have_text(
        "120000", timeout=LIVE_TIMEOUT
    )
    focused = rep.evaluate(
        "[document.activeElement.closest('form')?.id, document.activeElement.name,"
        " document.activeElement.isConnected]"
    )
    assert focused == [f"term-{price.pk}-form", "value", True]

    # The guest's term sheet is collapsed, and still live: the row, the
    # summary's count and mark, the compact strip, and a visible notice.
    terms = guest.locator("#tool-terms")
    expect(guest.locator(f"#term-{price.pk}")).to_contain_text(
        "120000", timeout=LIVE_TIMEOUT
    )
    expect(terms).not_to_have_attribute("open", "")
    expect(terms.locator(".tool-count")).to_have_text("1 of 3 set")
    expect(terms).to_have_class("tool changed")
    expect(terms.locator(".tool-latest")).to_contain_text("Riley Chen")
    expect(guest.locator("#room-glance")).to_contain_text("120000")
    expect(guest.locator("#room-toasts .toast").last).to_contain_text("Riley Chen")

    # The guest starts a message, leaves it, and proposes the next stage;
    # the host accepts, which renders the guest's whole room again.
    draft = "We could move on payment terms if the length stays open."
    guest.locator("#message-body").fill(draft)
    coach_boxes = guest.locator("#region-coach textarea")
    coach_before = coach_boxes.evaluate_all("(boxes) => boxes.map((b) => b.value)")
    guest.evaluate("window.oldBody = document.getElementById('message-body')")
    # And edits the coach's first "Say it" line: Midgame's own, so Close's
    # coach has no such form.
    say = guest.locator("#region-coach form.template-line").first
    say_id = say.get_attribute("id")
    said = "How about a pilot on payment terms, with the length decided later?"
    say.locator("textarea").fill(said)
    guest.get_by_role("button", name="Propose: Close →").click()
    rep.locator("#stage-respond-form input[name=confirm]").check(timeout=LIVE_TIMEOUT)
    rep.get_by_role("button", name="Accept: move to Close").click()
    expect(guest.locator("#region-stagebar li.current")).to_contain_text(
        "Close", timeout=LIVE_TIMEOUT
    )
    assert guest.evaluate(
        "window.oldBody !== document.getElementById('message-body')"
    ), "the discussion was not rendered again: nothing to prove"
    # The draft is back in its own box, and nowhere else.
    expect(guest.locator("#message-body")).to_have_value(draft)
    coach_after = coach_boxes.evaluate_all("(boxes) => boxes.map((b) => b.value)")
    assert all(draft not in value for value in coach_before + coach_after)
    # The edited "Say it" line left with Midgame's coach, and is kept, as
    # typed, in its own form: ready to send, or to discard.
    assert guest.locator(f"#region-coach #{say_id}").count() == 0
    kept = guest.locator("#room-kept-drafts")
    expect(kept).to_be_visible()
    expect(kept.locator(f"#{say_id} textarea")).to_have_value(said)
    kept.get_by_role("button", name="Ask it").click()
    expect(rep.locator("#region-discussion")).to_contain_text(
        said, timeout=LIVE_TIMEOUT
    )
    expect(kept).to_be_hidden()
    # The new stage's main tool is open; the order of the tools is unchanged.
    expect(guest.locator("#tool-terms")).to_have_attribute("open", "")
    expect(guest.locator("#tool-trades")).not_to_have_attribute("open", "")
    order = guest.locator("details.tool").evaluate_all(
        "(tools) => tools.map((t) => t.dataset.region)"
    )
    assert order == TOOL_ORDER

    # Sent from the keyboard: the box is cleared and keeps the focus.
    guest.locator("#message-body").press("Control+Enter")
    expect(rep.locator("#region-discussion")).to_contain_text(
        draft, timeout=LIVE_TIMEOUT
    )
    expect(guest.locator("#message-body")).to_have_value("")
    assert guest.evaluate("document.activeElement.id") == "message-body"


@pytest.mark.django_db(transaction=True)
def test_a_summary_counts_the_whole_list_and_follows_the_other_side(
    context_factory: Callable[..., BrowserContext],
) -> None:
    """More trades and concessions than the page shows: each tool's summary
    counts them all, and counts on when the other side adds one, accepts
    one, or the viewer loads the earlier ones."""
    deal, token, issues = _midgame_room()
    access = deal_access_for_user(deal.owner, deal.pk)
    for n in range(TRADES_SHOWN + 1):  # 12 trades with the room's first
        trade_propose(
            access=access,
            give_issue_id=issues["Price"].pk,
            give_value=f"{n + 1}% off",
            ask_issue_id=issues["Payment terms"].pk,
            ask_value=f"{30 + n} days",
        )
    for n in range(CONCESSIONS_SHOWN + 2):
        concession_add(access=access, item=f"Extra seat {n + 1}", we_give="A seat")
    rep = context_factory(viewport=DESKTOP).new_page()
    guest = context_factory(viewport=DESKTOP).new_page()
    enter_room(rep, guest, deal.pk, token)

    trades = guest.locator("#tool-trades .tool-count")
    concessions = guest.locator("#tool-concessions .tool-count")
    expect(trades).to_have_text("12 trades, 12 open")
    expect(concessions).to_have_text("12 entries")
    assert guest.locator("#trade-list > li.trade").count() == TRADES_SHOWN

    # The host logs a concession by hand and proposes a trade.
    rep.locator("#tool-concessions > summary").click()
    rep.get_by_text("Log a concession by hand").click()
    rep.locator("#c-item").fill("Weekend support")
    rep.locator("#c-give").fill("Two weekends a month")
    rep.locator("#c-get").fill("A case study")
    rep.get_by_role("button", name="Log it").click()
    form = rep.locator("#trade-propose-form")
    form.get_by_label("What we give").fill("60 days")
    form.get_by_label("What we ask for").fill("36 months")
    form.get_by_role("button", name="Propose this trade").click()
    expect(concessions).to_have_text("13 entries", timeout=LIVE_TIMEOUT)
    expect(trades).to_have_text("13 trades, 13 open", timeout=LIVE_TIMEOUT)
    expect(guest.locator("#tool-concessions .tool-latest")).to_contain_text(
        "Weekend support"
    )

    # The guest accepts the newest trade: one fewer open, as many trades.
    newest = guest.locator("#trade-list > li.trade").first
    newest.locator("input[name=confirm]").check()
    newest.get_by_role("button", name="Accept trade #").click()
    expect(trades).to_have_text("13 trades, 12 open", timeout=LIVE_TIMEOUT)
    expect(concessions).to_have_text("14 entries")

    # Loading the earlier trades changes no count.
    guest.get_by_role("button", name="Show earlier trades").click()
    expect(guest.locator("#trade-list > li.trade")).to_have_count(13)
    expect(trades).to_have_text("13 trades, 12 open")


@pytest.mark.django_db(transaction=True)
def test_no_sideways_scroll_on_phones_and_thumb_sized_controls(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token, _ = _midgame_room()
    rep = context_factory(viewport={"width": 360, "height": 780}).new_page()
    guest = context_factory(viewport={"width": 360, "height": 780}).new_page()
    enter_room(rep, guest, deal.pk, token)
    for width in (360, 390):
        for page in (rep, guest):
            page.set_viewport_size({"width": width, "height": 780})
            _no_sideways_scroll(page)
            # Every tool and everything folded inside one, opened.
            page.evaluate(
                "document.querySelectorAll('#room details')"
                ".forEach((d) => { d.open = true; })"
            )
            _no_sideways_scroll(page)
            for button in (
                page.locator("#message-form button", has_text="Send"),
                page.locator("#trade-propose-form button"),
                page.locator("#region-trades .trade button").first,
            ):
                box = button.bounding_box()
                assert box is not None
                assert box["height"] >= 40, box
        arrows = rep.locator("#position-form .ranking button.icon")
        for index in range(arrows.count()):
            box = arrows.nth(index).bounding_box()
            assert box is not None
            assert box["height"] >= 40, box
            assert box["width"] >= 40, box
