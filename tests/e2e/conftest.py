"""Real-browser tests: Playwright driving Debian's Chromium against daphne.

pytest-django's live server speaks no websocket, so ``daphne_server`` runs the
real ASGI application in a subprocess (``tests/live_server.py``, the harness
the privacy and scale-out tests and ``bench/room_latency.py`` use too), on the
test database pytest-django has just created. Data a test writes must be
committed for daphne to see it: mark browser tests
``@pytest.mark.django_db(transaction=True)``.

Everything collected under ``tests/e2e`` is marked ``e2e``. ``make test`` runs
it in a pytest process of its own (``pytest -m e2e``): Playwright's sync API
leaves an event loop running, which the async tests must not share.
"""

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.live_server import (
    ASYNC_UNSAFE,
    CHROMIUM_ARGS,  # set for this process only (``_allow_orm_beside_playwright``)
    database_url_for,
    start_servers,
    stop_servers,
)
from tests.service_checks import service_unavailable

E2E_DIR = Path(__file__).resolve().parent

CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e ``e2e``, before ``-m`` selects by marks."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Keep the real password hashers (overrides tests/conftest.py's MD5).

    Users are created here but log in through daphne, a separate process with
    the project's PASSWORD_HASHERS: an MD5 hash would never verify there.
    """


@pytest.fixture(autouse=True)
def _no_broadcast_from_the_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let services run here while Playwright's event loop owns this thread.

    Services broadcast after commit through ``async_to_sync``, which refuses
    to run beside a running loop. Nobody is in a room while a test sets it up,
    and daphne (another process) does its own broadcasting.
    """
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Let tests use the ORM while Playwright's sync API runs its event loop.

    Django refuses ORM calls from a thread with a running loop; here that loop
    belongs to Playwright, not to us, so the check is a false alarm. Only this
    process gets the variable: ``daphne_server`` never passes it on.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ASYNC_UNSAFE, "true")
        yield


