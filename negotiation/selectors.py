"""Reads: each selector fetches what one page needs, in a fixed number of queries."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from common.numbers import parse_number
from negotiation.access import DealAccess
from negotiation.fixed_sql import Columns, column, table
from negotiation.models import (
    AnchorEntry,
    Deal,
    EvidenceItem,
    Issue,
    IssueScore,
    Membership,
    Party,
    Preparation,
    PriorityEntry,
    Scoring,
)
from negotiation.scoring import proposal
from negotiation.scoring.joint import AgendaIssue, SideScoring
from negotiation.scoring.values import IssueValue, TermsScore, score_terms


def deals_for_user(user: AbstractBaseUser) -> QuerySet[Deal]:
    """The deal list: what the user may open, with what the list shows."""
    return (
        Deal.objects.visible_to(user)
        .select_related("team", "owner")
        .annotate(issue_count=Count("issues", distinct=True))
        .order_by("status", "-updated_at")
    )


def memberships_of(user: AbstractBaseUser) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team")


def deal_issues(deal: Deal) -> list[Issue]:
    return list(deal.issues.all())


def walk_away_of(party: Party) -> Preparation:
    """What the over-sharing guard compares every shared text with, and
    nothing else of the side's preparation: its BATNA, reservation point,
    walk-away and sensitive figures, evidence marked internal only, opening
    ranges (a copy kept on the preparation), target and counterparty map.

    The guard runs on every message and shared text in the room, so this is
    a statement written once (``negotiation.fixed_sql``): 0.11 ms against
    0.29 ms through the ORM (``bench/room_actions.py --parts``, PostgreSQL).
    The other fields of the returned object are deferred.
    """
    with connection.cursor() as cursor:
        cursor.execute(_walk_away_sql(), [party.pk])
        row = cursor.fetchone()
    if row is None:
        raise Preparation.DoesNotExist(f"Party {party.pk} has no preparation.")
    return _WALK_AWAY.instance(row)


_WALK_AWAY = Columns(
    Preparation,
    [
        "id",
        "batna",
        "reservation_point",
        "reservation_value",
        "sensitive_figures",
        "internal_evidence",
        "anchor_ranges",
        "target_outcome",
        "their_constraints",
        "their_decision_path",
        "their_pressures",
    ],
)


@functools.cache
def _walk_away_sql() -> str:
    return (
        f"SELECT {_WALK_AWAY.select} FROM {table(Preparation)}"
        f" WHERE {column(Preparation, 'party')} = %s"
    )


@dataclass
class SectionProgress:
    key: str
    label: str
    done: bool
    missing: list[str] = field(default_factory=list)


@dataclass
class ReadinessVerdict:
    reviewed: bool
    ready: bool
    headline: str
    reasons: list[str]


@dataclass
class PreparationView:
    """Everything the preparation pages show for one side, already fetched."""

    party: Party
    preparation: Preparation
    issues: list[Issue]
    priorities: dict[int, PriorityEntry]
    anchors: dict[int, AnchorEntry]
    evidence: list[EvidenceItem]
    sections: list[SectionProgress]
    readiness: ReadinessVerdict

    @property
    def percent_done(self) -> int:
        if not self.sections:
            return 0
        done = sum(1 for section in self.sections if section.done)
        return round(100 * done / len(self.sections))

    @property
    def missing_sections(self) -> list[SectionProgress]:
        return [section for section in self.sections if not section.done]

    def matrix_rows(self) -> list[tuple[Issue, PriorityEntry | None]]:
        return [(issue, self.priorities.get(issue.pk)) for issue in self.issues]

    def anchor_rows(self) -> list[tuple[Issue, AnchorEntry | None]]:
        return [(issue, self.anchors.get(issue.pk)) for issue in self.issues]


READINESS_REASONS = {
    "zero_sum_signals": (
        "They signal a win-lose stance and resist openness. Test with a few "
        "structured questions first; if nothing opens up, protect your minimum "
        "terms instead of sharing."
    ),
    "sensitive_data_at_stake": (
        "Working jointly would expose sensitive or proprietary data. Decide what "
        "stays out of the room before you invite them, or choose another approach."
    ),
    "crisis_deadline": (
        "A deadline or crisis leaves no time to explore together. Agree the "
        "process steps first, or settle the urgent part separately."
    ),
}


# A deadline this close leaves no time to explore together, ticked or not.
READINESS_DEADLINE_DAYS = 7


def readiness_verdict(
    preparation: Preparation,
    deadline: datetime.date | None = None,
    today: datetime.date | None = None,
) -> ReadinessVerdict:
    """The readiness check's recommendation ("do not use when…"): the side's
    own answers, the deal's deadline (a week or less away counts as a crisis
    deadline even when unticked) and its sensitive-figures list (the room
    will hold back any text that holds one)."""
    flags = list(preparation.readiness_flags)
    reasons = [READINESS_REASONS[flag] for flag in flags]
    if deadline is not None and "crisis_deadline" not in flags:
        days = (deadline - (today or timezone.localdate())).days
        if days <= READINESS_DEADLINE_DAYS:
            when = "has passed" if days < 0 else f"is {days} day(s) away"
            reasons.append(
                f"The deal's deadline {when}: that leaves little time to "
                "explore together. " + READINESS_REASONS["crisis_deadline"]
            )
    notes = []
    if preparation.sensitive_figures.strip():
        notes.append(
            "You listed sensitive figures: the room will hold back any text "
            "of yours that contains one and ask you first."
        )
    reviewed = preparation.readiness_reviewed_at is not None
    if reasons:
        return ReadinessVerdict(
            reviewed=reviewed,
            ready=False,
            headline="Hold off on a collaborative session for now.",
            reasons=reasons + notes,
        )
    if not reviewed:
        return ReadinessVerdict(
            reviewed=False,
            ready=False,
            headline="Run the readiness check before the joint session.",
            reasons=notes,
        )
    return ReadinessVerdict(
        reviewed=True,
        ready=True,
        headline="Good to go: nothing here argues against working jointly.",
        reasons=notes,
    )


def _progress(
    preparation: Preparation,
    issues: list[Issue],
    priorities: dict[int, PriorityEntry],
    anchors: dict[int, AnchorEntry],
    evidence: list[EvidenceItem],
) -> list[SectionProgress]:
    def missing(pairs: list[tuple[str, object]]) -> list[str]:
        return [label for label, value in pairs if value in ("", None)]

    walkaway = missing(
        [
            ("BATNA", preparation.batna),
            ("reservation point", preparation.reservation_point),
        ]
    )
    target = missing([("target outcome", preparation.target_outcome)])
    unranked = [issue.name for issue in issues if issue.pk not in priorities]
    counterparty = missing(
        [
            ("their constraints", preparation.their_constraints),
            ("their decision path", preparation.their_decision_path),
            ("their pressures", preparation.their_pressures),
            ("what success means for them", preparation.their_success),
        ]
    )
    has_anchor = any(
        a.low is not None or a.high is not None or a.opening_position
        for a in anchors.values()
    )
    return [
        SectionProgress("issues", "Issues mapped", bool(issues),
                        [] if issues else ["at least one issue"]),
        SectionProgress("walkaway", "BATNA & reservation point", not walkaway,
                        walkaway),
        SectionProgress("target", "Target outcome", not target, target),
        SectionProgress("matrix", "Priority & tradeables matrix",
                        bool(issues) and not unranked,
                        [f"importance of {name}" for name in unranked]),
        SectionProgress("counterparty", "Counterparty map", not counterparty,
                        counterparty),
        SectionProgress("evidence", "Evidence pack", bool(evidence),
                        [] if evidence else ["at least one piece of evidence"]),
        SectionProgress("anchors", "Anchor worksheet", has_anchor,
                        [] if has_anchor else ["a credible range for a key issue"]),
        SectionProgress("readiness", "Readiness check",
                        preparation.readiness_reviewed_at is not None,
                        [] if preparation.readiness_reviewed_at
                        else ["review the readiness check"]),
    ]  # fmt: skip


def _issues_with_own_rows(party: Party) -> list[Issue]:
    """The deal's issues, each with ``party``'s matrix row and anchor row
    (``own_priority``, ``own_anchor``: lists of zero or one), in 3 queries."""
    return list(
        Issue.objects.filter(deal_id=party.deal_id).prefetch_related(
            Prefetch(
                "priorities",
                queryset=PriorityEntry.objects.filter(party=party),
                to_attr="own_priority",
            ),
            Prefetch(
                "anchors",
                queryset=AnchorEntry.objects.filter(party=party),
                to_attr="own_anchor",
            ),
        )
    )


def preparation_view(access: DealAccess, party: Party) -> PreparationView:
    """One side's preparation, for a viewer allowed to read it.

    The permission check lives here too, so no caller can forget it.
    """
    if not access.can_read_private(party):
        raise PermissionDenied
    preparation = Preparation.objects.get(party=party)
    issues = _issues_with_own_rows(party)
    priorities = {i.pk: i.own_priority[0] for i in issues if i.own_priority}
    anchors = {i.pk: i.own_anchor[0] for i in issues if i.own_anchor}
    evidence = list(EvidenceItem.objects.filter(party=party))
    return PreparationView(
        party=party,
        preparation=preparation,
        issues=issues,
        priorities=priorities,
        anchors=anchors,
        evidence=evidence,
        sections=_progress(preparation, issues, priorities, anchors, evidence),
        readiness=readiness_verdict(preparation, access.deal.deadline),
    )


@dataclass
class ScoringRow:
    """One issue on the scoring page: what is saved and what is proposed."""

    issue: Issue
    saved: IssueScore | None
    proposed_weight: int
    proposed_points: tuple = ()
    proposed_ratings: dict[str, int] = field(default_factory=dict)

    @property
    def needs_review(self) -> bool:
        """Saved before the issue changed: a new issue, or options that the
        saved ratings no longer match."""
        if self.saved is None:
            return True
        if self.issue.kind == Issue.Kind.OPTIONS:
            return set(self.saved.ratings) != set(self.issue.options)
        return not self.saved.points


@dataclass
class ScoringView:
    party: Party
    scoring: Scoring | None
    rows: list[ScoringRow]

    @property
    def complete(self) -> bool:
        """Saved, and still covering every issue of the agenda as it is."""
        return self.scoring is not None and not any(r.needs_review for r in self.rows)


def scoring_view(access: DealAccess, party: Party) -> ScoringView:
    """One side's scoring with a proposal drawn from its preparation, for a
    viewer allowed to read that side's private preparation."""
    if not access.can_read_private(party):
        raise PermissionDenied
    scoring = Scoring.objects.filter(party=party).first()
    saved = {s.issue_id: s for s in scoring.issue_scores.all()} if scoring else {}
    issues = _issues_with_own_rows(party)
    walk_away = (
        Preparation.objects.filter(party=party)
        .values_list("reservation_value", flat=True)
        .first()
    )
    importance = {
        i.pk: (i.own_priority[0].importance if i.own_priority else None) for i in issues
    }
    weights = proposal.propose_weights(importance)
    numeric = [i.pk for i in issues if i.kind == Issue.Kind.NUMERIC]
    headline = proposal.headline_issue(numeric, importance)
    rows = []
    for issue in issues:
        priority = issue.own_priority[0] if issue.own_priority else None
        anchor = issue.own_anchor[0] if issue.own_anchor else None
        ideal = priority.ideal_outcome if priority else ""
        row = ScoringRow(issue, saved.get(issue.pk), weights[issue.pk])
        if issue.kind == Issue.Kind.OPTIONS:
            row.proposed_ratings = proposal.propose_ratings(issue.options, ideal)
        else:
            row.proposed_points = proposal.propose_points(
                proposal.NumericPrep(
                    target=parse_number(ideal),
                    walk_away=walk_away if issue.pk == headline else None,
                    opening_low=anchor.low if anchor else None,
                    opening_high=anchor.high if anchor else None,
                    range_min=issue.range_min,
                    range_max=issue.range_max,
                )
            )
        if row.saved is not None:
            row.saved.issue = issue
        rows.append(row)
    return ScoringView(party, scoring, rows)


