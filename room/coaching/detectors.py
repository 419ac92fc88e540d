"""Pitfall detectors: private coaching per side.

Detectors run after the sender heard back (``run_detectors``, called by the
socket after its ack and by the HTTP view after the action), on the events
the action wrote. Each detector is triggered by the kinds it cares about and
reads only what the event touched, or a bounded aggregate: never the whole
room, so coaching costs the same at the 1st and the 500th event. Each
situation nudges a side once (``Nudge.subject``), and a nudge is only ever
rendered for its own side. A nudge whose situation an event ends (the issue
got traded, the commitment measurable) is resolved (``RESOLVERS``): withdrawn
from the room live, kept for the review.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import NamedTuple

from django.db.models import Q
from django.utils import timezone

from common.phrases import nothing_in_return
from negotiation.events import EventKind
from negotiation.models import (
    Deal,
    DealEvent,
    Issue,
    Party,
    PriorityEntry,
)
from negotiation.selectors import own_scoring
from negotiation.services.base import broadcast
from room.models import (
    Commitment,
    Concession,
    Message,
    Nudge,
    Package,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from room.services.coaching import nudge_raise

Kind = Nudge.Kind
logger = logging.getLogger(__name__)
Stage = Deal.Stage
STAGES = list(Stage.values)

# Words that mark the money issue, whatever the deal calls it.
PRICE_WORDS = re.compile(
    r"\b(price|pricing|fee|fees|rate|cost|costs|salary|compensation|budget|licen[cs]e)\b",
    re.IGNORECASE,
)
# A unit that is money: a currency's code or sign.
CURRENCY = re.compile(
    r"(?<![A-Za-z])(EUR|USD|GBP|CHF|JPY|CNY|INR|CAD|AUD|NZD|SEK|NOK|DKK|PLN|CZK|"
    r"HUF|BRL|MXN|ZAR|SGD|HKD)(?![A-Za-z])|[€$£¥₹]|\b(euros?|dollars?|pounds?)\b",
    re.IGNORECASE,
)
DEADLINE_WARNING_DAYS = 7
STALEMATE_DECLINES = 3
# Proposals in one counter chain (the first and the counters to it) that make
# a stalemate: three counters without an answer.
STALEMATE_COUNTERS = 4


# Declines in a row that make a stalemate, and how far back a streak is
# looked for (the streak skips withdrawn and countered trades).
STALEMATE_WINDOW = 20

Found = list[tuple[Party, str, str, str]]  # party, subject, message, action


class _Context:
    """One event and the deal it happened in, with reads made at most once."""

    def __init__(
        self, deal: Deal, event: DealEvent, parties: Iterable[Party] = ()
    ) -> None:
        self.deal = deal
        self.event = event
        self.payload = event.payload or {}
        self.known_parties = [p for p in parties if p.deal_id == deal.pk]
        self._talked: dict[int, bool] = {}

    @cached_property
    def parties(self) -> dict[str, Party]:
        """The two sides: as given (a socket holds them), else read."""
        if len(self.known_parties) == 2:
            return {p.side: p for p in self.known_parties}
        return {p.side: p for p in self.deal.parties.all()}

    def party(self, pk: int) -> Party:
        return next(p for p in self.parties.values() if p.pk == pk)

    @property
    def stage_index(self) -> int:
        return STAGES.index(self.deal.stage)

    def ref(self, key: str) -> int | None:
        value = self.payload.get(key)
        return value if isinstance(value, int) else None

    @cached_property
    def issues(self) -> list[Issue]:
        """The agenda: bounded by the deal's issues, not its history."""
        return list(Issue.objects.filter(deal=self.deal))

    def talked_about(self, issue: Issue) -> bool:
        """Both sides have written about the issue in the discussion (one
        query per issue and event, at most two rows: whose messages name it)."""
        if issue.pk not in self._talked:
            authors = (
                Message.objects.filter(deal=self.deal, body__icontains=issue.name)
                .values_list("author__party_id", flat=True)
                .distinct()[:2]
            )
            self._talked[issue.pk] = len({pk for pk in authors if pk}) == 2
        return self._talked[issue.pk]

    @cached_property
    def shared_positions(self) -> list[int]:
        """The parties that have shared a ranking or their interests."""
        return [
            p.party_id
            for p in SharedPosition.objects.filter(party__deal=self.deal)
            if p.ranking or p.interests
        ]

    @cached_property
    def terms(self) -> set[int]:
        return set(
            TermSheetEntry.objects.filter(deal=self.deal).values_list(
                "issue_id", flat=True
            )
        )


