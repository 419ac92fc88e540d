"""Host and counterpart negotiate a whole deal live, in two browser contexts.

The deal, its issues and both sides' private preparation are set up through
the ORM; everything else happens in the browsers: the rep logs in and creates
a share link, the counterpart joins through it under a display name, and both
work through the five stages. Every change made on one side is asserted on the
OTHER side's screen (live, over the websocket, within 5 s), and neither side's
unshared private preparation ever reaches the other side's page.
"""

import datetime
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from negotiation.models import Deal, Issue, Party, Preparation, PriorityEntry
from tests.e2e.conftest import open_tool
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

PASSWORD = "correct-horse-9"  # UserFactory's
HOST_ORG = "Northwind"
GUEST_ORG = "Acme Logistics"
REP_NAME = "Riley Chen"
GUEST_NAME = "Sam Rivera"
LIVE_TIMEOUT = 5_000

# Private preparation. Only the *_SHARED values may ever reach the other side,
# and only once their side ticks them; the rest must never leave their side.
HOST_BATNA = "Extend the Globex pilot by one quarter"
HOST_RESERVATION_VALUE = "118000"
HOST_PRICE_GIVE_SHARED = "Multi-year discount on the licence"
HOST_PRICE_WANT_PRIVATE = "Do not go below 121k whatever happens"
GUEST_BATNA = "Keep the in-house spreadsheets for another year"
GUEST_TERMS_WANT_SHARED = "Invoices at 60 days to match our cycle"
GUEST_TERMS_GIVE_PRIVATE = "We could live with 30 days if pushed"

HOST_RESERVATION_POINT = "118k a year on 24 months"
HOST_LENGTH_WANT_PRIVATE = "At least 36 months, ideally 48"
GUEST_PRICE_WANT_PRIVATE = "Below 120k or the CFO says no"

HOST_PRIVATE = [
    HOST_BATNA,
    HOST_RESERVATION_POINT,
    "118,000",
    "118000",
    HOST_PRICE_WANT_PRIVATE,
    HOST_LENGTH_WANT_PRIVATE,
]
GUEST_PRIVATE = [
    GUEST_BATNA,
    "94,500",
    "94500",
    GUEST_TERMS_GIVE_PRIVATE,
    GUEST_PRICE_WANT_PRIVATE,
]


def _set_up_deal() -> tuple[Deal, dict[str, Issue]]:
    """A rep's deal with three issues, and some private preparation per side."""
    rep = UserFactory(username="riley", first_name="Riley", last_name="Chen")
    MembershipFactory(user=rep, team__name=HOST_ORG)
    deal = make_deal(
        owner=rep,
        title="Fleet analytics renewal",
        counterpart_organisation=GUEST_ORG,
        shared_purpose="",
    )
    price = IssueFactory(
        deal=deal, name="Price", unit="EUR", range_min=100_000, range_max=150_000
    )
    terms = IssueFactory(
        deal=deal, name="Payment terms", unit="days", range_min=0, range_max=120
    )
    length = IssueFactory(
        deal=deal, name="Contract length", unit="months", range_min=12, range_max=48
    )
    host = deal.parties.get(side=Party.Side.HOST)
    guest = deal.parties.get(side=Party.Side.COUNTERPART)
    Preparation.objects.filter(party=host).update(
        batna=HOST_BATNA,
        reservation_point=HOST_RESERVATION_POINT,
        reservation_value=HOST_RESERVATION_VALUE,
    )
    Preparation.objects.filter(party=guest).update(
        batna=GUEST_BATNA, reservation_value="94500"
    )
    PriorityEntry.objects.bulk_create(
        [
            PriorityEntry(
                party=host,
                issue=price,
                importance=5,
                can_give=HOST_PRICE_GIVE_SHARED,
                want_get=HOST_PRICE_WANT_PRIVATE,
            ),
            PriorityEntry(party=host, issue=terms, importance=2, can_give="45 days"),
            PriorityEntry(
                party=host,
                issue=length,
                importance=4,
                want_get=HOST_LENGTH_WANT_PRIVATE,
            ),
            PriorityEntry(
                party=guest,
                issue=terms,
                importance=5,
                can_give=GUEST_TERMS_GIVE_PRIVATE,
                want_get=GUEST_TERMS_WANT_SHARED,
            ),
            PriorityEntry(
                party=guest,
                issue=price,
                importance=3,
                want_get=GUEST_PRICE_WANT_PRIVATE,
            ),
        ]
    )
    return deal, {"Price": price, "Payment terms": terms, "Contract length": length}


