"""The room survives a dropped socket, and degrades to plain HTTP without one.
An edit whose ack was lost with the socket, sent again unchanged, is applied
once.

Playwright's ``route_web_socket`` stands between the counterpart's page and
daphne: it proxies the room's socket to the server while the network is "up",
and closes it (or refuses new ones) to simulate a drop. ``set_offline`` is no
use here: Chromium's offline emulation leaves open websockets alone.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import (
    BrowserContext,
    Page,
    Request,
    WebSocketRoute,
    expect,
)

from negotiation.access import deal_access_for_user
from negotiation.models import Deal
from room.models import Message
from room.services import invite_create
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal

PASSWORD = "correct-horse-9"  # UserFactory's
GUEST_NAME = "Sam Rivera"
LIVE_TIMEOUT = 5_000
ROOM_SOCKET = re.compile(r"/ws/room/\d+/$")
PAUSED = "Live updates paused — reconnecting. Your changes still save."
# Any close code but 4401/4403/4404 tells room.js to come back.
CLOSE_SERVICE_RESTART = 1012
CLOSE_TRY_AGAIN_LATER = 1013


@dataclass
class FlakyNetwork:
    """The counterpart's room socket, proxied to daphne until told otherwise."""

    up: bool = True
    attempts: int = 0
    open: list[tuple[WebSocketRoute, WebSocketRoute]] = field(default_factory=list)

    def handle(self, page_side: WebSocketRoute) -> None:
        self.attempts += 1
        if not self.up:
            page_side.close(code=CLOSE_TRY_AGAIN_LATER, reason="network down")
            return
        self.open.append((page_side, page_side.connect_to_server()))

    def drop(self) -> None:
        """Cut every open socket, and refuse new ones until ``restore``."""
        self.up = False
        while self.open:
            page_side, server_side = self.open.pop()
            page_side.close(code=CLOSE_SERVICE_RESTART, reason="network drop")
            server_side.close()

    def restore(self) -> None:
        self.up = True


@dataclass
class AckLosingNetwork(FlakyNetwork):
    """A flaky network that can drop the line just as an ack is on its way:
    the server applied the action, the page never hears so. Records the
    actions the page sent and the frames the page was given."""

    lose_next_ack: bool = False
    sent: list[dict] = field(default_factory=list)
    delivered: list[dict] = field(default_factory=list)

    def handle(self, page_side: WebSocketRoute) -> None:
        super().handle(page_side)
        if not self.up:
            return
        server_side = self.open[-1][1]

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if "client_msg_id" in frame:
                self.sent.append(frame)
            server_side.send(message)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "ack" and self.lose_next_ack:
                self.lose_next_ack = False
                self.drop()
                return
            self.delivered.append(frame)
            page_side.send(message)

        page_side.on_message(from_page)
        server_side.on_message(from_server)


def _set_up_deal() -> tuple[Deal, str]:
    """A deal on the rep's team, and a fresh share link's token."""
    rep = UserFactory(username="riley", first_name="Riley", last_name="Chen")
    MembershipFactory(user=rep, team__name="Northwind")
    deal = make_deal(
        owner=rep,
        title="Fleet analytics renewal",
        counterpart_organisation="Acme Logistics",
    )
    IssueFactory(deal=deal, name="Price", unit="EUR")
    IssueFactory(deal=deal, name="Payment terms", unit="days")
    _, token = invite_create(access=deal_access_for_user(rep, deal.pk), label="Sam")
    return deal, token


def _rep_enters_the_room(rep: Page, deal_id: int) -> None:
    rep.goto("/accounts/login/")
    rep.get_by_label(re.compile(r"^Username")).fill("riley")
    rep.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    rep.locator("main").get_by_role("button", name="Log in").click()
    expect(rep.get_by_role("heading", level=1)).to_have_text("Deals")
    rep.goto(f"/room/{deal_id}/")
    _expect_status(rep, "live", "Live")


def _guest_joins(guest: Page, token: str, deal_id: int) -> None:
    guest.goto(f"/join/{token}/")
    guest.get_by_label(re.compile(r"^Your name")).fill(GUEST_NAME)
    guest.get_by_role("button", name="Join the room").click()
    expect(guest).to_have_url(re.compile(rf"/room/{deal_id}/$"))


def _expect_status(page: Page, state: str, text: str) -> None:
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", state)
    expect(status).to_have_text(text)


def _messages(page: Page):
    return page.locator("#region-discussion ol.messages-list > li")


def _post_message(page: Page, body: str) -> None:
    discussion = page.locator("#region-discussion")
    discussion.get_by_label("Message", exact=True).fill(body)
    discussion.get_by_role("button", name="Send").click()


def _presence_of(page: Page, name: str):
    return page.locator("#region-presence li").filter(has_text=name)