def _conceding(ctx: _Context) -> Found:
    """A concession logged with nothing in return ("n/a", "their goodwill",
    "to keep the peace" count as nothing): the one just logged, or the
    entries an accepted trade just wrote."""
    if ctx.event.kind == EventKind.CONCESSION_ADDED:
        concessions = Concession.objects.filter(pk=ctx.ref("concession_id"))
    else:
        concessions = Concession.objects.filter(trade_id=ctx.ref("trade_id"))
    return [
        (
            ctx.party(concession.party_id),
            f"concession:{concession.pk}",
            f"You logged “{concession.item}” as given with nothing in return.",
            "Trade, don't give: attach a condition — “if we do this, could "
            "you …?” — or take it back.",
        )
        for concession in concessions.filter(deal=ctx.deal)
        if nothing_in_return(concession.we_get)
    ]


def is_money(issue: Issue) -> bool:
    """A money issue, whatever the deal calls it ("Discount", "Base pay"):
    counted in a currency, or named like one."""
    return bool(CURRENCY.search(issue.unit or "") or PRICE_WORDS.search(issue.name))


def _hard_issues(ctx: _Context, party: Party) -> list[Issue]:
    hard = [issue for issue in ctx.issues if is_money(issue)]
    top = (
        PriorityEntry.objects.filter(party=party)
        .order_by("-importance")
        .select_related("issue")
        .first()
    )
    if top is not None and top.importance >= 4 and top.issue not in hard:
        hard.append(top.issue)
    return hard


def _avoiding_hard_issue(ctx: _Context) -> Found:
    """Price (or the side's top issue) left alone once trading is under way.

    Trading is under way from the deal's second trade on (or in Close). A
    later trade can only touch issues, never untouch one: so among trades,
    only the second can bring the situation about, and only it is checked.
    """
    if ctx.stage_index < STAGES.index(Stage.MIDGAME):
        return []
    trades = Trade.objects.filter(deal=ctx.deal)
    if ctx.event.kind in (EventKind.TRADE_PROPOSED, EventKind.TRADE_COUNTERED):
        up_to_this = trades.filter(pk__lte=ctx.ref("trade_id") or 0)
        if up_to_this.values("pk")[:3].count() != 2:
            return []
    elif ctx.stage_index < STAGES.index(Stage.CLOSE) and (
        trades.values("pk")[:2].count() < 2
    ):
        return []
    found = []
    for party in ctx.parties.values():
        hard = _hard_issues(ctx, party)
        if not hard:
            continue
        traded = set(
            trades.filter(Q(give_issue__in=hard) | Q(ask_issue__in=hard))
            .values_list("give_issue_id", "ask_issue_id")
            .distinct()[: 2 * len(hard) + 2]
        )
        touched = ctx.terms | {pk for pair in traded for pk in pair}
        # The discussion is read last, and once per issue for both sides:
        # only for an issue no trade or term has touched.
        found.extend(
            (
                party,
                f"issue:{issue.pk}",
                f"“{issue.name}” has not been discussed yet, though it matters most.",
                "Address hard issues early: put it into a conditional trade or "
                "a package now, while there is still room to trade.",
            )
            for issue in hard
            if issue.pk not in touched and not ctx.talked_about(issue)
        )
    return found


