"""Scenario cards open as practice deals of the rep's team, ready to negotiate."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from negotiation.access import deal_access_for_user
from negotiation.models import (
    AnchorEntry,
    Deal,
    DealEvent,
    EvidenceItem,
    Membership,
    Party,
    PriorityEntry,
)
from negotiation.selectors import preparation_view
from playbooks.models import ScenarioCard
from playbooks.services import practice_deal_open
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

SCENARIO_KEYS = (
    "saas-renewal",
    "co-branding-partnership",
    "logistics-procurement",
    "internal-resource-request",
)


def test_the_four_scenarios_cover_the_four_contexts(content):
    scenarios = ScenarioCard.objects.all()
    assert sorted(s.key for s in scenarios) == sorted(SCENARIO_KEYS)
    assert sorted(s.context for s in scenarios) == sorted(Deal.Context.values)


@pytest.mark.parametrize("key", SCENARIO_KEYS)
def test_a_practice_deal_opened_from_each_card_is_ready_to_negotiate(
    rep_client, rep, team, content, key
):
    scenario = ScenarioCard.objects.get(key=key)
    response = rep_client.post(
        reverse("playbooks:scenario-practice", args=[key]), {"team": team.pk}
    )

    deal = Deal.objects.get(owner=rep)
    assert response.status_code == 302
    assert response["Location"] == deal.get_absolute_url()
    assert deal.title == f"Practice: {scenario.title}"
    assert (deal.team, deal.context) == (team, scenario.context)
    assert (
        deal.counterpart_organisation == scenario.practice["counterpart_organisation"]
    )
    assert deal.shared_purpose == scenario.practice["shared_purpose"]
    assert deal.deadline is not None
    issue_names = list(deal.issues.values_list("name", flat=True))
    assert issue_names == scenario.practice_issue_names

    host = deal.parties.get(side=Party.Side.HOST)
    prep = host.preparation
    assert prep.batna == scenario.practice["host"]["batna"]
    assert prep.reservation_point == scenario.practice["host"]["reservation_point"]
    assert prep.their_decision_path
    matrix = PriorityEntry.objects.filter(party=host)
    assert matrix.count() == len(issue_names)
    assert all(row.can_give and row.want_get for row in matrix)
    assert AnchorEntry.objects.filter(party=host).exists()
    assert EvidenceItem.objects.filter(party=host).count() == 2
    # Nothing left to prepare: the rep can go straight to the room.
    access = deal_access_for_user(rep, deal.pk)
    assert preparation_view(access, host).percent_done == 100

    # The counterpart side gets a brief of its own for whoever plays it.
    counterpart = deal.parties.get(side=Party.Side.COUNTERPART)
    assert counterpart.preparation.batna == scenario.practice["counterpart"]["batna"]
    assert PriorityEntry.objects.filter(party=counterpart).exists()
    assert not counterpart.participants.exists()

    # Built through the services: the agenda is in the deal's event log.
    kinds = list(DealEvent.objects.filter(deal=deal).values_list("kind", flat=True))
    assert kinds == ["deal.created"] + ["issue.added"] * len(issue_names)


def test_the_rep_never_sees_the_counterpart_brief_of_a_practice_deal(
    rep_client, rep, team, content
):
    scenario = ScenarioCard.objects.get(key="logistics-procurement")
    deal = practice_deal_open(scenario=scenario, owner=rep, team=team)
    brief = scenario.practice["counterpart"]
    for url in (
        deal.get_absolute_url(),
        reverse("negotiation:prep", args=[deal.pk]),
        reverse("negotiation:prep-section", args=[deal.pk, "walkaway"]),
        reverse("negotiation:prep-section", args=[deal.pk, "matrix"]),
        scenario.get_absolute_url(),
    ):
        body = rep_client.get(url).content.decode()
        assert brief["batna"] not in body
        assert brief["reservation_point"] not in body


def test_a_rep_with_two_teams_chooses_the_team(rep_client, rep, team, content):
    other = MembershipFactory(user=rep).team
    page = rep_client.get(reverse("playbooks:scenario-detail", args=["saas-renewal"]))
    assert page.context["form"].fields["team"].queryset.count() == 2
    rep_client.post(
        reverse("playbooks:scenario-practice", args=["saas-renewal"]),
        {"team": other.pk},
    )
    assert Deal.objects.get(owner=rep).team == other


def test_no_practice_deal_for_a_team_one_is_not_in(rep_client, rep, outsider, content):
    foreign_team = Membership.objects.get(user=outsider).team
    response = rep_client.post(
        reverse("playbooks:scenario-practice", args=["saas-renewal"]),
        {"team": foreign_team.pk},
    )
    assert response.status_code == 403
    assert not Deal.objects.exists()
    with pytest.raises(PermissionDenied):
        practice_deal_open(
            scenario=ScenarioCard.objects.get(key="saas-renewal"),
            owner=rep,
            team=foreign_team,
        )


def test_opening_a_practice_deal_needs_an_account(client, content):
    response = client.post(
        reverse("playbooks:scenario-practice", args=["saas-renewal"]), {"team": 1}
    )
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Deal.objects.exists()


def test_opening_needs_a_post(rep_client, content):
    url = reverse("playbooks:scenario-practice", args=["saas-renewal"])
    assert rep_client.get(url).status_code == 405


def test_the_card_lists_my_earlier_practice_deals(rep_client, rep, team, content):
    scenario = ScenarioCard.objects.get(key="saas-renewal")
    deal = practice_deal_open(scenario=scenario, owner=rep, team=team)
    page = rep_client.get(scenario.get_absolute_url())
    assert deal.get_absolute_url().encode() in page.content
