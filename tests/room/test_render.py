"""An event renders only what it touched, so a live update costs the same in
an empty room and after hundreds of events."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiation.access import DealAccess
from negotiation.models import Deal, DealEvent
from negotiation.services import deals as deal_services
from playbooks.loader import load_content
from room import services
from room.models import Concession
from room.render import render_catch_up, render_events
from room.selectors import SocketMemo
from tests.room.conftest import at_stage

pytestmark = pytest.mark.django_db


def last_event(deal: Deal) -> DealEvent:
    return DealEvent.objects.filter(deal=deal).order_by("-seq").first()


def trade_rows(html: str) -> list[str]:
    return re.findall(r'<li id="trade-(\d+)"', html)


def propose(access: DealAccess, n: int):
    price, terms = access.deal.issues.order_by("position")
    return services.trade_propose(
        access=access,
        give_issue_id=price.pk,
        give_value=f"{n} days sooner",
        ask_issue_id=terms.pk,
        ask_value=f"{n}% more volume",
    )


def test_a_trade_proposal_inserts_its_one_row_for_the_other_side(
    midgame, host_access, guest_access
):
    for n in range(5):
        propose(host_access, n)
    newest = propose(host_access, 99)

    html = render_events(guest_access, [last_event(midgame)])

    assert trade_rows(html) == [str(newest.pk)]
    assert 'hx-swap-oob="afterbegin:#trade-list"' in html
    assert 'id="region-trades"' not in html
    # The other side may answer it: accept, counter, decline.
    assert 'data-action="trade.accept"' in html


def test_rendering_a_proposal_costs_the_same_at_the_1st_and_the_40th_trade(
    midgame, host_access, guest_access
):
    def render_newest() -> tuple[int, str]:
        event = last_event(midgame)
        with CaptureQueriesContext(connection) as queries:
            html = render_events(guest_access, [event])
        return len(queries), html

    propose(host_access, 0)
    first_queries, first_html = render_newest()
    for n in range(1, 40):
        propose(host_access, n)
    later_queries, later_html = render_newest()

    assert later_queries == first_queries
    assert len(trade_rows(later_html)) == len(trade_rows(first_html)) == 1


def agenda_reads(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "negotiation_issue"' in q["sql"]
    ]


def shared_position_seen_by(
    viewer: DealAccess, sharer: DealAccess, memo: SocketMemo
) -> str:
    """The sharer's position update, as the viewer's socket renders it: a row
    per issue on the agenda."""
    services.position_update(
        access=sharer,
        version=None,
        interests="Cash flow matters most to us.",
        ranking=list(
            sharer.deal.issues.order_by("position").values_list("pk", flat=True)
        ),
    )
    return render_events(viewer, [last_event(sharer.deal)], memo=memo)


def test_a_socket_reads_the_agenda_once_and_again_after_the_agenda_changes(
    midgame, host_access, guest_access
):
    """A socket's memo keeps the agenda across its renders; an agenda change
    (a whole-room event) makes it read the agenda again, so the next render
    shows the new issue."""
    memo = SocketMemo()
    propose(host_access, 1)
    render_events(guest_access, [last_event(midgame)], memo=memo)
    propose(host_access, 2)
    with CaptureQueriesContext(connection) as queries:
        html = render_events(guest_access, [last_event(midgame)], memo=memo)
    assert agenda_reads(queries) == []
    assert "2 days sooner" in html

    deal_services.issue_add(access=host_access, name="Warranty")
    render_events(guest_access, [last_event(midgame)], memo=memo)
    html = shared_position_seen_by(guest_access, host_access, memo)

    assert "Warranty" in html


def test_a_whole_room_catch_up_makes_the_socket_read_the_agenda_again(
    midgame, host_access, guest_access
):
    """A catch-up too far behind renders the whole room without replaying
    the events it skips, an agenda change among them: the socket's memo lets
    go of the agenda all the same."""
    memo = SocketMemo()
    propose(host_access, 1)
    render_events(guest_access, [last_event(midgame)], memo=memo)
    deal_services.issue_add(access=host_access, name="Warranty")

    render_catch_up(guest_access, -1, memo=memo)
    html = shared_position_seen_by(guest_access, host_access, memo)

    assert "Warranty" in html


def test_a_catch_up_renders_the_coach_with_the_agenda_the_socket_keeps(
    midgame, host_access, guest_access
):
    """A reconnect's catch-up also renders what changes without an event
    (presence, the coach) with the socket's memo: the coach's filled-in
    templates use the agenda the socket already holds."""
    load_content()  # the coach's templates, whatever an earlier test emptied
    memo = SocketMemo()
    propose(host_access, 1)
    midgame.refresh_from_db()
    render_catch_up(guest_access, midgame.last_seq - 1, memo=memo)  # reads it
    since = midgame.last_seq
    propose(host_access, 2)
    guest_access.deal.refresh_from_db()

    with CaptureQueriesContext(connection) as queries:
        _, html = render_catch_up(guest_access, since, memo=memo)

    assert agenda_reads(queries) == []
    assert 'id="region-coach"' in html
    assert "2 days sooner" in html


def test_the_sender_renders_its_new_trade_as_its_service_returned_it(
    midgame, host_access, guest_access
):
    """The proposing side's own update reads nothing of the trade back: the
    trade, its issues and its party are in hand. Its one read is the side's
    own scoring, to score the trade (this side has none). A known trade
    renders as the same row the other side reads from the database (bar the
    forms each side gets)."""
    trade = propose(host_access, 7)
    event = last_event(midgame)

    with CaptureQueriesContext(connection) as queries:
        sent = render_events(host_access, [event], known=[trade])
    read = render_events(host_access, [event])

    [read_scoring] = [q["sql"] for q in queries.captured_queries]
    assert 'FROM "negotiation_issuescore"' in read_scoring
    assert trade_rows(sent) == [str(trade.pk)]
    strip = re.compile(r'name="client_msg_id" value="[^"]*"')
    assert strip.sub("", sent) == strip.sub("", read)
    assert "7 days sooner" in sent


def test_an_answer_replaces_the_row_where_it_stands(midgame, host_access, guest_access):
    trade = propose(host_access, 1)
    services.trade_decline(
        access=guest_access, trade_id=trade.pk, version=1, reason="Too slow for us"
    )

    html = render_events(host_access, [last_event(midgame)])

    assert f'<li id="trade-{trade.pk}"' in html
    assert 'hx-swap-oob="true"' in html
    assert "afterbegin:#trade-list" not in html
    assert "Too slow for us" in html


def test_a_counter_inserts_the_new_trade_and_replaces_the_original(
    midgame, host_access, guest_access
):
    original = propose(host_access, 1)
    price, terms = midgame.issues.order_by("position")
    counter = services.trade_counter(
        access=guest_access,
        trade_id=original.pk,
        version=1,
        give_issue_id=terms.pk,
        give_value="5% more volume",
        ask_issue_id=price.pk,
        ask_value="30 days sooner",
    )

    html = render_events(host_access, [last_event(midgame)])

    inserted, replaced = html.split('<ul hx-swap-oob="afterbegin:#trade-list">')[::-1]
    assert trade_rows(inserted) == [str(counter.pk)]
    assert trade_rows(replaced) == [str(original.pk)]


def test_an_accepted_trade_renders_its_row_its_two_terms_its_log_entries_and_the_agreement(  # noqa: E501
    midgame, host_access, guest_access
):
    for n in range(3):
        propose(host_access, n)
    trade = propose(host_access, 7)
    services.trade_accept(access=guest_access, trade_id=trade.pk, version=1)

    html = render_events(host_access, [last_event(midgame)])

    assert trade_rows(html) == [str(trade.pk)]
    price, terms = midgame.issues.order_by("position")
    # Table rows travel inside <template>, the only place they parse alone.
    assert f'<template><tr id="term-{price.pk}"' in html
    assert f'<template><tr id="term-{terms.pk}"' in html
    assert 'hx-swap-oob="beforeend:#concession-rows"' in html
    # Logged once per side; each side's log shows the trade once, as its own
    # entry.
    own = Concession.objects.get(trade=trade, party=host_access.party)
    assert html.count('<tr id="concession-') == 1
    assert f'<tr id="concession-{own.pk}"' in html
    assert 'id="region-agreement"' in html
    assert 'id="region-trades"' not in html
    assert 'id="region-terms"' not in html


def test_a_term_change_replaces_its_one_row(midgame, host_access, guest_access):
    price, terms = midgame.issues.order_by("position")
    services.term_set(access=host_access, issue_id=price.pk, version=None, value="X")
    services.term_set(access=host_access, issue_id=terms.pk, version=None, value="Y")

    html = render_events(guest_access, [last_event(midgame)])

    assert re.findall(r'<tr id="term-(\d+)"', html) == [str(terms.pk)]
    assert 'data-version="1"' in html


def test_a_comment_on_a_trade_is_appended_to_its_comments(
    midgame, host_access, guest_access
):
    trade = propose(host_access, 1)
    services.message_post(
        access=guest_access, body="Why so slow?", kind="note", trade_id=trade.pk
    )

    html = render_events(host_access, [last_event(midgame)])

    assert html.startswith(f'<div hx-swap-oob="beforeend:#trade-{trade.pk}-comments">')
    assert "Why so slow?" in html
    assert trade_rows(html) == []


def test_a_stage_change_renders_the_whole_room(deal, host_access, guest_access):
    change = services.stage_change_propose(
        access=host_access, to_stage=Deal.Stage.FIRST_MOVE, note=""
    )
    services.stage_change_respond(access=guest_access, change_id=change.pk, accept=True)

    html = render_events(host_access, [last_event(deal)])

    for region in ("stagebar", "trades", "terms", "coach", "discussion"):
        assert f'id="region-{region}"' in html


def test_a_check_in_is_inserted_and_updates_the_rows_of_its_commitments(
    deal, host_access, guest_access
):
    at_stage(deal, Deal.Stage.CLOSE)
    kept = services.commitment_add(
        access=host_access,
        owner_side="host",
        owner_name="Robin",
        description="Dashboards live",
        metric="stores live",
        target="95%",
        due_date=datetime.date(2027, 3, 1),
        contingency="",
    )
    services.commitment_add(
        access=host_access,
        owner_side="host",
        owner_name="Robin",
        description="Training held",
        metric="sessions",
        target="4",
        due_date=datetime.date(2027, 3, 1),
        contingency="",
    )
    at_stage(deal, Deal.Stage.IMPLEMENTATION)
    services.check_in_add(
        access=guest_access,
        held_on=datetime.date(2026, 2, 1),
        notes="On track",
        statuses={kept.pk: "on_track"},
    )

    html = render_events(host_access, [last_event(deal)])

    assert 'hx-swap-oob="afterbegin:#checkin-list"' in html
    assert re.findall(r'<li id="commitment-(\d+)"', html) == [str(kept.pk)]
    assert "On track" in html


def test_events_missed_together_render_each_object_once(
    midgame, host_access, guest_access
):
    trade = propose(host_access, 1)
    services.trade_decline(
        access=guest_access, trade_id=trade.pk, version=1, reason="No"
    )
    events = list(DealEvent.objects.filter(deal=midgame).order_by("seq"))

    html = render_events(guest_access, events)

    # Proposed, then declined: one new row, already in its final state.
    assert trade_rows(html) == [str(trade.pk)]
    assert "trade-declined" in html