@pytest.mark.django_db(transaction=True)
def test_counterpart_catches_up_without_reload_after_its_socket_drops(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up_deal()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    for page in (rep, guest):
        page.set_default_timeout(LIVE_TIMEOUT)
    network = FlakyNetwork()
    guest.route_web_socket(ROOM_SOCKET, network.handle)
    sync_polls: list[str] = []
    guest.on(
        "request",
        lambda request: (
            sync_polls.append(request.url) if "/sync/" in request.url else None
        ),
    )

    _rep_enters_the_room(rep, deal.pk)
    _guest_joins(guest, token, deal.pk)
    _expect_status(guest, "live", "Live")
    expect(_presence_of(rep, GUEST_NAME)).to_have_class("online")
    guest.evaluate("window.__sameDocument = true")

    network.drop()
    _expect_status(guest, "paused", PAUSED)
    # The server saw the counterpart go: the rep sees them away.
    expect(_presence_of(rep, GUEST_NAME)).to_have_class("offline")

    # Meanwhile the rep changes the shared purpose and writes in the discussion.
    purpose = "A renewal that pays for itself within a year"
    setup = rep.locator("#region-setup")
    setup.get_by_label("Our shared goal is…").fill(purpose)
    setup.get_by_role("button", name="Save purpose and rules").click()
    _post_message(rep, "Sent you the benchmark while you were away")
    expect(_messages(rep)).to_have_text(
        [re.compile("Sent you the benchmark while you were away")]
    )
    # Not delivered yet: the counterpart's socket is down.
    expect(guest.locator("#purpose")).to_have_value("")
    expect(_messages(guest)).to_have_count(0)
    expect(guest.locator("#region-discussion .no-messages")).to_be_visible()

    network.restore()
    # room.js reconnects by itself, asks for what it missed, and shows it.
    _expect_status(guest, "live", "Live")
    expect(guest.locator("#purpose")).to_have_value(purpose)
    expect(_messages(guest)).to_have_text(
        [re.compile(r"^Riley Chen\s*Sent you the benchmark while you were away$")]
    )
    expect(_presence_of(rep, GUEST_NAME)).to_have_class("online")
    assert guest.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert sync_polls == [], "caught up by polling, not by the socket's resync"
    assert network.attempts >= 2

    # The new socket carries the counterpart's own edits live again.
    _post_message(guest, "Got it, thanks")
    expect(_messages(rep).last).to_contain_text("Got it, thanks")
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} wrote in the discussion."
    )
    assert guest.evaluate("window.__sameDocument === true"), "sent by HTTP, not live"