@dataclass(frozen=True)
class OwnScoring(SideScoring):
    """A side's saved scoring, ready to score packages in the room."""

    # What each typed value was worth, kept for this render's other packages.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def score(self, terms: Mapping[int, str | None]) -> TermsScore:
        return score_terms(self.issues, terms, self.memo)

    def clears(self, score: TermsScore) -> bool | None:
        """Whether a score reaches the reservation score (None: none set)."""
        if self.reservation is None:
            return None
        return score.total >= float(self.reservation)


def own_scoring(party: Party) -> OwnScoring | None:
    """``party``'s scoring, for that party's own eyes only, in one query; None
    when it has none."""
    rows = list(
        IssueScore.objects.filter(scoring__party=party).values_list(
            "issue_id",
            "issue__kind",
            "weight",
            "points",
            "ratings",
            "scoring__reservation_score",
        )
    )
    if not rows:
        return None
    issues = {
        issue_id: IssueValue.from_saved(
            weight, options=kind == Issue.Kind.OPTIONS, points=points, ratings=ratings
        )
        for issue_id, kind, weight, points, ratings, _ in rows
    }
    return OwnScoring(issues, rows[0][5])


def analysis_agenda(agenda: Iterable[Issue]) -> list[AgendaIssue]:
    """The agenda as the integrative analysis takes it."""
    return [AgendaIssue(i.pk, i.kind, tuple(i.options), i.unit) for i in agenda]


def side_scoring(party: Party, agenda: list[Issue]) -> OwnScoring | None:
    """The side's scoring, if it covers every issue of the agenda as it is.
    Private: for that side's own tools, or for the joint check both sides
    allowed, never to be shown to the other side."""
    scoring = own_scoring(party)
    return scoring if scoring is not None and scoring.covers(agenda) else None
