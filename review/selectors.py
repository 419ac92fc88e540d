"""Reads for the deal review, its exports and the team dashboard.

Each page's data is fetched in a fixed number of queries, whatever the number
of deals, events, trades or concessions (the tests count them at two sizes).
The analysis itself is pure Python (``review.analysis``).

Privacy is settled here, once: a ``ReviewState`` reads the private data of
exactly one side — the viewer's own, or for a reviewing manager the host side
(``DealAccess.private_party``) — and the other side's concession valuations
only where that side shared them. The dashboard reads the host side's
coaching nudges only, and never any side's preparation.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import (
    BigIntegerField,
    Count,
    Max,
    Q,
    QuerySet,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from common.numbers import parse_number
from negotiation.access import DealAccess
from negotiation.models import (
    AnchorEntry,
    Deal,
    DealEvent,
    Issue,
    Membership,
    Party,
    Preparation,
    PriorityEntry,
    Team,
)
from negotiation.scoring.joint import ValueLeft, value_left
from negotiation.selectors import analysis_agenda, own_scoring, side_scoring
from review.analysis.concessions import (
    ConcessionBalance,
    ConcessionEntry,
    concession_balance,
)
from review.analysis.narrative import EventNames, describe
from review.analysis.outcome import IssueTarget, OutcomeReport, compare_outcome
from review.analysis.replay import (
    LoggedEvent,
    Replay,
    ReplayStep,
    TradeValues,
    replay_term_sheet,
)
from review.analysis.stages import StageTime, average_stage_days, stage_durations
from review.models import Lesson, PostDealReview, ReviewComment
from room.models import (
    OPEN_COMMITMENT_STATUSES,
    AgreementConfirmation,
    CheckIn,
    CheckInItem,
    Commitment,
    Concession,
    JointCheckConsent,
    MesoSet,
    Message,
    Nudge,
    SharedPosition,
    TermSheetEntry,
    Trade,
    is_overdue,
)
from room.schedule import (
    ScheduledCheckIn,
    check_in_schedule,
    is_due_soon,
    next_check_in,
)

# Commitments still expected to happen: past their due date they are overdue.
REPLAY_WINDOW = 6  # steps listed either side of the current one
MESSAGE_EXCERPT = 140


def overdue_commitments_q(today: datetime.date, prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}due_date__lt": today,
            f"{prefix}status__in": OPEN_COMMITMENT_STATUSES,
        }
    )


# --- One deal's review -----------------------------------------------------------


@dataclass(frozen=True)
class ConcessionRow:
    concession: Concession
    own: bool
    show_values: bool


@dataclass(frozen=True)
class RankingRow:
    issue: Issue
    rank: int | None


@dataclass(frozen=True)
class CommitmentRow:
    commitment: Commitment
    overdue: bool
    history: list[CheckInItem]  # oldest check-in first


@dataclass(frozen=True)
class TimelineItem:
    step: ReplayStep
    text: str
    current: bool


@dataclass(frozen=True)
class TermMovement:
    issue: Issue
    # (step number, value or None when not recorded, the number it holds)
    points: list[tuple[int, str | None, Decimal | None]]
    final: str | None


class ReviewState:
    """What the review page (and each side's export) shows one viewer.

    Properties are fetched lazily, each in one query, so the exports read only
    what they show.
    """

    def __init__(self, access: DealAccess, *, today: datetime.date | None = None):
        self.access = access
        self.deal: Deal = access.deal
        # The side whose private data this viewer reads: their own, or for a
        # reviewing manager the host side. Never both, never the other one.
        self.party: Party = access.private_party()
        if not access.can_read_private(self.party):  # pragma: no cover - invariant
            raise PermissionDenied
        self.side: str = self.party.side
        self.today = today or timezone.localdate()

    # --- who ----------------------------------------------------------------

    @property
    def parties(self) -> dict[str, Party]:
        return {
            Party.Side.HOST: self.access.host_party,
            Party.Side.COUNTERPART: self.access.counterpart_party,
        }

    @property
    def other_party(self) -> Party:
        return self.parties[self.party.other_side]

    @property
    def is_host_view(self) -> bool:
        return self.side == Party.Side.HOST

    @property
    def is_closed(self) -> bool:
        return self.deal.status != Deal.Status.OPEN

    @property
    def can_write_review(self) -> bool:
        """Only a side's own participants write its review, once the deal ended."""
        return (
            self.access.party is not None
            and self.access.participant is not None
            and self.access.participant.revoked_at is None
            and self.is_closed
        )

    @property
    def can_comment(self) -> bool:
        return self.access.is_manager

    # --- shared facts ----------------------------------------------------------

    @cached_property
    def issues(self) -> list[Issue]:
        return list(Issue.objects.filter(deal=self.deal))

    @cached_property
    def terms(self) -> dict[int, TermSheetEntry]:
        return {t.issue_id: t for t in TermSheetEntry.objects.filter(deal=self.deal)}

    def term_rows(self) -> list[tuple[Issue, TermSheetEntry | None]]:
        return [(issue, self.terms.get(issue.pk)) for issue in self.issues]

    @cached_property
    def trades(self) -> list[Trade]:
        return list(
            Trade.objects.filter(deal=self.deal)
            .select_related(
                "party", "proposed_by", "give_issue", "ask_issue", "decided_by"
            )
            .order_by("created_at", "pk")
        )

    @cached_property
    def trade_counts(self) -> list[tuple[str, int]]:
        """(status label, count), in the order of ``Trade.Status``."""
        counts = Counter(trade.status for trade in self.trades)
        return [
            (label.lower(), counts[value])
            for value, label in Trade.Status.choices
            if counts[value]
        ]

    @cached_property
    def picked_packages(self) -> dict[int, MesoSet]:
        return {
            meso.pk: meso
            for meso in MesoSet.objects.filter(
                deal=self.deal, picked__isnull=False
            ).select_related("picked")
        }

    @cached_property
    def events(self) -> list[DealEvent]:
        return list(
            DealEvent.objects.filter(deal=self.deal)
            .select_related("actor__party")
            .order_by("seq")
        )

    @cached_property
    def positions(self) -> dict[str, SharedPosition]:
        return {
            p.party.side: p
            for p in SharedPosition.objects.filter(
                party__deal=self.deal
            ).select_related("party")
        }

    def ranking(self, side: str) -> list[RankingRow]:
        """A side's shared ranking (only what it chose to show the other side)."""
        position = self.positions.get(side)
        if position is None:
            return []
        issues = {issue.pk: issue for issue in self.issues}
        ranked = [pk for pk in position.ranking if pk in issues]
        rows = [RankingRow(issues[pk], rank) for rank, pk in enumerate(ranked, 1)]
        return rows + [
            RankingRow(issue, None) for pk, issue in issues.items() if pk not in ranked
        ]

    @property
    def rankings(self) -> list[tuple[Party, list[RankingRow]]]:
        return [
            (self.parties[side], self.ranking(side))
            for side in (Party.Side.HOST, Party.Side.COUNTERPART)
        ]

    @cached_property
    def confirmations(self) -> list[AgreementConfirmation]:
        return list(
            AgreementConfirmation.objects.filter(deal=self.deal)
            .select_related("party", "confirmed_by")
            .order_by("confirmed_at")
        )

    @cached_property
    def check_ins(self) -> list[CheckIn]:
        return list(CheckIn.objects.filter(deal=self.deal).with_items())

    @cached_property
    def commitments(self) -> list[CommitmentRow]:
        history: dict[int, list[CheckInItem]] = {}
        for check_in in sorted(self.check_ins, key=lambda c: (c.held_on, c.pk)):
            for item in check_in.items.all():
                item.check_in = check_in  # already fetched: no query per item
                history.setdefault(item.commitment_id, []).append(item)
        # Commitments bind once the deal is agreed: only then can they be late.
        agreed = self.deal.status == Deal.Status.AGREED
        return [
            CommitmentRow(
                c, agreed and is_overdue(c, self.today), history.get(c.pk, [])
            )
            for c in Commitment.objects.filter(deal=self.deal).select_related(
                "owner_party"
            )
        ]

    @property
    def overdue(self) -> list[CommitmentRow]:
        return [row for row in self.commitments if row.overdue]

    @cached_property
    def schedule(self) -> list[ScheduledCheckIn]:
        if self.deal.status != Deal.Status.AGREED:
            return []
        due_dates = [
            row.commitment.due_date
            for row in self.commitments
            if row.commitment.due_date is not None
        ]
        return check_in_schedule(
            closed_on=timezone.localdate(self.deal.closed_at)
            if self.deal.closed_at
            else None,
            held=[c.held_on for c in self.check_ins],
            cadence=self.deal.review_cadence,
            today=self.today,
            until=max(due_dates) if due_dates else None,
            first=self.deal.first_check_in,
        )

    @cached_property
    def stage_times(self) -> list[tuple[str, str, datetime.timedelta]]:
        ended = self.deal.closed_at or timezone.now()
        durations = stage_durations(
            started_at=self.deal.created_at,
            changes=[
                (e.created_at, str(e.payload.get("stage")))
                for e in self.events
                if e.kind == "stage.accepted"
            ],
            ended_at=ended,
        )
        return [
            (value, label, durations.get(value, datetime.timedelta()))
            for value, label in Deal.Stage.choices
        ]

    # --- the viewer's own side --------------------------------------------------

    @cached_property
    def concessions(self) -> list[ConcessionRow]:
        rows = []
        for c in Concession.objects.filter(deal=self.deal).select_related(
            "party", "created_by"
        ):
            own = c.party_id == self.party.pk
            rows.append(ConcessionRow(c, own, own or c.values_shared))
        return rows

    @cached_property
    def concession_entries(self) -> list[ConcessionEntry]:
        """The log as this viewer may see it: hidden valuations are None."""
        return [
            ConcessionEntry(
                side=row.concession.party.side,
                item=row.concession.item,
                we_give=row.concession.we_give,
                we_get=row.concession.we_get,
                value_to_us=row.concession.value_to_us if row.show_values else None,
                value_to_them=row.concession.value_to_them if row.show_values else None,
                created_at=row.concession.created_at,
                from_trade=row.concession.trade_id is not None,
            )
            for row in self.concessions
        ]

    @cached_property
    def balance(self) -> ConcessionBalance:
        return concession_balance(self.concession_entries, side=self.side)

    @cached_property
    def nudges(self) -> list[Nudge]:
        """Coaching nudges of the viewer's side only (each side's are private)."""
        return list(Nudge.objects.filter(party=self.party).order_by("created_at"))

    @property
    def confirmed_anyway(self) -> int:
        """Commitments the viewer's side confirmed although they had no real
        metric, target or due date (it was warned and confirmed anyway)."""
        return sum(
            1
            for n in self.nudges
            if n.kind == Nudge.Kind.VAGUE_COMMITMENT
            and n.subject.startswith("confirmed:")
        )

    @cached_property
    def unmeasurable_agreed(self) -> list[Commitment]:
        """Commitments both sides confirmed that nobody can measure: a shared
        fact of the agreement, the same for both sides."""
        return [
            row.commitment
            for row in self.commitments
            if row.commitment.is_confirmed and not row.commitment.is_measurable
        ]

    @property
    def pitfall_counts(self) -> list[tuple[str, int]]:
        counts = Counter(n.get_kind_display() for n in self.nudges)
        return counts.most_common()

    @cached_property
    def preparation(self) -> Preparation | None:
        return Preparation.objects.filter(party=self.party).first()

    @cached_property
    def outcome(self) -> OutcomeReport:
        priorities = {
            p.issue_id: p for p in PriorityEntry.objects.filter(party=self.party)
        }
        anchors = {a.issue_id: a for a in AnchorEntry.objects.filter(party=self.party)}
        targets = []
        for issue in self.issues:
            priority, anchor = priorities.get(issue.pk), anchors.get(issue.pk)
            targets.append(
                IssueTarget(
                    issue_id=issue.pk,
                    name=issue.name,
                    unit=issue.unit,
                    numeric=issue.kind == Issue.Kind.NUMERIC,
                    importance=priority.importance if priority else None,
                    ideal=priority.ideal_outcome if priority else "",
                    opening_low=anchor.low if anchor else None,
                    opening_high=anchor.high if anchor else None,
                )
            )
        preparation = self.preparation
        return compare_outcome(
            targets=targets,
            final_terms={pk: t.value for pk, t in self.terms.items()},
            reservation_value=preparation.reservation_value if preparation else None,
        )

    @cached_property
    def review(self) -> PostDealReview | None:
        return (
            PostDealReview.objects.filter(deal=self.deal, party=self.party)
            .select_related("updated_by")
            .first()
        )

    @cached_property
    def comments(self) -> list[ReviewComment]:
        """Managers' comments: for the host side and its managers only."""
        if not self.is_host_view:
            return []
        return list(ReviewComment.objects.filter(deal=self.deal))

    @cached_property
    def lessons(self) -> list[Lesson]:
        """This deal's lessons in the team library (host side and managers)."""
        if not self.is_host_view:
            return []
        return list(Lesson.objects.filter(source_deal=self.deal))

    # --- the timeline replay -----------------------------------------------------

    @cached_property
    def logged_events(self) -> list[LoggedEvent]:
        return [
            LoggedEvent(
                seq=e.seq,
                kind=e.kind,
                payload=e.payload or {},
                created_at=e.created_at,
                side=e.actor.party.side if e.actor else None,
                actor=e.actor.display_name if e.actor else "",
            )
            for e in self.events
        ]

    # --- value created and left (the side's own scoring; both, with consent) ---

    @cached_property
    def own_score_path(self) -> list[tuple[int, float]]:
        """(step of the log, this side's own score of the term sheet then),
        at each step that wrote terms: how the deal moved for this side, on
        its own scoring only. Empty without a scoring."""
        scoring = own_scoring(self.party)
        if scoring is None:
            return []
        path = []
        for step in self.replay.steps:
            if step.writes_terms:
                terms = {pk: cell.value for pk, cell in step.terms.items()}
                path.append((step.number, scoring.score(terms).total))
        return path

    @cached_property
    def joint_consent(self) -> bool:
        """Both sides allowed the joint check: the review may then set the
        agreement against both sides' frontier (scores only, no weights)."""
        return JointCheckConsent.objects.filter(deal=self.deal).count() == 2

    @cached_property
    def value_left(self) -> ValueLeft | None:
        """The agreement against the exact frontier of both scorings, from
        this side's point of view; None without both consents and scorings."""
        if not self.joint_consent:
            return None
        agenda = analysis_agenda(self.issues)
        mine = side_scoring(self.party, self.issues)
        theirs = side_scoring(self.other_party, self.issues)
        if mine is None or theirs is None:
            return None
        terms = {pk: t.value for pk, t in self.terms.items()}
        return value_left(agenda, mine, theirs, terms)

    @cached_property
    def replay(self) -> Replay:
        return replay_term_sheet(
            self.logged_events,
            issue_ids=[issue.pk for issue in self.issues],
            trades={
                t.pk: TradeValues(
                    t.give_issue_id, t.give_value, t.ask_issue_id, t.ask_value
                )
                for t in self.trades
                if t.status == Trade.Status.ACCEPTED
            },
            picks={pk: meso.picked.values for pk, meso in self.picked_packages.items()},
            final_terms={pk: t.value for pk, t in self.terms.items()},
        )

    def step_number(self, raw: str | int | None) -> int:
        """The step asked for, clamped into the log; the last one by default."""
        total = len(self.replay)
        try:
            number = int(raw) if raw not in (None, "") else total
        except (TypeError, ValueError):
            number = total
        return min(max(number, 1), total) if total else 0

    def event_names(self, first_seq: int = 0, last_seq: int = 0) -> EventNames:
        """Names for the events between two ``seq`` (messages of those only)."""
        posted = (
            DealEvent.objects.filter(
                deal=self.deal,
                kind="message.posted",
                seq__gte=first_seq,
                seq__lte=last_seq,
            )
            .annotate(
                message_pk=Cast(
                    KeyTextTransform("message_id", "payload"), BigIntegerField()
                )
            )
            .values("message_pk")
        )
        # One query whatever the window holds (a subquery, never a list).
        messages = {
            m.pk: _excerpt(m.body)
            for m in Message.objects.filter(deal=self.deal, pk__in=posted).only(
                "pk", "body"
            )
        }
        concessions = {
            row.concession.pk: row.concession.item for row in self.concessions
        }
        commitments = {
            row.commitment.pk: row.commitment.description for row in self.commitments
        }
        return EventNames(
            issues={issue.pk: issue.name for issue in self.issues},
            trades={
                t.pk: TradeValues(
                    t.give_issue_id, t.give_value, t.ask_issue_id, t.ask_value
                )
                for t in self.trades
            },
            packages={pk: m.picked.name for pk, m in self.picked_packages.items()},
            concessions=concessions,
            commitments=commitments,
            messages=messages,
            stages=dict(Deal.Stage.choices),
            sides={side: party.organisation for side, party in self.parties.items()},
        )

    def timeline(self, number: int) -> list[TimelineItem]:
        """The steps around ``number``, each told in one sentence."""
        steps = self.replay.steps[
            max(number - 1 - REPLAY_WINDOW, 0) : number + REPLAY_WINDOW
        ]
        if not steps:
            return []
        names = self.event_names(steps[0].event.seq, steps[-1].event.seq)
        return [
            TimelineItem(step, describe(step.event, names), step.number == number)
            for step in steps
        ]

    def step_terms(self, step: ReplayStep) -> list[tuple[Issue, object]]:
        return [(issue, step.terms.get(issue.pk)) for issue in self.issues]

    @cached_property
    def term_movements(self) -> list[TermMovement]:
        numbers = {step.event.seq: step.number for step in self.replay.steps}
        movements = []
        for issue in self.issues:
            points = [
                (numbers[change.seq], change.value, parse_number(change.value))
                for change in self.replay.series(issue.pk)
            ]
            term = self.terms.get(issue.pk)
            movements.append(TermMovement(issue, points, term.value if term else None))
        return movements


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MESSAGE_EXCERPT:
        return text
    return text[: MESSAGE_EXCERPT - 1].rstrip() + "…"


# --- The lessons library ----------------------------------------------------------

LESSONS_IN_PREPARATION = 8


def lessons_for_preparation(access: DealAccess) -> list[Lesson]:
    """The team's lessons from earlier deals of this deal's context.

    For the host side and its managers: the library is the host team's own
    knowledge and never reaches the counterpart.
    """
    if access.side != Party.Side.HOST and not access.is_manager:
        return []
    deal = access.deal
    return list(
        Lesson.objects.filter(team_id=deal.team_id, context=deal.context)
        .exclude(source_deal_id=deal.pk)
        .select_related("source_deal")[:LESSONS_IN_PREPARATION]
    )


def lessons_for_user(user: AbstractBaseUser, context: str = "") -> QuerySet[Lesson]:
    """The lessons of every team the user belongs to (reps and managers)."""
    lessons = Lesson.objects.filter(team__memberships__user=user).select_related(
        "team", "source_deal", "created_by"
    )
    if context:
        lessons = lessons.filter(context=context)
    return lessons.distinct()


# --- The team dashboard -------------------------------------------------------------

DASHBOARD_PAGE_SIZE = 20
DASHBOARD_SORTS = {
    "updated": ("-updated_at", "-pk"),
    "closed": ("-closed_at", "-pk"),
    "created": ("-created_at", "-pk"),
    "title": ("title", "pk"),
}


def managed_teams(user: AbstractBaseUser) -> list[Team]:
    if not user.is_authenticated:
        return []
    return list(
        Team.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.MANAGER
        ).order_by("name", "pk")
    )


