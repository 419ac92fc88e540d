"""What the room shows one viewer, fetched lazily and in a fixed number of queries.

``RoomState`` is built per viewer (per side). Each region of the room reads
only the properties it needs, so re-rendering one region after an event costs
only that region's queries. Private data is only fetched for the viewer's own
side: the other side's matrix, valuations and preparation are never loaded.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery, Window
from django.urls import reverse
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.fixed_sql import Columns, column, table
from negotiation.models import (
    Deal,
    DealEvent,
    Issue,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
    Scoring,
)
from negotiation.scoring.joint import suggest_meso
from negotiation.scoring.values import TermsScore
from negotiation.selectors import (
    OwnScoring,
    analysis_agenda,
    own_scoring,
    readiness_verdict,
    side_scoring,
)
from playbooks.models import ChecklistItem, ContextPlaybook, PhraseTemplate
from playbooks.selectors import StageCoaching, context_playbook, stage_coaching
from playbooks.templating import fill_template
from room.attention import Attention, attention_for
from room.coaching.culture import CultureTip, culture_tips
from room.models import (
    AgreementConfirmation,
    CadenceProposal,
    CheckIn,
    CheckInItem,
    Commitment,
    Concession,
    JointCheck,
    JointCheckConsent,
    MesoSet,
    Message,
    Nudge,
    Package,
    Pause,
    RoomConnection,
    RoomVisit,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
    is_overdue,
)
from room.schedule import DEBRIEF_AFTER_DAYS, next_check_in
from room.services.closing import agreement_digest
from room.services.rules import ACTION_TOOLS, TOOL_STAGES, tool_refusal

# The room page shows the latest of each growing list; earlier ones load on
# request (``RoomState.earlier``), so the page costs the same at the 1st and
# the 500th event.
MESSAGES_SHOWN = 30
TRADES_SHOWN = 10
CONCESSIONS_SHOWN = 10
MESO_SETS_SHOWN = 3
NUDGES_SHOWN = 5
# Which lines of the deal context's playbook fit each stage.
CONTEXT_PHASES_BY_STAGE = {
    Deal.Stage.SETUP: {"discovery"},
    Deal.Stage.FIRST_MOVE: {"discovery", "value_framing"},
    Deal.Stage.MIDGAME: {"proposal", "objections"},
    Deal.Stage.CLOSE: {"close"},
    # Implementation has no lines of its own in the context playbooks: its
    # stage coaching (moves, templates) says what to do.
    Deal.Stage.IMPLEMENTATION: set(),
}
# Whose lines each context's playbook holds, by side: a sales deal's host
# sells and its counterpart buys, so the counterpart gets the buyer's
# (procurement) lines; a hiring playbook speaks for the hiring side only.
CONTEXT_FOR_SIDE = {
    (Deal.Context.SALES, "host"): Deal.Context.SALES,
    (Deal.Context.SALES, "counterpart"): Deal.Context.PROCUREMENT,
    (Deal.Context.PROCUREMENT, "host"): Deal.Context.PROCUREMENT,
    (Deal.Context.PROCUREMENT, "counterpart"): Deal.Context.SALES,
    (Deal.Context.PARTNERSHIP, "host"): Deal.Context.PARTNERSHIP,
    (Deal.Context.PARTNERSHIP, "counterpart"): Deal.Context.PARTNERSHIP,
    (Deal.Context.HIRING, "host"): Deal.Context.HIRING,
}
PRESENCE_WINDOW = datetime.timedelta(seconds=90)
# The room region each stage puts first (open, in the main column); the other
# tools stay one click away. Every region here is among the stage's tools
# (``TOOL_STAGES``).
MAIN_REGION = {
    Deal.Stage.SETUP: "setup",
    Deal.Stage.FIRST_MOVE: "positions",
    Deal.Stage.MIDGAME: "trades",
    Deal.Stage.CLOSE: "terms",
    Deal.Stage.IMPLEMENTATION: "checkins",
}
# One line of orientation per stage, in Parley's own words: its title, then
# what it is for.
STAGE_PRINCIPLES = {
    Deal.Stage.SETUP: (
        "Setup.",
        "Agree what you are both trying to achieve and how you will work: a "
        "common goal makes both sides more willing to give and take.",
    ),
    Deal.Stage.FIRST_MOVE: (
        "First Move.",
        "Treat the opening as exploration. Share what matters to you and ask "
        "what success means for them.",
    ),
    Deal.Stage.MIDGAME: (
        "Midgame.",
        "Trade on conditions — “if we do this, could you do that?” — and "
        "compare packages. Open, fair exchanges invite cooperation without "
        "giving leverage away.",
    ),
    Deal.Stage.CLOSE: (
        "Close.",
        "Pin every commitment to something measurable and agree what happens "
        "if it slips. Shared accountability prevents regret and rework.",
    ),
    Deal.Stage.IMPLEMENTATION: (
        "Implementation.",
        "Check results together at a steady rhythm. Fair dealing over time "
        "builds the trust your next deal starts from.",
    ),
}


@dataclass(frozen=True)
class SharedRow:
    """One issue as a side chose to show it: rank and the matrix columns shared."""

    issue: Issue
    rank: int | None
    can_give: str | None = None
    want_get: str | None = None
    ideal_outcome: str | None = None


def _cents(amount) -> Decimal | None:
    """An amount read through a subquery (SQLite hands back a float-ish
    decimal there), as the two-decimal amount it was stored as."""
    return None if amount is None else Decimal(str(amount)).quantize(CENT)


CENT = Decimal("0.01")


@dataclass(frozen=True)
class MirrorValues:
    """The other side's shared valuation of the same accepted trade."""

    organisation: str
    value_to_us: Decimal | None
    value_to_them: Decimal | None


