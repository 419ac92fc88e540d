"""The blind joint check: it runs only with both sides' consent, tells both
sides the same words, suggests packages better for both, and a package
both accept becomes the draft term sheet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.models import Deal, DealEvent
from negotiation.selectors import own_scoring
from negotiation.services.preparation import IssueScoreInput, scoring_save
from room import actions, services
from room.models import (
    AgreementConfirmation,
    JointCheck,
    JointCheckConsent,
    TermSheetEntry,
)
from room.render import render_regions
from room.services import closing, jointcheck
from tests.room.conftest import agree_cadence, at_stage

pytestmark = pytest.mark.django_db

# Distinctive minimums: finding one on the other side's screen is a leak.
HOST_MINIMUM = "41.37"
GUEST_MINIMUM = "38.29"


def points(*pairs) -> list[tuple[Decimal, int]]:
    return [(Decimal(value), score) for value, score in pairs]


def score(access: DealAccess) -> None:
    """The host cares most about price (high is good) and wants paying soon;
    the counterpart cares most about long payment terms and wants a low
    price. Trading the one for the other is worth it to both."""
    price, payment = access.deal.issues.order_by("position")
    if access.side == "host":
        issues = {
            price.pk: IssueScoreInput(70, points=points((100, 0), (200, 100))),
            payment.pk: IssueScoreInput(30, points=points((0, 100), (100, 0))),
        }
        minimum = HOST_MINIMUM
    else:
        issues = {
            price.pk: IssueScoreInput(30, points=points((100, 100), (200, 0))),
            payment.pk: IssueScoreInput(70, points=points((0, 0), (100, 100))),
        }
        minimum = GUEST_MINIMUM
    scoring_save(
        access=access,
        version=None,
        reservation_score=Decimal(minimum),
        issues=issues,
    )


def set_terms(access: DealAccess, price: str, payment: str) -> None:
    price_issue, payment_issue = access.deal.issues.order_by("position")
    for issue, value in ((price_issue, price), (payment_issue, payment)):
        entry = TermSheetEntry.objects.filter(issue=issue).first()
        services.term_set(
            access=access,
            issue_id=issue.pk,
            version=entry.version if entry else None,
            value=value,
        )


@pytest.fixture
def scored(midgame, host_access, guest_access):
    score(host_access)
    score(guest_access)
    set_terms(host_access, "EUR 150", "50 days")
    return host_access, guest_access


def both_allow(host: DealAccess, guest: DealAccess) -> None:
    jointcheck.joint_check_allow(access=host)
    jointcheck.joint_check_allow(access=guest)


def kinds(deal: Deal) -> list[str]:
    return list(DealEvent.objects.filter(deal=deal).values_list("kind", flat=True))


def test_the_check_waits_for_both_sides_consent(scored):
    host, _guest = scored
    jointcheck.joint_check_allow(access=host)

    with pytest.raises(ValidationError, match="Both sides must allow"):
        jointcheck.joint_check_run(access=host)
    assert not JointCheck.objects.exists()
    assert "jointcheck.ran" not in kinds(host.deal)


def test_consent_can_be_withdrawn_until_the_check_runs(scored):
    host, guest = scored
    both_allow(host, guest)
    jointcheck.joint_check_withdraw(access=guest)

    with pytest.raises(ValidationError, match="Both sides must allow"):
        jointcheck.joint_check_run(access=host)
    with pytest.raises(ValidationError, match="has not allowed"):
        jointcheck.joint_check_withdraw(access=guest)
    assert kinds(host.deal)[-3:] == [
        "jointcheck.allowed",
        "jointcheck.allowed",
        "jointcheck.withdrawn",
    ]
    assert JointCheckConsent.objects.get().party == host.party


def test_it_finds_packages_better_for_both_than_the_terms(scored):
    host, guest = scored
    both_allow(host, guest)

    check = jointcheck.joint_check_run(access=guest)

    assert check.agreement_possible is True
    assert check.terms_complete is True
    assert check.terms_efficient is False
    assert 1 <= len(check.suggestions) <= 3
    current = {i.pk: t.value for i, t in _terms(host)}
    for side in (host, guest):
        scoring = own_scoring(side.party)
        now = scoring.score(current).total
        for package in check.suggestions:
            values = {int(pk): value for pk, value in package.items()}
            assert scoring.score(values).total >= now
    # And one side strictly higher, in each suggestion.
    for package in check.suggestions:
        values = {int(pk): value for pk, value in package.items()}
        gains = [
            own_scoring(side.party).score(values).total
            - own_scoring(side.party).score(current).total
            for side in (host, guest)
        ]
        assert max(gains) > 0


def _terms(access):
    return [(t.issue, t) for t in TermSheetEntry.objects.filter(deal=access.deal)]


def test_efficient_terms_are_called_efficient_and_nothing_is_suggested(scored):
    host, guest = scored
    # High price for the host, the longest payment for the counterpart.
    set_terms(host, "EUR 200", "100 days")
    both_allow(host, guest)

    check = jointcheck.joint_check_run(access=host)

    assert (check.terms_efficient, check.suggestions) == (True, [])


def test_incomplete_terms_are_not_judged(midgame, host_access, guest_access):
    score(host_access)
    score(guest_access)
    both_allow(host_access, guest_access)

    check = jointcheck.joint_check_run(access=host_access)

    assert check.agreement_possible is True
    assert (check.terms_complete, check.terms_efficient) == (False, None)
    assert check.suggestions == []


def test_no_package_clears_two_high_minimums(midgame, host_access, guest_access):
    score(host_access)
    score(guest_access)
    for access in (host_access, guest_access):
        scoring = own_scoring(access.party)
        scoring_save(
            access=access,
            version=1,
            reservation_score=Decimal(95),
            issues={
                pk: IssueScoreInput(v.weight, points=list(v.points))
                for pk, v in scoring.issues.items()
            },
        )
    both_allow(host_access, guest_access)

    check = jointcheck.joint_check_run(access=host_access)

    assert check.agreement_possible is False


def test_a_side_without_a_scoring_blocks_the_check(midgame, host_access, guest_access):
    score(host_access)
    both_allow(host_access, guest_access)

    with pytest.raises(ValidationError, match="scoring of every issue"):
        jointcheck.joint_check_run(access=guest_access)
    assert not JointCheck.objects.exists()


def test_the_check_is_a_midgame_close_and_implementation_tool(deal, host_access):
    at_stage(deal, Deal.Stage.SETUP)

    with pytest.raises(ValidationError, match="Midgame or Close or Implementation"):
        jointcheck.joint_check_allow(access=host_access)
    assert not JointCheckConsent.objects.exists()


def test_a_package_both_accept_becomes_the_term_sheet(scored):
    host, guest = scored
    both_allow(host, guest)
    check = jointcheck.joint_check_run(access=host)
    chosen = check.suggestions[0]
    before = {str(i.pk): t.value for i, t in _terms(host)}
    assert before != chosen

    check = jointcheck.joint_check_accept(
        access=host, check_id=check.pk, index=0, version=check.version
    )
    # One side's acceptance alone changes no term.
    assert check.applied is False
    assert {str(i.pk): t.value for i, t in _terms(host)} == before
    check = jointcheck.joint_check_accept(
        access=guest, check_id=check.pk, index=0, version=check.version
    )

    assert check.applied is True
    assert {str(i.pk): t.value for i, t in _terms(host)} == chosen
    last = DealEvent.objects.filter(deal=host.deal).order_by("-seq").first()
    assert (last.kind, last.payload["applied"]) == ("jointcheck.accepted", True)
    with pytest.raises(ValidationError, match="already applied"):
        jointcheck.joint_check_accept(
            access=guest, check_id=check.pk, index=0, version=check.version
        )


def test_different_choices_apply_nothing_and_an_old_check_is_refused(scored):
    host, guest = scored
    both_allow(host, guest)
    first = jointcheck.joint_check_run(access=host)
    before = {str(i.pk): t.value for i, t in _terms(host)}
    assert len(first.suggestions) == 3
    jointcheck.joint_check_accept(access=host, check_id=first.pk, index=0, version=1)
    jointcheck.joint_check_accept(access=guest, check_id=first.pk, index=1, version=2)
    assert {str(i.pk): t.value for i, t in _terms(host)} == before
    newer = jointcheck.joint_check_run(access=guest)

    with pytest.raises(ValidationError, match="newer joint check"):
        jointcheck.joint_check_accept(
            access=host, check_id=first.pk, index=0, version=first.version
        )
    assert newer.accepted == {}


def test_accepting_is_binding_and_must_be_confirmed(scored):
    host, guest = scored
    both_allow(host, guest)
    check = jointcheck.joint_check_run(access=host)

    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host,
            "jointcheck.accept",
            {"check_id": check.pk, "index": 0, "version": check.version},
        )
    assert "tick the box" in str(refused.value.errors)
    check.refresh_from_db()
    assert check.accepted == {}


def test_both_sides_read_the_same_verdict_and_only_their_own_scores(scored):
    host, guest = scored
    both_allow(host, guest)
    jointcheck.joint_check_run(access=host)

    host_html = render_regions(host, ["jointcheck", "terms"])
    guest_html = render_regions(guest, ["jointcheck", "terms"])

    for html in (host_html, guest_html):
        assert "The terms on the table leave value behind" in html
        assert "A deal exists that both sides could accept" in html
    assert GUEST_MINIMUM not in host_html
    assert HOST_MINIMUM not in guest_html
    # Each side's own score row reads its own scoring only.
    assert host_html.count("Your score") >= 1
    assert guest_html.count("Your score") >= 1


def test_after_the_agreement_a_package_both_accept_improves_the_agreed_terms(scored):
    """Post-settlement: the check runs in Implementation on the agreed terms;
    a package both sides accept replaces them, and both confirmations move
    to the improved agreement."""
    host, guest = scored
    deal = host.deal
    at_stage(deal, Deal.Stage.CLOSE)
    agree_cadence(host, guest)
    for side in (host, guest):
        closing.agreement_confirm(access=side, digest=closing.agreement_digest(deal))
    deal.refresh_from_db()
    assert deal.status == Deal.Status.AGREED
    at_stage(deal, Deal.Stage.IMPLEMENTATION)
    # Terms are locked after the agreement: setting one is refused.
    price = deal.issues.order_by("position").first()
    with pytest.raises(ValidationError, match="terms are locked"):
        services.term_set(access=host, issue_id=price.pk, version=2, value="EUR 1")

    both_allow(host, guest)
    check = jointcheck.joint_check_run(access=host)
    assert check.terms_efficient is False
    for side in (host, guest):
        check = jointcheck.joint_check_accept(
            access=side, check_id=check.pk, index=0, version=check.version
        )

    assert check.applied is True
    assert {str(i.pk): t.value for i, t in _terms(host)} == check.suggestions[0]
    deal.refresh_from_db()
    assert deal.status == Deal.Status.AGREED
    digests = set(
        AgreementConfirmation.objects.filter(deal=deal).values_list("digest", flat=True)
    )
    assert digests == {closing.agreement_digest(deal)}
