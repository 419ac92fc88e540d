"""Websocket helpers for the room's consumer tests: open a socket as a side,
act, and read what comes back (``channels.testing.WebsocketCommunicator``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from negotiation.models import Deal, DealEvent

TIMEOUT = 2  # seconds: the longest any test waits for a frame
QUIET = 0.2  # how long "the other side got nothing" listens
ORIGIN = b"http://127.0.0.1"

db = database_sync_to_async


def socket(
    deal_id: int, cookie: str | None = None, origin: bytes = ORIGIN
) -> WebsocketCommunicator:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1")]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/room/{deal_id}/", headers=headers)


async def receive(comm: WebsocketCommunicator, frame_type: str) -> dict:
    """The next frame of ``frame_type``, skipping presence updates and events
    on the way (never an error)."""
    while True:
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        if frame["type"] == frame_type:
            return frame
        assert frame["type"] in {"presence", "event", "coach"}, frame


async def connect(comm: WebsocketCommunicator) -> dict:
    """Open the socket and return its hello frame."""
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    hello = await comm.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello", hello
    return hello


async def closed_with(
    comm: WebsocketCommunicator, timeout: float = TIMEOUT, frames: list | None = None
) -> int:
    """Wait at most ``timeout`` seconds in all for the server to close the
    socket; the frames sent before the close are collected in ``frames``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        output = await comm.receive_output(timeout=max(deadline - loop.time(), 0))
        if output["type"] == "websocket.close":
            return output["code"]
        if frames is not None:
            frames.append(json.loads(output["text"]))


@contextlib.asynccontextmanager
async def room(
    deal_id: int, *cookies: str
) -> AsyncIterator[list[WebsocketCommunicator]]:
    """Connect one socket per cookie (each a participant), in order, and wait
    until every presence update has arrived, so each socket is quiet. Always
    disconnects."""
    comms: list[WebsocketCommunicator] = []
    try:
        for cookie in cookies:
            comm = socket(deal_id, cookie)
            comms.append(comm)
            await connect(comm)
            # Everyone already in the room, the newcomer included, sees it.
            for present in comms:
                assert (await present.receive_json_from(TIMEOUT))["type"] == "presence"
        yield comms
    finally:
        for comm in comms:
            await comm.disconnect()


async def act(
    comm: WebsocketCommunicator, action: str, data: dict, client_msg_id: str = ""
) -> str:
    client_msg_id = client_msg_id or uuid.uuid4().hex
    await comm.send_json_to(
        {"action": action, "client_msg_id": client_msg_id, "data": data}
    )
    return client_msg_id


async def refused(comm: WebsocketCommunicator, action: str, data: dict) -> dict:
    """Send an action that must be refused; return the sender's error frame."""
    client_msg_id = await act(comm, action, data)
    frame = await comm.receive_json_from(TIMEOUT)
    assert frame["type"] == "error", frame
    assert frame["client_msg_id"] == client_msg_id
    return frame


async def quiet(*comms: WebsocketCommunicator) -> bool:
    """True if none of the sockets receives anything for a while."""
    results = await asyncio.gather(*(comm.receive_nothing(QUIET) for comm in comms))
    return all(results)


@db
def event_count(deal: Deal) -> int:
    return DealEvent.objects.filter(deal=deal).count()


@db
def last_seq(deal: Deal) -> int:
    return Deal.objects.get(pk=deal.pk).last_seq