@dataclass(frozen=True)
class ConcessionRow:
    concession: Concession
    own: bool
    show_values: bool
    # An accepted trade is one row of the log: the viewer's side's entry.
    # The other side's entry for the same trade (the exchange seen from
    # there) shows only its valuations, when that side shares them.
    mirror: MirrorValues | None = None


@dataclass(frozen=True)
class OwnScore:
    """A package's score for the viewer's own side (0–100), and whether it
    reaches that side's reservation score (None when none is set)."""

    score: TermsScore
    clears: bool | None
    reservation: Decimal | None

    @property
    def total(self) -> int:
        return round(self.score.total)


@dataclass(frozen=True)
class JointCheckView:
    own_consent: bool
    other_consent: bool
    latest: JointCheck | None
    own_scoring_ready: bool


class _Kept:
    """One value a socket keeps across renders, read on first use."""

    def __init__(self) -> None:
        self._loaded = False
        self._value: Any = None

    def get(self, load: Callable[[], Any]) -> Any:
        if not self._loaded:
            self._value, self._loaded = load(), True
        return self._value

    def forget(self) -> None:
        self._loaded, self._value = False, None


class SocketMemo:
    """What a socket keeps across its renders, and when it lets go of it.

    ``scoring``: its own side's scoring, dropped when that side saves a new
    one (``scoring.changed``). Without it every render that shows a score
    read the scoring again: 1 query per socket per trade, package or term
    event.

    ``agenda``: the deal's issues, which every trade, package, position and
    term render shows. An agenda change is always an event that re-renders
    the whole room (``issue.*``, touching ``room``), and every render of the
    whole room (that event's, or a catch-up too far behind to replay its
    events) lets go of what the socket kept (``forget``). Reading it once per
    socket instead of once per render: 16.7 → 15.8 statements per edit,
    sender and peer together (``bench/room_actions.py --queries --actions
    400 --history 100``, PostgreSQL).
    """

    def __init__(self) -> None:
        self.scoring = _Kept()
        self.agenda = _Kept()

    def forget(self) -> None:
        """Read everything again on next use (after a whole-room render)."""
        self.scoring.forget()
        self.agenda.forget()