@dataclass(frozen=True)
class DashboardFilters:
    status: str = ""
    stage: str = ""
    context: str = ""
    rep: int | None = None
    q: str = ""
    sort: str = "updated"

    def apply(self, deals: QuerySet[Deal]) -> QuerySet[Deal]:
        if self.status:
            deals = deals.filter(status=self.status)
        if self.stage:
            deals = deals.filter(stage=self.stage)
        if self.context:
            deals = deals.filter(context=self.context)
        if self.rep:
            deals = deals.filter(owner_id=self.rep)
        if self.q:
            deals = deals.filter(
                Q(title__icontains=self.q)
                | Q(counterpart_organisation__icontains=self.q)
                | Q(owner__username__icontains=self.q)
                | Q(owner__first_name__icontains=self.q)
                | Q(owner__last_name__icontains=self.q)
            )
        return deals

    @property
    def active(self) -> bool:
        return bool(self.status or self.stage or self.context or self.rep or self.q)


@dataclass(frozen=True)
class Breakdown:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class RepRow:
    user_id: int
    name: str
    total: int
    open: int
    agreed: int
    no_deal: int

    @property
    def agreement_rate(self) -> int | None:
        closed = self.agreed + self.no_deal
        return round(100 * self.agreed / closed) if closed else None


@dataclass
class FollowThrough:
    """After the deal, for one rep or the team: how commitments fared, how
    long deals took, whether goals were met and debriefs written."""

    commitments_done: int = 0
    commitments_missed: int = 0
    days_to_close: list[float] = field(default_factory=list)
    closed: int = 0
    debriefed: int = 0
    goals_met: int = 0  # the host side's review: "yes" or "mostly"
    goals_judged: int = 0  # reviews that said yes, mostly, partly or no

    @staticmethod
    def _percent(part: int, whole: int) -> int | None:
        return round(100 * part / whole) if whole else None

    @property
    def fulfilment_rate(self) -> int | None:
        """Commitments done, of those decided (done or missed)."""
        return self._percent(
            self.commitments_done, self.commitments_done + self.commitments_missed
        )

    @property
    def median_days_to_close(self) -> float | None:
        return statistics.median(self.days_to_close) if self.days_to_close else None

    @property
    def goals_met_rate(self) -> int | None:
        return self._percent(self.goals_met, self.goals_judged)

    @property
    def debrief_rate(self) -> int | None:
        """Closed deals whose host side wrote its post-deal review."""
        return self._percent(self.debriefed, self.closed)


