"""The room benchmarks' mix: what a side's page shows is read right, and every
edit built from it is one the room accepts (``bench/room_mix.py``)."""

from __future__ import annotations

import random
import warnings

import pytest

from bench.room_actions import Room
from bench.room_mix import MIXES, DatabaseView, RoomView, next_action
from negotiation.models import DealEvent
from room.actions import perform
from room.render import ALL_REGIONS, render_events, render_regions

pytestmark = pytest.mark.django_db

SIDES = ("host", "counterpart")


@pytest.fixture(autouse=True)
def _renders_without_a_request():
    """The sockets render without a request: the forms' CSRF token is empty."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*csrf_token.*")
        yield


def _page(room: Room, side: str) -> RoomView:
    view = RoomView(side=side)
    view.read(render_regions(room.access[side], ALL_REGIONS))
    return view


def test_the_page_gives_each_objects_version_and_what_the_side_may_answer():
    room = Room()
    host, guest = room.access["host"], room.access["counterpart"]
    price, term, _ = (issue.pk for issue in room.issues)
    trade = {"give_issue_id": price, "give_value": "a", "ask_issue_id": term}
    proposed = perform(host, "trade.propose", trade | {"ask_value": "b"}, "t1")
    perform(guest, "term.set", {"issue_id": price, "value": "30 days"}, "t2")
    perform(guest, "term.set", {"issue_id": price, "value": "45", "version": 1}, "t3")
    perform(host, "position.update", {"interests": "cash", "ranking": [price]}, "t4")

    guest_view, host_view = _page(room, "counterpart"), _page(room, "host")

    assert guest_view.answerable == {proposed.pk: 1}
    assert host_view.answerable == {}  # one's own trade is not answered
    assert guest_view.term_version(price) == 2
    assert guest_view.term_version(term) is None  # not set yet
    assert host_view.position_version() == 1
    assert guest_view.position_version() is None
    assert guest_view.versions[("position", host.party.pk)] == 1
    assert guest_view.versions[("trade", proposed.pk)] == 1


def test_an_event_frame_updates_the_view():
    room = Room()
    host, guest = room.access["host"], room.access["counterpart"]
    price, term, _ = (issue.pk for issue in room.issues)
    data = {"give_issue_id": price, "give_value": "a", "ask_issue_id": term}
    proposed = perform(host, "trade.propose", data | {"ask_value": "b"}, "t1")
    view = _page(room, "counterpart")
    perform(guest, "trade.decline", {"trade_id": proposed.pk, "version": 1,
                                     "reason": "no"}, "t2")  # fmt: skip
    event = DealEvent.objects.filter(deal=room.deal).order_by("-seq").first()

    view.read(render_events(guest, [event]))

    assert view.answerable == {}
    assert view.versions[("trade", proposed.pk)] == 2


def test_without_data_version_the_forms_hidden_version_is_read():
    view = RoomView(side="host")
    view.read(
        '<li id="trade-7" class="trade trade-open"><form data-action="trade.accept">'
        '<input type="hidden" name="version" value="3"></form></li>'
        '<li id="trade-8" class="trade trade-open" data-version="5">'
        '<form><input type="hidden" name="version" value="4"></form></li>'
        '<tr id="term-2"><td><input type="hidden" name="version" value="6"></td></tr>'
        '<div id="trade-7-comments"><input name="version" value="99"></div>'
    )

    assert view.answerable == {7: 3}  # trade 8 shows no accept form
    assert view.versions == {("trade", 7): 3, ("trade", 8): 5, ("term", 2): 6}
    assert view.take_answerable() == (7, 3)
    assert view.take_answerable() is None  # each trade is answered once


@pytest.mark.parametrize("view_from", ["frames", "database"])
def test_every_edit_of_the_mix_is_accepted(view_from):
    """Both sides take turns for 120 edits, each built from its view of the
    room: from the frames a socket would receive, or from the database."""
    room = Room()
    issue_ids = tuple(issue.pk for issue in room.issues)
    rng = random.Random(3)
    if view_from == "frames":
        views = {side: _page(room, side) for side in SIDES}
    else:
        views = {
            side: DatabaseView(room.deal.pk, room.access[side].party.pk)
            for side in SIDES
        }
    done = []
    for n in range(120):
        side = SIDES[n % 2]
        edit = next_action("realistic", views[side], issue_ids, rng, f"bench-{n}")
        perform(room.access[side], edit.action, edit.data, f"bench-{n}")  # no refusal
        done.append(edit.action)
        if view_from == "frames":
            event = DealEvent.objects.filter(deal=room.deal).order_by("-seq").first()
            for other in SIDES:
                views[other].read(render_events(room.access[other], [event]))

    expected = {name for name, _ in MIXES["realistic"]} - {"trade.answer"}
    assert set(done) == expected | {"trade.accept", "trade.decline"}
