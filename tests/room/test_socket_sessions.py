"""A user's room sockets end with the user's sign-in, within a second: on
logout, on a password change (made from any session), when the account is
switched off, and when the user leaves the deal's team."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from negotiation.models import Membership
from room import consumers
from tests.conftest import password_login
from tests.room.conftest import session_cookie
from tests.room.sockets import (
    act,
    closed_with,
    db,
    quiet,
    room,
    socket,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_channel_layer"),
]

CLOSE_WITHIN = 1.0  # seconds
NEW_PASSWORD = "a-new-Passphrase-42"


def logged_in(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    return client, session_cookie(client)


async def test_logging_out_closes_the_users_sockets(deal, rep):
    client, cookie = await db(logged_in)(rep)
    _other_device, other_cookie = await db(logged_in)(rep)
    async with room(deal.pk, cookie, other_cookie) as (here, elsewhere):
        await db(client.post)("/accounts/logout/")
        frames: list[dict] = []
        code = await closed_with(here, timeout=CLOSE_WITHIN, frames=frames)
        code_elsewhere = await closed_with(elsewhere, timeout=CLOSE_WITHIN)

    assert code == code_elsewhere == consumers.CLOSE_SIGNED_OUT == 4401
    assert {"type": "error", "code": "signed_out"}.items() <= frames[-1].items()


async def test_a_password_change_from_another_session_closes_the_socket(deal, rep):
    _client, cookie = await db(logged_in)(rep)
    other_session, _ = await db(logged_in)(rep)
    async with room(deal.pk, cookie) as (socket_of_rep,):
        response = await db(other_session.post)(
            "/accounts/password_change/",
            {
                "old_password": "correct-horse-9",
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        code = await closed_with(socket_of_rep, timeout=CLOSE_WITHIN)

    assert code == 4401


async def test_a_password_set_by_an_administrator_closes_the_socket(deal, rep):
    async with room(deal.pk, (await db(logged_in)(rep))[1]) as (socket_of_rep,):

        def reset_password() -> None:
            user = get_user_model().objects.get(pk=rep.pk)
            user.set_password(NEW_PASSWORD)
            user.save()

        await db(reset_password)()
        code = await closed_with(socket_of_rep, timeout=CLOSE_WITHIN)

    assert code == 4401


async def test_switching_the_account_off_closes_the_socket(deal, rep):
    async with room(deal.pk, (await db(logged_in)(rep))[1]) as (socket_of_rep,):

        def deactivate() -> None:
            user = get_user_model().objects.get(pk=rep.pk)
            user.is_active = False
            user.save()

        await db(deactivate)()
        code = await closed_with(socket_of_rep, timeout=CLOSE_WITHIN)

    assert code == 4401


async def test_leaving_the_team_closes_the_socket_and_keeps_the_rep_out(deal, rep):
    cookie = (await db(logged_in)(rep))[1]
    async with room(deal.pk, cookie) as (socket_of_rep,):
        await db(Membership.objects.filter(user=rep, team=deal.team).delete)()
        frames: list[dict] = []
        code = await closed_with(socket_of_rep, timeout=CLOSE_WITHIN, frames=frames)

    again = socket(deal.pk, cookie)
    try:
        await again.connect()
        code_again = await closed_with(again)
    finally:
        await again.disconnect()
    assert code == 4403
    assert frames[-1]["code"] == "revoked"
    assert code_again == 4404


async def test_saving_the_user_otherwise_keeps_the_sockets_open(deal, rep):
    """Logging in elsewhere saves ``last_login``; a name change saves the
    whole row: neither ends a sign-in."""
    async with room(deal.pk, (await db(logged_in)(rep))[1]) as (socket_of_rep,):

        def rename() -> None:
            user = get_user_model().objects.get(pk=rep.pk)
            user.first_name = "Renamed"
            user.save()

        await db(rename)()
        await db(password_login)(Client(), "rep", "correct-horse-9")

        assert await quiet(socket_of_rep)
        await act(socket_of_rep, "message.post", {"body": "Still here"})
        assert (await socket_of_rep.receive_json_from())["type"] == "ack"


async def test_a_socket_that_missed_the_message_closes_at_its_next_check(
    deal, rep, guest_cookie, monkeypatch
):
    """The scope's user is not trusted for ever: when the socket resolves its
    access again, it reads the session again, so a sign-in that ended while
    its message was lost (or sent to a process that was down) ends it too."""
    monkeypatch.setattr(consumers, "ACCESS_RECHECK_SECONDS", 0)
    cookie = (await db(logged_in)(rep))[1]
    async with room(deal.pk, cookie, guest_cookie) as (host, guest):
        # The session ends in the database only: nobody tells the socket.
        await db(Session.objects.filter(session_key=cookie).delete)()
        await act(guest, "message.post", {"body": "Are you still there?"})
        code = await closed_with(host, timeout=CLOSE_WITHIN)

    assert code == 4401