# --- small helpers -------------------------------------------------------------


def _field(scope: Page | Locator, label: str) -> Locator:
    """The input labelled ``label`` (required fields add a " *" to the label)."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def _expect_live(page: Page) -> None:
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live")
    expect(status).to_have_text("Live")


def _expect_private_stays_private(page: Page, secrets: list[str]) -> None:
    """Nothing of the other side's unshared preparation is in this page's HTML."""
    html = page.content()
    for secret in secrets:
        assert secret not in html, f"private value leaked to the other side: {secret}"


def _current_stage(page: Page) -> Locator:
    return page.locator("#region-stagebar li[aria-current=step]")


def _change_stage(proposer: Page, accepter: Page, number: int, label: str) -> None:
    """One side proposes the next stage, the other accepts (binding)."""
    proposer.locator("#region-stagebar").get_by_role(
        "button", name=f"Propose: {label} →"
    ).click()
    expect(proposer.locator("#region-stagebar .pending-change")).to_contain_text(
        "Waiting for the other side."
    )
    pending = accepter.locator("#region-stagebar .pending-change")
    expect(pending).to_contain_text(f"proposes moving to {label}")
    pending.get_by_role("checkbox", name=re.compile("^Binding")).check()
    pending.get_by_role("button", name=f"Accept: move to {label}").click()
    for page in (proposer, accepter):
        expect(_current_stage(page)).to_have_text(f"{number}. {label}")
        expect(page.locator("#region-stagebar .pending-change")).to_have_count(0)


def _tick_binding(scope: Locator) -> None:
    scope.get_by_role("checkbox", name=re.compile("^Binding")).check()


# --- the journey -----------------------------------------------------------------


def _rep_logs_in_and_creates_a_link(rep: Page, deal_id: int) -> str:
    rep.goto("/accounts/login/")
    _field(rep, "Username").fill("riley")
    _field(rep, "Password").fill(PASSWORD)
    rep.locator("main").get_by_role("button", name="Log in").click()
    expect(rep.get_by_role("heading", level=1)).to_have_text("Deals")
    rep.get_by_role("link", name="Fleet analytics renewal").click()
    rep.get_by_role("link", name="Share links").click()
    expect(rep.get_by_role("heading", level=1)).to_have_text(f"Invite {GUEST_ORG}")
    expect(rep.get_by_role("heading", name="Links (0)")).to_be_visible()
    _field(rep, "Who is this link for?").fill("Sam (Head of Fleet Ops)")
    rep.get_by_role("button", name="Create link").click()
    expect(rep.get_by_role("heading", name="Your new link")).to_be_visible()
    expect(rep.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    link_box = _field(rep, "Send this link to the person it is for:")
    link = link_box.input_value()
    # The token rides in the fragment: no request line (or log) ever holds it.
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/join/#[A-Za-z0-9_-]{22,}", link), link
    invite = rep.locator("ul.list > li").filter(has_text="Sam (Head of Fleet Ops)")
    expect(invite.locator(".badge")).to_have_text("Active")
    rep.goto(f"/room/{deal_id}/")
    return link


def _guest_joins(guest: Page, link: str, deal_id: int) -> None:
    token = link.rsplit("#", 1)[1]
    requested: list[str] = []
    guest.on("request", lambda request: requested.append(request.url))
    guest.goto(link)
    # The page's script posts the token from the fragment and drops it from
    # the address bar; the server swaps it for a session.
    expect(guest).to_have_url(re.compile(r"/join/$"))
    assert not any(token in url for url in requested), requested
    expect(guest.get_by_role("heading", level=1)).to_have_text("Join the negotiation")
    expect(guest.locator("main")).to_contain_text(
        f"{REP_NAME} of {HOST_ORG} invites you to work on Fleet analytics renewal"
    )
    _field(guest, "Your name").fill(GUEST_NAME)
    guest.get_by_role("button", name="Join the room").click()
    expect(guest).to_have_url(re.compile(rf"/room/{deal_id}/$"))
    expect(guest.locator(".page-head .sub")).to_contain_text(
        f"you are on the {GUEST_ORG} side"
    )


def _setup_stage(rep: Page, guest: Page) -> None:
    purpose = "Cut idle time across the fleet by a tenth within a year"
    setup = guest.locator("#region-setup")
    _field(setup, "Our shared goal is…").fill(purpose)
    _field(setup, "Ground rules").fill("We share interests, never walk-away points")
    setup.get_by_role("button", name="Save purpose and rules").click()
    # The rep sees the counterpart's edit live, and is told about it.
    expect(_field(rep.locator("#region-setup"), "Our shared goal is…")).to_have_value(
        purpose
    )
    expect(_field(rep.locator("#region-setup"), "Ground rules")).to_have_value(
        "We share interests, never walk-away points"
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} updated the shared purpose or ground rules."
    )
    _change_stage(rep, guest, 2, "First Move")
    # Setup's editor is gone; the purpose stays on both screens as text.
    for page in (rep, guest):
        expect(page.locator("#region-setup")).to_contain_text(f"Shared goal: {purpose}")


def _ranking(page: Page) -> Locator:
    return page.locator("#region-positions form.position-form ol.ranking")


def _first_move(rep: Page, guest: Page) -> None:
    # The rep ranks with the keyboard: focus a button, press Enter.
    ranking = _ranking(rep)
    expect(ranking.locator(".issue-name")).to_have_text(
        ["Price", "Payment terms", "Contract length"]
    )
    ranking.get_by_role("button", name="Move Payment terms down").focus()
    rep.keyboard.press("Enter")
    ranking.get_by_role("button", name="Move Contract length up").focus()
    rep.keyboard.press("Enter")
    expect(ranking.locator(".issue-name")).to_have_text(
        ["Contract length", "Price", "Payment terms"]
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        "Contract length is now number 1."
    )
    form = rep.locator("#region-positions form.position-form")
    _field(form, "Our interests (what matters to us, and why)").fill(
        "A predictable multi-year relationship"
    )
    form.locator("li", has_text="Price").get_by_label("share “can give”").check()
    form.get_by_role("button", name="Share with the other side").click()

    host_column = guest.locator("#region-positions .position-host")
    expect(host_column).to_contain_text("A predictable multi-year relationship")
    expect(host_column.locator("ol.ranking-view > li")).to_have_text(
        [
            re.compile(r"^#1\s+Contract length\s*$"),
            re.compile(rf"^#2\s+Price\s+Can give: {HOST_PRICE_GIVE_SHARED}\s*$"),
            re.compile(r"^#3\s+Payment terms\s*$"),
        ]
    )
    _expect_private_stays_private(guest, HOST_PRIVATE)

    # The counterpart drags one issue to the top, then moves another by keyboard.
    ranking = _ranking(guest)
    item = ranking.locator("li", has_text="Payment terms")
    item.drag_to(
        ranking.locator("li", has_text="Price"), target_position={"x": 20, "y": 2}
    )
    expect(ranking.locator(".issue-name")).to_have_text(
        ["Payment terms", "Price", "Contract length"]
    )
    ranking.get_by_role("button", name="Move Contract length up").focus()
    guest.keyboard.press("Enter")
    expect(ranking.locator(".issue-name")).to_have_text(
        ["Payment terms", "Contract length", "Price"]
    )
    form = guest.locator("#region-positions form.position-form")
    _field(form, "Our interests (what matters to us, and why)").fill(
        "Cash flow: invoices that match our 60-day cycle"
    )
    form.locator("li", has_text="Payment terms").get_by_label("share “want”").check()
    form.get_by_role("button", name="Share with the other side").click()

    guest_column = rep.locator("#region-positions .position-counterpart")
    expect(guest_column).to_contain_text(
        "Cash flow: invoices that match our 60-day cycle"
    )
    expect(guest_column.locator("ol.ranking-view > li")).to_have_text(
        [
            re.compile(rf"^#1\s+Payment terms\s+Wants: {GUEST_TERMS_WANT_SHARED}\s*$"),
            re.compile(r"^#2\s+Contract length\s*$"),
            re.compile(r"^#3\s+Price\s*$"),
        ]
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} updated their shared interests and ranking."
    )
    _expect_private_stays_private(rep, GUEST_PRIVATE)
    # Each side still sees its own shared ranking as it saved it.
    expect(guest.locator("#region-positions .position-counterpart h3")).to_have_text(
        "Your side"
    )


def _trade(page: Page, text: str) -> Locator:
    return page.locator("#region-trades li.trade").filter(has_text=text)


def _midgame_trades(rep: Page, guest: Page, issues: dict[str, Issue]) -> None:
    form = rep.locator("#region-trades > form.trade-form")
    _field(form, "What we give").fill("60 days")
    _field(form, "Issue we give on").select_option(label="Payment terms")
    _field(form, "What we ask for").fill("36 months")
    _field(form, "Issue we ask on").select_option(label="Contract length")
    _field(form, "Why this works for both").fill("Your cash flow, our planning")
    form.get_by_role("button", name="Propose this trade").click()

    question = (
        "If we give 60 days on Payment terms, "
        "can you give 36 months on Contract length?"
    )
    original = _trade(guest, question)
    expect(original).to_contain_text(f"{HOST_ORG}:")
    expect(original.locator(".badge")).to_have_text("Open")
    expect(original).to_contain_text("Your cash flow, our planning")

    # The counter form starts from the original, swapped to the answering side.
    original.get_by_text("Counter or decline").click()
    counter = original.locator("form[data-action='trade.counter']")
    expect(_field(counter, "What we give")).to_have_value("36 months")
    expect(_field(counter, "Issue we give on").locator("option:checked")).to_have_text(
        "Contract length"
    )
    expect(_field(counter, "What we ask for")).to_have_value("60 days")
    expect(_field(counter, "Issue we ask on").locator("option:checked")).to_have_text(
        "Payment terms"
    )
    _field(counter, "What we give").fill("24 months")
    _field(counter, "What we ask for").fill("45 days")
    counter.get_by_role("button", name="Send counter-proposal").click()

    countered = (
        "If we give 24 months on Contract length, "
        "can you give 45 days on Payment terms?"
    )
    counter_row = _trade(rep, countered)
    expect(counter_row.locator(".badge")).to_have_text("Open")
    expect(counter_row).to_contain_text(f"{GUEST_ORG}:")
    expect(counter_row).to_contain_text("(counter to #")
    expect(_trade(rep, question).locator(".badge")).to_have_text("Countered")
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} countered a trade."
    )

    _tick_binding(counter_row)
    counter_row.get_by_role("button", name=re.compile(r"^Accept trade #\d+$")).click()
    # 24 months is past the limit the rep wrote ("At least 36 months"): the
    # rep is stopped, privately, and goes ahead knowingly.
    notice = rep.locator("#room-notice")
    expect(notice).to_contain_text("“At least 36 months”", timeout=LIVE_TIMEOUT)
    expect(guest.locator("main")).not_to_contain_text("At least 36 months")
    notice.get_by_role("button", name="Go ahead anyway").click()

    for page in (rep, guest):
        expect(_trade(page, countered).locator(".badge")).to_have_text("Accepted")
        terms = page.locator("#region-terms")
        expect(
            terms.locator(f"#term-{issues['Contract length'].pk} td").first
        ).to_have_text("24 months")
        expect(
            terms.locator(f"#term-{issues['Payment terms'].pk} td").first
        ).to_have_text("45 days")
        expect(terms.locator(f"#term-{issues['Price'].pk} td").first).to_have_text(
            "open"
        )
        log = page.locator("#region-concessions tbody tr:not(.empty)")
        expect(log).to_have_count(1)
    # The concession log: logged once per side; each side's log shows the
    # trade once, as its own entry (the other side's mirrored entry is not a
    # second row; its valuations join the row only when that side shares).
    proposer_entry = [
        "Contract length for Payment terms",
        "Contract length: 24 months",
        "Payment terms: 45 days",
    ]
    acceptor_entry = [
        "Payment terms for Contract length",
        "Payment terms: 45 days",
        "Contract length: 24 months",
    ]
    for page, own, other in (
        (rep, acceptor_entry, proposer_entry),
        (guest, proposer_entry, acceptor_entry),
    ):
        other_org = GUEST_ORG if page is rep else HOST_ORG
        rows = page.locator("#region-concessions tbody tr:not(.empty)")
        own_cells = rows.filter(has_text=own[0]).locator("td")
        for index, text in enumerate(["You", *own]):
            expect(own_cells.nth(index)).to_have_text(text)
        expect(rows.filter(has_text=other[0])).to_have_count(0)
        expect(rows.filter(has_text=other_org)).to_have_count(0)


PACKAGES = {
    "Fast start": {
        "Price": "139k",
        "Payment terms": "30 days",
        "Contract length": "12 months",
    },
    "Long term": {
        "Price": "128k",
        "Payment terms": "45 days",
        "Contract length": "36 months",
    },
    "Premium": {
        "Price": "134k",
        "Payment terms": "60 days",
        "Contract length": "24 months",
    },
}


def _midgame_meso(rep: Page, guest: Page, issues: dict[str, Issue]) -> None:
    for page in (rep, guest):
        open_tool(page, "packages")
    form = rep.locator("#region-packages form.meso-form")
    for n, (name, values) in enumerate(PACKAGES.items(), start=1):
        _field(form, f"Name of package {n}").fill(name)
        for issue, value in values.items():
            _field(form, f"{issue} in package {n}").fill(value)
    _field(form, "Note").fill("Three ways to the same value for us")
    form.get_by_role("button", name="Present these packages").click()

    meso = guest.locator("#region-packages .meso")
    expect(meso).to_contain_text(f"{HOST_ORG} presented 3 packages")
    expect(meso.locator("table.meso-grid thead th")).to_have_text(
        ["Issue", "Fast start", "Long term", "Premium"]
    )
    price_row = meso.locator("table.meso-grid tbody tr").filter(
        has=guest.get_by_role("rowheader", name="Price")
    )
    expect(price_row.locator("td")).to_have_text(["139k", "128k", "134k"])

    answer = meso.locator("form.meso-answer")
    order = answer.locator("ol.ranking .issue-name")
    answer.get_by_role("button", name="Move Premium up").click()
    answer.get_by_role("button", name="Move Premium up").click()
    answer.get_by_role("button", name="Move Fast start down").click()
    expect(order).to_have_text(["Premium", "Long term", "Fast start"])
    _field(
        answer, "Pick one (binding — its values become the draft term sheet)"
    ).select_option(label="Premium")
    answer.get_by_role(
        "checkbox", name="I confirm the pick above commits my side to that package."
    ).check()
    answer.get_by_role("button", name="Send our answer").click()
    # The package changes terms the trade already put on the sheet: asked
    # first, next to the form, then picked knowingly.
    asked = guest.locator("#room-notice")
    expect(asked).to_contain_text(
        "changes terms already on the sheet", timeout=LIVE_TIMEOUT
    )
    asked.get_by_role("button", name="Pick it anyway").click()

    rep_meso = rep.locator("#region-packages .meso")
    expect(rep_meso.locator(".badge").first).to_have_text("Answered")
    expect(rep_meso.locator("table.meso-grid thead th")).to_have_text(
        [
            "Issue",
            re.compile(r"^Fast start\s+pref\. 3$"),
            re.compile(r"^Long term\s+pref\. 2$"),
            re.compile(r"^Premium\s+picked\s+pref\. 1$"),
        ]
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} answered a set of packages."
    )
    for page in (rep, guest):
        terms = page.locator("#region-terms")
        for issue, value in PACKAGES["Premium"].items():
            expect(terms.locator(f"#term-{issues[issue].pk} td").first).to_have_text(
                value
            )


def _commitment(page: Page, description: str) -> Locator:
    return page.locator("#region-commitments li.commitment").filter(
        has_text=description
    )


def _add_commitment(page: Page, side_label: str, **fields: str) -> None:
    region = page.locator("#region-commitments")
    region.get_by_text("Add a commitment").click()
    _field(region, "Owner side").select_option(label=side_label)
    for label, value in fields.items():
        _field(region, label).fill(value)
    region.get_by_role("button", name="Add commitment").click()


def _close(rep: Page, guest: Page, deal_id: int) -> None:
    for page in (rep, guest):
        open_tool(page, "commitments")
        open_tool(page, "agreement")
    rollout = "Roll out dashboards to all depots"
    _add_commitment(
        rep,
        HOST_ORG,
        **{
            "Owner (person)": REP_NAME,
            "Commitment": rollout,
            "Metric": "Depots live on dashboards",
            "Target": "95%",
            "Due date": "2027-06-30",
            "Contingency (what happens if it slips)": "Two months of support free",
        },
    )
    seen = _commitment(guest, rollout)
    expect(seen.locator(".meta")).to_contain_text(
        re.compile(
            r"Metric: Depots live on dashboards\s*Target: 95%\s*Due: 30 Jun 2027"
            r"\s*If not: Two months of support free\s*Status: Planned"
        )
    )
    expect(seen).to_contain_text(f"{HOST_ORG}, {REP_NAME}")
    # Adding a commitment binds nobody: each side confirms it explicitly.
    expect(seen.locator(".badge")).to_have_text(
        [f"{HOST_ORG} has not confirmed", f"{GUEST_ORG} has not confirmed"]
    )
    _tick_binding(seen)
    seen.get_by_role("button", name="Confirm commitment").click()
    own = _commitment(rep, rollout)
    expect(own.locator(".badge")).to_have_text(
        [f"{HOST_ORG} has not confirmed", f"{GUEST_ORG} confirmed"]
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} confirmed a commitment."
    )
    _tick_binding(own)
    own.get_by_role("button", name="Confirm commitment").click()
    expect(seen.locator(".badge")).to_have_text(
        [f"{HOST_ORG} confirmed", f"{GUEST_ORG} confirmed"]
    )

    # The other direction: the counterpart's commitment, confirmed by the rep.
    data_share = "Share idle-time data every month"
    _add_commitment(
        guest,
        GUEST_ORG,
        **{
            "Owner (person)": GUEST_NAME,
            "Commitment": data_share,
            "Metric": "Monthly exports delivered",
            "Target": "12 of 12",
            "Due date": "2027-12-31",
        },
    )
    theirs = _commitment(rep, data_share)
    expect(theirs.locator(".badge")).to_have_text(
        [f"{HOST_ORG} has not confirmed", f"{GUEST_ORG} has not confirmed"]
    )
    _tick_binding(theirs)
    theirs.get_by_role("button", name="Confirm commitment").click()
    guests_own = _commitment(guest, data_share)
    expect(guests_own.locator(".badge")).to_have_text(
        [f"{HOST_ORG} confirmed", f"{GUEST_ORG} has not confirmed"]
    )
    _tick_binding(guests_own)
    guests_own.get_by_role("button", name="Confirm commitment").click()
    expect(theirs.locator(".badge")).to_have_text(
        [f"{HOST_ORG} confirmed", f"{GUEST_ORG} confirmed"]
    )

    # The review cadence: the counterpart proposes, the rep accepts (binding).
    # The agreement waits for it.
    first = datetime.date.today() + datetime.timedelta(days=14)
    propose = guest.locator("#region-cadence form[data-action='cadence.propose']")
    propose.get_by_label("How often you review").select_option("fortnightly")
    propose.get_by_label("First check-in").fill(first.isoformat())
    propose.get_by_role("button", name="Propose").click()
    pending = rep.locator("#region-cadence .pending-change")
    expect(pending).to_contain_text(
        "proposes reviews every two weeks", timeout=LIVE_TIMEOUT
    )
    _tick_binding(pending)
    pending.get_by_role("button", name="Accept this cadence").click()
    for page in (rep, guest):
        expect(page.locator("#cadence-agreed")).to_contain_text(
            "Reviews every two weeks", timeout=LIVE_TIMEOUT
        )

    # Both confirm the agreement (binding) → agreed on both screens.
    for page in (rep, guest):
        expect(page.locator("#region-agreement")).to_contain_text(
            "The term sheet is complete and every commitment is confirmed "
            "by both sides."
        )
    agreement = rep.locator("#region-agreement")
    _tick_binding(agreement)
    agreement.get_by_role("button", name="Confirm the agreement").click()
    # The sheet still has 24 months against the rep's "At least 36 months":
    # confirming the whole agreement asks once more, privately.
    notice = rep.locator("#room-notice")
    expect(notice).to_contain_text("“At least 36 months”", timeout=LIVE_TIMEOUT)
    notice.get_by_role("button", name="Go ahead anyway").click()
    guest_agreement = guest.locator("#region-agreement")
    expect(guest_agreement.locator(".badge")).to_have_text(f"{HOST_ORG} confirmed")
    _tick_binding(guest_agreement)
    guest_agreement.get_by_role("button", name="Confirm the agreement").click()
    for page in (rep, guest):
        expect(page.locator("#region-status")).to_contain_text(
            re.compile(r"Agreed \d{1,2} \w{3} \d{4}\. Read the agreement summary\.")
        )
        expect(page.locator("#region-agreement")).to_contain_text(
            "Both sides confirmed the agreement."
        )
        expect(page.locator("#terms-heading .badge")).to_have_text("agreed")

    summary = rep.context.new_page()
    summary.goto(f"/room/{deal_id}/summary/")
    expect(summary.get_by_role("heading", level=1)).to_have_text("Agreement summary")
    article = summary.locator("article.summary")
    expect(article.locator(".badge")).to_have_text(re.compile(r"^Agreed \d"))
    terms = article.locator("table").first.locator("tbody tr")
    expect(terms).to_have_text(
        [
            re.compile(r"^Price\s*134k$"),
            re.compile(r"^Payment terms\s*60 days$"),
            re.compile(r"^Contract length\s*24 months$"),
        ]
    )
    commitments = article.locator("table").nth(1).locator("tbody tr")
    expect(commitments.filter(has_text=rollout).locator("td")).to_have_text(
        [
            rollout,
            f"{HOST_ORG} — {REP_NAME}",
            "Depots live on dashboards: 95%",
            "30 Jun 2027",
            "Two months of support free",
            "both sides",
        ]
    )
    expect(commitments.filter(has_text=data_share)).to_contain_text("both sides")
    expect(article.locator("ul li")).to_have_text(
        [
            re.compile(rf"^{HOST_ORG}: {REP_NAME}, "),
            re.compile(rf"^{GUEST_ORG}: {GUEST_NAME}, "),
        ]
    )
    summary.close()


def _implementation(rep: Page, guest: Page) -> None:
    _change_stage(rep, guest, 5, "Implementation")
    form = guest.locator("#region-checkins form")
    _field(form, "Date").fill("2026-07-15")
    _field(form, "Roll out dashboards to all depots").select_option(label="On track")
    _field(form, "Share idle-time data every month").select_option(label="At risk")
    _field(form, "Notes").fill("Two depots still on paper")
    form.get_by_role("button", name="Record check-in").click()

    check_in = rep.locator("#region-checkins li[id^=checkin-]")
    expect(check_in).to_have_count(1)
    expect(check_in).to_contain_text(f"15 Jul 2026 by {GUEST_NAME}")
    expect(check_in).to_contain_text("Two depots still on paper")
    expect(check_in.locator("ul li")).to_have_text(
        [
            "Roll out dashboards to all depots: On track",
            "Share idle-time data every month: At risk",
        ]
    )
    expect(
        _commitment(rep, "Roll out dashboards to all depots").locator(".meta")
    ).to_contain_text("Status: On track")
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} recorded a check-in."
    )


@pytest.mark.django_db(transaction=True)
def test_host_and_counterpart_negotiate_through_all_five_stages(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, issues = _set_up_deal()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    for page in (rep, guest):
        page.set_default_timeout(LIVE_TIMEOUT)

    link = _rep_logs_in_and_creates_a_link(rep, deal.pk)
    _guest_joins(guest, link, deal.pk)
    for page in (rep, guest):
        _expect_live(page)
        expect(_current_stage(page)).to_have_text("1. Setup")
    # Each side sees the other arrive in the room.
    expect(rep.locator("#region-presence")).to_contain_text(GUEST_NAME)
    expect(guest.locator("#region-presence")).to_contain_text(REP_NAME)

    _setup_stage(rep, guest)
    _first_move(rep, guest)
    _change_stage(guest, rep, 3, "Midgame")
    _midgame_trades(rep, guest, issues)
    _midgame_meso(rep, guest, issues)
    _change_stage(rep, guest, 4, "Close")
    _close(rep, guest, deal.pk)
    _implementation(rep, guest)

    for page in (rep, guest):
        _expect_live(page)
    _expect_private_stays_private(guest, HOST_PRIVATE)
    _expect_private_stays_private(rep, GUEST_PRIVATE)
