"""The readiness check reads the deal's deadline and the sensitive-figures
list, not only the side's own answers."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from negotiation.models import Party, Preparation
from negotiation.selectors import readiness_verdict

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 29)


@pytest.fixture
def prep(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.readiness_reviewed_at = timezone.now()
    prep.save()
    return prep


def test_a_deadline_days_away_holds_off_even_when_unticked(prep):
    verdict = readiness_verdict(prep, TODAY + datetime.timedelta(days=3), TODAY)

    assert not verdict.ready
    assert verdict.reasons[0].startswith("The deal's deadline is 3 day(s) away")


def test_a_passed_deadline_says_so(prep):
    verdict = readiness_verdict(prep, TODAY - datetime.timedelta(days=1), TODAY)

    assert "has passed" in verdict.reasons[0]


def test_a_deadline_weeks_away_or_none_changes_nothing(prep):
    for deadline in (TODAY + datetime.timedelta(days=30), None):
        verdict = readiness_verdict(prep, deadline, TODAY)
        assert verdict.ready
        assert verdict.reasons == []


def test_a_ticked_crisis_deadline_is_not_repeated(prep):
    prep.crisis_deadline = True

    verdict = readiness_verdict(prep, TODAY + datetime.timedelta(days=2), TODAY)

    assert len(verdict.reasons) == 1


def test_sensitive_figures_are_mentioned_without_holding_off(prep):
    prep.sensitive_figures = "Unit cost: 61.40"

    verdict = readiness_verdict(prep, None, TODAY)

    assert verdict.ready
    assert "sensitive figures" in verdict.reasons[0]
