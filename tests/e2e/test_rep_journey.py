"""A new rep's whole first journey, in a real browser served by daphne.

Sign up (founding a team) → the Deals page → a new deal → issue mapping (a
numeric issue, one from the tradeables library, an options issue, and a bad
range that is refused without losing what was typed) → every section of the
private preparation → 100% on the overview and the readiness verdict on the
deal page. Each step asserts what the rep reads on screen, not only the URL.
"""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

USERNAME = "riley"
EMAIL = "riley@northwind.example"
TEAM = "Northwind Sales"
PASSWORD = "Tangerine-Orbit-4471"

DEAL_TITLE = "Acme fleet renewal 2027"
COUNTERPART = "Acme Logistics"
PURPOSE = "A renewal that pays for itself within a year"

# Everything the rep writes into the private preparation, checked back on the
# overview so a field that silently drops its value fails the test.
BATNA = "Extend the current pilot with Globex for one more quarter"
RESERVATION = "No lower than 118k EUR a year on a 24-month term"
WALKAWAY_FIGURE = "118000"
TARGET = "135k EUR a year, 36 months, payment at 45 days"
EVIDENCE_TITLE = "Fleet analytics price benchmark 2026"
EVIDENCE_URL = "https://benchmarks.example.org/fleet-2026"
ANCHOR_POSITION = "We open at 142k with the premium support tier included"

EXPECT_TIMEOUT = 5_000


def _field(scope: Page | Locator, label: str) -> Locator:
    """The input labelled ``label`` (required fields add a " *" to the label)."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def _flash(page: Page) -> Locator:
    """The messages framework's notice at the top of the page."""
    return page.locator(".messages")


def _sign_up(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Sign up"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your account")
    _field(page, "Username").fill(USERNAME)
    _field(page, "Email").fill(EMAIL)
    _field(page, "Team name").fill(TEAM)
    _field(page, "Password").fill(PASSWORD)
    _field(page, "Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/deals/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Deals")
    expect(_flash(page)).to_contain_text("Welcome to Parley. Start by creating a deal.")
    # The rep founded the team, so they manage it.
    expect(page.locator(".page-head .sub")).to_have_text(f"{TEAM} · Manager")
    expect(
        page.get_by_text("No deals yet. Create one to start preparing.")
    ).to_be_visible()
    expect(page.get_by_role("button", name=f"Log out {USERNAME}")).to_be_visible()


def _create_deal(page: Page) -> None:
    page.get_by_role("link", name="New deal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New deal")
    _field(page, "Title").fill(DEAL_TITLE)
    _field(page, "Context").select_option(label="Sales")
    _field(page, "Counterpart organisation").fill(COUNTERPART)
    _field(page, "Shared purpose").fill(PURPOSE)
    _field(page, "Deadline").fill("2027-03-31")
    page.get_by_role("button", name="Create deal").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Issues at stake")
    expect(_flash(page)).to_contain_text("Deal created. Now map the issues at stake.")
    expect(page.locator(".breadcrumbs")).to_contain_text(DEAL_TITLE)
    expect(page.locator("#agenda")).to_contain_text("Nothing on the agenda yet.")


def _add_form(page: Page) -> Locator:
    return page.locator("#add-issue")


def _agenda_item(page: Page, name: str) -> Locator:
    return page.locator("#agenda > li").filter(has=page.get_by_text(name, exact=True))