class RoomState:
    def __init__(self, access: DealAccess, *, memo: SocketMemo | None = None) -> None:
        self.access = access
        self.memo = memo
        self.deal: Deal = access.deal
        self.side = access.side
        self.party = access.party
        self._act_urls: dict[str, str] = {}

    def act_url(self, action: str) -> str:
        """The URL a form for this room action posts to (its socket frame
        names the action too), reversed once per render."""
        if action not in self._act_urls:
            self._act_urls[action] = reverse("live:act", args=[self.deal.pk, action])
        return self._act_urls[action]

    # --- the deal and its people -------------------------------------------

    @cached_property
    def parties(self) -> dict[str, Party]:
        return {
            Party.Side.HOST: self.access.host_party,
            Party.Side.COUNTERPART: self.access.counterpart_party,
        }

    @cached_property
    def own_party(self) -> Party | None:
        return self.party

    @cached_property
    def other_party(self) -> Party | None:
        if self.party is None:
            return None
        return self.parties[self.party.other_side]

    @cached_property
    def participants(self) -> list[Participant]:
        return list(
            Participant.objects.filter(
                party__deal=self.deal, revoked_at__isnull=True
            ).select_related("party")
        )

    @cached_property
    def online_ids(self) -> set[int]:
        since = timezone.now() - PRESENCE_WINDOW
        return set(
            RoomConnection.objects.filter(
                participant__party__deal=self.deal, seen_at__gte=since
            ).values_list("participant_id", flat=True)
        )

    def people(self, side: str) -> list[tuple[Participant, bool]]:
        return [
            (p, p.pk in self.online_ids)
            for p in self.participants
            if p.party.side == side
        ]

    @property
    def presence_by_side(self) -> list[tuple[str, list[tuple[Participant, bool]]]]:
        return [
            (self.parties[side].organisation, self.people(side))
            for side in (Party.Side.HOST, Party.Side.COUNTERPART)
        ]

    @cached_property
    def attention(self) -> Attention | None:
        """What waits for the viewer's side, or the stage's next move
        (``room.attention``); None for a reviewing manager."""
        return attention_for(self.deal, self.party)

    # --- stage ------------------------------------------------------------------

    @cached_property
    def pending_stage_change(self) -> StageChange | None:
        return (
            StageChange.objects.filter(
                deal=self.deal, status=StageChange.Status.PENDING
            )
            .select_related("proposed_by", "party")
            .first()
        )

    # --- review cadence and "pause and revisit" (shared) ---------------------

    @cached_property
    def pending_cadence(self) -> CadenceProposal | None:
        return (
            CadenceProposal.objects.filter(
                deal=self.deal, status=CadenceProposal.Status.PENDING
            )
            .select_related("proposed_by", "party")
            .first()
        )

    cadence_choices = Deal._meta.get_field("review_cadence").choices

    @property
    def cadence_agreed(self) -> bool:
        """Both sides agreed a cadence and first check-in (on the deal row)."""
        return self.deal.first_check_in is not None

    @cached_property
    def pause(self) -> Pause | None:
        """The latest pause: waiting for an answer, or agreed."""
        return (
            Pause.objects.filter(deal=self.deal)
            .exclude(status=Pause.Status.COUNTERED)
            .select_related("proposed_by", "party", "decided_by")
            .first()
        )

    # --- after the deal --------------------------------------------------------

    @cached_property
    def debrief_written(self) -> bool:
        """Whether the viewer's side wrote its post-deal review."""
        if self.party is None:
            return True
        return self.party.reviews.exists()

    @property
    def debrief_overdue(self) -> bool:
        """Closed three days ago or more, and still no review from this side:
        the rush to the next deal the method warns about."""
        if self.deal.closed_at is None or self.debrief_written:
            return False
        return timezone.now() - self.deal.closed_at >= datetime.timedelta(
            days=DEBRIEF_AFTER_DAYS
        )

    @property
    def stage_principle(self) -> tuple[str, str]:
        return STAGE_PRINCIPLES[self.deal.stage]

    @property
    def stage_index(self) -> int:
        return list(Deal.Stage.values).index(self.deal.stage)

    @property
    def next_stage(self) -> tuple[str, str] | None:
        stages = list(Deal.Stage.choices)
        index = self.stage_index
        return stages[index + 1] if index + 1 < len(stages) else None

    @property
    def previous_stage(self) -> tuple[str, str] | None:
        if self.deal.status == Deal.Status.AGREED:
            return None  # the agreement is confirmed: only forward from here
        stages = list(Deal.Stage.choices)
        index = self.stage_index
        return stages[index - 1] if index > 0 else None

    @cached_property
    def active(self) -> dict[str, bool]:
        """Which tools the current stage foregrounds (and accepts actions for)."""
        return {tool: self.deal.stage in stages for tool, stages in TOOL_STAGES.items()}

    @property
    def main_region(self) -> str:
        """The region of the current stage's main tool (``MAIN_REGION``)."""
        return MAIN_REGION[self.deal.stage]

    @property
    def can_act(self) -> bool:
        """Read-only for managers, revoked guests, and deals that ended."""
        return (
            self.access.participant is not None
            and self.party is not None
            and self.deal.status != Deal.Status.NO_DEAL
        )

    def can(self, action: str) -> bool:
        """Whether the viewer may take this room action now (stage, status,
        side): the rule the action's service enforces, asked before a form is
        offered. Which object it applies to (your own trade or theirs) is the
        template's to say."""
        return self.can_act and tool_refusal(self.deal, ACTION_TOOLS[action]) is None

    # --- agenda and term sheet --------------------------------------------

    @cached_property
    def issues(self) -> list[Issue]:
        """The agenda (kept by the socket's memo, if it has one)."""
        if self.memo is not None:
            deal = self.deal
            return self.memo.agenda.get(lambda: list(Issue.objects.filter(deal=deal)))
        return list(Issue.objects.filter(deal=self.deal))

    @cached_property
    def terms(self) -> dict[int, TermSheetEntry]:
        return {
            t.issue_id: t
            for t in TermSheetEntry.objects.filter(deal=self.deal).select_related(
                "updated_by"
            )
        }

    def term_rows(self, issue_ids=None) -> list[tuple[Issue, TermSheetEntry | None]]:
        """The term sheet's rows, one per issue on the agenda (or only those
        of ``issue_ids``)."""
        return [
            (issue, self.terms.get(issue.pk))
            for issue in self.issues
            if issue_ids is None or issue.pk in issue_ids
        ]

    @property
    def issues_without_terms(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.pk not in self.terms]

    # --- the viewer's own scores (its own scoring: never the other side's) -----

    @cached_property
    def own_scoring(self) -> OwnScoring | None:
        """The viewer's side's saved scoring; None for a manager, who has no
        side in the room, and for a side that has not scored packages."""
        if self.party is None:
            return None
        party = self.party
        if self.memo is not None:
            return self.memo.scoring.get(lambda: own_scoring(party))
        return own_scoring(party)

    def score_values(self, values: dict[int, str | None]) -> OwnScore | None:
        scoring = self.own_scoring
        if scoring is None:
            return None
        score = scoring.score(values)
        return OwnScore(score, scoring.clears(score), scoring.reservation)

    @cached_property
    def term_values(self) -> dict[int, str]:
        return {issue_id: term.value for issue_id, term in self.terms.items()}

    @cached_property
    def terms_score(self) -> OwnScore | None:
        """The current term sheet, scored by the viewer's side."""
        return self.score_values(self.term_values) if self.own_scoring else None

    def trade_score(self, trade: Trade) -> OwnScore | None:
        """An open trade, scored as the term sheet would be if it were
        accepted: the current terms with the trade's two values."""
        if trade.status != Trade.Status.OPEN:
            return None
        return self.trade_values_score(
            trade.give_issue_id, trade.give_value, trade.ask_issue_id, trade.ask_value
        )

    def trade_values_score(
        self, give_issue_id: int, give_value: str, ask_issue_id: int, ask_value: str
    ) -> OwnScore | None:
        if self.own_scoring is None:
            return None
        terms = dict(self.term_values)
        terms[give_issue_id] = give_value
        terms[ask_issue_id] = ask_value
        return self.score_values(terms)

    def package_score(self, package: Package) -> OwnScore | None:
        if self.own_scoring is None:
            return None
        return self.score_values(
            {int(issue_id): value for issue_id, value in package.values.items()}
        )

    def meso_suggestions(self) -> dict:
        """Three packages for the viewer's MESO form (``suggested``), or why
        there are none (``suggest_note``): from the viewer's own scoring and
        the other side's shared ranking, nothing else of theirs."""
        scoring = side_scoring(self.party, self.issues) if self.party else None
        if scoring is None:
            return {
                "suggest_note": "Score every issue in your private preparation "
                "(Scoring) first: the suggestions are packages worth the same "
                "to you."
            }
        other = self.positions.get(self.other_party.side) if self.other_party else None
        ranking = [int(pk) for pk in (other.ranking if other else [])]
        packages = suggest_meso(analysis_agenda(self.issues), scoring, ranking)
        if not packages:
            return {"suggest_note": "No packages worth the same to you were found."}
        note = (
            "Three packages worth the same to you (within 2 points), varied "
            "most on the issues they ranked highest. Edit them before you "
            "present them."
            if ranking
            else "Three packages worth the same to you (within 2 points). They "
            "have not shared a ranking yet, so the packages vary across all "
            "issues. Edit them before you present them."
        )
        return {
            "suggested": [
                {"name": f"Package {n}", "values": package}
                for n, package in enumerate(packages, start=1)
            ],
            "suggest_note": note,
        }

    @cached_property
    def joint_check(self) -> JointCheckView:
        """Who consents to the joint check, its latest run, and whether the
        viewer's side has scored every issue (the check needs it)."""
        consents = set(
            JointCheckConsent.objects.filter(deal=self.deal).values_list(
                "party_id", flat=True
            )
        )
        other = self.other_party
        scoring = self.own_scoring
        return JointCheckView(
            own_consent=self.party is not None and self.party.pk in consents,
            other_consent=other is not None and other.pk in consents,
            latest=JointCheck.objects.filter(deal=self.deal).order_by("-pk").first(),
            own_scoring_ready=scoring is not None and scoring.covers(self.issues),
        )

    @cached_property
    def open_trades(self) -> list[tuple[int, int, str, int, str]]:
        """The open trades, as what scoring them needs: (id, give issue,
        give value, ask issue, ask value)."""
        return list(
            Trade.objects.filter(deal=self.deal, status=Trade.Status.OPEN).values_list(
                "pk", "give_issue_id", "give_value", "ask_issue_id", "ask_value"
            )
        )

    # --- First Move: shared positions -----------------------------------------

    @cached_property
    def positions(self) -> dict[str, SharedPosition]:
        return {
            p.party.side: p
            for p in SharedPosition.objects.filter(
                party__deal=self.deal
            ).select_related("party")
        }

    @cached_property
    def shared_matrix_values(self) -> dict[tuple[int, int], PriorityEntry]:
        """Matrix rows of either side, but only where that side shared a column.

        Rows are fetched only for issues listed in the owning side's
        ``shared_matrix``; only the shared columns are ever read from them.
        """
        wanted = [
            (position.party_id, int(issue_id))
            for position in self.positions.values()
            for issue_id in position.shared_matrix
        ]
        if not wanted:
            return {}
        entries = PriorityEntry.objects.filter(
            party__deal=self.deal,
            issue_id__in={issue_id for _, issue_id in wanted},
        ).only("party_id", "issue_id", "can_give", "want_get", "ideal_outcome")
        keep = set(wanted)
        return {
            (e.party_id, e.issue_id): e
            for e in entries
            if (e.party_id, e.issue_id) in keep
        }

    def shared_rows(self, side: str) -> list[SharedRow]:
        position = self.positions.get(side)
        if position is None:
            return []
        issues = {issue.pk: issue for issue in self.issues}
        ranked = [pk for pk in position.ranking if pk in issues]
        order = ranked + [pk for pk in issues if pk not in ranked]
        rows = []
        for pk in order:
            columns = position.shared_matrix.get(str(pk), [])
            entry = self.shared_matrix_values.get((position.party_id, pk))
            shared = {
                column: getattr(entry, column)
                for column in columns
                if entry is not None and getattr(entry, column)
            }
            rank = ranked.index(pk) + 1 if pk in ranked else None
            rows.append(SharedRow(issue=issues[pk], rank=rank, **shared))
        return rows

    @property
    def own_position(self) -> SharedPosition | None:
        return self.positions.get(self.side) if self.side else None

    @property
    def other_position(self) -> SharedPosition | None:
        if self.party is None:
            return None
        return self.positions.get(self.party.other_side)

    @cached_property
    def own_matrix(self) -> dict[int, PriorityEntry]:
        """The viewer's own private matrix, to choose what to share."""
        if self.party is None:
            return {}
        return {e.issue_id: e for e in PriorityEntry.objects.filter(party=self.party)}

    def own_ranking_rows(self) -> list[tuple[Issue, PriorityEntry | None, list]]:
        position = self.own_position
        ranking = position.ranking if position else []
        issues = {issue.pk: issue for issue in self.issues}
        order = [pk for pk in ranking if pk in issues] + [
            pk for pk in issues if pk not in ranking
        ]
        shared = position.shared_matrix if position else {}
        return [
            (issues[pk], self.own_matrix.get(pk), shared.get(str(pk), []))
            for pk in order
        ]

    # --- Midgame -----------------------------------------------------------------

    def _with_parts(self, trades: list[Trade], *, new=frozenset()) -> list[Trade]:
        """Trades ready to render, from what the room already holds: their
        issues from the agenda (which a trade row shows anyway, in its
        counter form), their party from the access's two; their comments in
        one read, skipped for the ``new`` (a trade just proposed has none).

        The other side's render of a new trade, in a room of 157 trades on
        PostgreSQL: 7.3 ms with the issues, party and comments joined and
        prefetched, 4.0 ms this way (agenda read included)."""
        issues = {issue.pk: issue for issue in self.issues}
        parties = {party.pk: party for party in self.parties.values()}
        old = [trade.pk for trade in trades if trade.pk not in new]
        comments: dict[int, list[Message]] = {pk: [] for pk in old}
        if old:
            for message in (
                Message.objects.filter(trade_id__in=old)
                .select_related("author")
                .order_by("pk")
            ):
                comments[message.trade_id].append(message)
        for trade in trades:
            for field in ("give_issue", "ask_issue"):
                issue = issues.get(getattr(trade, f"{field}_id"))
                if issue is not None:  # else read on use (an issue removed)
                    setattr(trade, field, issue)
            if trade.party_id in parties:
                trade.party = parties[trade.party_id]
            trade.comment_list = comments.get(trade.pk, [])
        return trades

    def _latest_trades(self, before: int | None = None) -> Latest:
        trades = Trade.objects.filter(deal=self.deal)
        if before is None:  # the page's first read: with the open trades' total
            trades = trades.annotate(
                open_total=Window(Count("pk", filter=Q(status=Trade.Status.OPEN)))
            )
        latest = _latest(trades, TRADES_SHOWN, before, counted=before is None)
        self._with_parts(latest)
        return latest

    @cached_property
    def trades(self) -> Latest:
        """The latest trades, newest first (``total``: of the whole list)."""
        return self._latest_trades()

    @property
    def trades_older_open(self) -> int:
        """How many open trades are older than the trades the page shows."""
        trades = self.trades
        if not trades:
            return 0
        shown = sum(trade.status == Trade.Status.OPEN for trade in trades)
        return trades[0].open_total - shown

    def trades_by_id(self, ids, *, new=frozenset()) -> list[Trade]:
        """These trades, newest first, as ``trades`` gives them (``new``:
        see ``_with_parts``)."""
        trades = Trade.objects.filter(deal=self.deal, pk__in=ids).order_by("-pk")
        return self._with_parts(list(trades), new=new)

    def _meso_sets(self):
        return (
            MesoSet.objects.filter(deal=self.deal)
            .select_related("party")
            .prefetch_related(
                Prefetch(
                    "packages",
                    queryset=Package.objects.order_by("pk"),
                    to_attr="package_list",
                )
            )
        )

    @cached_property
    def meso_sets(self) -> Latest:
        """The latest sets of packages, newest first (``total``: all sets)."""
        return _latest(self._meso_sets(), MESO_SETS_SHOWN, counted=True)

    def meso_sets_by_id(self, ids) -> list[MesoSet]:
        return list(self._meso_sets().filter(pk__in=ids).order_by("-pk"))

    def package_rows(self, package: Package) -> list[tuple[Issue, str]]:
        return [
            (issue, package.values.get(str(issue.pk), "—")) for issue in self.issues
        ]

    def _concession_log(self):
        """The log as this viewer reads it: every entry logged by hand, and
        each accepted trade once, through the viewer's side's entry (the
        proposer's for a viewer without a side)."""
        mine = (
            Q(party=self.party)
            if self.party is not None
            else Q(party_id=F("trade__party_id"))
        )
        # The other side's entry of the same trade, when it shares its
        # valuations: read in the same query (no read per row or per page).
        shared_mirror = Concession.objects.filter(
            trade_id=OuterRef("trade_id"), values_shared=True
        ).exclude(party_id=OuterRef("party_id"))
        return (
            Concession.objects.filter(deal=self.deal)
            .filter(Q(trade__isnull=True) | mine)
            .annotate(
                mirror_organisation=Subquery(
                    shared_mirror.values("party__organisation")[:1]
                ),
                mirror_to_us=Subquery(shared_mirror.values("value_to_us")[:1]),
                mirror_to_them=Subquery(shared_mirror.values("value_to_them")[:1]),
            )
        )

    def _concession_rows(self, concessions) -> list[ConcessionRow]:
        rows = []
        for c in concessions:
            own = self.party is not None and c.party_id == self.party.pk
            mirror = None
            if getattr(c, "mirror_organisation", None) is not None:
                mirror = MirrorValues(
                    c.mirror_organisation,
                    _cents(c.mirror_to_us),
                    _cents(c.mirror_to_them),
                )
            rows.append(
                ConcessionRow(
                    concession=c,
                    own=own,
                    show_values=own or c.values_shared,
                    mirror=mirror,
                )
            )
        return rows

    @cached_property
    def concessions(self) -> Latest:
        """The latest entries of the concession log, oldest first (``total``:
        of the whole log as this viewer reads it)."""
        latest = _latest(
            self._concession_log().select_related("party"),
            CONCESSIONS_SHOWN,
            counted=True,
        )
        return latest.oldest_first(self._concession_rows(latest[::-1]))

    def concessions_of_trades(self, trade_ids) -> list[ConcessionRow]:
        """The log's rows for these accepted trades (one each)."""
        return self._concession_rows(
            self._concession_log()
            .filter(trade_id__in=trade_ids)
            .select_related("party")
            .order_by("pk")
        )

    def concessions_by_id(self, ids) -> list[ConcessionRow]:
        """The log's rows of these entries: an entry the viewer's log folds
        into its own row of the same trade is shown through that row."""
        trades = Concession.objects.filter(
            deal=self.deal, pk__in=ids, trade__isnull=False
        ).values("trade_id")
        return self._concession_rows(
            self._concession_log()
            .filter(Q(pk__in=ids) | Q(trade_id__in=trades))
            .select_related("party")
            .order_by("pk")
        )

    # --- Close and Implementation ----------------------------------------------

    @cached_property
    def commitments(self) -> list[Commitment]:
        return list(
            Commitment.objects.filter(deal=self.deal).select_related("owner_party")
        )

    def commitments_by_id(self, ids) -> list[Commitment]:
        return list(
            Commitment.objects.filter(deal=self.deal, pk__in=ids).select_related(
                "owner_party"
            )
        )

    def is_overdue(self, commitment: Commitment) -> bool:
        """A commitment of the agreement past its due date and not done yet
        (both sides see it highlighted)."""
        return self.deal.status == Deal.Status.AGREED and is_overdue(
            commitment, timezone.localdate()
        )

    def confirmed_by_me(self, commitment: Commitment) -> bool:
        if self.side == Party.Side.HOST:
            return commitment.host_confirmed_at is not None
        return commitment.counterpart_confirmed_at is not None

    @cached_property
    def confirmations(self) -> dict[str, AgreementConfirmation]:
        return {
            c.party.side: c
            for c in AgreementConfirmation.objects.filter(
                deal=self.deal
            ).select_related("party", "confirmed_by")
        }

    @cached_property
    def digest(self) -> str:
        return agreement_digest(self.deal)

    @property
    def agreement_ready(self) -> bool:
        return (
            bool(self.issues)
            and not self.issues_without_terms
            and all(c.is_confirmed for c in self.commitments)
            and self.cadence_agreed
        )

    @property
    def confirmed_sides(self) -> set[str]:
        return {
            side for side, c in self.confirmations.items() if c.digest == self.digest
        }

    @cached_property
    def check_ins(self) -> list[CheckIn]:
        return list(CheckIn.objects.filter(deal=self.deal).with_items())

    def check_ins_by_id(self, ids) -> list[CheckIn]:
        return list(CheckIn.objects.filter(deal=self.deal, pk__in=ids).with_items())

    def commitments_checked_in(self, check_in_ids) -> list[Commitment]:
        """The commitments whose status these check-ins recorded."""
        return self.commitments_by_id(
            CheckInItem.objects.filter(check_in_id__in=check_in_ids).values(
                "commitment_id"
            )
        )

    @property
    def next_review_date(self) -> datetime.date | None:
        return next_check_in(
            closed_on=self.deal.closed_at.date() if self.deal.closed_at else None,
            last_held=self.check_ins[0].held_on if self.check_ins else None,
            cadence=self.deal.review_cadence,
            first=self.deal.first_check_in,
        )

    # --- "show earlier" -------------------------------------------------------

    def earlier(self, list_name: str, before: int) -> Latest:
        """The page of a growing list before ``before``, in display order."""
        if list_name == "trades":
            return self._latest_trades(before)
        if list_name == "meso":
            return _latest(self._meso_sets(), MESO_SETS_SHOWN, before)
        if list_name == "concessions":
            page = _latest(
                self._concession_log().select_related("party"),
                CONCESSIONS_SHOWN,
                before,
            )
            return page.oldest_first(self._concession_rows(page[::-1]))
        if list_name == "messages":
            page = _latest(
                Message.objects.filter(
                    deal=self.deal, trade__isnull=True
                ).select_related("author__party"),
                MESSAGES_SHOWN,
                before,
            )
            return page.oldest_first(page[::-1])
        raise ValueError(list_name)

    # --- private coaching (the viewer's own side only) ---------------------

    @cached_property
    def nudges(self) -> Latest:
        """The side's latest warnings; dismissing them brings older ones up."""
        if self.party is None:
            return Latest()
        return _latest(
            Nudge.objects.filter(
                party=self.party, dismissed_at__isnull=True, resolved_at__isnull=True
            ),
            NUDGES_SHOWN,
        )

    @cached_property
    def coaching(self) -> StageCoaching | None:
        """The current stage's principle, moves and templates (shared content)."""
        return stage_coaching(self.deal.stage)

    @cached_property
    def lines_context(self) -> str | None:
        """The context whose lines fit the viewer's side (a buyer gets the
        buyer's), or None when no playbook speaks for it."""
        if self.party is None:
            return None
        return CONTEXT_FOR_SIDE.get((self.deal.context, self.party.side))

    @cached_property
    def lines_label(self) -> str:
        return Deal.Context(self.lines_context).label if self.lines_context else ""

    @cached_property
    def context_lines(self) -> list[tuple[str, list[str]]]:
        """The lines of the viewer's side's context playbook that fit the
        current stage."""
        wanted = CONTEXT_PHASES_BY_STAGE[self.deal.stage]
        if self.lines_context is None or not wanted:
            return []
        playbook = context_playbook(self.lines_context)
        if playbook is None:
            return []
        return [
            (label, lines)
            for (name, label), (_, lines) in zip(
                ContextPlaybook.PHASES, playbook.phases, strict=True
            )
            if name in wanted and lines
        ]

    @cached_property
    def trade_draft(self) -> dict[str, int] | None:
        """A conditional trade to start from: give on the issue that matters
        least to the viewer's side and most to the other (by both shared
        rankings), ask on the one that matters most to it and least to them."""
        ours = [
            int(pk) for pk in (self.own_position.ranking if self.own_position else [])
        ]
        theirs = [
            int(pk)
            for pk in (self.other_position.ranking if self.other_position else [])
        ]
        agenda = [issue.pk for issue in self.issues]
        if len(agenda) < 2 or not ours:
            return None

        def place(ranking: list[int], pk: int) -> int:
            return ranking.index(pk) if pk in ranking else len(ranking)

        # How much more an issue matters to us than to them (lower: more to us).
        lean = {pk: place(ours, pk) - place(theirs, pk) for pk in agenda}
        give = max(agenda, key=lambda pk: (lean[pk], -agenda.index(pk)))
        ask = min((pk for pk in agenda if pk != give), key=lambda pk: lean[pk])
        return {"give_issue_id": give, "ask_issue_id": ask}

    @cached_property
    def filled_templates(self) -> list[tuple[PhraseTemplate, str]]:
        """The stage's templates, their blanks filled from this deal."""
        if self.coaching is None:
            return []
        ours = self.own_position.ranking if self.own_position else []
        theirs = self.other_position.ranking if self.other_position else []
        by_id = {issue.pk: issue for issue in self.issues}
        return [
            (
                template,
                fill_template(
                    template.text,
                    self.issues,
                    shared_goal=self.deal.shared_purpose,
                    their_priorities=[by_id[pk] for pk in theirs if pk in by_id],
                    our_priorities=[by_id[pk] for pk in ours if pk in by_id],
                ),
            )
            for template in self.coaching.templates
        ]

    @cached_property
    def own_preparation(self) -> Preparation | None:
        """The viewer's own side's preparation (its reading of the other side
        included); None for a viewer without a side."""
        if self.party is None:
            return None
        return Preparation.objects.filter(party=self.party).first()

    @cached_property
    def culture_tips(self) -> list[CultureTip]:
        """The coach's lines for the other side's way of talking and deciding,
        as the viewer's side recorded it, for the current stage."""
        preparation = self.own_preparation
        if preparation is None:
            return []
        return culture_tips(
            preparation.their_style, preparation.their_decisions, self.deal.stage
        )

    @cached_property
    def readiness(self):
        """The viewer's own readiness check (private), shown during Setup."""
        if self.party is None or self.deal.stage != Deal.Stage.SETUP:
            return None
        preparation = Preparation.objects.get(party=self.party)
        return readiness_verdict(preparation, self.deal.deadline)

    @cached_property
    def checklist(self) -> dict[str, list[ChecklistItem]]:
        items = list(ChecklistItem.objects.all())
        return {
            "do": [i for i in items if i.kind == ChecklistItem.Kind.DO],
            "avoid": [i for i in items if i.kind == ChecklistItem.Kind.AVOID],
        }

    # --- discussion ------------------------------------------------------------

    @cached_property
    def messages(self) -> list[Message]:
        """The latest messages of the discussion, oldest first."""
        latest = _latest(
            Message.objects.filter(deal=self.deal, trade__isnull=True).select_related(
                "author__party"
            ),
            MESSAGES_SHOWN,
        )
        return latest.oldest_first(latest[::-1])