def _vague_commitments(ctx: _Context) -> Found:
    """The commitment just added or edited, if it cannot be measured: no
    metric, target or due date, or a placeholder ("TBD", "best efforts")
    in their place."""
    commitment = Commitment.objects.filter(
        pk=ctx.ref("commitment_id"), deal=ctx.deal
    ).first()
    if commitment is None or commitment.is_measurable:
        return []
    missing = commitment.missing
    listed = (
        missing[0]
        if len(missing) == 1
        else ", ".join(missing[:-1]) + " or " + missing[-1]
    )
    return [
        (
            party,
            f"commitment:{commitment.pk}",
            f"“{commitment.description}” has no {listed} yet.",
            "Define measurable mutual success: who does what, measured how, by "
            "when (SMART).",
        )
        for party in ctx.parties.values()
    ]


def _time_pressure(ctx: _Context) -> Found:
    """The deadline is a week away or less (or past) while the deal is still
    before Close: in Midgame, only while some issue has no agreed value."""
    deadline = ctx.deal.deadline
    if deadline is None or ctx.stage_index > STAGES.index(Stage.MIDGAME):
        return []
    days_left = (deadline - timezone.localdate()).days
    if days_left > DEADLINE_WARNING_DAYS:
        return []
    subject = f"deadline:{deadline.isoformat()}"
    if ctx.deal.stage == Stage.MIDGAME:
        if all(issue.pk in ctx.terms for issue in ctx.issues):
            return []
        subject += ":midgame"
    when = "has passed" if days_left < 0 else f"is {days_left} day(s) away"
    return [
        (
            party,
            subject,
            f"The deadline {when} and the deal is still in "
            f"{Stage(ctx.deal.stage).label}.",
            "Agree on clear process steps now: what must be settled by when, "
            "and who decides.",
        )
        for party in ctx.parties.values()
    ]


def _stage_change_pitfalls(ctx: _Context) -> Found:
    """The proposal just made: to close with open issues, or to implement
    what was never confirmed."""
    change = StageChange.objects.filter(
        pk=ctx.ref("change_id"), deal=ctx.deal, status=StageChange.Status.PENDING
    ).first()
    if change is None:
        return []
    party = ctx.party(change.party_id)
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


# What the other side writes when it has understood a point, not agreed to it;
# and the words that would make the same message an agreement.
ACKNOWLEDGED = re.compile(
    r"\b(i|we) (understand|hear you|see (your|the) point|get (it|that|your point))\b"
    r"|\b(understood|makes sense|fair point|good point|point taken|noted|i see)\b",
    re.IGNORECASE,
)
AGREED = re.compile(
    r"\b(agree[ds]?|accept(ed)?|deal|yes|confirm(ed)?|works for us|sounds good|"
    r"let'?s do|go ahead|we can do)\b",
    re.IGNORECASE,
)


def _empathy_not_agreement(ctx: _Context) -> Found:
    """A stage change proposed too early (see ``_stage_change_pitfalls``), or
    a term written by hand right after the other side's last message only
    acknowledged the point ("I understand", "makes sense") without agreeing."""
    if ctx.event.kind == EventKind.STAGE_PROPOSED:
        return _stage_change_pitfalls(ctx)
    entry = (
        TermSheetEntry.objects.filter(issue_id=ctx.ref("issue_id"), deal=ctx.deal)
        .select_related("issue", "updated_by")
        .first()
    )
    if entry is None or entry.source_trade_id or entry.updated_by is None:
        return []
    writer = ctx.party(entry.updated_by.party_id)
    last = (
        Message.objects.filter(deal=ctx.deal, created_at__lte=ctx.event.created_at)
        .exclude(kind=Message.Kind.COACH)
        .select_related("author")
        .order_by("-created_at", "-pk")
        .first()
    )
    if last is None or last.author is None or last.author.party_id == writer.pk:
        return []
    if not ACKNOWLEDGED.search(last.body) or AGREED.search(last.body):
        return []
    return [
        (
            writer,
            f"acknowledged:{ctx.event.seq}",
            f"You set {entry.issue.name} right after they wrote “{last.body[:80]}”: "
            "that shows they understood, not that they agreed.",
            "Check for consent before writing it down: “So we agree on this "
            "— shall I put it on the term sheet?”",
        )
    ]