@pytest.mark.django_db(transaction=True)
def test_room_degrades_to_plain_http_when_the_socket_cannot_connect(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, token = _set_up_deal()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    for page in (rep, guest):
        page.set_default_timeout(LIVE_TIMEOUT)
    refused: list[str] = []

    def refuse(page_side: WebSocketRoute) -> None:
        refused.append(page_side.url)
        page_side.close(code=CLOSE_TRY_AGAIN_LATER, reason="socket unavailable")

    guest.route_web_socket(ROOM_SOCKET, refuse)

    _rep_enters_the_room(rep, deal.pk)
    _guest_joins(guest, token, deal.pk)
    _expect_status(guest, "paused", PAUSED)
    assert refused, "the room never tried its socket"

    # The counterpart's message goes as a plain form POST, then a redirect.
    def posts_message(request: Request) -> bool:
        return request.method == "POST" and request.url.endswith(
            f"/room/{deal.pk}/act/message.post/"
        )

    discussion = guest.locator("#region-discussion")
    discussion.get_by_label("Message", exact=True).fill("Can we talk about volume?")
    discussion.get_by_label("Kind of message").select_option(label="Question")
    with guest.expect_request(posts_message) as posted:
        discussion.get_by_role("button", name="Send").click()
    response = posted.value.response()
    assert response is not None
    assert response.status == 302
    expect(guest).to_have_url(re.compile(rf"/room/{deal.pk}/#region-discussion$"))
    expect(_messages(guest)).to_have_text(
        [re.compile(rf"^{GUEST_NAME}\s*question\s*Can we talk about volume\?$")]
    )
    _expect_status(guest, "paused", PAUSED)

    # The rep, still live, gets it at once, and again after a reload.
    expect(_messages(rep)).to_have_text(
        [re.compile(rf"^{GUEST_NAME}\s*question\s*Can we talk about volume\?$")]
    )
    expect(rep.locator("#room-announcer")).to_have_text(
        f"{GUEST_NAME} wrote in the discussion."
    )
    rep.reload()
    _expect_status(rep, "live", "Live")
    expect(_messages(rep)).to_have_text([re.compile(r"Can we talk about volume\?$")])

    # The rep's answer reaches the socket-less counterpart on its next load.
    _post_message(rep, "Yes: 20% more seats for a 36-month term?")
    expect(_messages(rep)).to_have_count(2)
    guest.reload()
    _expect_status(guest, "paused", PAUSED)
    expect(_messages(guest)).to_have_text(
        [
            re.compile(r"Can we talk about volume\?$"),
            re.compile(r"^Riley Chen\s*Yes: 20% more seats for a 36-month term\?$"),
        ]
    )


def _guest_loses_the_ack_of(
    guest: Page, rep: Page, network: AckLosingNetwork, body: str
) -> None:
    """The guest sends ``body``; it is applied (the rep sees it), but the line
    drops before the ack arrives, and stays down."""
    network.lose_next_ack = True
    _post_message(guest, body)
    _expect_status(guest, "paused", PAUSED)
    expect(_messages(rep)).to_have_text([re.compile(re.escape(body))])
    # Unanswered: the guest's words are still in the box.
    expect(_message_box(guest)).to_have_value(body)


def _message_box(page: Page):
    return page.locator("#region-discussion").get_by_label("Message", exact=True)


def _acks(network: AckLosingNetwork, client_msg_id: str) -> list[dict]:
    return [
        f
        for f in network.delivered
        if f.get("type") == "ack" and f.get("client_msg_id") == client_msg_id
    ]


def _room_with_a_lossy_guest(
    context_factory: Callable[..., BrowserContext],
) -> tuple[Deal, Page, Page, AckLosingNetwork]:
    """The rep and a guest live in one room, the guest's socket through a
    network that can lose an ack on its way."""
    deal, token = _set_up_deal()
    rep = context_factory().new_page()
    guest = context_factory().new_page()
    for page in (rep, guest):
        page.set_default_timeout(LIVE_TIMEOUT)
    network = AckLosingNetwork()
    guest.route_web_socket(ROOM_SOCKET, network.handle)
    _rep_enters_the_room(rep, deal.pk)
    _guest_joins(guest, token, deal.pk)
    _expect_status(guest, "live", "Live")
    return deal, rep, guest, network


@pytest.mark.django_db(transaction=True)
def test_an_edit_sent_again_after_its_ack_was_lost_is_applied_once(
    context_factory: Callable[..., BrowserContext],
) -> None:
    _deal, rep, guest, network = _room_with_a_lossy_guest(context_factory)
    guest.evaluate("window.__sameDocument = true")
    body = "We could sign for 36 months if onboarding is included"

    _guest_loses_the_ack_of(guest, rep, network, body)
    network.restore()
    _expect_status(guest, "live", "Live")
    # The resync shows the message that was applied; the draft stays.
    expect(_messages(guest)).to_have_text([re.compile(re.escape(body))])

    # The user, unsure it went, presses Send again on the unchanged form.
    guest.locator("#region-discussion").get_by_role("button", name="Send").click()
    expect(_message_box(guest)).to_have_value("")  # acknowledged: form reset
    guest.wait_for_timeout(500)  # any duplicate would have arrived by now
    for page in (guest, rep):
        expect(_messages(page)).to_have_text([re.compile(re.escape(body))])
    assert Message.objects.filter(body=body).count() == 1
    first, again = network.sent
    assert again["client_msg_id"] == first["client_msg_id"]
    assert again["data"] == first["data"]
    # The only ack the page got for it: the server's "already applied".
    [ack] = _acks(network, first["client_msg_id"])
    assert ack["replayed"] is True
    assert guest.evaluate("window.__sameDocument === true"), "sent by HTTP, not live"

    # An answered send is over: the same words sent again are a new message.
    _post_message(guest, body)
    expect(_message_box(guest)).to_have_value("")
    assert network.sent[-1]["client_msg_id"] != first["client_msg_id"]
    for page in (guest, rep):
        expect(_messages(page)).to_have_count(2)
    assert Message.objects.filter(body=body).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_changed_form_sent_after_a_lost_ack_is_a_new_edit(
    context_factory: Callable[..., BrowserContext],
) -> None:
    _deal, rep, guest, network = _room_with_a_lossy_guest(context_factory)
    body = "Could onboarding be part of the price?"

    _guest_loses_the_ack_of(guest, rep, network, body)
    network.restore()
    _expect_status(guest, "live", "Live")
    _post_message(guest, f"{body} Asking again.")

    for page in (guest, rep):
        expect(_messages(page)).to_have_count(2)
    first, changed = network.sent
    assert changed["client_msg_id"] != first["client_msg_id"]
    assert Message.objects.filter(body__startswith=body).count() == 2


@pytest.mark.django_db(transaction=True)
def test_an_edit_sent_again_over_http_while_the_socket_is_down_is_applied_once(
    context_factory: Callable[..., BrowserContext],
) -> None:
    deal, rep, guest, network = _room_with_a_lossy_guest(context_factory)
    body = "Net 45 would work for us"

    _guest_loses_the_ack_of(guest, rep, network, body)
    # Still down: Send again goes as a plain POST, under the same id.
    with guest.expect_request(
        lambda request: request.method == "POST" and "/act/message.post/" in request.url
    ) as posted:
        guest.locator("#region-discussion").get_by_role("button", name="Send").click()
    form = dict(
        pair.split("=", 1) for pair in (posted.value.post_data or "").split("&")
    )

    expect(guest).to_have_url(re.compile(rf"/room/{deal.pk}/#region-discussion$"))
    for page in (guest, rep):
        expect(_messages(page)).to_have_text([re.compile(re.escape(body))])
    assert Message.objects.filter(body=body).count() == 1
    assert form["client_msg_id"] == network.sent[0]["client_msg_id"]