def events_after(deal_id: int, since: int) -> list[DealEvent]:
    """The deal's events after ``since``, in order."""
    events = DealEvent.objects.filter(deal_id=deal_id, seq__gt=since)
    return list(events.order_by("seq"))


# The processes that stamp events and scorings may not share a clock exactly.
CLOCK_MARGIN = datetime.timedelta(seconds=60)


def scoring_changed_since(party: Party | None, deal_id: int, seq: int) -> bool:
    """Whether ``party``'s scoring may have changed since the deal's event
    ``seq``: a page or socket that has every event up to it may then show
    scores of an older scoring (a new one is no event; it reaches open
    sockets as ``scoring.changed``). Leans towards yes."""
    if party is None:
        return False
    at = (
        DealEvent.objects.filter(deal_id=deal_id, seq=seq)
        .values_list("created_at", flat=True)
        .first()
    )
    if at is None:
        return True
    return Scoring.objects.filter(
        party=party, updated_at__gte=at - CLOCK_MARGIN
    ).exists()


def messages_by_id(deal: Deal, ids: Sequence[int]) -> dict[int, Message]:
    """The deal's messages with these ids, each with its author's name and
    party: all that a message item shows of its author.

    Every socket of a room reads this for every message the other side
    posts, the room's most frequent event; so it is a statement written once
    (``negotiation.fixed_sql``) rather than a ``select_related`` query the
    ORM compiles each time: 0.18 ms against 0.60 ms (``bench/room_actions.py
    --parts``, PostgreSQL). The author is a partial ``Participant``.
    """
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_messages_sql()} AND m.{column(Message, 'id')} IN ({placeholders})",
            [deal.pk, *ids],
        )
        rows = cursor.fetchall()
    messages = {}
    split = len(_MESSAGE)
    for row in rows:
        message = _MESSAGE.instance(row[:split])
        if message.author_id is not None:
            message.author = _AUTHOR.instance(row[split:])
        messages[message.pk] = message
    return messages


