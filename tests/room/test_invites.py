"""Share links: the host side creates, lists and revokes them; a counterpart
exchanges one for a guest session and joins under a name. The token is strong,
stored hashed, shown once, and dropped from the URL at the first request."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from negotiation.access import (
    GUESTS_SESSION_KEY,
    PENDING_INVITE_SESSION_KEY,
    deal_access_for_user,
    guest_participant_id,
)
from negotiation.models import Deal, Membership, Participant, Party, Preparation
from room.models import Invite
from room.services import invite_create, invite_revoke
from tests.factories import MembershipFactory, make_deal
from tests.room.conftest import join_as, open_link, share_link

pytestmark = pytest.mark.django_db

JOIN_URL = "/join/"


def invites_url(deal: Deal) -> str:
    return reverse("live:invites", args=[deal.pk])


def room_url(deal: Deal) -> str:
    return reverse("live:room", args=[deal.pk])


def html(response) -> str:
    return response.content.decode()


def assert_never_cached(response) -> None:
    """A response to a posted token is stored by no browser or shared cache."""
    assert "no-store" in response["Cache-Control"]


# --- The token -----------------------------------------------------------------


def test_a_token_has_at_least_128_bits_and_only_its_hash_is_stored(host_access):
    invite, token = invite_create(access=host_access)

    # 128 bits in URL-safe base64 take at least 22 characters; ours carry 256.
    assert len(token) >= 43
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    row = Invite.objects.filter(pk=invite.pk).values().get()
    assert all(token not in str(value) for value in row.values())


def test_every_link_gets_its_own_token(host_access):
    tokens = {invite_create(access=host_access)[1] for _ in range(20)}

    assert len(tokens) == 20


# --- Creating links, shown once ---------------------------------------------


def test_a_new_link_is_shown_once_in_full_and_never_cached(rep_client, deal):
    response = rep_client.post(
        invites_url(deal), {"label": "Dana (Head of Retail Ops)", "valid_days": "7"}
    )

    assert response.status_code == 200  # rendered, not redirected
    assert "no-store" in response["Cache-Control"]
    link = response.context["new_link"]
    token = link.rsplit("#", 1)[-1]
    # The token rides in the fragment, which no request line ever carries.
    assert link == share_link(token)
    page = html(response)
    assert f'value="{link}"' in page
    assert "readonly" in page
    assert "it will not be shown again" in page
    invite = Invite.objects.get(deal=deal)
    assert invite.label == "Dana (Head of Retail Ops)"
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invite.created_by.username == "rep"
    days = (invite.expires_at - timezone.now()).total_seconds() / 86400
    assert 6.99 < days <= 7

    # The next visit lists the link, but the link itself is gone for good.
    later = rep_client.get(invites_url(deal))
    assert later.status_code == 200
    assert token not in html(later)
    assert "it will not be shown again" not in html(later)
    assert "Dana (Head of Retail Ops)" in html(later)


def test_a_link_without_a_validity_lasts_the_configured_days(
    rep_client, deal, settings
):
    settings.PARLEY_INVITE_DAYS = 3

    page = html(rep_client.get(invites_url(deal)))
    rep_client.post(invites_url(deal), {"label": "", "valid_days": ""})

    assert 'value="3"' in page  # the form's default
    invite = Invite.objects.get(deal=deal)
    days = (invite.expires_at - timezone.now()).total_seconds() / 86400
    assert 2.99 < days <= 3


@pytest.mark.parametrize("valid_days", ["0", "91", "-5", "soon"])
def test_a_validity_outside_1_to_90_days_is_refused(rep_client, deal, valid_days):
    response = rep_client.post(
        invites_url(deal), {"label": "Dana", "valid_days": valid_days}
    )

    assert response.status_code == 422
    assert response.context["new_link"] is None
    assert response.context["form"].errors["valid_days"]
    assert not Invite.objects.exists()


def test_labels_are_escaped(rep_client, deal, host_access):
    invite_create(access=host_access, label="<script>alert(1)</script>")

    page = html(rep_client.get(invites_url(deal)))

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# --- Who may manage links ---------------------------------------------------


def test_a_colleague_rep_of_the_same_team_cannot_open_the_invites_page(
    client, deal, invite_and_token
):
    client.force_login(MembershipFactory(team=deal.team).user)

    assert client.get(invites_url(deal)).status_code == 404
    assert client.post(invites_url(deal), {"valid_days": "7"}).status_code == 404
    revoke = reverse("live:invite-revoke", args=[deal.pk, invite_and_token[0].pk])
    assert client.post(revoke).status_code == 404
    assert Invite.objects.count() == 1
    assert Invite.objects.get().revoked_at is None


def test_a_manager_of_another_team_cannot_open_the_invites_page(client, deal):
    client.force_login(MembershipFactory(role=Membership.Role.MANAGER).user)

    assert client.get(invites_url(deal)).status_code == 404


def test_anonymous_visitors_and_guests_are_sent_to_log_in(client, deal, guest_client):
    for visitor in (client, guest_client):
        response = visitor.get(invites_url(deal))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        response = visitor.post(invites_url(deal), {"valid_days": "7"})
        assert response.status_code == 302
    assert Invite.objects.count() == 1  # the guest's own


def test_the_team_manager_sees_the_links_read_only(
    manager_client, deal, invite_and_token
):
    invite = invite_and_token[0]

    response = manager_client.get(invites_url(deal))

    revoke = reverse("live:invite-revoke", args=[deal.pk, invite.pk])
    assert response.status_code == 200
    assert "Dana (Head of Retail Ops)" in html(response)
    assert "Read-only" in html(response)
    assert response.context["form"] is None
    assert revoke not in html(response)
    create = manager_client.post(invites_url(deal), {"valid_days": "7"})
    assert create.status_code == 403
    assert manager_client.post(revoke).status_code == 403
    assert Invite.objects.count() == 1
    assert Invite.objects.get().revoked_at is None


def test_no_new_links_on_a_closed_deal(rep_client, deal):
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.AGREED)

    page = rep_client.get(invites_url(deal))
    response = rep_client.post(invites_url(deal), {"valid_days": "7"})

    assert page.status_code == 200
    assert "No new links can be created" in html(page)
    assert response.status_code == 403
    assert not Invite.objects.exists()


# --- Exchanging the token ---------------------------------------------------


def test_opening_a_link_exchanges_the_token_for_the_session_and_drops_it(
    client, invite_and_token
):
    invite, token = invite_and_token

    response = open_link(client, token)

    assert response.status_code == 302
    assert response["Location"] == JOIN_URL
    assert token not in response["Location"]
    assert_never_cached(response)
    assert client.session[PENDING_INVITE_SESSION_KEY] == invite.pk
    invite.refresh_from_db()
    assert invite.used_at is not None
    assert invite.state == "active"  # nobody joined yet


def test_the_share_link_lands_on_a_page_whose_script_posts_the_fragment(client):
    response = client.get(JOIN_URL)

    page = html(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    # The script is a file (the CSP allows no inline script), and the form it
    # fills posts the token with a CSRF token.
    assert '<script src="/static/js/join.js"></script>' in page
    assert "<script>" not in page
    form = page.split("data-join-link")[1].split("</form>")[0]
    assert f'action="{reverse("live:join-open")}"' in page
    assert 'name="csrfmiddlewaretoken"' in form
    assert 'name="link"' in form
    # Without JavaScript the visitor can paste the link instead.
    assert "Open the link you were sent" in page


def test_the_name_page_can_open_another_link_too(client, host_access, deal):
    open_link(client, invite_create(access=host_access)[1])

    page = html(client.get(JOIN_URL))

    assert 'name="display_name"' in page
    assert '<script src="/static/js/join.js"></script>' in page
    assert "data-join-link hidden" in page


@pytest.mark.parametrize(
    "pasted",
    [
        "{token}",
        "  http://testserver/join/#{token}  ",
        "http://testserver/join/{token}/",  # a link sent before fragments
    ],
)
def test_a_pasted_link_opens_like_the_script_posting_it(
    client, invite_and_token, pasted
):
    invite, token = invite_and_token

    response = open_link(client, pasted.format(token=token))

    assert response.status_code == 302
    assert response["Location"] == JOIN_URL
    assert client.session[PENDING_INVITE_SESSION_KEY] == invite.pk


def test_posting_no_link_asks_for_one(client):
    response = client.post(reverse("live:join-open"), {"link": "  "})

    assert response.status_code == 422
    assert "Paste the link you were sent." in html(response)


def test_opening_the_link_needs_the_csrf_token(invite_and_token):
    browser = Client(enforce_csrf_checks=True)

    response = open_link(browser, invite_and_token[1])

    assert response.status_code == 403
    assert PENDING_INVITE_SESSION_KEY not in browser.session


def test_a_link_sent_before_fragments_is_redirected_to_the_fragment_form(
    client, invite_and_token
):
    invite, token = invite_and_token

    response = client.get(f"/join/{token}/")

    assert response.status_code == 302
    assert response["Location"] == f"/join/#{token}"
    # The old URL holds the token: send it on to no one, store it nowhere.
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    # Nothing was looked up or redeemed: the page's script does that.
    invite.refresh_from_db()
    assert invite.used_at is None
    assert PENDING_INVITE_SESSION_KEY not in client.session


REFUSALS = {
    "unknown": (404, "We don't recognise this link"),
    "expired": (410, "This link has expired"),
    "revoked": (410, "This link was withdrawn"),
    "used": (410, "This link has already been used"),
}


@pytest.fixture
def token_that_is(request, host_access, expired_token) -> str:
    """A token in the state the test is parametrized with."""
    reason = request.param
    if reason == "unknown":
        return "x" * 43
    if reason == "expired":
        return expired_token
    invite, token = invite_create(access=host_access)
    if reason == "revoked":
        invite_revoke(access=host_access, invite_id=invite.pk)
    if reason == "used":
        join_as(Client(), token, "Someone else")
    return token


@pytest.mark.parametrize("token_that_is", list(REFUSALS), indirect=True)
def test_a_link_that_admits_nobody_gets_a_clear_page(client, request, token_that_is):
    reason = request.node.callspec.params["token_that_is"]
    status, headline = REFUSALS[reason]

    response = open_link(client, token_that_is)

    assert response.status_code == status
    assert headline in html(response)
    assert "Traceback" not in html(response)
    assert_never_cached(response)
    assert PENDING_INVITE_SESSION_KEY not in client.session
    # Nothing about the deal is revealed to whoever holds a dead link.
    assert "Acme renewal" not in html(response)


@pytest.mark.parametrize("token_that_is", list(REFUSALS), indirect=True)
def test_a_refused_link_is_logged_by_a_hash_prefix_never_by_its_token(
    client, caplog, token_that_is
):
    with caplog.at_level("INFO"):
        open_link(client, token_that_is)

    fingerprint = hashlib.sha256(token_that_is.encode()).hexdigest()[:12]
    assert f"token sha256 {fingerprint}" in caplog.text
    assert token_that_is not in caplog.text
    assert token_that_is[:8] not in caplog.text


# --- Guessing tokens ------------------------------------------------------------


def unknown_token(n: int) -> str:
    return f"{n:043d}"


def test_unknown_links_are_throttled_per_ip(client, settings, invite_and_token):
    settings.PARLEY_JOIN_UNKNOWN_LIMIT = 20
    invite, token = invite_and_token
    for n in range(20):
        assert open_link(client, unknown_token(n)).status_code == 404

    refused = open_link(client, unknown_token(20))
    # Even a real link: whoever guesses cannot tell a hit from a miss.
    real = open_link(client, token)

    for response in (refused, real):
        assert response.status_code == 429
        assert "Too many links that we don't recognise" in html(response)
        assert int(response["Retry-After"]) == settings.PARLEY_JOIN_UNKNOWN_WINDOW
    invite.refresh_from_db()
    assert invite.used_at is None
    assert PENDING_INVITE_SESSION_KEY not in client.session
    # Another address is not affected.
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")
    assert open_link(elsewhere, token).status_code == 302


def test_links_that_exist_never_count_towards_the_throttle(
    client, settings, host_access
):
    settings.PARLEY_JOIN_UNKNOWN_LIMIT = 2
    for _ in range(5):
        open_link(Client(), invite_create(access=host_access)[1])  # fresh browsers
        open_link(client, invite_create(access=host_access)[1])

    assert open_link(client, unknown_token(1)).status_code == 404
    assert open_link(client, unknown_token(2)).status_code == 404
    assert open_link(client, unknown_token(3)).status_code == 429


def test_the_throttle_lifts_when_its_window_ends(client, settings, invite_and_token):
    settings.PARLEY_JOIN_UNKNOWN_LIMIT = 1
    settings.PARLEY_JOIN_UNKNOWN_WINDOW = 1
    open_link(client, unknown_token(1))
    assert open_link(client, invite_and_token[1]).status_code == 429

    time.sleep(1.2)

    assert open_link(client, invite_and_token[1]).status_code == 302


def test_the_guess_count_is_shared_through_the_cache(client, settings):
    """Every process must see one count: it lives in Django's cache, which is
    Redis whenever REDIS_URL is set."""
    from django.core.cache import cache

    settings.PARLEY_JOIN_UNKNOWN_LIMIT = 3
    open_link(client, unknown_token(1))

    assert cache.get("throttle:join-unknown:127.0.0.1") == 1


def test_with_redis_configured_the_cache_is_redis():
    """With REDIS_URL, several daphne processes must share one count."""
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.CACHES['default']['BACKEND'], "
        "settings.CACHES['default']['LOCATION'])"
    )
    env = {**os.environ, "REDIS_URL": "redis://redis.example:6379/3"}
    env.pop("DATABASE_URL", None)

    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert out == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://redis.example:6379/3",
    ]


def test_a_guest_reopening_their_link_goes_straight_to_the_room(
    guest_client, deal, invite_and_token
):
    response = open_link(guest_client, invite_and_token[1])

    assert response.status_code == 302
    assert response["Location"] == room_url(deal)
    assert_never_cached(response)


def test_the_host_opening_their_own_link_is_told_to_send_it_instead(
    rep_client, invite_and_token
):
    invite, token = invite_and_token

    response = open_link(rep_client, token)

    assert response.status_code == 200  # nothing went wrong
    assert "This link is for the other side" in html(response)
    assert_never_cached(response)
    assert PENDING_INVITE_SESSION_KEY not in rep_client.session
    invite.refresh_from_db()
    assert invite.used_at is None
    assert invite.state == "active"


# --- Joining ------------------------------------------------------------------


def test_the_join_page_shows_the_deal_the_host_and_who_invited_only(
    client, deal, rep, host_access, invite_and_token
):
    rep.first_name, rep.last_name = "Robin", "Park"
    rep.save()
    host = deal.parties.get(side=Party.Side.HOST)
    Preparation.objects.filter(party=host).update(batna="HOST-SECRET-BATNA-551")
    open_link(client, invite_and_token[1])

    response = client.get(JOIN_URL)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = html(response)
    assert "Acme renewal" in page
    assert host.organisation in page
    assert "Robin Park" in page
    assert 'name="display_name"' in page
    assert "HOST-SECRET-BATNA-551" not in page
    # The label is the host's own note about the guest.
    assert "Head of Retail Ops)" not in page


def test_a_name_posted_without_an_opened_link_asks_for_the_link(client):
    response = client.post(JOIN_URL, {"display_name": "Dana"})

    assert response.status_code == 400
    assert "Open the link you were sent" in html(response)
    assert not Participant.objects.filter(party__side="counterpart").exists()


def test_joining_creates_a_counterpart_participant_in_a_new_session(
    client, deal, invite_and_token
):
    invite, token = invite_and_token
    open_link(client, token)
    key_before = client.session.session_key

    response = client.post(JOIN_URL, {"display_name": "  Dana Ortiz "})

    assert response.status_code == 302
    assert response["Location"] == room_url(deal)
    participant = Participant.objects.get(display_name="Dana Ortiz")
    assert participant.party.side == Party.Side.COUNTERPART
    assert participant.party.deal_id == deal.pk
    assert participant.user is None
    invite.refresh_from_db()
    assert invite.participant == participant
    assert invite.state == "used"
    # Session fixation: the identity comes with a new session key.
    session = client.session
    assert session.session_key != key_before
    assert not SessionStore().exists(key_before)
    assert guest_participant_id(session, deal.pk) == participant.pk
    assert PENDING_INVITE_SESSION_KEY not in session


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_missing_or_too_long_name_is_refused(client, invite_and_token, name):
    open_link(client, invite_and_token[1])

    response = client.post(JOIN_URL, {"display_name": name})

    assert response.status_code == 422
    assert response.context["form"].errors["display_name"]
    assert not Participant.objects.filter(party__side="counterpart").exists()
    assert client.session[PENDING_INVITE_SESSION_KEY] == invite_and_token[0].pk


def test_names_are_escaped_on_the_invites_page(rep_client, deal, invite_and_token):
    join_as(Client(), invite_and_token[1], "<b>Dana</b>")

    page = html(rep_client.get(invites_url(deal)))

    assert "<b>Dana</b>" not in page
    assert "&lt;b&gt;Dana&lt;/b&gt;" in page


def test_a_second_join_with_the_same_link_is_refused_as_used(invite_and_token):
    token = invite_and_token[1]
    first, second = Client(), Client()
    open_link(first, token)
    open_link(second, token)  # opened before the first one joined
    first.post(JOIN_URL, {"display_name": "Dana"})

    response = second.post(JOIN_URL, {"display_name": "Mallory"})

    assert response.status_code == 410
    assert "This link has already been used" in html(response)
    assert not Participant.objects.filter(display_name="Mallory").exists()
    assert GUESTS_SESSION_KEY not in second.session
    assert PENDING_INVITE_SESSION_KEY not in second.session
    # And a third browser opening the link is refused at once.
    third = open_link(Client(), token)
    assert third.status_code == 410


def test_a_link_revoked_between_opening_and_joining_admits_nobody(
    client, host_access, invite_and_token
):
    invite, token = invite_and_token
    open_link(client, token)
    invite_revoke(access=host_access, invite_id=invite.pk)

    page = client.get(JOIN_URL)
    post = client.post(JOIN_URL, {"display_name": "Dana"})

    assert page.status_code == 410
    assert "This link was withdrawn" in html(page)
    assert post.status_code == 400  # the pending invite was dropped
    assert not Participant.objects.filter(party__side="counterpart").exists()


# --- The list: used when, by whom; revoking ----------------------------------


def test_the_list_shows_when_a_link_was_used_and_by_whom(
    rep_client, deal, host_access, guest, invite_and_token
):
    invite_create(access=host_access, label="Spare link")
    invite = Invite.objects.get(pk=invite_and_token[0].pk)

    response = rep_client.get(invites_url(deal))

    page = html(response)
    assert response.status_code == 200
    row = page.split(f'id="invite-{invite.pk}"')[1].split("</li>")[0]
    assert "Used" in row
    assert "Joined as <strong>Dana Ortiz</strong>" in row
    assert f"Opened {timezone.localtime(invite.used_at):%-d %b %Y, %H:%M}" in row
    assert "Active" in page  # the spare link
    assert "Revoke and remove Dana Ortiz" in row


def test_revoking_a_used_link_removes_the_guest_at_once(
    rep_client, deal, guest, invite_and_token
):
    guest_client, participant = guest
    invite, token = invite_and_token

    response = rep_client.post(
        reverse("live:invite-revoke", args=[deal.pk, invite.pk]), follow=True
    )

    assert response.redirect_chain == [(invites_url(deal), 302)]
    assert "revoked. Dana Ortiz can no longer open the room." in html(response)
    invite.refresh_from_db()
    participant.refresh_from_db()
    assert invite.state == "revoked"
    assert participant.revoked_at is not None
    # The list no longer offers to revoke it; the link itself is dead.
    assert reverse("live:invite-revoke", args=[deal.pk, invite.pk]) not in html(
        response
    )
    reopened = open_link(guest_client, token)
    assert reopened.status_code == 410
    assert "This link was withdrawn" in html(reopened)


def test_revoking_a_link_of_another_deal_changes_nothing(rep_client, deal):
    other = make_deal(title="Another deal")
    foreign, _ = invite_create(access=deal_access_for_user(other.owner, other.pk))

    response = rep_client.post(
        reverse("live:invite-revoke", args=[deal.pk, foreign.pk]), follow=True
    )

    assert "That link does not exist any more." in html(response)
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_an_expired_link_shows_as_expired(rep_client, deal, expired_token):
    page = html(rep_client.get(invites_url(deal)))

    assert '<span class="badge warn">Expired</span>' in page