def _map_issues(page: Page) -> None:
    form = _add_form(page)

    # A numeric issue, first typed with its range upside down.
    _field(form, "Name").fill("Price")
    _field(form, "Description").fill("Annual licence fee for the whole fleet")
    form.get_by_role("radio", name="Numeric (a value in a range)").check()
    _field(form, "Unit").fill("EUR")
    _field(form, "Lowest value").fill("150000")
    _field(form, "Highest value").fill("100000")
    form.get_by_role("button", name="Add issue").click()

    # A clear error next to the field, and nothing the rep typed is lost.
    form = _add_form(page)
    expect(form.get_by_role("alert")).to_have_text(
        "The highest value must not be below the lowest."
    )
    expect(_field(form, "Name")).to_have_value("Price")
    expect(_field(form, "Description")).to_have_value(
        "Annual licence fee for the whole fleet"
    )
    expect(
        form.get_by_role("radio", name="Numeric (a value in a range)")
    ).to_be_checked()
    expect(_field(form, "Unit")).to_have_value("EUR")
    expect(_field(form, "Lowest value")).to_have_value("150000")
    expect(_field(form, "Highest value")).to_have_value("100000")
    expect(page.locator("#agenda")).to_contain_text("Nothing on the agenda yet.")

    # Corrected, it goes on the agenda.
    _field(form, "Lowest value").fill("100000")
    _field(form, "Highest value").fill("150000")
    form.get_by_role("button", name="Add issue").click()
    expect(_flash(page)).to_contain_text("“Price” added to the agenda.")
    expect(_agenda_item(page, "Price")).to_contain_text("100,000–150,000 EUR")

    # One from the tradeables library: the chip prefills the form.
    chips = page.get_by_role("region", name="Tradeables library")
    chips.get_by_role("link", name="+ Payment terms").click()
    form = _add_form(page)
    expect(_field(form, "Name")).to_have_value("Payment terms")
    expect(_field(form, "Unit")).to_have_value("days")
    expect(_field(form, "Lowest value")).to_have_value("0")
    expect(_field(form, "Highest value")).to_have_value("120")
    form.get_by_role("button", name="Add issue").click()
    expect(_flash(page)).to_contain_text("“Payment terms” added to the agenda.")
    expect(_agenda_item(page, "Payment terms")).to_contain_text("0–120 days")
    # A suggestion already on the agenda is no longer offered.
    chips = page.get_by_role("region", name="Tradeables library")
    expect(chips.get_by_role("link", name="+ Payment terms")).to_have_count(0)
    expect(chips.get_by_role("link", name="+ Price", exact=True)).to_have_count(0)

    # A set of options.
    form = _add_form(page)
    _field(form, "Name").fill("Support tier")
    form.get_by_role("radio", name="A set of options").check()
    _field(form, "Options").fill("Standard\nExtended\nPremium")
    form.get_by_role("button", name="Add issue").click()
    expect(_flash(page)).to_contain_text("“Support tier” added to the agenda.")
    expect(_agenda_item(page, "Support tier")).to_contain_text(
        "Standard / Extended / Premium"
    )
    expect(page.locator("#agenda > li strong")).to_have_text(
        ["Price", "Payment terms", "Support tier"]
    )


def _section_badge(page: Page, label: str) -> Locator:
    return page.locator(".page-status .badge").filter(has_text=label)


def _prepare_walkaway(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Walk-away"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Walk-away: BATNA and reservation point"
    )
    expect(_section_badge(page, "BATNA & reservation point")).to_have_text(
        "BATNA & reservation point: to do"
    )
    _field(page, "BATNA: your best alternative if there is no agreement").fill(BATNA)
    _field(page, "Reservation point").fill(RESERVATION)
    _field(page, "Walk-away figure (optional)").fill(WALKAWAY_FIGURE)
    _field(page, "Target outcome").fill(TARGET)
    page.get_by_role("button", name="Save walk-away").click()
    expect(_flash(page)).to_contain_text("Walk-away saved.")
    expect(_section_badge(page, "BATNA & reservation point")).to_have_text(
        "BATNA & reservation point: done"
    )
    expect(_section_badge(page, "Target outcome")).to_have_text("Target outcome: done")
    expect(_field(page, "Reservation point")).to_have_value(RESERVATION)


MATRIX = {
    "Price": ("5 · essential", "Multi-year discount", "A 36-month term", "135k"),
    "Payment terms": ("3 · important", "Up to 60 days", "Faster sign-off", "45 days"),
    "Support tier": ("2 · useful", "Premium at cost", "A case study", "Extended"),
}