def _one_way_disclosure(ctx: _Context) -> Found:
    """The two sides' shared positions: one has shared, the other not yet."""
    shared = set(ctx.shared_positions)
    if len(shared) != 1:
        return []
    return [
        (
            ctx.party(shared.pop()),
            "disclosure",
            "You have shared your priorities; the other side has not shared "
            "theirs yet.",
            "Ask a reciprocal question: “What matters most to you in this "
            "deal?” — before sharing more.",
        )
    ]


def _stalemate(ctx: _Context) -> Found:
    """Declines in a row, or counters going back and forth, among the latest
    trades, and no packages tried."""
    if ctx.event.kind == EventKind.TRADE_COUNTERED:
        return _circling(ctx)
    latest = list(
        Trade.objects.filter(deal=ctx.deal)
        .order_by("-pk")
        .values_list("pk", "status")[:STALEMATE_WINDOW]
    )
    streak = 0
    for _, status in latest:
        if status == Trade.Status.DECLINED:
            streak += 1
        elif status in (Trade.Status.ACCEPTED, Trade.Status.OPEN):
            break
    if streak < STALEMATE_DECLINES:
        return []
    if Package.objects.filter(deal=ctx.deal, meso_set__isnull=False).exists():
        return []
    return [
        (
            party,
            f"stalemate:{latest[0][0]}",
            f"{streak} trades in a row were declined.",
            "Break the stalemate with MESO: present three packages you value "
            "equally and let their choice show what matters to them.",
        )
        for party in ctx.parties.values()
    ]


def _circling(ctx: _Context) -> Found:
    """The counter just made ends a chain of STALEMATE_COUNTERS proposals or
    more, each countering the one before, with no package tried (one query
    for the latest trades, one for packages)."""
    recent = {
        row[0]: row[1:]
        for row in Trade.objects.filter(deal=ctx.deal)
        .order_by("-pk")
        .values_list(
            "pk", "counter_of_id", "give_issue_id", "give_value", "ask_issue_id",
            "ask_value",
        )[:STALEMATE_WINDOW]
    }  # fmt: skip
    chain = []
    pk = ctx.ref("trade_id")
    while pk in recent and len(chain) < STALEMATE_WINDOW:
        chain.append(recent[pk])
        pk = recent[pk][0]
    if len(chain) < STALEMATE_COUNTERS:
        return []
    if Package.objects.filter(deal=ctx.deal, meso_set__isnull=False).exists():
        return []
    offers = [
        frozenset({(g, gv.lower()), (a, av.lower())}) for _, g, gv, a, av in chain
    ]
    again = " The same terms have come back." if len(set(offers)) < len(offers) else ""
    return [
        (
            party,
            f"circling:{ctx.ref('trade_id')}",
            f"{len(chain)} proposals in a row have countered each other.{again}",
            "Break the loop with MESO: present three packages you value "
            "equally and let their choice show what matters to them.",
        )
        for party in ctx.parties.values()
    ]


# Packages of one MESO set further apart than this, on their author's own
# scoring, are not equivalent offers.
MESO_SPREAD_POINTS = 5


def _uneven_meso(ctx: _Context) -> Found:
    """A MESO set whose packages its author scores more than a few points
    apart: the other side's pick then says less about what it values, and
    may take the package the author likes least. Only the author is told,
    from its own scoring; nothing of it reaches the other side."""
    meso_id = ctx.ref("meso_id")
    packages = list(
        Package.objects.filter(meso_set_id=meso_id, deal=ctx.deal).values_list(
            "party_id", "name", "values"
        )
    )
    if len(packages) < 2:
        return []
    party = ctx.party(packages[0][0])  # the set's author
    scoring = own_scoring(party)
    if scoring is None:
        return []
    scored = [
        (name, scoring.score({int(k): v for k, v in values.items()}).total)
        for _, name, values in packages
    ]
    totals = [total for _, total in scored]
    spread = max(totals) - min(totals)
    if spread <= MESO_SPREAD_POINTS:
        return []
    listed = ", ".join(f"{name} {round(total)}" for name, total in scored)
    return [
        (
            party,
            f"meso:{meso_id}",
            f"On your own scoring these packages are {round(spread)} points "
            f"apart ({listed}).",
            "Make them worth the same to you, within a few points, so that "
            "whichever they pick suits you and their choice shows what they "
            "value. Present a new set if this one is lopsided.",
        )
    ]


