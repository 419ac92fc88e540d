"""The room's websocket: authorized actions in, per-side fragments out.

Protocol (JSON text frames):

client → server
  {"action": "<name>", "client_msg_id": "<id>", "data": {...}}   a room action
  {"action": "sync", "since": <seq>}     catch up after a reconnect or a gap
  {"action": "ping"}                     heartbeat: keeps presence fresh, and
                                         brings the socket up to date if an
                                         event's broadcast never reached it

server → client
  {"type": "hello", "seq": n, "side": "host"|"counterpart"|null}
  {"type": "event", "seq": n, "html": "...", "announce": "..."}
  {"type": "sync", "seq": n, "html": "..."}
  {"type": "ack", "client_msg_id": id, "seq": n}
  {"type": "error", "client_msg_id": id, "code": "...", "message": "...",
   "errors": {...}, "html": "..."}
  {"type": "presence", "html": "..."}
  {"type": "coach", "html": "..."}       this side's coaching changed
  {"type": "scores", "html": "..."}      this side saved a new scoring

Group messages carry ids and ``seq`` only; each socket renders its own side's
view from the database. They arrive at most once (Redis Pub/Sub): a socket that
sees a gap in ``seq`` reads the missing events from the log.

Close codes: 4401/4403/4404/4409 mean "do not come back" (signed out,
access revoked, no such deal, replaced by a newer socket of the same
participant); anything else is retried by the client, which then sends
``sync`` (4503 when the database or Redis could not be reached). A
logged-in user's sockets close with 4401 when the sign-in ends: logging out, a
password change, the account switched off (``room.sessions``).

Limits: per socket, a frame size and a token bucket; per participant, across
sockets and processes, at most ``PARLEY_SOCKETS_PER_PARTICIPANT`` open sockets
(the presence rows count them; a new one closes the oldest with 4409) and
``PARLEY_PARTICIPANT_ACTIONS`` actions per window (counted in the cache).

Outages: when PostgreSQL cannot be reached an action is refused with
``code: "try_again"`` and never acknowledged; group messages that cannot be
handled are dropped (the log has them; the next event, heartbeat or sync
catches up). Either outage is logged once (``common.outage``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import logging
import random
import time
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import Http404

from common import outage
from common.throttle import RateThrottle
from negotiation.access import DealAccess, room_access
from negotiation.events import spec_of
from negotiation.models import Deal, DealEvent, Participant, Party
from negotiation.services.base import (
    AlreadyApplied,
    current_deal,
    delivered_by,
    group_name,
)
from room import actions
from room.coaching import run_detectors
from room.render import (
    SCORED_REGIONS,
    render_catch_up,
    render_events,
    render_notice,
    render_refusal,
    render_regions,
)
from room.selectors import SocketMemo, events_after
from room.services.invites import participant_group
from room.services.presence import (
    presence_join,
    presence_leave,
    presence_seen,
    visit_left,
)
from room.sessions import user_group

ACCESS_RECHECK_SECONDS = 30
# Events that change neither the deal row nor who may see the room: a socket
# renders them with the access it already checked.
CLOSE_SIGNED_OUT = 4401
CLOSE_REVOKED = 4403
CLOSE_NOT_FOUND = 4404
# A newer socket of the same participant replaced this one (too many open).
CLOSE_SUPERSEDED = 4409
# The database or Redis could not be reached: the client comes back later
# (1013, "try again later", is not a code a server may send through daphne).
CLOSE_TRY_LATER = 4503
TRY_AGAIN = "The room could not save that just now. Nothing was changed; try again."
DATABASE_ERRORS = (OperationalError, InterfaceError)

logger = logging.getLogger(__name__)


def _unavailable(error: BaseException) -> outage.Outage | None:
    """Which backing service ``error`` says is down, if any."""
    if isinstance(error, DATABASE_ERRORS):
        return outage.database
    if outage.is_connection_error(error):
        return outage.redis
    return None


def database_work(function):
    """``database_sync_to_async``, and a connection the database broke is
    dropped at once.

    The connection lives in the context the function runs in (the socket's
    own), which the ``close_old_connections()`` around the call does not
    see: without this, a socket would keep its dead connection after a
    PostgreSQL restart and fail every action."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except DATABASE_ERRORS:
            close_old_connections()
            raise

    return database_sync_to_async(run)