_MESSAGE = Columns(Message, prefix="m")
_AUTHOR = Columns(Participant, ["id", "display_name", "party"], prefix="a")


@functools.cache
def _messages_sql() -> str:
    return (
        f"SELECT {_MESSAGE.select}, {_AUTHOR.select}"
        f" FROM {table(Message)} m LEFT JOIN {table(Participant)} a"
        f" ON a.{column(Participant, 'id')} = m.{column(Message, 'author')}"
        f" WHERE m.{column(Message, 'deal')} = %s"
    )


def active_nudges(party: Party) -> list[Nudge]:
    return list(
        Nudge.objects.filter(party=party, dismissed_at__isnull=True).order_by(
            "-created_at"
        )
    )


class Latest(list):
    """The newest rows of a list, newest first; ``earlier`` is set when older
    rows exist (the cursor for "show earlier": the oldest pk shown).

    ``total`` is the length of the whole list when it was read ``counted``
    (see ``_latest``), else None; ``older`` is how many of it are not shown.
    """

    earlier: int | None = None
    total: int | None = None

    @property
    def older(self) -> int:
        return max(0, (self.total or 0) - len(self))

    def oldest_first(self, rows) -> Latest:
        """``rows`` (made from these, oldest first) with the same cursor."""
        ordered = Latest(rows)
        ordered.earlier = self.earlier
        ordered.total = self.total
        return ordered