# Proposals in a row from one side asking the same thing: a held position.
POSITIONAL_PROPOSALS = 3


def _positional(ctx: _Context) -> Found:
    """The side that just proposed has asked for exactly the same value on
    the same issue in its last three proposals: it holds a position instead
    of trading. The other side is told, to ask about the interest behind it."""
    trade = Trade.objects.filter(pk=ctx.ref("trade_id"), deal=ctx.deal).first()
    if trade is None:
        return []
    asks = list(
        Trade.objects.filter(deal=ctx.deal, party_id=trade.party_id)
        .order_by("-pk")
        .values_list("ask_issue_id", "ask_value")[:POSITIONAL_PROPOSALS]
    )
    same = {(issue, " ".join(value.lower().split())) for issue, value in asks}
    if len(asks) < POSITIONAL_PROPOSALS or len(same) != 1:
        return []
    other = next(p for p in ctx.parties.values() if p.pk != trade.party_id)
    name = next((i.name for i in ctx.issues if i.pk == trade.ask_issue_id), "it")
    return [
        (
            other,
            f"positional:{trade.ask_issue_id}:{same.pop()[1][:40]}",
            f"Their last {len(asks)} proposals all ask for “{trade.ask_value}” "
            f"on {name}: they are holding a position.",
            "Ask about the interest behind it (“What would that give you?”), "
            "then offer packages that meet it another way.",
        )
    ]


def _avoiding_accountability(ctx: _Context) -> Found:
    """The other side removed a commitment from the list, or edited one it
    owns so that it can no longer be measured: its counterpart is told."""
    actor = ctx.event.actor
    if ctx.event.actor_id is None or actor is None:
        return []
    side = ctx.party(actor.party_id)
    other = next(p for p in ctx.parties.values() if p.pk != side.pk)
    if ctx.event.kind == EventKind.COMMITMENT_REMOVED:
        text = ctx.payload.get("text") or "a commitment"
        message = f"They removed “{text}” from the commitments."
    else:
        commitment = Commitment.objects.filter(
            pk=ctx.ref("commitment_id"), deal=ctx.deal, owner_party=side
        ).first()
        if commitment is None or commitment.is_measurable:
            return []
        message = (
            f"They reworded their own commitment “{commitment.description}” so "
            "that it can no longer be measured."
        )
    return [
        (
            other,
            f"accountability:{ctx.event.seq}",
            message,
            "Ask what would make it work for them, and agree who does what, "
            "measured how, by when, before you confirm the agreement.",
        )
    ]


K = EventKind
# Each detector, the pitfall it raises, and the kinds of event that can bring
# it about: a detector runs only after those.
DETECTORS: dict[str, tuple[Callable[[_Context], Found], frozenset[str]]] = {
    Kind.CONCEDING: (_conceding, frozenset({K.CONCESSION_ADDED, K.TRADE_ACCEPTED})),
    Kind.AVOIDING_HARD_ISSUE: (
        _avoiding_hard_issue,
        frozenset(
            {
                K.TRADE_PROPOSED,
                K.TRADE_COUNTERED,
                K.STAGE_ACCEPTED,
                K.TERM_UPDATED,
                K.MESO_ANSWERED,
            }
        ),
    ),
    Kind.VAGUE_COMMITMENT: (
        _vague_commitments,
        frozenset({K.COMMITMENT_ADDED, K.COMMITMENT_UPDATED}),
    ),
    # Any step while the deal is still early, as the deadline nears; not a
    # message, the room's most frequent event, which binds nothing.
    Kind.TIME_PRESSURE: (_time_pressure, frozenset(EventKind) - {K.MESSAGE_POSTED}),
    Kind.EMPATHY_NOT_AGREEMENT: (
        _empathy_not_agreement,
        frozenset({K.STAGE_PROPOSED, K.TERM_UPDATED}),
    ),
    Kind.ONE_WAY_DISCLOSURE: (_one_way_disclosure, frozenset({K.POSITION_UPDATED})),
    Kind.STALEMATE: (_stalemate, frozenset({K.TRADE_DECLINED, K.TRADE_COUNTERED})),
    Kind.UNEVEN_PACKAGES: (_uneven_meso, frozenset({K.MESO_PRESENTED})),
    Kind.POSITIONAL: (_positional, frozenset({K.TRADE_PROPOSED, K.TRADE_COUNTERED})),
    Kind.AVOIDING_ACCOUNTABILITY: (
        _avoiding_accountability,
        frozenset({K.COMMITMENT_UPDATED, K.COMMITMENT_REMOVED}),
    ),
}


