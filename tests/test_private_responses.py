"""No page or download that can hold one side's private data is ever cached.

The test walks every URL pattern of the apps (``get_resolver``), fills in the
ids of a negotiated deal, and fetches each one as the host side's rep and as
the counterpart's guest: every response must say ``Cache-Control: no-store``,
except the public pages listed in ``PUBLIC``.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from negotiation.models import Deal
from negotiation.views.preparation import PAGES
from room.models import Invite
from room.views.room import EARLIER
from tests.scenarios import client_for, client_for_guest, negotiate

pytestmark = pytest.mark.django_db

# Pages anyone may see: nothing private is on them, so a cache may keep them.
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "signup",
    "healthz",
    "live:join-token",
    "live:join",
}
# Pages that show one side's private data: the walk must reach each of them
# (status 200) as the host side, so the header is checked on a real page.
PRIVATE_PAGES = {
    "negotiation:deal-detail",
    "negotiation:prep",
    "negotiation:prep-section",
    "live:room",
    "live:summary",
    "review:review",
    "review:review-summary",
    "review:review-markdown",
    "review:review-ics",
}
APP_NAMESPACES = {"negotiation", "live", "review", "playbooks"}


def named_patterns(resolver: URLResolver, namespace: str = "") -> list[tuple]:
    """(full name, pattern) of every named URL of the apps and of the root."""
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            if inner == "admin":
                continue  # the admin is staff-only and Django's own
            found += named_patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            if namespace and namespace not in APP_NAMESPACES:
                continue
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            found.append((name, entry))
    return found


def addresses(name: str, pattern: URLPattern, deal: Deal, side: str) -> list[str]:
    """Every address of the pattern for the deal, one per slug worth trying."""
    issue = deal.issues.first()
    invite = Invite.objects.filter(deal=deal).first()
    choices = {
        "deal_id": [deal.pk],
        "issue_id": [issue.pk],
        "invite_id": [invite.pk if invite else 1],
        "evidence_id": [1],
        "section": list(PAGES),
        "side": [side],
        "list_name": list(EARLIER),
        "action": ["message.send"],
        "token": ["not-a-token"],
        "uidb64": ["MQ"],
        "key": ["first-move"],
    }
    kwargs_list: list[dict] = [{}]
    for param in pattern.pattern.converters:
        values = choices.get(param, [1])
        kwargs_list = [{**kw, param: value} for kw in kwargs_list for value in values]
    return [reverse(name, kwargs=kwargs) for kwargs in kwargs_list]


def fetch_all(browser, deal: Deal, side: str) -> dict[str, list]:
    responses: dict[str, list] = {}
    for name, pattern in named_patterns(get_resolver()):
        for address in addresses(name, pattern, deal, side):
            responses.setdefault(name, []).append((address, browser.get(address)))
    return responses


@pytest.fixture
def done(rep):
    return negotiate(owner=rep)


def assert_no_store(responses: dict[str, list]) -> None:
    cached = [
        (address, response.status_code, response.get("Cache-Control"))
        for name, fetched in responses.items()
        if name not in PUBLIC
        for address, response in fetched
        if "no-store" not in response.get("Cache-Control", "")
    ]
    assert cached == []


def test_every_page_of_the_host_side_is_sent_no_store(done, rep):
    responses = fetch_all(client_for(rep), done.deal, "host")

    assert_no_store(responses)
    missing = PRIVATE_PAGES - responses.keys()
    assert missing == set(), "the walk lost a private page"
    for name in PRIVATE_PAGES:
        statuses = [response.status_code for _, response in responses[name]]
        assert 200 in statuses, (name, statuses)


def test_every_page_the_guest_opens_is_sent_no_store(done):
    browser = client_for_guest(done.guest.participant)
    responses = fetch_all(browser, done.deal, "counterpart")

    assert_no_store(responses)
    for name in ["negotiation:prep", "live:room", "review:review-markdown"]:
        assert responses[name][0][1].status_code == 200, name