def _prepare_matrix(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Priority matrix"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Priority & tradeables matrix"
    )
    # Every row first, then one save for the whole matrix.
    for issue, (importance, give, want, ideal) in MATRIX.items():
        row = page.get_by_role("article", name=issue)
        expect(row.locator(".badge")).to_have_text("Not ranked yet")
        _field(row, "Importance to you").select_option(label=importance)
        _field(row, "What you can give").fill(give)
        _field(row, "What you want in return").fill(want)
        _field(row, "Ideal outcome").fill(ideal)
    page.get_by_role("button", name="Save the matrix").click()
    expect(_flash(page)).to_contain_text(
        "Priority matrix: “Price”, “Payment terms”, “Support tier” saved."
    )
    for issue, (importance, *_) in MATRIX.items():
        row = page.get_by_role("article", name=issue)
        score = importance.split(" ")[0]
        expect(row.locator(".card-head .badge")).to_have_text(f"Importance {score} / 5")
    expect(_section_badge(page, "Priority & tradeables matrix")).to_have_text(
        "Priority & tradeables matrix: done"
    )


def _prepare_counterparty(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Counterparty map"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Counterparty map")
    expect(page.locator(".lead")).to_contain_text(COUNTERPART)
    _field(page, "Their constraints").fill("Capex frozen until Q3")
    _field(page, "Their decision path").fill("Ops lead, then the CFO signs")
    _field(page, "Their pressures").fill("Fuel costs up 12% this year")
    _field(page, "What success means for them").fill("Cut idle time by a tenth")
    page.get_by_role("button", name="Save counterparty map").click()
    expect(_flash(page)).to_contain_text("Counterparty map saved.")
    expect(_section_badge(page, "Counterparty map")).to_have_text(
        "Counterparty map: done"
    )


def _prepare_evidence(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Evidence pack"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evidence pack")
    expect(page.get_by_role("heading", name="Your evidence (0)")).to_be_visible()
    _field(page, "Kind").select_option(label="Benchmark")
    _field(page, "Title").fill(EVIDENCE_TITLE)
    _field(page, "Detail").fill("Median 131k EUR for fleets of 200 vehicles")
    _field(page, "Link (optional)").fill(EVIDENCE_URL)
    page.get_by_role("button", name="Add to the pack").click()
    expect(_flash(page)).to_contain_text(
        f"“{EVIDENCE_TITLE}” added to the evidence pack."
    )
    expect(page.get_by_role("heading", name="Your evidence (1)")).to_be_visible()
    item = page.locator(".evidence-item").filter(has_text=EVIDENCE_TITLE)
    expect(item.get_by_role("link", name=EVIDENCE_URL)).to_have_attribute(
        "href", EVIDENCE_URL
    )
    expect(_section_badge(page, "Evidence pack")).to_have_text("Evidence pack: done")


def _prepare_anchor(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Anchor worksheet"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anchor worksheet")
    row = page.get_by_role("article", name="Price")
    _field(row, "Low end (EUR)").fill("138000")
    _field(row, "High end (EUR)").fill("146000")
    _field(row, "Opening position").fill(ANCHOR_POSITION)
    _field(row, "Benchmark behind it").fill("The 2026 fleet benchmark's top quartile")
    page.get_by_role("button", name="Save the worksheet").click()
    expect(_flash(page)).to_contain_text("Anchor worksheet: “Price” saved.")
    row = page.get_by_role("article", name="Price")
    expect(row.locator(".card-head .badge")).to_have_text("138,000 – 146,000 EUR")
    expect(_section_badge(page, "Anchor worksheet")).to_have_text(
        "Anchor worksheet: done"
    )


def _prepare_readiness(page: Page) -> None:
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name="Readiness check"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Readiness check")
    verdict = page.get_by_role("region", name="Recommendation")
    expect(verdict).to_contain_text("Run the readiness check before the joint session.")
    fieldset = page.get_by_role("group", name="Does any of this apply?")
    for box in fieldset.get_by_role("checkbox").all():
        expect(box).not_to_be_checked()
    _field(page, "Notes").fill("Open about their numbers in the discovery call")
    page.get_by_role("button", name="Save the readiness check").click()
    expect(_flash(page)).to_contain_text("Readiness check saved.")
    verdict = page.get_by_role("region", name="Recommendation")
    expect(verdict).to_contain_text(
        "Good to go: nothing here argues against working jointly."
    )
    expect(_section_badge(page, "Readiness check")).to_have_text(
        "Readiness check: done"
    )


