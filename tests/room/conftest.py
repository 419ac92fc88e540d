"""Fixtures for share links and guests: links in every state, and a browser
(test client) that joined the deal's counterpart side through one."""

from __future__ import annotations

import contextlib
import copy
import datetime
import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from negotiation.access import GUESTS_SESSION_KEY, DealAccess, room_access
from negotiation.models import Deal, DealEvent, Issue, Membership, Participant
from negotiation.services import base
from room import services
from room.models import Commitment, Invite, MesoSet, hash_token
from room.services import invite_create
from room.services.cadence import cadence_propose, cadence_respond
from tests.factories import MembershipFactory
from tests.live_server import wait_until_quiet


def share_link(token: str) -> str:
    """A share link as the host sends it: the token in the fragment."""
    return f"http://testserver/join/#{token}"


def open_link(client: Client, token: str):
    """What the join page's script does with ``/join/#<token>``: post the
    token from the fragment (the fragment itself never reaches the server)."""
    return client.post(reverse("live:join-open"), {"link": token})


@pytest.fixture(autouse=True)
def _servers_quiet_before_the_flush(request):
    """In a test with daphnes (a ``servers`` fixture), their last writes (a
    socket's disconnect) are done before pytest-django empties the tables."""
    yield
    if "servers" in request.fixturenames:
        wait_until_quiet()


@pytest.fixture
def team_manager(deal):
    """A manager of the deal's team: reviews the host side, read-only."""
    return MembershipFactory(team=deal.team, role=Membership.Role.MANAGER).user


@pytest.fixture
def manager_client(team_manager) -> Client:
    client = Client()
    client.force_login(team_manager)
    return client


@pytest.fixture
def invite_and_token(host_access) -> tuple[Invite, str]:
    """An active share link of ``deal``, labelled, and its token."""
    return invite_create(access=host_access, label="Dana (Head of Retail Ops)")