# --- nudges that resolve ----------------------------------------------------------

Subjects = list[str]  # the subjects of the nudges no longer true

# Every open nudge of the kind, whatever its subject.
ANY_SUBJECT = "*"


def _issues_touched(ctx: _Context) -> Subjects:
    """A hard issue traded, countered or put on the term sheet has been
    discussed: its "not discussed yet" nudge no longer holds."""
    if ctx.event.kind in (EventKind.TRADE_PROPOSED, EventKind.TRADE_COUNTERED):
        issues = (
            Trade.objects.filter(pk=ctx.ref("trade_id"), deal=ctx.deal)
            .values_list("give_issue_id", "ask_issue_id")
            .first()
            or ()
        )
    elif ctx.event.kind == EventKind.TERM_UPDATED:
        issues = (ctx.ref("issue_id"),)
    else:  # a package picked: its values went on the sheet
        issues = tuple(ctx.terms)
    return [f"issue:{pk}" for pk in issues if pk]


def _concession_gone(ctx: _Context) -> Subjects:
    """A concession taken back no longer gives anything away."""
    return [f"concession:{ctx.ref('concession_id')}"]


def _commitment_fixed(ctx: _Context) -> Subjects:
    """A commitment made measurable, or removed, is no longer vague."""
    pk = ctx.ref("commitment_id")
    if ctx.event.kind == EventKind.COMMITMENT_UPDATED:
        commitment = Commitment.objects.filter(pk=pk, deal=ctx.deal).first()
        if commitment is None or not commitment.is_measurable:
            return []
    return [f"commitment:{pk}", f"confirmed:{pk}"]


def _disclosure_returned(ctx: _Context) -> Subjects:
    """Both sides have now shared their priorities."""
    if len(ctx.shared_positions) < 2:
        return []
    return ["disclosure"]


def _stalemate_broken(ctx: _Context) -> Subjects:
    """A trade accepted or a MESO set presented moves a stalemate on."""
    return [ANY_SUBJECT]


class Resolver(NamedTuple):
    """What an event can make untrue: a kind of nudge, and which of its
    subjects (``subjects``). ``subjects_first``: the subjects cost no read of
    their own (the event's detectors read the same, through the context), so
    they are worked out before the open nudges are read, and often spare it."""

    kind: str
    subjects: Callable[[_Context], Subjects]
    subjects_first: bool = False


RESOLVERS: dict[str, Resolver] = {
    K.TRADE_PROPOSED: Resolver(Kind.AVOIDING_HARD_ISSUE, _issues_touched),
    K.TRADE_COUNTERED: Resolver(Kind.AVOIDING_HARD_ISSUE, _issues_touched),
    K.TERM_UPDATED: Resolver(Kind.AVOIDING_HARD_ISSUE, _issues_touched),
    K.MESO_ANSWERED: Resolver(Kind.AVOIDING_HARD_ISSUE, _issues_touched),
    K.CONCESSION_WITHDRAWN: Resolver(Kind.CONCEDING, _concession_gone),
    K.COMMITMENT_UPDATED: Resolver(Kind.VAGUE_COMMITMENT, _commitment_fixed),
    K.COMMITMENT_REMOVED: Resolver(Kind.VAGUE_COMMITMENT, _commitment_fixed),
    K.POSITION_UPDATED: Resolver(
        Kind.ONE_WAY_DISCLOSURE, _disclosure_returned, subjects_first=True
    ),
    K.TRADE_ACCEPTED: Resolver(Kind.STALEMATE, _stalemate_broken),
    K.MESO_PRESENTED: Resolver(Kind.STALEMATE, _stalemate_broken),
}