@pytest.fixture(scope="session")
def daphne_server(
    django_db_setup, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The ASGI app served by daphne on a free port; yields its base URL.

    Depends on ``django_db_setup``, so it starts after the test database exists
    and stops before pytest-django drops it (PostgreSQL refuses to drop a
    database that still has connections).
    """
    from django.db import connection

    servers = start_servers(
        1,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path_factory.mktemp("daphne"),
        env={"DJANGO_DEBUG": "1"},  # static files through whitenoise's finders
    )
    try:
        yield servers[0].base_url
    finally:
        stop_servers(servers)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by the session."""
    if shutil.which(CHROMIUM) is None:
        service_unavailable(
            f"no Chromium at {CHROMIUM}: `apt-get install chromium` "
            "or set PARLEY_CHROMIUM"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def context_factory(
    browser: Browser, daphne_server: str
) -> Iterator[Callable[..., BrowserContext]]:
    """New, isolated browser contexts (one per person: host, counterpart…).

    Relative URLs resolve against daphne; every context is closed after the test.
    """
    contexts: list[BrowserContext] = []

    def new_context(**options) -> BrowserContext:
        context = browser.new_context(base_url=daphne_server, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield new_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(context_factory: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh context of its own."""
    return context_factory().new_page()


PASSWORD = "correct-horse-9"  # UserFactory's
LIVE_TIMEOUT = 5_000


def open_tool(page: Page, region: str) -> None:
    """Open a room tool the current stage keeps collapsed (one click away)."""
    tool = page.locator(f"#tool-{region}")
    if tool.get_attribute("open") is None:
        tool.locator("> summary").click()
    expect(tool).to_have_attribute("open", "")


def enter_room(rep: Page, guest: Page, deal_id: int, token: str) -> None:
    """The rep "riley" logs in and opens the deal's room; the guest opens the
    share link and joins as Sam Rivera; both wait until the room is live."""
    rep.goto("/accounts/login/")
    rep.get_by_label(re.compile(r"^Username")).fill("riley")
    rep.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    rep.locator("main").get_by_role("button", name="Log in").click()
    rep.goto(f"/room/{deal_id}/")
    guest.goto(f"/join/{token}/")
    guest.get_by_label(re.compile(r"^Your name")).fill("Sam Rivera")
    guest.get_by_role("button", name="Join the room").click()
    for page in (rep, guest):
        expect(page.locator("#live-status")).to_have_text("Live", timeout=LIVE_TIMEOUT)


# --- The README's tour, page by page, for each role -------------------------
# The accessibility, phone-width and console checks walk the same pages.


@dataclass(frozen=True)
class TourStop:
    """One page of the tour, as one role sees it."""

    role: str  # visitor, rep, counterpart or manager
    name: str
    path: str | None  # None: reached by the step before it (the join flow)


@dataclass
class Tour:
    deal_id: int
    closed_deal_id: int
    invite_path: str  # /join/#<token>
    stops: list[TourStop] = field(default_factory=list)


PREP_SECTIONS = (
    "walkaway", "matrix", "counterparty", "evidence", "anchors", "scoring", "readiness",
)  # fmt: skip


@pytest.fixture
def tour(daphne_server: str, monkeypatch: pytest.MonkeyPatch) -> Tour:
    """The demo (``seed_demo``: demo-rep, demo-manager, the live deal in
    Midgame and a fresh share link) plus a closed deal for the review pages."""
    # Seeding broadcasts after commit, beside Playwright's loop when a browser
    # test ran before this one; nobody is connected yet (see the fixture above).
    for name in (
        "negotiation.services.base.broadcast_to",
        "room.sessions.broadcast_to",
        "room.services.invites.broadcast_to",
    ):
        monkeypatch.setattr(name, lambda *a, **k: None)
    from negotiation.models import Team
    from tests.live_server import seed_demo
    from tests.scenarios import negotiate

    demo = seed_demo(daphne_server)
    deal_id = int(demo["deal_url"].rstrip("/").rsplit("/", 1)[-1])
    rep = get_user_model().objects.get(username=demo["host"]["username"])
    team = Team.objects.get(deals__pk=deal_id)
    closed = negotiate(owner=rep, team=team, title="Globex analytics pilot").deal
    invite_path = demo["invite_url"].removeprefix(daphne_server)
    deal, prep = f"/deals/{deal_id}", f"/deals/{deal_id}/prep"
    stops = [
        TourStop("visitor", "home", "/"),
        TourStop("visitor", "log in", "/accounts/login/"),
        TourStop("visitor", "sign up", "/accounts/signup/"),
        TourStop("rep", "deals", "/deals/"),
        TourStop("rep", "deal", f"{deal}/"),
        TourStop("rep", "issues", f"{deal}/issues/"),
        TourStop("rep", "preparation", f"{prep}/"),
        *(TourStop("rep", f"preparation: {s}", f"{prep}/{s}/") for s in PREP_SECTIONS),
        TourStop("rep", "share links", f"/deals/{deal_id}/invites/"),
        TourStop("rep", "room", f"/room/{deal_id}/"),
        TourStop("rep", "playbooks", "/playbooks/"),
        TourStop("counterpart", "join (paste a link)", "/join/"),
        TourStop("counterpart", "join (your name)", None),
        TourStop("counterpart", "room", None),
        TourStop("counterpart", "preparation", f"{prep}/"),
        TourStop("counterpart", "preparation: matrix", f"{prep}/matrix/"),
        TourStop("manager", "dashboard", "/deals/dashboard/"),
        TourStop("manager", "review", f"/deals/{closed.pk}/review/"),
        TourStop("manager", "lessons", "/deals/lessons/"),
    ]
    return Tour(deal_id, closed.pk, invite_path, stops)


DEMO_LOGINS = {"rep": "demo-rep", "manager": "demo-manager"}


def _log_in_as(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^Username")).fill(username)
    page.get_by_label(re.compile(r"^Password")).fill(f"parley-{username}")
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deals")


def walk_tour(
    tour: Tour,
    context_factory: Callable[..., BrowserContext],
    visit: Callable[[TourStop, Page], None],
    *,
    on_new_page: Callable[[Page], None] | None = None,
    roles: set[str] | None = None,
    **context_options,
) -> None:
    """Open every stop of the tour in its role's own browser context and call
    ``visit`` once the page has loaded (the room: once it is live).

    The counterpart opens the share link, gives a name and lands in the room,
    as a guest would. ``on_new_page`` sees each page before it loads anything;
    ``roles`` limits the walk to those roles' stops.
    """
    pages: dict[str, Page] = {}
    for stop in tour.stops:
        if roles is not None and stop.role not in roles:
            continue
        page = pages.get(stop.role)
        if page is None:
            page = context_factory(**context_options).new_page()
            if on_new_page is not None:
                on_new_page(page)
            if stop.role in DEMO_LOGINS:
                _log_in_as(page, DEMO_LOGINS[stop.role])
            pages[stop.role] = page
        if stop.role == "counterpart" and stop.path is None:
            if stop.name.startswith("join"):
                # From /join/ itself, /join/#… would only move to the fragment.
                page.goto("about:blank")
                page.goto(tour.invite_path)
                expect(page.get_by_label(re.compile(r"^Your name"))).to_be_visible()
            else:
                page.get_by_label(re.compile(r"^Your name")).fill("Dana Whitfield")
                page.get_by_role("button", name="Join the room").click()
                expect(page).to_have_url(re.compile(rf"/room/{tour.deal_id}/$"))
        else:
            page.goto(stop.path)
        if "room" in stop.name and "join" not in stop.name:
            expect(page.locator("#live-status")).to_have_text(
                "Live", timeout=LIVE_TIMEOUT
            )
        page.wait_for_load_state("networkidle")
        visit(stop, page)
