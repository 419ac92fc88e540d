"""The room's websocket: authorized actions in, per-side fragments out.

Protocol (JSON text frames):

client → server
  {"action": "<name>", "client_msg_id": "<id>", "data": {...}}   a room action
  {"action": "sync", "since": <seq>}     catch up after a reconnect or a gap
  {"action": "ping"}                     heartbeat (keeps presence fresh)

server → client
  {"type": "hello", "seq": n, "side": "host"|"counterpart"|null}
  {"type": "event", "seq": n, "html": "...", "announce": "..."}
  {"type": "sync", "seq": n, "html": "..."}
  {"type": "ack", "client_msg_id": id, "seq": n}
  {"type": "error", "client_msg_id": id, "code": "...", "message": "...",
   "errors": {...}, "html": "..."}
  {"type": "presence", "html": "..."}

Group messages carry ids and ``seq`` only; each socket renders its own side's
view from the database. Close codes: 4401/4403/4404 mean "do not come back"
(not logged in, access revoked, no such deal); anything else is retried by the
client, which then sends ``sync``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import Http404
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal, DealEvent, Participant, Party
from negotiation.services.base import broadcast, group_name, last_appended_seq
from negotiation.services.room import AlreadyApplied
from sessions import actions
from sessions.identity import room_access
from sessions.models import RoomConnection
from sessions.render import (
    ALL_REGIONS,
    ANNOUNCEMENTS,
    render_events,
    render_notice,
    render_refusal,
    render_regions,
)
from sessions.services import participant_group

ACCESS_RECHECK_SECONDS = 30
# Events that change neither the deal row nor who may see the room: a socket
# renders them with the access it already checked.
ACCESS_NEUTRAL_EVENTS = frozenset(
    {
        "message.posted",
        "trade.proposed",
        "trade.countered",
        "trade.declined",
        "trade.withdrawn",
        "concession.added",
        "concession.valued",
        "position.updated",
        "meso.presented",
        "term.updated",
        "commitment.added",
        "commitment.confirmed",
        "commitment.updated",
        "checkin.added",
    }
)
CLOSE_REVOKED = 4403
CLOSE_NOT_FOUND = 4404


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
    deal_id: int
    last_seq: int = 0
    access: DealAccess | None = None
    access_checked_at: float = 0.0
    groups_joined: list[str]

    # --- lifecycle -----------------------------------------------------------

    async def connect(self) -> None:
        self.deal_id = int(self.scope["url_route"]["kwargs"]["deal_id"])
        self.groups_joined = []
        self.bucket = TokenBucket(
            settings.PARLEY_WS_RATE_PER_SECOND, settings.PARLEY_WS_BURST
        )
        access = await self._resolve_access()
        await self.accept()
        if access is None:
            # Accept, then close with a code the client understands as final.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.access, self.access_checked_at = access, time.monotonic()
        groups = [group_name(self.deal_id)]
        if access.participant is not None and access.side == Party.Side.COUNTERPART:
            groups.append(participant_group(access.participant.pk))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        self.last_seq = await self._current_seq()
        await self._presence_join()
        await self.send_json(
            {"type": "hello", "seq": self.last_seq, "side": access.side}
        )

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.access is not None and self.access.participant is not None:
            await self._presence_leave()

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
            await self._presence_touch()
            return
        if action == "sync":
            await self._catch_up(content.get("since"))
            return
        data = content.get("data", {})
        if not isinstance(action, str) or not isinstance(data, dict):
            await self._refuse(client_msg_id, "bad_frame", "Malformed message.")
            return
        try:
            seq = await self._perform(action, data, client_msg_id)
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
        """Send a fresh render of every region when the client is behind."""
        try:
            since = int(since)
        except (TypeError, ValueError, OverflowError):
            since = -1
        payload = await self._render_all()
        if payload is None:
            await self._close_revoked()
            return
        seq, html = payload
        self.last_seq = max(self.last_seq, seq)
        if since < seq:
            await self.send_json({"type": "sync", "seq": seq, "html": html})
        else:
            await self.send_json({"type": "sync", "seq": seq, "html": ""})

    # --- group messages ------------------------------------------------------------

    async def deal_event(self, message: dict[str, Any]) -> None:
        if message.get("seq", 0) <= self.last_seq:
            return
        await aclose_old_connections()
        payload = await self._render_since(self.last_seq)
        if payload is None:
            await self._close_revoked()
            return
        if payload["seq"] > self.last_seq:
            self.last_seq = payload["seq"]
            await self.send_json(payload)

    async def presence_changed(self, message: dict[str, Any]) -> None:
        await aclose_old_connections()
        html = await self._render(("presence",))
        if html is not None:
            await self.send_json({"type": "presence", "html": html})

    async def coach_changed(self, message: dict[str, Any]) -> None:
        """A side's private coaching changed: only that side's sockets render."""
        if self.access is None or message.get("side") != self.access.side:
            return
        await aclose_old_connections()
        html = await self._render(("coach",))
        if html is not None:
            await self.send_json({"type": "coach", "html": html})

    async def access_revoked(self, message: dict[str, Any]) -> None:
        await self._close_revoked()

    async def _close_revoked(self) -> None:
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

    @database_sync_to_async
    def _resolve_access(self) -> DealAccess | None:
        try:
            return room_access(
                self.scope.get("user"), self.scope.get("session"), self.deal_id
            )
        except Http404:
            return None

    @database_sync_to_async
    def _current_seq(self) -> int:
        return Deal.objects.values_list("last_seq", flat=True).get(pk=self.deal_id)

    @database_sync_to_async
    def _perform(self, action: str, data: dict, client_msg_id) -> int:
        """Authorize again (the guest may have been revoked), then act."""
        access = self._checked_access()
        if access is None:
            raise actions.ActionRefused(
                "forbidden", "You no longer have access to this room."
            )
        last_appended_seq.set(None)
        actions.perform(access, action, data, client_msg_id)
        seq = last_appended_seq.get()
        if seq is None:  # a private action (no event): report where the log is
            seq = Deal.objects.values_list("last_seq", flat=True).get(pk=self.deal_id)
        return seq

    def _fresh_access(self) -> DealAccess | None:
        try:
            access = room_access(
                self.scope.get("user"), self.scope.get("session"), self.deal_id
            )
        except Http404:
            return None
        self.access, self.access_checked_at = access, time.monotonic()
        return access

    def _checked_access(self) -> DealAccess | None:
        """The socket's access, checked again for this frame or render.

        The participant must still be in the room (a revoked guest is out at
        once; the revoke message also closes the socket) and the deal row is
        read fresh, so stage and status are current. Resolving who the
        viewer is from scratch (session, team, role) runs again every
        ``ACCESS_RECHECK_SECONDS``; it costs four queries, this costs two.
        """
        stale = time.monotonic() - self.access_checked_at > ACCESS_RECHECK_SECONDS
        if self.access is None or stale or self.access.participant is None:
            return self._fresh_access()
        if not Participant.objects.filter(
            pk=self.access.participant.pk, revoked_at__isnull=True
        ).exists():
            return None
        deal = Deal.objects.select_related("team", "owner").get(pk=self.deal_id)
        # Kept, so that renders reusing it see the current stage and status.
        self.access = dataclasses.replace(self.access, deal=deal)
        return self.access

    def _can_reuse_access(self, events: list[DealEvent]) -> bool:
        """Whether these events leave the deal row (stage, status, purpose)
        and everyone's access as they were when the socket last checked."""
        fresh = time.monotonic() - self.access_checked_at <= ACCESS_RECHECK_SECONDS
        return (
            self.access is not None
            and fresh
            and all(event.kind in ACCESS_NEUTRAL_EVENTS for event in events)
        )

    def _csrf(self) -> str:
        return self.scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME, "")

    @database_sync_to_async
    def _render(self, regions) -> str | None:
        access = self._checked_access()
        if access is None:
            return None
        return render_regions(access, regions, csrf_token=self._csrf())

    @database_sync_to_async
    def _render_all(self) -> tuple[int, str] | None:
        access = self._fresh_access()
        if access is None:
            return None
        seq = access.deal.last_seq
        return seq, render_regions(access, ALL_REGIONS, csrf_token=self._csrf())

    @database_sync_to_async
    def _render_since(self, since: int) -> dict[str, Any] | None:
        events = list(
            DealEvent.objects.filter(deal_id=self.deal_id, seq__gt=since)
            .select_related("actor__party")
            .order_by("seq")
        )
        if not events:
            return {"seq": since}
        if self._can_reuse_access(events):
            # Discussion and the like change nothing the access depends on.
            access = self.access
        else:
            access = self._checked_access()
        if access is None:
            return None
        own_side = access.side
        announce = [
            ANNOUNCEMENTS[e.kind].format(who=e.actor.display_name)
            for e in events
            if e.kind in ANNOUNCEMENTS
            and e.actor is not None
            and e.actor.party.side != own_side
        ]
        return {
            "type": "event",
            "seq": events[-1].seq,
            "kinds": [e.kind for e in events],
            "html": render_events(access, events, csrf_token=self._csrf()),
            "announce": " ".join(announce),
        }

    @database_sync_to_async
    def _presence_join(self) -> None:
        if self.access.participant is None:
            return
        RoomConnection.objects.update_or_create(
            channel_name=self.channel_name,
            defaults={"participant": self.access.participant},
        )
        self._announce_presence()

    @database_sync_to_async
    def _presence_leave(self) -> None:
        RoomConnection.objects.filter(channel_name=self.channel_name).delete()
        self._announce_presence()

    @database_sync_to_async
    def _presence_touch(self) -> None:
        RoomConnection.objects.filter(channel_name=self.channel_name).update(
            seen_at=timezone.now()
        )

    def _announce_presence(self) -> None:
        broadcast(self.deal_id, {"type": "presence.changed"})