def _latest(
    queryset, count: int, before: int | None = None, *, counted: bool = False
) -> Latest:
    """At most ``count`` rows, newest first (by pk), older than ``before``.

    ``counted`` also sets ``Latest.total``, the number of rows of the whole
    list: a window count (``COUNT(*) OVER ()``) on each row read, so the total
    costs no query of its own (a collapsed tool's summary shows it).
    """
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    if counted:
        queryset = queryset.annotate(listed_total=Window(Count("pk")))
    rows = Latest(queryset.order_by("-pk")[: count + 1])
    if counted:
        rows.total = rows[0].listed_total if rows else 0
    if len(rows) > count:
        del rows[count:]
        rows.earlier = rows[-1].pk
    return rows


def shared_cells(party: Party) -> dict[str, list[str]]:
    """The matrix cells a side shows the other side (issue id → columns)."""
    return (
        SharedPosition.objects.filter(party=party)
        .values_list("shared_matrix", flat=True)
        .first()
    ) or {}


def orientation_dismissed(participant: Participant | None) -> bool:
    """Whether this participant hid the room's orientation (None: no
    participant, such as a reviewing manager, who is shown none)."""
    if participant is None:
        return True
    return RoomVisit.objects.filter(
        participant=participant, orientation_dismissed_at__isnull=False
    ).exists()
