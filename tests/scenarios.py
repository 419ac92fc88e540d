"""Closed deals built the way people build them: through the real services.

``negotiate`` walks a deal from Setup to the end (agreed, then Implementation
with a check-in; or no deal), both sides preparing privately first. The
counterpart's private preparation and its unshared concession valuation hold
``COUNTERPART_SECRET`` / ``COUNTERPART_FIGURE``, which must never reach the
host side, its managers, or any of their exports. The review tests and the
browser tests build their deals with it (``tests/review/test_review_scenario.py``
checks the scenario itself).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from negotiation.access import (
    GUESTS_SESSION_KEY,
    DealAccess,
    deal_access_for_user,
    room_access,
)
from negotiation.models import Deal, Issue, Participant, Party
from negotiation.services import deals as deal_services
from negotiation.services import preparation as prep_services
from room import services as room
from room.models import Commitment, Nudge, TermSheetEntry
from tests.factories import make_deal

Stage = Deal.Stage

COUNTERPART_SECRET = "Qv7-COUNTERPART-PRIVATE-walkaway-5521"
COUNTERPART_FIGURE = Decimal("731946.18")
# How the figure could show once formatted.
COUNTERPART_FIGURE_TEXTS = ("731946", "731,946", "731 946")
HOST_TARGET = "212000"
HOST_WALKAWAY = Decimal("186500")


@dataclass
class Negotiation:
    deal: Deal
    host: DealAccess
    guest: DealAccess
    price: Issue
    payment: Issue
    support: Issue
    commitment: Commitment | None


def guest_access(deal: Deal, participant: Participant) -> DealAccess:
    session = {GUESTS_SESSION_KEY: {str(deal.pk): participant.pk}}
    return room_access(AnonymousUser(), session, deal.pk)


def _move(deal: Deal, proposer: DealAccess, answerer: DealAccess, stage: str) -> None:
    change = room.stage_change_propose(access=proposer, to_stage=stage)
    room.stage_change_respond(access=answerer, change_id=change.pk, accept=True)


def _prepare(host: DealAccess, guest: DealAccess, issues: list[Issue]) -> None:
    price, payment, support = issues
    prep_services.preparation_update(
        access=host,
        section="walkaway",
        version=1,
        batna="Move the onboarding squad to another account.",
        reservation_point="Nothing under 186,500 a year.",
        reservation_value=HOST_WALKAWAY,
        target_outcome="212k a year, paid at 45 days.",
    )
    prep_services.priority_set(
        access=host, issue_id=price.pk, version=None, importance=5,
        ideal_outcome=HOST_TARGET,
    )  # fmt: skip
    prep_services.priority_set(
        access=host, issue_id=payment.pk, version=None, importance=3,
        ideal_outcome="45 days",
    )  # fmt: skip
    prep_services.priority_set(
        access=host, issue_id=support.pk, version=None, importance=2,
        ideal_outcome="Remote only",
    )  # fmt: skip
    prep_services.anchor_set(
        access=host, issue_id=price.pk, version=None,
        low=Decimal("220000"), high=Decimal("240000"),
    )  # fmt: skip
    prep_services.anchor_set(
        access=host, issue_id=payment.pk, version=None,
        low=Decimal("30"), high=Decimal("40"),
    )  # fmt: skip
    # The counterpart prepares too: every figure and sentence is a secret.
    prep_services.preparation_update(
        access=guest,
        section="walkaway",
        version=1,
        batna=COUNTERPART_SECRET,
        reservation_point=COUNTERPART_SECRET,
        reservation_value=COUNTERPART_FIGURE,
        target_outcome=COUNTERPART_SECRET,
    )
    prep_services.preparation_update(
        access=guest, section="counterparty", version=2,
        their_constraints=COUNTERPART_SECRET, their_pressures=COUNTERPART_SECRET,
    )  # fmt: skip
    for issue in issues:
        prep_services.priority_set(
            access=guest, issue_id=issue.pk, version=None, importance=4,
            can_give=COUNTERPART_SECRET, want_get=COUNTERPART_SECRET,
            ideal_outcome=COUNTERPART_SECRET,
        )  # fmt: skip
    prep_services.anchor_set(
        access=guest, issue_id=price.pk, version=None,
        low=COUNTERPART_FIGURE, high=COUNTERPART_FIGURE + 1,
        opening_position=COUNTERPART_SECRET,
    )  # fmt: skip


def negotiate(
    *,
    owner=None,
    team=None,
    title: str = "Acme renewal",
    context: str = Deal.Context.SALES,
    outcome: str = "agreed",
    extra_trades: int = 0,
    extra_messages: int = 0,
    due_in_days: int = -5,
    nudges: bool = True,
) -> Negotiation:
    """A deal negotiated to its end through the services, both sides acting.

    ``extra_trades`` proposed-then-declined trades and ``extra_messages``
    messages make the log longer (for the constant-query tests).
    ``due_in_days``: when the commitment falls due, from today (overdue when
    negative and not done).
    """
    deal = make_deal(owner=owner, team=team, title=title, context=context)
    host = deal_access_for_user(deal.owner, deal.pk)
    price = deal_services.issue_add(access=host, name="Price", unit="EUR")
    payment = deal_services.issue_add(access=host, name="Payment terms", unit="days")
    support = deal_services.issue_add(
        access=host, name="Onboarding", kind=Issue.Kind.OPTIONS,
        options=["Remote only", "Two on-site weeks", "Dedicated lead"],
    )  # fmt: skip
    counterpart = deal.parties.get(side=Party.Side.COUNTERPART)
    participant = Participant.objects.create(party=counterpart, display_name="Dana")
    guest = guest_access(deal, participant)
    _prepare(host, guest, [price, payment, support])

    _move(deal, host, guest, Stage.FIRST_MOVE)
    room.position_update(
        access=host, version=None, interests="A rollout that pays for itself.",
        ranking=[price.pk, payment.pk, support.pk],
    )  # fmt: skip
    room.position_update(
        access=guest, version=None, interests="Predictable cash flow.",
        ranking=[payment.pk, support.pk, price.pk],
    )  # fmt: skip
    _move(deal, guest, host, Stage.MIDGAME)

    meso = room.meso_present(
        access=host,
        packages=[
            {"name": "Fast start", "values": {
                str(price.pk): "225000", str(payment.pk): "30 days",
                str(support.pk): "Dedicated lead"}},
            {"name": "Lean", "values": {
                str(price.pk): "205000", str(payment.pk): "30 days",
                str(support.pk): "Remote only"}},
        ],
    )  # fmt: skip
    packages = list(meso.packages.order_by("pk"))
    room.meso_respond(
        access=guest, meso_id=meso.pk, version=1, picked_id=packages[0].pk
    )
    opening = room.trade_propose(
        access=host, give_issue_id=payment.pk, give_value="60 days",
        ask_issue_id=price.pk, ask_value="215000",
    )  # fmt: skip
    counter = room.trade_counter(
        access=guest, trade_id=opening.pk, version=1,
        give_issue_id=price.pk, give_value="201000",
        ask_issue_id=payment.pk, ask_value="45 days",
        rationale="Our cash cycle",
    )  # fmt: skip
    room.trade_accept(access=host, trade_id=counter.pk, version=1)
    for index in range(extra_trades):
        trade = room.trade_propose(
            access=guest, give_issue_id=support.pk, give_value=f"Option {index}",
            ask_issue_id=price.pk, ask_value=f"{190000 - index}",
        )  # fmt: skip
        room.trade_decline(
            access=host, trade_id=trade.pk, version=1, reason="Too far from target"
        )
    for index in range(extra_messages):
        room.message_post(access=guest, body=f"Thinking out loud, note {index}")
    room.concession_add(
        access=host, item="Pilot phase", we_give="A free pilot month",
        we_get="A public case study", value_to_us=Decimal("5000"),
        value_to_them=Decimal("12000"),
    )  # fmt: skip
    room.concession_add(
        access=guest, item="Reference call", we_give="Two reference calls",
        value_to_us=COUNTERPART_FIGURE, value_to_them=Decimal("3000"),
    )  # fmt: skip
    room.concession_add(
        access=guest, item="Logo rights", we_give="Our logo on their site",
        value_to_us=Decimal("1000"), value_to_them=Decimal("4000"),
        values_shared=True,
    )  # fmt: skip
    if nudges:
        Nudge.objects.create(
            deal=deal, party=host.party, kind=Nudge.Kind.CONCEDING,
            subject="deal", message="You gave twice in a row without asking.",
        )  # fmt: skip
        Nudge.objects.create(
            deal=deal, party=guest.party, kind=Nudge.Kind.OVER_SHARING,
            subject="deal", message=f"Careful: {COUNTERPART_SECRET}",
        )  # fmt: skip

    if outcome == "no_deal":
        room.deal_end_no_deal(access=guest, reason="Budget frozen until Q3.")
        deal.refresh_from_db()
        return Negotiation(deal, host, guest, price, payment, support, None)

    _move(deal, host, guest, Stage.CLOSE)
    room.term_set(
        access=guest,
        issue_id=support.pk,
        version=TermSheetEntry.objects.get(issue=support).version,
        value="Two on-site weeks",
    )
    commitment = room.commitment_add(
        access=host, owner_side="host", owner_name="Robin",
        description="Dashboards live in every store", metric="stores live",
        target="95%", due_date=timezone.localdate() + datetime.timedelta(due_in_days),
    )  # fmt: skip
    for side in (host, guest):
        room.commitment_confirm(access=side, commitment_id=commitment.pk, version=1)
    proposal = room.cadence_propose(
        access=guest,
        cadence="monthly",
        first_check_in=timezone.localdate() + datetime.timedelta(days=14),
    )
    room.cadence_respond(access=host, proposal_id=proposal.pk, accept=True)
    for side in (host, guest):
        room.agreement_confirm(access=side, digest=room.agreement_digest(deal))
    _move(deal, guest, host, Stage.IMPLEMENTATION)
    room.check_in_add(
        access=guest,
        held_on=timezone.localdate() - datetime.timedelta(days=1),
        notes="Half the stores are live.",
        statuses={commitment.pk: Commitment.Status.AT_RISK},
    )
    deal.refresh_from_db()
    commitment.refresh_from_db()
    return Negotiation(deal, host, guest, price, payment, support, commitment)


# --- browsers for the people of a scenario ------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def client_for_guest(participant: Participant) -> Client:
    client = Client()
    session = client.session
    session[GUESTS_SESSION_KEY] = {str(participant.party.deal_id): participant.pk}
    session.save()
    return client