def follow_through(deals: QuerySet[Deal]) -> dict[int | None, FollowThrough]:
    """Follow-through by deal owner, and for all of ``deals`` under None:
    three grouped queries and one over the closed deals' dates."""
    figures: dict[int | None, FollowThrough] = defaultdict(FollowThrough)
    decided = (
        Commitment.objects.filter(
            deal__in=deals,
            status__in=(Commitment.Status.DONE, Commitment.Status.MISSED),
        )
        .values_list("deal__owner_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for owner_id, status, n in decided:
        for key in (owner_id, None):
            if status == Commitment.Status.DONE:
                figures[key].commitments_done += n
            else:
                figures[key].commitments_missed += n
    closed = deals.filter(
        status__in=(Deal.Status.AGREED, Deal.Status.NO_DEAL), closed_at__isnull=False
    ).order_by()
    for owner_id, created_at, closed_at in closed.values_list(
        "owner_id", "created_at", "closed_at"
    ):
        days = (closed_at - created_at).total_seconds() / 86400
        for key in (owner_id, None):
            figures[key].closed += 1
            figures[key].days_to_close.append(days)
    reviews = (
        PostDealReview.objects.filter(deal__in=closed, party__side=Party.Side.HOST)
        .values_list("deal__owner_id", "our_goals_met")
        .annotate(n=Count("pk"))
        .order_by()
    )
    Verdict = PostDealReview.Verdict
    for owner_id, verdict, n in reviews:
        for key in (owner_id, None):
            figures[key].debriefed += n
            if verdict in (Verdict.YES, Verdict.MOSTLY, Verdict.PARTLY, Verdict.NO):
                figures[key].goals_judged += n
            if verdict in (Verdict.YES, Verdict.MOSTLY):
                figures[key].goals_met += n
    return dict(figures)


@dataclass(frozen=True)
class DueCheckIn:
    deal_id: int
    title: str
    owner_name: str
    date: datetime.date
    overdue: bool


@dataclass
class DealRow:
    deal: Deal
    trades: int = 0
    trades_accepted: int = 0
    commitments: int = 0
    overdue: int = 0
    pitfalls: int = 0


@dataclass
class Dashboard:
    team: Team
    filters: DashboardFilters
    page: Page
    rows: list[DealRow]
    total: int
    by_status: list[Breakdown]
    by_stage: list[Breakdown]
    by_context: list[Breakdown]
    by_rep: list[RepRow]
    reps: list[tuple[int, str]]
    stage_times: list[StageTime]
    overdue_commitments: list[Commitment]
    overdue_total: int
    check_ins_due: CheckInsDue
    pitfalls: list[Breakdown]
    # Follow-through by rep (the deal owner's id) and for the team (None).
    follow_through: dict[int | None, FollowThrough] = field(default_factory=dict)
    today: datetime.date = field(default_factory=timezone.localdate)

    @property
    def team_follow_through(self) -> FollowThrough:
        return self.follow_through.get(None) or FollowThrough()

    def rep_follow_through(self) -> list[tuple[RepRow, FollowThrough]]:
        return [
            (rep, self.follow_through.get(rep.user_id) or FollowThrough())
            for rep in self.by_rep
        ]

    @property
    def agreed(self) -> int:
        return next((b.count for b in self.by_status if b.key == "agreed"), 0)

    @property
    def no_deal(self) -> int:
        return next((b.count for b in self.by_status if b.key == "no_deal"), 0)

    @property
    def agreement_rate(self) -> int | None:
        closed = self.agreed + self.no_deal
        return round(100 * self.agreed / closed) if closed else None


def user_label(user) -> str:
    return user.get_full_name() or user.get_username()


def team_deals(team: Team, filters: DashboardFilters) -> QuerySet[Deal]:
    return filters.apply(Deal.objects.filter(team=team))


def team_reps(team: Team) -> list[tuple[int, str]]:
    """Everyone who owns one of the team's deals, or is on the team."""
    users = (
        get_user_model()
        .objects.filter(Q(owned_deals__team=team) | Q(memberships__team=team))
        .distinct()
        .order_by("first_name", "username")
    )
    return [(user.pk, user_label(user)) for user in users]


def _breakdown(counts: Counter, choices: Iterable[tuple[str, str]]) -> list[Breakdown]:
    return [Breakdown(key, label, counts.get(key, 0)) for key, label in choices]


def dashboard_for(
    team: Team,
    filters: DashboardFilters,
    *,
    page_number: str | int | None = 1,
    today: datetime.date | None = None,
    reps: list[tuple[int, str]] | None = None,
) -> Dashboard:
    """The team dashboard: every figure is over the deals the filters select."""
    today = today or timezone.localdate()
    deals = team_deals(team, filters)
    if reps is None:
        reps = team_reps(team)
    rep_names = dict(reps)

    # Deals by status, stage, context and rep: one grouped query.
    groups = list(
        deals.order_by()
        .values("status", "stage", "context", "owner_id")
        .annotate(n=Count("pk"))
    )
    status_counts, stage_counts, context_counts = Counter(), Counter(), Counter()
    per_rep: dict[int, Counter] = {}
    for group in groups:
        status_counts[group["status"]] += group["n"]
        stage_counts[group["stage"]] += group["n"]
        context_counts[group["context"]] += group["n"]
        per_rep.setdefault(group["owner_id"], Counter())[group["status"]] += group["n"]
    total = sum(status_counts.values())
    by_rep = sorted(
        (
            RepRow(
                user_id=owner_id,
                name=rep_names.get(owner_id, f"User {owner_id}"),
                total=sum(counts.values()),
                open=counts[Deal.Status.OPEN],
                agreed=counts[Deal.Status.AGREED],
                no_deal=counts[Deal.Status.NO_DEAL],
            )
            for owner_id, counts in per_rep.items()
        ),
        key=lambda row: (-row.total, row.name),
    )

    paginator = Paginator(
        deals.select_related("owner").order_by(
            *DASHBOARD_SORTS.get(filters.sort, DASHBOARD_SORTS["updated"])
        ),
        DASHBOARD_PAGE_SIZE,
    )
    page = paginator.get_page(page_number)
    rows = deal_rows(list(page.object_list), today=today)

    return Dashboard(
        team=team,
        filters=filters,
        page=page,
        rows=rows,
        total=total,
        by_status=_breakdown(status_counts, Deal.Status.choices),
        by_stage=_breakdown(stage_counts, Deal.Stage.choices),
        by_context=_breakdown(context_counts, Deal.Context.choices),
        by_rep=by_rep,
        reps=reps,
        stage_times=team_stage_times(deals),
        overdue_commitments=list(
            Commitment.objects.filter(
                overdue_commitments_q(today),
                deal__in=deals.filter(status=Deal.Status.AGREED),
            )
            .select_related("deal", "owner_party")
            .order_by("due_date", "pk")[:10]
        ),
        overdue_total=Commitment.objects.filter(
            overdue_commitments_q(today),
            deal__in=deals.filter(status=Deal.Status.AGREED),
        ).count(),
        check_ins_due=check_ins_due(deals, today=today),
        pitfalls=team_pitfalls(deals),
        follow_through=follow_through(deals),
        today=today,
    )


def deal_rows(deals: list[Deal], *, today: datetime.date) -> list[DealRow]:
    """The page's deals with their counts: three grouped queries per page."""
    rows = {deal.pk: DealRow(deal) for deal in deals}
    if not rows:
        return []
    for group in (
        Trade.objects.filter(deal_id__in=rows)
        .order_by()
        .values("deal_id")
        .annotate(
            n=Count("pk"), accepted=Count("pk", filter=Q(status=Trade.Status.ACCEPTED))
        )
    ):
        rows[group["deal_id"]].trades = group["n"]
        rows[group["deal_id"]].trades_accepted = group["accepted"]
    for group in (
        Commitment.objects.filter(deal_id__in=rows)
        .order_by()
        .values("deal_id")
        .annotate(
            n=Count("pk"),
            overdue=Count(
                "pk",
                filter=overdue_commitments_q(today)
                & Q(deal__status=Deal.Status.AGREED),
            ),
        )
    ):
        rows[group["deal_id"]].commitments = group["n"]
        rows[group["deal_id"]].overdue = group["overdue"]
    for group in (
        Nudge.objects.filter(deal_id__in=rows, party__side=Party.Side.HOST)
        .order_by()
        .values("deal_id")
        .annotate(n=Count("pk"))
    ):
        rows[group["deal_id"]].pitfalls = group["n"]
    return list(rows.values())


def team_stage_times(deals: QuerySet[Deal]) -> list[StageTime]:
    """Mean time in each stage over these deals (``analysis.stages``' rule).

    Two queries of plain columns: the stage a change entered is read out of
    the payload by the database, so no JSON is decoded here. (Summing in SQL
    instead needs a correlated subquery per change, which measured slower on
    PostgreSQL at a thousand deals than this.)
    """
    now = timezone.now()
    changes: dict[int, list[tuple[datetime.datetime, str]]] = {}
    for deal_id, created_at, stage in (
        DealEvent.objects.filter(deal__in=deals, kind="stage.accepted")
        .order_by()
        .annotate(stage=KeyTextTransform("stage", "payload"))
        .values_list("deal_id", "created_at", "stage")
    ):
        changes.setdefault(deal_id, []).append((created_at, stage))
    per_deal = [
        stage_durations(
            started_at=created_at,
            changes=changes.get(pk, []),
            ended_at=closed_at or now,
        )
        for pk, created_at, closed_at in deals.order_by().values_list(
            "pk", "created_at", "closed_at"
        )
    ]
    return average_stage_days(per_deal, Deal.Stage.choices)


CHECK_INS_LISTED = 10


@dataclass(frozen=True)
class CheckInsDue:
    listed: list[DueCheckIn]  # soonest first: this week's, then overdue ones
    this_week: int
    overdue: int


def check_ins_due(
    deals: QuerySet[Deal], *, today: datetime.date, days: int = 7
) -> CheckInsDue:
    """Agreed deals whose next check-in falls within ``days``, or is overdue.

    Every agreed deal's next date is worked out (the rule the room shows, in
    ``analysis.schedule``) in one query of plain columns.
    """
    due: list[tuple[bool, datetime.date, int, str, str]] = []
    for pk, closed_at, cadence, start, last_held, title, first, last, username in (
        deals.filter(status=Deal.Status.AGREED)
        .order_by()
        .annotate(last_held=Max("check_ins__held_on"))
        .values_list(
            "pk", "closed_at", "review_cadence", "first_check_in", "last_held",
            "title", "owner__first_name", "owner__last_name", "owner__username",
        )
    ):  # fmt: skip
        day = next_check_in(
            closed_on=timezone.localdate(closed_at) if closed_at else None,
            last_held=last_held,
            cadence=cadence,
            first=start,
        )
        if day is not None and (day < today or is_due_soon(day, today, days)):
            owner = " ".join(part for part in (first, last) if part) or username
            due.append((day < today, day, pk, title, owner))
    # This week's first (soonest first), then the overdue ones (latest first).
    due.sort(key=lambda d: (d[0], -d[1].toordinal() if d[0] else d[1].toordinal()))
    return CheckInsDue(
        listed=[
            DueCheckIn(
                deal_id=pk, title=title, owner_name=owner, date=day, overdue=overdue
            )
            for overdue, day, pk, title, owner in due[:CHECK_INS_LISTED]
        ],
        this_week=sum(1 for entry in due if not entry[0]),
        overdue=sum(1 for entry in due if entry[0]),
    )


def team_pitfalls(deals: QuerySet[Deal]) -> list[Breakdown]:
    """The host side's pitfalls across these deals, most frequent first.

    The counterpart's coaching nudges are its own: they are never counted.
    """
    labels = dict(Nudge.Kind.choices)
    return [
        Breakdown(group["kind"], labels.get(group["kind"], group["kind"]), group["n"])
        for group in Nudge.objects.filter(deal__in=deals, party__side=Party.Side.HOST)
        .order_by()
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by("-n", "kind")
    ]


# --- CSV export -------------------------------------------------------------------


@dataclass(frozen=True)
class CsvDeal:
    deal: Deal
    owner_name: str
    issues: int
    trades: int
    trades_accepted: int
    concessions_given: int
    commitments: int
    overdue: int
    pitfalls: int
    days_to_close: int | None


def csv_rows(
    team: Team, filters: DashboardFilters, *, today: datetime.date | None = None
) -> list[CsvDeal]:
    """Every deal the filters select, with host-side figures only."""
    today = today or timezone.localdate()
    selected = team_deals(team, filters)
    deals = list(
        selected.select_related("owner").order_by(
            *DASHBOARD_SORTS.get(filters.sort, DASHBOARD_SORTS["updated"])
        )
    )
    # A subquery, not a list of ids: SQLite caps the number of parameters.
    selected_ids = selected.order_by().values("pk")

    def grouped(queryset, **annotations) -> dict[int, dict]:
        return {
            row["deal_id"]: row
            for row in queryset.filter(deal_id__in=selected_ids)
            .order_by()
            .values("deal_id")
            .annotate(**annotations)
        }

    issues = grouped(Issue.objects, n=Count("pk"))
    trades = grouped(
        Trade.objects,
        n=Count("pk"),
        accepted=Count("pk", filter=Q(status=Trade.Status.ACCEPTED)),
    )
    given = grouped(
        Concession.objects.filter(party__side=Party.Side.HOST), n=Count("pk")
    )
    commitments = grouped(
        Commitment.objects,
        n=Count("pk"),
        overdue=Count(
            "pk",
            filter=overdue_commitments_q(today) & Q(deal__status=Deal.Status.AGREED),
        ),
    )
    pitfalls = grouped(Nudge.objects.filter(party__side=Party.Side.HOST), n=Count("pk"))
    empty: dict = {}
    return [
        CsvDeal(
            deal=deal,
            owner_name=user_label(deal.owner),
            issues=issues.get(deal.pk, empty).get("n", 0),
            trades=trades.get(deal.pk, empty).get("n", 0),
            trades_accepted=trades.get(deal.pk, empty).get("accepted", 0),
            concessions_given=given.get(deal.pk, empty).get("n", 0),
            commitments=commitments.get(deal.pk, empty).get("n", 0),
            overdue=commitments.get(deal.pk, empty).get("overdue", 0),
            pitfalls=pitfalls.get(deal.pk, empty).get("n", 0),
            days_to_close=(deal.closed_at - deal.created_at).days
            if deal.closed_at
            else None,
        )
        for deal in deals
    ]