def participant_actions() -> RateThrottle:
    """The room actions one participant may take, from all its sockets."""
    return RateThrottle(
        "room-actions",
        settings.PARLEY_PARTICIPANT_ACTIONS,
        settings.PARLEY_PARTICIPANT_ACTIONS_WINDOW,
    )


class TokenBucket:
    """``rate`` frames a second on average, bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class RoomConsumer(AsyncJsonWebsocketConsumer):
    """One socket of one viewer.

    Channels runs a consumer's handlers one at a time, so ``last_seq`` (the
    newest event this socket has sent) needs no lock. Database work runs in
    the process's database thread (``database_sync_to_async``, which also
    closes stale connections before and after each call).
    """

    deal_id: int
    last_seq: int = 0
    access: DealAccess | None = None
    access_checked_at: float = 0.0
    # Spread over sockets, so that rooms opened together do not all resolve
    # their access again in the same instant.
    recheck_seconds: float = ACCESS_RECHECK_SECONDS
    groups_joined: list[str]
    # Set when a re-check finds the session's sign-in gone.
    signed_out: bool = False
    # Presence renders are coalesced: one runs at a time, at most one waits.
    presence_task: asyncio.Task | None = None
    presence_wanted: bool = False

    @functools.cached_property
    def memo(self) -> SocketMemo:
        """What this socket keeps across renders (its side's scoring, the
        agenda)."""
        return SocketMemo()

    # --- lifecycle -----------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        """Channels' consumer, and a Redis that cannot be reached while the
        socket subscribes to its channel is one outage line and a close the
        client retries, not a traceback."""
        try:
            await super().__call__(scope, receive, send)
        except Exception as error:
            if not outage.raised_by_redis_client(error):
                raise
            outage.redis.failed(error, "opening a room socket")
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": CLOSE_TRY_LATER})

    async def connect(self) -> None:
        self.deal_id = int(self.scope["url_route"]["kwargs"]["deal_id"])
        self.groups_joined = []
        self.loop = asyncio.get_running_loop()
        self.sending: list[concurrent.futures.Future] = []
        # Display name and party of the deal's participants, for announcements.
        self.people: dict[int, tuple[str, int]] = {}
        self.bucket = TokenBucket(
            settings.PARLEY_WS_RATE_PER_SECOND, settings.PARLEY_WS_BURST
        )
        try:
            opened = await self._open()
        except Exception as error:
            await self.accept()
            await self._connect_failed(error)
            return
        await self.accept()
        if opened is None:
            # Accept, then close with a code the client understands as final.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.last_seq, superseded = opened
        access = self.access
        groups = [group_name(self.deal_id)]
        if access.participant is not None and access.side == Party.Side.COUNTERPART:
            groups.append(participant_group(access.participant.pk))
        groups.extend(self._user_groups())
        try:
            for group in groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        except Exception as error:
            await self._connect_failed(error)
            return
        await self.send_json(
            {"type": "hello", "seq": self.last_seq, "side": access.side}
        )
        if access.participant is not None:
            # Its arrival was announced before it listened: it renders it here.
            self._render_presence_soon()
        for channel in superseded:
            await self._tell(channel, {"type": "socket.superseded"})

    async def _connect_failed(self, error: Exception) -> None:
        """The database or Redis is down: the client is told to come back."""
        service = _unavailable(error)
        if service is None:
            raise error
        service.failed(error, "opening a room socket")
        await self.close(code=CLOSE_TRY_LATER)

    async def _tell(self, channel: str, message: dict[str, Any]) -> None:
        try:
            await self.channel_layer.send(channel, message)
        except Exception as error:
            if not outage.is_connection_error(error):
                raise
            outage.redis.failed(error, "closing a participant's oldest socket")

    async def disconnect(self, code: int) -> None:
        if self.presence_task is not None:
            self.presence_task.cancel()
        try:
            for group in self.groups_joined:
                await self.channel_layer.group_discard(group, self.channel_name)
            if self.access is not None and self.access.participant is not None:
                await self._presence_leave()
        except Exception as error:
            # The row ages out of the presence window and is deleted later.
            service = _unavailable(error)
            if service is None:
                raise
            service.failed(error, "closing a room socket")

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections()`` before
        every handler. That is a hop into the process's one database thread
        for every frame and every group message, queued behind the other
        sockets' database work; here every database call already goes through
        ``database_sync_to_async``, which closes stale connections itself,
        before and after.

        A handler that finds the database or Redis down is logged once per
        outage and the socket lives on: what it missed comes with the next
        event, heartbeat or sync."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        try:
            await handler(message)
        except Exception as error:
            service = _unavailable(error)
            if service is None:
                raise
            service.failed(error, f"handling {message['type']}")

    # --- inbound frames --------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data=None) -> None:
        raw = text_data if text_data is not None else bytes_data
        if raw is None or self.access is None:
            return
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        if size > settings.PARLEY_WS_MAX_FRAME_BYTES:
            await self._refuse(None, "too_large", "That message is too large.")
            return
        if not self.bucket.take():
            await self._refuse(
                None, "rate_limited", "Too many messages at once; slow down."
            )
            return
        try:
            content = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            await self._refuse(None, "bad_frame", "That message is not valid JSON.")
            return
        if not isinstance(content, dict):
            await self._refuse(None, "bad_frame", "A message must be a JSON object.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs) -> None:
        action = content.get("action")
        client_msg_id = content.get("client_msg_id")
        if action == "ping":
            await self._send_update(await self._heartbeat())
            return
        if action == "sync":
            try:
                await self._catch_up(content.get("since"))
            except DATABASE_ERRORS as error:
                # The client reconnects and asks again, as after any close.
                outage.database.failed(error, "catching a socket up")
                await self.close(code=CLOSE_TRY_LATER)
            return
        data = content.get("data", {})
        if not isinstance(action, str) or not isinstance(data, dict):
            await self._refuse(client_msg_id, "bad_frame", "Malformed message.")
            return
        events: list[DealEvent] = []
        try:
            seq, update, events = await self._perform(action, data, client_msg_id)
        except DATABASE_ERRORS as error:
            # Not saved (the transaction did not commit): never acknowledged.
            outage.database.failed(error, f"saving {action!r}")
            await self._refuse(client_msg_id, "try_again", TRY_AGAIN)
        except actions.ActionRefused as refused:
            await self._refuse(
                client_msg_id,
                refused.code,
                refused.message,
                refused.errors,
                html=render_refusal(
                    refused, deal=self.access.deal, csrf_token=self._csrf()
                ),
            )
        except AlreadyApplied as applied:
            await self.send_json(
                {
                    "type": "ack",
                    "client_msg_id": client_msg_id,
                    "seq": applied.event.seq,
                    "replayed": True,
                }
            )
        else:
            await self.send_json(
                {"type": "ack", "client_msg_id": client_msg_id, "seq": seq}
            )
            if events:  # a private action (no event) has no update to send
                await self._send_update(update)
            await self._sent()
            # The sender has heard back: now coach each side on the change.
            await self._coach(events)
        finally:
            await self._sent()

    async def _refuse(
        self, client_msg_id, code, message, errors=None, html: str | None = None
    ) -> None:
        await self.send_json(
            {
                "type": "error",
                "client_msg_id": client_msg_id
                if isinstance(client_msg_id, str)
                else None,
                "code": code,
                "message": message,
                "errors": errors or {},
                "html": html or render_notice(message),
            }
        )

    async def _catch_up(self, since: Any) -> None:
        """Bring the client from ``since`` (-1: it knows nothing) up to date
        (``render_catch_up``)."""
        try:
            since = int(since)
        except (TypeError, ValueError, OverflowError):
            since = -1
        payload = await self._render_catch_up(since)
        if payload is None:
            await self._close_revoked()
            return
        seq, html = payload
        self.last_seq = max(self.last_seq, seq)
        await self.send_json({"type": "sync", "seq": seq, "html": html})

    # --- group messages ------------------------------------------------------------

    async def deal_event(self, message: dict[str, Any]) -> None:
        if message.get("seq", 0) <= self.last_seq:
            return  # this socket already sent it (its own action, or a catch-up)
        await self._send_update(await self._event_update(message, self.last_seq))

    async def _send_update(self, update: dict[str, Any] | None) -> None:
        """Send an ``event`` frame made by ``_update``, unless it is stale."""
        if update is None:
            await self._close_revoked()
        elif update["seq"] > self.last_seq:
            self.last_seq = update["seq"]
            await self.send_json(update)

    async def presence_changed(self, message: dict[str, Any]) -> None:
        """Someone came or went. The first change is rendered at once; the
        changes that come while it renders, or within
        ``PARLEY_PRESENCE_COALESCE_SECONDS`` after, make one more render: a
        storm of sockets costs each socket a few renders, not one each.

        A socket renders its own arrival when it has said hello, so the
        announcement of its own join, which may reach it once it listens,
        is not rendered twice."""
        if message.get("joined") != self.channel_name:
            self._render_presence_soon()

    def _render_presence_soon(self) -> None:
        self.presence_wanted = True
        if self.presence_task is None or self.presence_task.done():
            self.presence_task = asyncio.create_task(self._presence_renders())

    async def _presence_renders(self) -> None:
        try:
            while self.presence_wanted:
                self.presence_wanted = False
                html = await self._render(("presence",))
                if html is not None:
                    await self.send_json({"type": "presence", "html": html})
                await asyncio.sleep(settings.PARLEY_PRESENCE_COALESCE_SECONDS)
        except Exception as error:
            service = _unavailable(error)
            if service is None:
                logger.exception("Presence of deal %s failed.", self.deal_id)
            else:
                service.failed(error, "rendering presence")

    async def socket_superseded(self, message: dict[str, Any]) -> None:
        """The participant opened one socket too many: this, the oldest, goes."""
        text = (
            "This room is open in too many windows or tabs, so this one was "
            "closed. Reload the page to use the room here."
        )
        await self.send_json(
            {
                "type": "error",
                "code": "superseded",
                "message": text,
                "html": render_notice(text),
            }
        )
        await self.close(code=CLOSE_SUPERSEDED)

    async def coach_changed(self, message: dict[str, Any]) -> None:
        """A side's private coaching changed: only that side's sockets render."""
        if self.access is None or message.get("side") != self.access.side:
            return
        html = await self._render(("coach",))
        if html is not None:
            await self.send_json({"type": "coach", "html": html})

    async def scoring_changed(self, message: dict[str, Any]) -> None:
        """A side saved a new scoring: its sockets forget the one they kept
        and render their scores again; the other side's ignore it (the
        message names the party, nothing of the scoring)."""
        if self.access is None or self.access.party is None:
            return
        if message.get("party_id") != self.access.party.pk:
            return
        self.memo.scoring.forget()
        html = await self._render(SCORED_REGIONS)
        if html is not None:
            await self.send_json({"type": "scores", "html": html})

    async def access_revoked(self, message: dict[str, Any]) -> None:
        await self._close_revoked()

    async def access_changed(self, message: dict[str, Any]) -> None:
        """The user's teams changed: resolve the access again, at once."""
        if await self._resolve_access() is None:
            await self._close_revoked()

    async def session_ended(self, message: dict[str, Any]) -> None:
        """The user logged out, changed the password or was switched off."""
        await self._close_signed_out()

    async def _close_signed_out(self) -> None:
        message = "You are signed out. Reload the page to sign in again."
        await self.send_json(
            {
                "type": "error",
                "code": "signed_out",
                "message": message,
                "html": render_notice(message),
            }
        )
        await self.close(code=CLOSE_SIGNED_OUT)

    async def _close_revoked(self) -> None:
        if self.signed_out:
            await self._close_signed_out()
            return
        await self.send_json(
            {
                "type": "error",
                "code": "revoked",
                "message": "Your access to this room was revoked by the host.",
                "html": render_notice(
                    "Your access to this room was revoked by the host."
                ),
            }
        )
        await self.close(code=CLOSE_REVOKED)

    # --- database work (each in a worker thread) ----------------------------------

    @database_work
    def _resolve_access(self) -> DealAccess | None:
        return self._fresh_access()

    @database_work
    def _open(self) -> tuple[int, list[str]] | None:
        """Everything a connect reads and writes, in one trip to the
        database thread (which every socket of the process shares, so that
        a killed server's sockets coming back at once queue there once
        each): who the viewer is (the session and user too,
        ``common.socket_auth``), the newest seq and the presence row, with
        the channels of the participant's sockets beyond the limit, oldest
        first, to close. None if the viewer may not see the room.

        The seq is read before the socket listens to the deal's group. An
        event committed in between is not lost: the client's ``sync`` after
        ``hello`` brings it, and so does the next event's update, which
        reads the log from ``last_seq`` whenever it sees a gap.
        """
        access = self._fresh_access()
        if access is None:
            return None
        seq = Deal.objects.values_list("last_seq", flat=True).get(pk=self.deal_id)
        if access.participant is None:
            return seq, []
        superseded = presence_join(
            deal_id=self.deal_id,
            participant=access.participant,
            channel_name=self.channel_name,
            limit=settings.PARLEY_SOCKETS_PER_PARTICIPANT,
        )
        return seq, superseded

    @database_work
    def _perform(
        self, action: str, data: dict, client_msg_id
    ) -> tuple[int, dict[str, Any] | None, list[DealEvent]]:
        """Authorize again (the guest may have been revoked), then act.

        Returns the seq to acknowledge, this socket's own update and the
        events the action wrote. The broadcasts leave at commit without the
        thread waiting for them, and the update is rendered from the events
        just written, so the sender's own change costs no read-back.
        """
        access = self._frame_access()
        if access is None:
            raise actions.ActionRefused(
                "forbidden", "You no longer have access to this room."
            )
        # A manager reviewing (no participant) cannot act; the service says so.
        owner = access.participant.pk if access.participant else f"c{self.channel_name}"
        if not participant_actions().allow(owner):
            raise actions.ActionRefused(
                "rate_limited",
                "Too many changes at once from your open windows; "
                "wait a few seconds, then try again.",
            )
        with delivered_by(self._send_soon) as delivery:
            result = actions.perform(access, action, data, client_msg_id)
        outage.database.ok()
        try:
            if not delivery.events:  # a private action (no event): where the log is
                seq = Deal.objects.values_list("last_seq", flat=True).get(
                    pk=self.deal_id
                )
                return seq, None, []
            update = self._update(self.last_seq, delivery.events, known=[result])
        except DATABASE_ERRORS as error:
            # Saved, but the database went away before the render: acknowledge
            # it; this socket catches up from the log with its next event.
            outage.database.failed(error, "rendering a saved action")
            if not delivery.events:
                raise
            update = {"seq": self.last_seq}
        return delivery.events[-1].seq, update, delivery.events

    @database_work
    def _coach(self, events: list[DealEvent]) -> None:
        """The pitfall detectors, on the events of the action just
        acknowledged. A detector that fails is logged; the action stands."""
        if not events:
            return
        try:
            with delivered_by(self._send_soon):
                run_detectors(
                    events,
                    parties=(self.access.host_party, self.access.counterpart_party),
                )
        except Exception as error:
            service = _unavailable(error)
            if service is None:
                logger.exception("The coach failed on events of deal %s.", self.deal_id)
            else:  # the database went away: the nudges wait for the next action
                service.failed(error, "coaching on an action")

    def _send_soon(self, group: str, message: dict[str, Any]) -> None:
        """Start a group send on the socket's event loop. Called in the
        database thread at commit, which thus never waits on the channel
        layer; ``_sent`` collects the outcome."""
        self.sending.append(
            asyncio.run_coroutine_threadsafe(
                self.channel_layer.group_send(group, message), self.loop
            )
        )

    async def _sent(self) -> None:
        sending, self.sending = self.sending, []
        for future in sending:
            try:
                await asyncio.wrap_future(future)
            except Exception as error:
                # The action is saved; the other sockets get it with their
                # next event or when they reconnect and sync.
                if outage.is_connection_error(error):
                    outage.redis.failed(error, "broadcasting an event")
                else:
                    logger.exception("A broadcast of deal %s failed.", self.deal_id)
            else:
                outage.redis.ok()

    def _user_groups(self) -> list[str]:
        """The group that closes the socket when the user's sign-in ends."""
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            return [user_group(user.pk)]
        return []

    def _viewer(self) -> tuple[Any, Any]:
        """The user and session the socket acts for, as they are now.

        At connect, the ones the auth middleware set up. Afterwards the
        session is read again from its store and the user verified against
        it, as a page request would: a sign-in that ended (logout, password
        change, account switched off) no longer counts, even if its
        ``session.ended`` message never reached this process.
        """
        user, session = self.scope.get("user"), self.scope.get("session")
        if self.access is None or session is None or not session.session_key:
            return user, session
        store = import_module(settings.SESSION_ENGINE).SessionStore
        session = store(session_key=session.session_key)
        # Django's session check needs only the request's session.
        fresh_user = get_user(SimpleNamespace(session=session))
        if user is not None and user.is_authenticated:
            self.signed_out = fresh_user.pk != user.pk
        return fresh_user, session

    def _fresh_access(self) -> DealAccess | None:
        """Resolve who the viewer is from scratch, and keep it."""
        user, session = self._viewer()
        if self.signed_out:
            return None
        try:
            access = room_access(user, session, self.deal_id)
        except Http404:
            return None
        self.access, self.access_checked_at = access, time.monotonic()
        self.recheck_seconds = ACCESS_RECHECK_SECONDS * random.uniform(0.75, 1.0)
        return access

    def _stale(self) -> bool:
        """Whether who the viewer is must be resolved again from scratch."""
        return (
            self.access is None
            or time.monotonic() - self.access_checked_at > self.recheck_seconds
        )

    def _frame_access(self) -> DealAccess | None:
        """The access a frame acts with.

        The action's service authorizes it against the deal's row as it is
        now, read under lock in the same statement that checks the
        participant is still in the room (``lock_deal``), then checks side,
        stage and ownership; so the socket's own copy serves, and who the
        viewer is (session, team, role) is resolved again from scratch every
        ``ACCESS_RECHECK_SECONDS``.
        """
        if self._stale() or self.access.participant is None:
            return self._fresh_access()
        return self.access

    def _checked_access(self) -> DealAccess | None:
        """The socket's access, checked again for a render.

        In one query: the participant must still be in the room (a revoked
        guest is out at once; the revoke message also closes the socket) and
        the deal row is read fresh, so stage and status are current. Who the
        viewer is gets resolved from scratch every ``ACCESS_RECHECK_SECONDS``.
        """
        if self._stale() or self.access.participant is None:
            return self._fresh_access()
        try:
            deal = current_deal(self.access)
        except PermissionDenied:
            return None
        previous = self.access.deal
        if (deal.team_id, deal.owner_id) == (previous.team_id, previous.owner_id):
            deal.team, deal.owner = previous.team, previous.owner
        # Kept, so that renders reusing it see the current stage and status.
        self.access = dataclasses.replace(self.access, deal=deal)
        return self.access

    def _can_reuse_access(self, events: list[DealEvent]) -> bool:
        """Whether these events leave the deal row (stage, status, purpose)
        and everyone's access as they were when the socket last checked: the
        vocabulary says so of each kind (``changes_access``).

        Rendering the other side's event with the access already checked,
        instead of reading the deal row and the participant again: p50 0.9 →
        0.5 ms per render (``bench/room_actions.py``, PostgreSQL).
        """
        return not self._stale() and all(
            not spec_of(event.kind).changes_access for event in events
        )

    def _csrf(self) -> str:
        return self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")

    @database_work
    def _render(self, regions) -> str | None:
        access = self._checked_access()
        if access is None:
            return None
        return render_regions(access, regions, csrf_token=self._csrf(), memo=self.memo)

    @database_work
    def _render_catch_up(self, since: int) -> tuple[int, str] | None:
        """The ``sync`` frame's seq and html. Who the viewer is was resolved
        from scratch when the socket connected, a moment before its first
        sync: checked again here as for any render (the deal row and the
        participant, in one query), and from scratch again once
        ``ACCESS_RECHECK_SECONDS`` have passed. A reconnect's sync: 6 → 1
        statements for who the viewer is (a rep's socket, PostgreSQL)."""
        access = self._checked_access()
        if access is None:
            return None
        return render_catch_up(access, since, csrf_token=self._csrf(), memo=self.memo)

    @database_work
    def _event_update(self, message: dict[str, Any], since: int) -> dict | None:
        """This socket's update for a deal's group message.

        When the message is the very next event, it says all the render
        needs (kind, actor, the ids it refers to); otherwise the socket
        missed some, and ``_update`` reads everything after ``since``.
        """
        events = None
        if message["seq"] == since + 1 and "kind" in message:
            events = [
                DealEvent(
                    pk=message.get("event_id"),
                    deal_id=self.deal_id,
                    seq=message["seq"],
                    kind=message["kind"],
                    actor_id=message.get("actor_id"),
                    payload=message.get("ids") or {},
                )
            ]
        return self._update(since, events)

    def _update(
        self,
        since: int,
        events: list[DealEvent] | None = None,
        known: list[Any] = (),
    ) -> dict[str, Any] | None:
        """The ``event`` frame that brings this socket from ``since`` up to
        date, or None if it lost its access.

        ``events`` are used as given if they follow on from ``since`` with no
        gap; otherwise the log is read. ``known`` are objects the events
        created that are already in memory (``render_events``).
        """
        seqs = [event.seq for event in events or ()]
        if not seqs or seqs != list(range(since + 1, since + 1 + len(seqs))):
            events = events_after(self.deal_id, since)
        if not events:
            return {"seq": since}
        if self._can_reuse_access(events):
            # Discussion and the like change nothing the access depends on.
            access = self.access
        else:
            access = self._checked_access()
        if access is None:
            return None
        return {
            "type": "event",
            "seq": events[-1].seq,
            "kinds": [e.kind for e in events],
            "html": render_events(
                access,
                events,
                known=known,
                csrf_token=self._csrf(),
                memo=self.memo,
            ),
            "announce": self._announcement(access, events),
        }

    def _announcement(self, access: DealAccess, events: list[DealEvent]) -> str:
        """What the screen reader says about the other side's events."""
        lines = []
        for event in events:
            announce = spec_of(event.kind).announce
            if not announce or event.actor_id is None:
                continue
            name, party_id = self._person(event.actor_id)
            if access.party is None or party_id != access.party.pk:
                lines.append(announce.format(who=name))
        return " ".join(lines)

    def _person(self, participant_id: int) -> tuple[str, int | None]:
        """A participant's display name and party. Names never change, so the
        socket reads the deal's participants again only for one it does not
        know yet (someone who just joined)."""
        if participant_id not in self.people:
            self.people = {
                pk: (name, party_id)
                for pk, name, party_id in Participant.objects.filter(
                    party__deal_id=self.deal_id
                ).values_list("pk", "display_name", "party_id")
            }
        return self.people.get(participant_id, ("Someone", None))

    @database_work
    def _presence_leave(self) -> None:
        presence_leave(deal_id=self.deal_id, channel_name=self.channel_name)
        # What this socket showed is what the participant saw: "while you
        # were away" starts after it.
        visit_left(participant_id=self.access.participant.pk, seen_seq=self.last_seq)

    @database_work
    def _heartbeat(self) -> dict[str, Any] | None:
        """Keep presence fresh, and catch up on any event whose broadcast
        never reached this socket (the channel layer delivers at most once:
        a gap is noticed with the next event, a lost last event here)."""
        presence_seen(channel_name=self.channel_name)
        seq = (
            Deal.objects.filter(pk=self.deal_id)
            .values_list("last_seq", flat=True)
            .first()
        )
        if seq is None:
            return None
        return self._update(self.last_seq) if seq > self.last_seq else {"seq": seq}
