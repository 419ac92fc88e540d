"""How ``bench/room_latency.py`` reads a socket's frames: which frame brought
an edit, what is a duplicate, a conflict or an error."""

from __future__ import annotations

import json

from bench.room_latency import RoomClient, Sent, Stats


def _client() -> RoomClient:
    return RoomClient("ws://x/", "http://x", "session", room=0, side=1, issue_ids=())


def _receive(client: RoomClient, stats: Stats, at: float, **frame) -> None:
    client.on_frame(json.dumps(frame), at, stats)


def test_a_frame_brings_the_seqs_its_kinds_cover():
    client, stats = _client(), Stats()
    _receive(client, stats, 1.0, type="sync", seq=3, html="")
    _receive(client, stats, 2.0, type="event", seq=6, kinds=["a", "b"], html="x")
    _receive(client, stats, 3.0, type="event", seq=7, kinds=["c"], html="y")

    assert client.arrival(4) is None  # before the frame that caught up from 4
    assert client.arrival(5).at == 2.0
    assert client.arrival(6).at == 2.0
    assert client.arrival(7).at == 3.0
    assert stats.duplicated == 0


def test_a_seq_brought_twice_is_a_duplicate():
    client, stats = _client(), Stats()
    _receive(client, stats, 1.0, type="sync", seq=3, html="")
    _receive(client, stats, 2.0, type="event", seq=5, kinds=["a", "b"], html="")
    _receive(client, stats, 3.0, type="event", seq=6, kinds=["b", "c"], html="")
    _receive(client, stats, 4.0, type="event", seq=3, kinds=["s"], html="")

    assert stats.duplicated == 2  # seq 5 again, and seq 3 the sync brought
    assert client.arrival(5).at == 2.0  # the first frame that brought it


def test_a_stale_version_is_a_conflict_and_other_refusals_are_errors():
    client, stats = _client(), Stats()
    for name in ("e1", "e2"):
        stats.sent[name] = Sent(0, 1, 0.0, "term.set", name)
    _receive(client, stats, 1.0, type="error", client_msg_id="e1",
             code="stale_version", message="newer")  # fmt: skip
    _receive(client, stats, 1.0, type="error", client_msg_id="e2",
             code="invalid", message="bad")  # fmt: skip
    _receive(client, stats, 1.0, type="surprise")
    client.on_frame("not json", 1.0, stats)

    assert stats.conflicts == 1
    assert stats.refused == {"e1", "e2"}
    assert stats.errors == {"invalid": 1, "protocol:surprise": 1,
                            "protocol:bad_frame": 1}  # fmt: skip
