"""Pitfall detectors: private coaching per side.

Detectors run after every room event (on commit) and raise ``Nudge`` rows for
the side concerned. Each situation nudges a side once (``Nudge.subject``), and
a nudge is only ever rendered for its own side. The over-sharing guard runs
before a shared text is written: it refuses a text that contains the author
side's walk-away figure or BATNA wording unless the author confirms.
"""

from __future__ import annotations

import re

from django.utils import timezone

from negotiation.models import (
    Deal,
    DealEvent,
    Issue,
    Party,
    PriorityEntry,
)
from negotiation.services.base import broadcast
from room.models import (
    Commitment,
    Concession,
    MesoSet,
    Nudge,
    Package,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from room.services.coaching import nudge_raise

Kind = Nudge.Kind
Stage = Deal.Stage
STAGES = list(Stage.values)

# Words that mark the money issue, whatever the deal calls it.
PRICE_WORDS = re.compile(
    r"\b(price|pricing|fee|fees|rate|cost|costs|salary|compensation|budget|licen[cs]e)\b",
    re.IGNORECASE,
)
DEADLINE_WARNING_DAYS = 7
STALEMATE_DECLINES = 3


class _Context:
    """What the detectors read about one deal, fetched once per run."""

    def __init__(self, deal: Deal, event: DealEvent | None) -> None:
        self.deal = deal
        self.event = event
        self.parties = {p.side: p for p in deal.parties.all()}
        self.issues = list(Issue.objects.filter(deal=deal))
        self.trades = list(Trade.objects.filter(deal=deal).order_by("created_at"))
        self.terms = set(
            TermSheetEntry.objects.filter(deal=deal).values_list("issue_id", flat=True)
        )

    @property
    def stage_index(self) -> int:
        return STAGES.index(self.deal.stage)


def _conceding(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    found = []
    for concession in Concession.objects.filter(deal=ctx.deal, we_get=""):
        party = ctx.parties[
            Party.Side.HOST
            if concession.party_id == ctx.parties[Party.Side.HOST].pk
            else Party.Side.COUNTERPART
        ]
        found.append(
            (
                party,
                f"concession:{concession.pk}",
                f"You logged “{concession.item}” as given with nothing in return.",
                "Trade, don't give: attach a condition — “if we do this, could "
                "you …?” — or take it back.",
            )
        )
    return found


def _hard_issues(ctx: _Context, party: Party) -> list[Issue]:
    hard = [issue for issue in ctx.issues if PRICE_WORDS.search(issue.name)]
    top = (
        PriorityEntry.objects.filter(party=party)
        .order_by("-importance")
        .select_related("issue")
        .first()
    )
    if top is not None and top.importance >= 4 and top.issue not in hard:
        hard.append(top.issue)
    return hard


def _touched(ctx: _Context, issue: Issue) -> bool:
    if issue.pk in ctx.terms:
        return True
    return any(issue.pk in (t.give_issue_id, t.ask_issue_id) for t in ctx.trades)


def _avoiding_hard_issue(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    """Price (or the side's top issue) left alone once trading is under way."""
    if ctx.stage_index < STAGES.index(Stage.MIDGAME):
        return []
    busy = len(ctx.trades) >= 2 or ctx.stage_index >= STAGES.index(Stage.CLOSE)
    if not busy:
        return []
    found = []
    for party in ctx.parties.values():
        for issue in _hard_issues(ctx, party):
            if not _touched(ctx, issue):
                found.append(
                    (
                        party,
                        f"issue:{issue.pk}",
                        f"“{issue.name}” has not been discussed yet, though "
                        "it matters most.",
                        "Address hard issues early: put it into a conditional "
                        "trade or a package now, while there is still room to "
                        "trade.",
                    )
                )
    return found


def _vague_commitments(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    found = []
    for commitment in Commitment.objects.filter(deal=ctx.deal):
        if commitment.is_measurable:
            continue
        missing = [
            label
            for label, value in (
                ("metric", commitment.metric),
                ("target", commitment.target),
                ("due date", commitment.due_date),
            )
            if not value
        ]
        listed = (
            missing[0]
            if len(missing) == 1
            else ", ".join(missing[:-1]) + " or " + missing[-1]
        )
        for party in ctx.parties.values():
            found.append(
                (
                    party,
                    f"commitment:{commitment.pk}",
                    f"“{commitment.description}” has no {listed} yet.",
                    "Define measurable mutual success: who does what, measured "
                    "how, by when (SMART).",
                )
            )
    return found


def _time_pressure(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    deadline = ctx.deal.deadline
    if deadline is None or ctx.stage_index > STAGES.index(Stage.FIRST_MOVE):
        return []
    days_left = (deadline - timezone.localdate()).days
    if days_left > DEADLINE_WARNING_DAYS:
        return []
    when = "has passed" if days_left < 0 else f"is {days_left} day(s) away"
    return [
        (
            party,
            f"deadline:{deadline.isoformat()}",
            f"The deadline {when} and the deal is still in "
            f"{Stage(ctx.deal.stage).label}.",
            "Agree on clear process steps now: what must be settled by when, "
            "and who decides.",
        )
        for party in ctx.parties.values()
    ]


def _stage_change_pitfalls(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    """A pending proposal to close with open issues, or to implement unsigned."""
    change = StageChange.objects.filter(
        deal=ctx.deal, status=StageChange.Status.PENDING
    ).first()
    if change is None:
        return []
    party = next(p for p in ctx.parties.values() if p.pk == change.party_id)
    found = []
    if change.to_stage == Stage.CLOSE:
        open_issues = [i.name for i in ctx.issues if i.pk not in ctx.terms]
        if open_issues:
            found.append(
                (
                    party,
                    f"close:{change.pk}",
                    "You proposed Close while these issues have no agreed value: "
                    + ", ".join(open_issues)
                    + ".",
                    "Separate understanding from consent: agree each open issue "
                    "explicitly before closing.",
                )
            )
    if change.to_stage == Stage.IMPLEMENTATION and ctx.deal.status != "agreed":
        found.append(
            (
                party,
                f"implementation:{change.pk}",
                "You proposed Implementation before both sides confirmed the "
                "agreement summary.",
                "Summarise and confirm in writing first: confirm the agreement "
                "in the room, then move on.",
            )
        )
    return found


def _one_way_disclosure(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    shared = {
        p.party_id
        for p in SharedPosition.objects.filter(party__deal=ctx.deal)
        if p.ranking or p.interests
    }
    if len(shared) != 1:
        return []
    sharer = next(p for p in ctx.parties.values() if p.pk in shared)
    return [
        (
            sharer,
            "disclosure",
            "You have shared your priorities; the other side has not shared "
            "theirs yet.",
            "Ask a reciprocal question: “What matters most to you in this "
            "deal?” — before sharing more.",
        )
    ]


def _stalemate(ctx: _Context) -> list[tuple[Party, str, str, str]]:
    streak = 0
    for trade in reversed(ctx.trades):
        if trade.status == Trade.Status.DECLINED:
            streak += 1
        elif trade.status in (Trade.Status.ACCEPTED, Trade.Status.OPEN):
            break
    if streak < STALEMATE_DECLINES:
        return []
    has_meso = MesoSet.objects.filter(deal=ctx.deal).exists()
    if has_meso and Package.objects.filter(deal=ctx.deal).exists():
        return []
    last = ctx.trades[-1].pk
    return [
        (
            party,
            f"stalemate:{last}",
            f"{streak} trades in a row were declined.",
            "Break the stalemate with MESO: present three packages you value "
            "equally and let their choice show what matters to them.",
        )
        for party in ctx.parties.values()
    ]


DETECTORS = {
    Kind.CONCEDING: _conceding,
    Kind.AVOIDING_HARD_ISSUE: _avoiding_hard_issue,
    Kind.VAGUE_COMMITMENT: _vague_commitments,
    Kind.TIME_PRESSURE: _time_pressure,
    Kind.EMPATHY_NOT_AGREEMENT: _stage_change_pitfalls,
    Kind.ONE_WAY_DISCLOSURE: _one_way_disclosure,
    Kind.STALEMATE: _stalemate,
}


def _kind_of(kind: str, subject: str) -> str:
    # The stage-change detector raises two pitfalls; the subject tells which.
    if kind == Kind.EMPATHY_NOT_AGREEMENT and subject.startswith("implementation:"):
        return Kind.UNDOCUMENTED
    return kind


def run_detectors(deal_id: int) -> list[Nudge]:
    """Evaluate every detector for a deal after a room event; create the nudges
    that are new and tell each concerned side's sockets to refresh their coach
    panel (the message names the side only, never what the nudge says)."""
    deal = Deal.objects.get(pk=deal_id)
    event = DealEvent.objects.filter(deal=deal).order_by("-seq").first()
    ctx = _Context(deal, event)
    created_sides: set[str] = set()
    for kind, detector in DETECTORS.items():
        for party, subject, message, action in detector(ctx):
            if nudge_raise(
                party,
                _kind_of(kind, subject),
                subject,
                message=message,
                action=action,
                event=event,
            ):
                created_sides.add(party.side)
    for side in created_sides:
        broadcast(deal.pk, {"type": "coach.changed", "side": side})
    return list(Nudge.objects.filter(deal=deal))