@pytest.fixture
def expired_token(host_access) -> str:
    invite, token = invite_create(access=host_access, label="Old link")
    Invite.objects.filter(pk=invite.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    return token


def join_as(client: Client, token: str, display_name: str) -> Participant:
    """Walk the whole guest flow in ``client``: open the link, give a name."""
    response = open_link(client, token)
    assert response.status_code == 302, response
    response = client.post(reverse("live:join"), {"display_name": display_name})
    assert response.status_code == 302, response
    return Invite.objects.get(token_hash=hash_token(token)).participant


@pytest.fixture
def guest(invite_and_token) -> tuple[Client, Participant]:
    """A browser that joined the counterpart side, and its participant."""
    client = Client()
    participant = join_as(client, invite_and_token[1], "Dana Ortiz")
    return client, participant


@pytest.fixture
def guest_client(guest) -> Client:
    return guest[0]


# --- websockets ---------------------------------------------------------------


@pytest.fixture
def own_channel_layer(settings):
    """A fresh channel layer per test. Over Redis it gets a key prefix of its
    own, so another test (or another engineer's run on the same Redis) never
    delivers a group message to this test's sockets."""
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    if "redis" in layers["default"]["BACKEND"].lower():
        layers["default"].setdefault("CONFIG", {})["prefix"] = (
            f"parley-test-{uuid.uuid4().hex[:12]}"
        )
    settings.CHANNEL_LAYERS = layers  # also drops the cached layer instances


def session_cookie(client: Client) -> str:
    return client.cookies["sessionid"].value


@pytest.fixture
def host_cookie(rep) -> str:
    client = Client()
    client.force_login(rep)
    return session_cookie(client)


@pytest.fixture
def guest_cookie(guest) -> str:
    return session_cookie(guest[0])


# --- the room at a stage, seen by each side -----------------------------------


def at_stage(deal: Deal, stage: str) -> Deal:
    Deal.objects.filter(pk=deal.pk).update(stage=stage)
    deal.refresh_from_db()
    return deal


@pytest.fixture
def midgame(deal) -> Deal:
    return at_stage(deal, Deal.Stage.MIDGAME)


@pytest.fixture
def first_move(deal) -> Deal:
    return at_stage(deal, Deal.Stage.FIRST_MOVE)


@pytest.fixture
def close(deal) -> Deal:
    return at_stage(deal, Deal.Stage.CLOSE)


def access_of_guest(deal: Deal, participant: Participant) -> DealAccess:
    session = {GUESTS_SESSION_KEY: {str(deal.pk): participant.pk}}
    return room_access(AnonymousUser(), session, deal.pk)


@pytest.fixture
def guest_access(deal, guest) -> DealAccess:
    return access_of_guest(deal, guest[1])


@pytest.fixture
def host(host_access) -> DealAccess:
    return host_access


@pytest.fixture
def issues(deal) -> tuple[Issue, Issue]:
    price, terms = deal.issues.order_by("position")
    return price, terms


def fresh(obj):
    obj.refresh_from_db()
    return obj


@pytest.fixture
def issue_ids(deal) -> tuple[int, int]:
    price, terms = deal.issues.order_by("position")
    return price.pk, terms.pk


# --- what a service call wrote and broadcast --------------------------------------


class EventLog:
    """Asserts what one service call wrote to the deal's log and broadcast."""

    def __init__(self, deal: Deal, capture, sent: list) -> None:
        self.deal = deal
        self.capture = capture
        self.sent = sent

    def _events(self) -> list[DealEvent]:
        return list(DealEvent.objects.filter(deal=self.deal).order_by("seq"))

    @contextlib.contextmanager
    def expect(self, kind: str) -> Iterator[None]:
        """The block appends one ``kind`` event, broadcast once after commit."""
        before = self._events()
        self.sent.clear()
        with self.capture(execute=True) as callbacks:
            yield
            assert self.sent == [], "broadcast before the transaction committed"
        new = self._events()[len(before) :]
        assert [event.kind for event in new] == [kind]
        event = new[0]
        assert event.seq == (before[-1].seq if before else 0) + 1  # gapless
        assert Deal.objects.get(pk=self.deal.pk).last_seq == event.seq
        assert len(callbacks) == 1
        assert self.sent == [
            (
                self.deal.pk,
                {
                    "type": "deal.event",
                    "seq": event.seq,
                    "kind": kind,
                    "event_id": event.pk,
                    "actor_id": event.actor_id,
                    # Ids only: no other payload value leaves the database.
                    "ids": {
                        key: value
                        for key, value in event.payload.items()
                        if key.endswith("_id")
                    },
                },
            )
        ]

    @contextlib.contextmanager
    def refused(
        self, exception: type[Exception] = ValidationError, match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo]:
        """The block raises ``exception`` and writes and broadcasts nothing."""
        before = self._events()
        self.sent.clear()
        with (
            self.capture(execute=True) as callbacks,
            pytest.raises(exception, match=match) as info,
        ):
            yield info
        assert self._events() == before
        assert callbacks == []
        assert self.sent == []


@pytest.fixture
def log(deal, django_capture_on_commit_callbacks, monkeypatch) -> EventLog:
    sent: list = []
    monkeypatch.setattr(
        base, "broadcast", lambda deal_id, message: sent.append((deal_id, message))
    )
    return EventLog(deal, django_capture_on_commit_callbacks, sent)


# --- objects of the room, made through its services -------------------------------


def propose(access: DealAccess, give: Issue, give_value, ask: Issue, ask_value):
    return services.trade_propose(
        access=access,
        give_issue_id=give.pk,
        give_value=give_value,
        ask_issue_id=ask.pk,
        ask_value=ask_value,
    )


def packages_for(price: Issue, terms: Issue) -> list[dict]:
    return [
        {"name": "Fast", "values": {str(price.pk): "100", str(terms.pk): "15 days"}},
        {"name": "Cheap", "values": {str(price.pk): "90", str(terms.pk): "60 days"}},
        {"name": "Middle", "values": {str(price.pk): "95", str(terms.pk): "30 days"}},
    ]


@pytest.fixture
def meso(midgame, issues, host) -> MesoSet:
    return services.meso_present(
        access=host, packages=packages_for(*issues), note="All equal to us"
    )


def add_commitment(access: DealAccess, **fields) -> Commitment:
    fields = {
        "owner_side": "host",
        "owner_name": "Robin",
        "description": "Dashboards live in every store",
        "metric": "stores live",
        "target": "95%",
        "due_date": datetime.date(2027, 3, 31),
        **fields,
    }
    return services.commitment_add(access=access, **fields)


def agree_cadence(
    proposer: DealAccess,
    accepter: DealAccess,
    cadence: str = "monthly",
    first_check_in: datetime.date | None = None,
) -> None:
    """One side proposes a review cadence and first check-in, the other
    accepts: what the agreement needs (in Close or Implementation)."""
    first = first_check_in or timezone.localdate() + datetime.timedelta(days=14)
    proposal = cadence_propose(access=proposer, cadence=cadence, first_check_in=first)
    cadence_respond(access=accepter, proposal_id=proposal.pk, accept=True)


@pytest.fixture
def ready(close, issues, host, guest_access) -> Commitment:
    """Every term set, one commitment confirmed by both sides and a review
    cadence agreed."""
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    commitment = add_commitment(host)
    for side in (host, guest_access):
        services.commitment_confirm(access=side, commitment_id=commitment.pk, version=1)
    agree_cadence(host, guest_access)
    return commitment


@pytest.fixture
def agreed(ready, deal, host, guest_access) -> Deal:
    for access in (host, guest_access):
        services.agreement_confirm(
            access=access, digest=services.agreement_digest(deal)
        )
    return fresh(deal)
