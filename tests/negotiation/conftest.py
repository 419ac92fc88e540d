"""Fixtures for the private preparation tests: the people around a deal, and a
counterpart side whose preparation is full of a string that must never leak."""

import pytest
from django.urls import reverse

from negotiation.access import deal_access_for_user
from negotiation.models import (
    AnchorEntry,
    Deal,
    EvidenceItem,
    IssueScore,
    Membership,
    Preparation,
    PriorityEntry,
    Scoring,
)
from tests.factories import MembershipFactory, make_deal

# Written into every private field of the counterpart side. No page of the host
# side may ever contain it.
COUNTERPART_SECRET = "Zx9-COUNTERPART-ONLY-walkaway-4417"
PREP_SECTIONS = (
    "walkaway",
    "counterparty",
    "readiness",
    "matrix",
    "anchors",
    "evidence",
    "scoring",
)


@pytest.fixture
def manager(deal):
    """A manager of the deal's team: reviews the host side, read-only."""
    return MembershipFactory(team=deal.team, role=Membership.Role.MANAGER).user


@pytest.fixture
def manager_access(manager, deal):
    return deal_access_for_user(manager, deal.pk)


@pytest.fixture
def other_deal(db):
    """A deal of another team, with one issue of its own."""
    deal = make_deal(title="Someone else's deal")
    deal.issues.create(name="Volume", unit="units")
    return deal


@pytest.fixture
def closed_deal_access(rep, deal):
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.NO_DEAL)
    return deal_access_for_user(rep, deal.pk)


@pytest.fixture
def counterpart_secrets(deal) -> list[str]:
    """Fill the counterpart side's preparation directly through the ORM with
    distinctive values, and return what would show if any of them leaked."""
    party = deal.parties.get(side="counterpart")
    Preparation.objects.filter(party=party).update(
        batna=COUNTERPART_SECRET,
        reservation_point=COUNTERPART_SECRET,
        reservation_value=987654.32,
        target_outcome=COUNTERPART_SECRET,
        their_constraints=COUNTERPART_SECRET,
        their_decision_path=COUNTERPART_SECRET,
        their_pressures=COUNTERPART_SECRET,
        their_success=COUNTERPART_SECRET,
        zero_sum_signals=True,
        readiness_notes=COUNTERPART_SECRET,
    )
    for issue in deal.issues.all():
        PriorityEntry.objects.create(
            party=party,
            issue=issue,
            importance=5,
            can_give=COUNTERPART_SECRET,
            want_get=COUNTERPART_SECRET,
            ideal_outcome=COUNTERPART_SECRET,
        )
        AnchorEntry.objects.create(
            party=party,
            issue=issue,
            low=987654,
            high=987655,
            opening_position=COUNTERPART_SECRET,
            benchmark=COUNTERPART_SECRET,
        )
    scoring = Scoring.objects.create(party=party, reservation_score="98.76")
    for issue in deal.issues.all():
        IssueScore.objects.create(
            scoring=scoring,
            issue=issue,
            weight=50,
            points=[["987654", 0], ["987655", 100]],
        )
    EvidenceItem.objects.create(
        party=party,
        title=COUNTERPART_SECRET,
        detail=COUNTERPART_SECRET,
        url=f"https://example.com/{COUNTERPART_SECRET}",
    )
    return [COUNTERPART_SECRET, "987654", "987,654", "987 654", "98.76"]


@pytest.fixture
def prep_get_urls(deal) -> list[str]:
    """Every page of the preparation area of ``deal``."""
    return [reverse("negotiation:prep", args=[deal.pk])] + [
        reverse("negotiation:prep-section", args=[deal.pk, section])
        for section in PREP_SECTIONS
    ]


@pytest.fixture
def host_evidence(deal) -> EvidenceItem:
    return EvidenceItem.objects.create(
        party=deal.parties.get(side="host"), title="Host benchmark"
    )


@pytest.fixture
def prep_post_requests(deal, host_evidence) -> list[tuple[str, dict]]:
    """Every write of the preparation area, each with input that is valid."""
    issue = deal.issues.first()
    evidence_id = host_evidence.pk
    return [
        (
            reverse("negotiation:prep-section", args=[deal.pk, "walkaway"]),
            {"version": "1", "batna": "Overwritten"},
        ),
        (
            reverse("negotiation:prep-section", args=[deal.pk, "counterparty"]),
            {"version": "1", "their_constraints": "Overwritten"},
        ),
        (
            reverse("negotiation:prep-section", args=[deal.pk, "readiness"]),
            {"version": "1", "crisis_deadline": "on"},
        ),
        (
            reverse("negotiation:prep-priority", args=[deal.pk, issue.pk]),
            {"version": "", "importance": "3"},
        ),
        (
            reverse("negotiation:prep-anchor", args=[deal.pk, issue.pk]),
            {"version": "", "low": "1", "high": "2"},
        ),
        (
            reverse("negotiation:prep-section", args=[deal.pk, "scoring"]),
            scoring_post(deal),
        ),
        (
            reverse("negotiation:prep-evidence-add", args=[deal.pk]),
            {"kind": "benchmark", "title": "Overwritten"},
        ),
        (
            reverse("negotiation:prep-evidence-delete", args=[deal.pk, evidence_id]),
            {},
        ),
    ]


def scoring_post(deal, *, version: str = "", weights=None, reservation="60") -> dict:
    """A valid post of the scoring page: weights split evenly (or as given),
    each numeric issue worth 0 at 100 and 100 at 200."""
    issues = list(deal.issues.all())
    weights = weights or [100 // len(issues)] * len(issues)
    weights[0] += 100 - sum(weights)
    data = {"version": version, "reservation_score": reservation}
    for issue, weight in zip(issues, weights, strict=True):
        data[f"weight-{issue.pk}"] = str(weight)
        if issue.kind == "options":
            for index, _ in enumerate(issue.options):
                data[f"rating-{issue.pk}-{index}"] = str(50 + index)
        else:
            data.update(
                {
                    f"value-{issue.pk}-0": "100",
                    f"score-{issue.pk}-0": "0",
                    f"value-{issue.pk}-1": "200",
                    f"score-{issue.pk}-1": "100",
                }
            )
    return data
