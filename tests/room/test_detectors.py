"""The pitfall detectors read what an event touched, or bounded aggregates:
their cost does not grow with the room's history."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiation.models import DealEvent
from room import coaching, services
from room.models import Nudge
from tests.room.conftest import add_commitment, propose

pytestmark = pytest.mark.django_db


def last_event(deal) -> DealEvent:
    return DealEvent.objects.filter(deal=deal).order_by("-seq").first()


def queries_to_coach(event: DealEvent) -> int:
    with CaptureQueriesContext(connection) as queries:
        coaching.run_detectors([event])
    return len(queries)


def test_coaching_a_trade_costs_the_same_at_the_5th_and_the_60th(
    midgame, issues, host, guest_access
):
    price, terms = issues
    for n in range(5):
        propose(host, price, f"{n} days", terms, f"{n}%")
        services.message_post(access=guest_access, body=f"Noted ({n})")
    early = queries_to_coach(_last_trade_event(midgame))
    for n in range(5, 60):
        propose(host, price, f"{n} days", terms, f"{n}%")
        services.message_post(access=guest_access, body=f"Noted ({n})")
    late = queries_to_coach(_last_trade_event(midgame))

    assert early > 0  # the hard-issue detector read something
    assert late == early


def _last_trade_event(deal) -> DealEvent:
    return (
        DealEvent.objects.filter(deal=deal, kind="trade.proposed")
        .order_by("-seq")
        .first()
    )


def test_a_message_runs_no_detector(midgame, host):
    services.message_post(access=host, body="A thought about volume.")

    assert queries_to_coach(last_event(midgame)) == 0


def test_the_coach_reuses_the_deal_and_parties_the_action_holds(midgame, issues, host):
    """A position update on a deal without a deadline triggers the time
    pressure and disclosure detectors. Given the event as the action wrote
    it (its deal read under the lock) and the socket's two parties, the coach
    reads only the positions (and the nudge it raises); from a bare event it
    reads the deal as well."""
    midgame.deadline = None
    midgame.save(update_fields=["deadline"])
    services.position_update(
        access=host,
        version=None,
        interests="Predictable cash flow",
        ranking=[issue.pk for issue in issues],
    )
    parties = (host.host_party, host.counterpart_party)
    event = last_event(midgame)

    with CaptureQueriesContext(connection) as bare:
        coaching.run_detectors([event], parties=parties)
    event.deal = midgame
    with CaptureQueriesContext(connection) as held:
        coaching.run_detectors([event], parties=parties)

    def reads(queries):
        return [
            q["sql"].split(" FROM ")[1].split()[0].strip('"')
            for q in queries
            if q["sql"].startswith("SELECT")
        ]

    # The positions, and whether the side that shared was nudged already.
    assert reads(held) == ["negotiation_sharedposition", "negotiation_nudge"]
    assert reads(bare) == ["negotiation_deal", *reads(held)]


def test_the_stalemate_is_found_among_the_latest_trades_only(
    midgame, issues, host, guest_access
):
    """Three declines in a row, however long the history before them."""
    price, terms = issues
    for n in range(30):
        trade = propose(host, price, f"{n} days", terms, f"{n}%")
        services.trade_withdraw(access=host, trade_id=trade.pk, version=1)
    for n in range(3):
        trade = propose(host, price, f"late {n}", terms, f"{n}%")
        services.trade_decline(
            access=guest_access, trade_id=trade.pk, version=1, reason="No"
        )

    coaching.run_detectors([last_event(midgame)])

    assert Nudge.objects.filter(kind=Nudge.Kind.STALEMATE).count() == 2  # each side


def test_a_failing_detector_never_breaks_an_action_that_stands(
    midgame, issues, host, monkeypatch, caplog
):
    price, terms = issues
    trade = propose(host, price, "30 days", terms, "5%")

    def broken(ctx):
        raise RuntimeError("detector bug")

    kinds = coaching.detectors.DETECTORS[Nudge.Kind.AVOIDING_HARD_ISSUE][1]
    monkeypatch.setitem(
        coaching.detectors.DETECTORS, Nudge.Kind.AVOIDING_HARD_ISSUE, (broken, kinds)
    )
    coaching.coach_safely([last_event(midgame)])

    trade.refresh_from_db()
    assert trade.status == "open"
    assert "The coach failed" in caplog.text


@pytest.mark.parametrize(
    ("received", "nudged"),
    [
        ("", True),
        ("n/a", True),
        ("for their goodwill", True),
        ("to keep the peace", True),
        ("A public case study", False),  # the near-miss: something real came back
        ("Goodwill clause in the renewal", False),
    ],
)
def test_conceding_for_nothing_is_recognised_in_its_usual_wordings(
    midgame, host, received, nudged
):
    services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops", we_get=received
    )

    coaching.run_detectors([last_event(midgame)])

    assert Nudge.objects.filter(kind=Nudge.Kind.CONCEDING).exists() is nudged


@pytest.mark.parametrize(
    ("target", "nudged"),
    [("best efforts", True), ("TBD", True), ("95%", False), ("40 stores", False)],
)
def test_a_placeholder_target_is_a_vague_commitment(close, host, target, nudged):
    add_commitment(host, target=target)

    coaching.run_detectors([last_event(close)])

    assert Nudge.objects.filter(kind=Nudge.Kind.VAGUE_COMMITMENT).exists() is nudged