@pytest.mark.django_db(transaction=True)
def test_new_rep_signs_up_maps_issues_and_completes_preparation(page: Page) -> None:
    page.set_default_timeout(EXPECT_TIMEOUT)

    _sign_up(page)
    _create_deal(page)
    _map_issues(page)

    page.get_by_role("link", name="Go to preparation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Private preparation")
    expect(page.get_by_role("note")).to_contain_text("Only your side sees this.")
    progress = page.get_by_role("region", name="How far along you are")
    # Only "Issues mapped" is done: 1 of 8 checklist items.
    expect(progress.locator(".progress-figure")).to_contain_text("12%")
    expect(progress.locator("li.done")).to_have_text([re.compile("Issues mapped")])

    _prepare_walkaway(page)
    _prepare_matrix(page)
    _prepare_counterparty(page)
    _prepare_evidence(page)
    _prepare_anchor(page)
    _prepare_readiness(page)

    # The overview: everything done, and the values read back.
    page.get_by_role("navigation", name="Preparation sections").get_by_role(
        "link", name=re.compile("Overview")
    ).click()
    progress = page.get_by_role("region", name="How far along you are")
    expect(progress.locator(".progress-figure")).to_have_text(
        "100% of the checklist is done"
    )
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress.locator("li.todo")).to_have_count(0)
    expect(progress.locator("li.done")).to_have_count(8)
    readiness = page.get_by_role("region", name="Readiness check")
    expect(readiness).to_contain_text(
        "Good to go: nothing here argues against working jointly."
    )
    walkaway = page.get_by_role("region", name="Walk-away")
    expect(walkaway).to_contain_text(BATNA)
    expect(walkaway).to_contain_text(RESERVATION)
    expect(walkaway).to_contain_text("118,000")
    expect(walkaway).to_contain_text(TARGET)
    matrix = page.get_by_role("region", name="Priority & tradeables matrix")
    for issue, (importance, give, want, ideal) in MATRIX.items():
        row = matrix.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=issue)
        )
        score = importance.split(" ")[0]
        expect(row.get_by_role("cell")).to_have_text(
            [f"{score} / 5", give, want, ideal]
        )
    expect(page.get_by_role("region", name="Counterparty map")).to_contain_text(
        "Ops lead, then the CFO signs"
    )
    expect(
        page.get_by_role("region", name="Evidence pack").get_by_role(
            "link", name=EVIDENCE_TITLE
        )
    ).to_have_attribute("href", EVIDENCE_URL)
    expect(page.get_by_role("region", name="Anchor worksheet")).to_contain_text(
        ANCHOR_POSITION
    )

    # The deal page: the verdict and 100% in the private sidebar.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name=DEAL_TITLE
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DEAL_TITLE)
    expect(page.locator(".page-head .sub")).to_have_text(f"Sales · with {COUNTERPART}")
    prep = page.get_by_role("region", name=re.compile("Your preparation"))
    expect(prep).to_contain_text("100% prepared")
    expect(
        prep.get_by_role("progressbar", name="Preparation progress")
    ).to_have_attribute("value", "100")
    expect(prep.locator(".alert.ok")).to_have_text(
        "Good to go: nothing here argues against working jointly."
    )
    purpose = page.locator("section.card").filter(
        has=page.get_by_role("heading", name="Shared purpose")
    )
    expect(purpose).to_contain_text(PURPOSE)
    expect(page.locator("tbody tr td:first-child strong")).to_have_text(
        ["Price", "Payment terms", "Support tier"]
    )
    expect(page.get_by_text("31 Mar 2027")).to_be_visible()
