"""Fixtures for share links and guests: links in every state, and a browser
(test client) that joined the deal's counterpart side through one."""

from __future__ import annotations

import copy
import datetime
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from negotiation.access import GUESTS_SESSION_KEY, DealAccess, room_access
from negotiation.models import Deal, Membership, Participant
from room.models import Invite, hash_token
from room.services import invite_create
from tests.factories import MembershipFactory


def join_url(token: str) -> str:
    return reverse("live:join-token", args=[token])


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
    response = client.get(join_url(token))
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


# --- the room at a stage, seen by each side ---------------------------------


def _at_stage(deal: Deal, stage: str) -> Deal:
    Deal.objects.filter(pk=deal.pk).update(stage=stage)
    deal.refresh_from_db()
    return deal


@pytest.fixture
def at_stage():
    """``at_stage(deal, stage)``: put the deal in a stage, as if both sides
    had agreed to move there."""
    return _at_stage


@pytest.fixture
def midgame(deal) -> Deal:
    return _at_stage(deal, Deal.Stage.MIDGAME)


def _access_of_guest(deal: Deal, participant: Participant) -> DealAccess:
    session = {GUESTS_SESSION_KEY: {str(deal.pk): participant.pk}}
    return room_access(AnonymousUser(), session, deal.pk)


@pytest.fixture
def access_of_guest():
    """``access_of_guest(deal, participant)``: what the guest's session resolves."""
    return _access_of_guest


@pytest.fixture
def guest_access(deal, guest) -> DealAccess:
    return _access_of_guest(deal, guest[1])