def _resolve(ctx: _Context) -> set[str]:
    """Withdraw the open nudges this event made untrue; the sides concerned.

    The open nudges of the kind the event can resolve are read first: there
    are seldom any, and then the event's subjects (a trade's issues, say)
    are never read: 2 → 1 statements for a trade proposed or countered with
    no such nudge open (``bench/room_actions.py --queries --actions 400
    --history 100``: 15.8 → 15.5 statements per edit, PostgreSQL)."""
    resolver = RESOLVERS.get(ctx.event.kind)
    if resolver is None:
        return set()
    subjects = set(resolver.subjects(ctx)) if resolver.subjects_first else None
    if subjects == set():
        return set()
    open_ = list(
        Nudge.objects.filter(
            deal=ctx.deal, kind=resolver.kind, resolved_at__isnull=True
        ).values_list("pk", "subject", "party__side")
    )
    if not open_:
        return set()
    if subjects is None:
        subjects = set(resolver.subjects(ctx))
    untrue = [
        (pk, side)
        for pk, subject, side in open_
        if ANY_SUBJECT in subjects or subject in subjects
    ]
    if not untrue:
        return set()
    Nudge.objects.filter(
        pk__in=[pk for pk, _ in untrue], resolved_at__isnull=True
    ).update(resolved_at=timezone.now())
    return {side for _, side in untrue}


def _kind_of(kind: str, subject: str) -> str:
    # The stage-change detector raises two pitfalls; the subject tells which.
    if kind == Kind.EMPATHY_NOT_AGREEMENT and subject.startswith("implementation:"):
        return Kind.UNDOCUMENTED
    return kind


def run_detectors(
    events: Iterable[DealEvent], *, parties: Iterable[Party] = ()
) -> list[Nudge]:
    """Coach each side on what these events (one action's) changed: run the
    detectors their kinds trigger, create the nudges that are new, and tell
    each concerned side's sockets to refresh their coach panel (the message
    names the side only, never what the nudge says). Returns the new nudges.

    The deal is the one the action wrote its events with, when they carry it
    (read under the action's lock, so as the action left it); ``parties`` are
    the deal's two sides if the caller holds them. Either is read otherwise.
    An action other than a message then costs the coach no query unless a
    detector looks further (a deal with no deadline, say): 2 queries less per
    edit.
    """
    parties = list(parties)
    created: list[Nudge] = []
    resolved: set[tuple[int, str]] = set()
    deals: dict[int, Deal] = {}
    for event in events:
        triggered = [
            (kind, detector)
            for kind, (detector, kinds) in DETECTORS.items()
            if event.kind in kinds
        ]
        if not triggered and event.kind not in RESOLVERS:
            continue
        if event.deal_id not in deals:
            deals[event.deal_id] = (
                event.deal
                if DealEvent.deal.is_cached(event)
                else Deal.objects.get(pk=event.deal_id)
            )
        ctx = _Context(deals[event.deal_id], event, parties)
        resolved |= {(event.deal_id, side) for side in _resolve(ctx)}
        for kind, detector in triggered:
            for party, subject, message, action in detector(ctx):
                nudge = nudge_raise(
                    party,
                    _kind_of(kind, subject),
                    subject,
                    message=message,
                    action=action,
                    event=event if event.pk else None,
                )
                if nudge is not None:
                    created.append(nudge)
    for deal_id, side in {(n.deal_id, n.party.side) for n in created} | resolved:
        broadcast(deal_id, {"type": "coach.changed", "side": side})
    return created


def coach_safely(events: Iterable[DealEvent]) -> None:
    """``run_detectors`` after an action that already stands: a detector that
    fails is logged, never turned into a failed action."""
    try:
        run_detectors(list(events))
    except Exception:
        logger.exception("The coach failed after an action.")
