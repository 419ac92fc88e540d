"""The team dashboard and its CSV export: managers only, their team only,
filters, search, pagination, and figures that never include the counterpart's
private data (not even its coaching nudges)."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from negotiation.models import Deal, DealEvent, Membership
from review.analysis.stages import average_stage_days, stage_durations
from review.models import PostDealReview
from review.selectors import follow_through, team_stage_times
from room.models import Commitment, Nudge
from tests.factories import MembershipFactory, UserFactory, make_deal
from tests.scenarios import Negotiation, client_for, client_for_guest, negotiate

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("review:dashboard")
CSV_URL = reverse("review:dashboard-csv")
ENDINGS = ["agreement.confirmed", "deal.no_deal"]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setattr("negotiation.services.base.broadcast", lambda *a, **k: None)


@pytest.fixture
def team(rep):
    return Membership.objects.get(user=rep).team


@pytest.fixture
def robin(team):
    return MembershipFactory(
        team=team, user=UserFactory(username="robin", first_name="Robin")
    ).user


@pytest.fixture
def deals(rep, robin) -> dict[str, Negotiation | Deal]:
    """Four deals of the team, one of another team."""
    return {
        "agreed": negotiate(owner=rep, title="Acme renewal"),
        "no_deal": negotiate(
            owner=rep, title="Initech supplies", context="procurement",
            outcome="no_deal",
        ),
        "robin": negotiate(
            owner=robin, title="Globex expansion", context="partnership",
            due_in_days=30, nudges=False,
        ),
        "open": make_deal(owner=rep, title="Umbrella pilot", context="partnership"),
        "foreign": make_deal(title="Someone else's deal"),
    }  # fmt: skip


@pytest.fixture
def manager(team):
    return MembershipFactory(
        team=team, role=Membership.Role.MANAGER, user=UserFactory()
    ).user


@pytest.fixture
def manager_browser(manager) -> Client:
    return client_for(manager)


def deal_table(page: str) -> str:
    start = page.index('<table class="deals">')
    return page[start : page.index("</table>", start)]


def titles_in(page: str) -> set[str]:
    table = deal_table(page)
    names = ["Acme renewal", "Initech supplies", "Globex expansion", "Umbrella pilot"]
    return {name for name in names if name in table}


# --- who may open it ------------------------------------------------------------------


def test_a_rep_who_manages_no_team_is_refused(rep, deals):
    browser = client_for(rep)

    assert browser.get(DASHBOARD).status_code == 403
    assert browser.get(CSV_URL).status_code == 403


def test_anonymous_visitors_and_counterpart_guests_are_sent_to_log_in(deals):
    guest = client_for_guest(deals["agreed"].guest.participant)

    for browser in (Client(), guest):
        for address in (DASHBOARD, CSV_URL):
            response = browser.get(address)
            assert response.status_code == 302
            assert reverse("login") in response["Location"]


def test_another_teams_manager_cannot_open_this_teams_dashboard(team, deals):
    stranger = client_for(MembershipFactory(role=Membership.Role.MANAGER).user)

    assert stranger.get(f"{DASHBOARD}?team={team.pk}").status_code == 404
    assert stranger.get(f"{CSV_URL}?team={team.pk}").status_code == 404
    own = stranger.get(DASHBOARD)
    assert own.status_code == 200
    assert titles_in(own.content.decode()) == set()


def test_the_manager_sees_the_teams_deals_only(manager_browser, deals):
    page = manager_browser.get(DASHBOARD).content.decode()

    assert titles_in(page) == {
        "Acme renewal", "Initech supplies", "Globex expansion", "Umbrella pilot",
    }  # fmt: skip
    assert "Someone else's deal" not in page


def test_a_manager_of_two_teams_switches_between_them(manager, deals):
    other = MembershipFactory(
        user=manager, role=Membership.Role.MANAGER, team__name="Zeta team"
    ).team
    make_deal(owner=MembershipFactory(team=other).user, title="Zeta deal")
    browser = client_for(manager)

    page = browser.get(f"{DASHBOARD}?team={other.pk}").content.decode()

    assert "Zeta deal" in deal_table(page)
    assert titles_in(page) == set()


# --- filters, search, pagination ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=agreed", {"Acme renewal", "Globex expansion"}),
        ("status=no_deal", {"Initech supplies"}),
        ("stage=setup", {"Umbrella pilot"}),
        ("context=partnership", {"Globex expansion", "Umbrella pilot"}),
        ("q=initech", {"Initech supplies"}),
        ("q=ROBIN", {"Globex expansion"}),  # the rep's name
        ("status=agreed&context=sales", {"Acme renewal"}),
        ("status=bogus", {"Acme renewal", "Initech supplies", "Globex expansion",
                          "Umbrella pilot"}),  # an invalid filter is dropped
    ],
)  # fmt: skip
def test_filters_and_search_narrow_the_deals(manager_browser, deals, query, expected):
    page = manager_browser.get(f"{DASHBOARD}?{query}").content.decode()

    assert titles_in(page) == expected


def test_the_rep_filter_narrows_every_figure(manager_browser, deals, robin):
    page = manager_browser.get(f"{DASHBOARD}?rep={robin.pk}").content.decode()

    assert titles_in(page) == {"Globex expansion"}
    assert "1 deal match the filters" in page
    assert "Nothing overdue." in page  # Robin's commitment is due in 30 days


def test_the_deals_are_paginated_and_pages_keep_the_filters(
    manager_browser, rep, deals
):
    for index in range(22):
        make_deal(owner=rep, title=f"Bulk deal {index:02d}", context="hiring")

    first = manager_browser.get(f"{DASHBOARD}?context=hiring&sort=title")
    second = manager_browser.get(f"{DASHBOARD}?context=hiring&sort=title&page=2")

    first_page = first.content.decode()
    assert deal_table(first_page).count("Bulk deal") == 20
    assert "Page 1 of 2" in first_page
    assert 'href="?context=hiring&amp;sort=title&amp;page=2"' in first_page
    second_page = second.content.decode()
    assert deal_table(second_page).count("Bulk deal") == 2
    assert "Bulk deal 21" in second_page
    # Past the end: the last page, not an error.
    last = manager_browser.get(f"{DASHBOARD}?context=hiring&page=99")
    assert "Page 2 of 2" in last.content.decode()


# --- the figures ----------------------------------------------------------------------


def test_the_figures_cover_outcomes_follow_through_and_pitfalls(manager_browser, deals):
    page = manager_browser.get(DASHBOARD).content.decode()

    assert "<strong>2</strong> agreed · <strong>1</strong> no deal" in page
    assert "67% of closed deals agreed" in page
    # Acme's commitment is five days overdue; Globex's is not due yet.
    agreed: Negotiation = deals["agreed"]
    assert f"#commitment-{agreed.commitment.pk}" in page
    assert f"#commitment-{deals['robin'].commitment.pk}" not in page
    # Stage times come from the stage.accepted events.
    assert ">Average time in each stage</title>" in page
    assert "Midgame:" in page


def test_pitfalls_count_the_host_sides_nudges_only(manager_browser, deals):
    assert Nudge.objects.filter(kind=Nudge.Kind.OVER_SHARING).exists()

    page = manager_browser.get(DASHBOARD).content.decode()

    assert "Conceding to keep the peace: 2" in page  # Acme and Initech, host side
    assert Nudge.Kind.OVER_SHARING.label not in page  # the counterpart's


def test_check_ins_due_this_week_are_listed(manager_browser, deals):
    Deal.objects.filter(pk=deals["agreed"].deal.pk).update(review_cadence="weekly")

    page = manager_browser.get(DASHBOARD).content.decode()

    start = page.index('id="checkins-heading"')
    section = page[start : page.index("</section>", start)]
    assert "Acme renewal" in section
    assert "Globex expansion" not in section  # monthly: next month


# --- CSV ------------------------------------------------------------------------------


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_lists_the_filtered_deals_with_host_side_figures(
    manager_browser, deals, rep
):
    response = manager_browser.get(f"{CSV_URL}?status=agreed&sort=title")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    rows = read_csv(response)
    assert [row["title"] for row in rows] == ["Acme renewal", "Globex expansion"]
    acme = rows[0]
    assert acme["status"] == "Agreed"
    assert acme["stage"] == "Implementation"
    assert acme["rep"] == (rep.get_full_name() or rep.username)
    assert (acme["issues"], acme["trades"], acme["trades_accepted"]) == ("3", "2", "1")
    assert (acme["commitments"], acme["commitments_overdue"]) == ("1", "1")
    assert acme["host_pitfalls_flagged"] == "1"
    assert acme["days_to_close"] == "0"


def test_the_csv_cannot_carry_a_spreadsheet_formula(manager_browser, rep):
    make_deal(owner=rep, title='=HYPERLINK("http://evil.example","x")')

    rows = read_csv(manager_browser.get(CSV_URL))

    assert rows[0]["title"] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_teams_stage_times_follow_the_rule_of_a_single_deals(team, deals):
    """The team figure is ``stage_durations`` deal by deal, averaged."""
    # Spread the log over days, as a real negotiation is, then compare.
    events = DealEvent.objects.filter(deal__team=team).order_by("deal_id", "seq")
    for number, event in enumerate(events):
        DealEvent.objects.filter(pk=event.pk).update(
            created_at=event.created_at + datetime.timedelta(hours=7 * number)
        )
    for deal in Deal.objects.filter(team=team, closed_at__isnull=False):
        last = deal.events.filter(kind__in=ENDINGS).order_by("-seq").first()
        Deal.objects.filter(pk=deal.pk).update(closed_at=last.created_at)
    now = timezone.now()
    expected = average_stage_days(
        [
            stage_durations(
                started_at=deal.created_at,
                changes=[
                    (e.created_at, e.payload["stage"])
                    for e in deal.events.filter(kind="stage.accepted")
                ],
                ended_at=deal.closed_at or now,
            )
            for deal in Deal.objects.filter(team=team)
        ],
        Deal.Stage.choices,
    )

    actual = team_stage_times(Deal.objects.filter(team=team))

    assert [(s.stage, s.deals) for s in actual] == [
        (s.stage, s.deals) for s in expected
    ]
    for got, want in zip(actual, expected, strict=True):
        assert got.average_days == pytest.approx(want.average_days, abs=1e-3)
    assert actual[2].average_days > 1  # Midgame lasted days, not seconds


def test_a_missed_check_in_is_counted_as_overdue(manager_browser, deals):
    acme = deals["agreed"].deal
    acme.check_ins.all().delete()
    # The agreed first check-in passed a fortnight ago without one held.
    Deal.objects.filter(pk=acme.pk).update(
        closed_at=timezone.now() - datetime.timedelta(days=45),
        first_check_in=timezone.localdate() - datetime.timedelta(days=15),
    )

    page = manager_browser.get(DASHBOARD).content.decode()

    start = page.index('id="checkins-heading"')
    section = page[start : page.index("</section>", start)]
    assert '<strong class="bad">1</strong> overdue' in section
    assert "Acme renewal" in section
    assert "· overdue" in section


# --- after the deal: follow-through per rep and team ---------------------------------


def test_follow_through_per_rep_and_team(team, deals, rep, robin):
    agreed, no_deal = deals["agreed"].deal, deals["no_deal"].deal
    created = timezone.now() - datetime.timedelta(days=20)
    Deal.objects.filter(pk__in=[agreed.pk, no_deal.pk, deals["robin"].deal.pk]).update(
        created_at=created
    )
    Deal.objects.filter(pk=agreed.pk).update(
        closed_at=created + datetime.timedelta(days=6)
    )
    Deal.objects.filter(pk=no_deal.pk).update(
        closed_at=created + datetime.timedelta(days=10)
    )
    Deal.objects.filter(pk=deals["robin"].deal.pk).update(
        closed_at=created + datetime.timedelta(days=2)
    )
    commitments = list(Commitment.objects.filter(deal=agreed))
    Commitment.objects.filter(pk=commitments[0].pk).update(status="done")
    PostDealReview.objects.update_or_create(
        deal=agreed,
        party=agreed.parties.get(side="host"),
        defaults={"our_goals_met": "mostly"},
    )
    PostDealReview.objects.filter(deal=no_deal).delete()

    figures = follow_through(Deal.objects.filter(team=team))

    mine, team_wide = figures[rep.pk], figures[None]
    assert mine.closed == 2
    assert mine.median_days_to_close == pytest.approx(8)
    assert mine.debrief_rate == 50
    assert mine.goals_met_rate == 100
    assert mine.commitments_done == 1
    assert team_wide.closed == 3
    assert team_wide.median_days_to_close == pytest.approx(6)


def test_the_dashboard_shows_the_follow_through_table(manager_browser, deals):
    page = manager_browser.get(reverse("review:dashboard")).content.decode()

    table = page.split('id="follow-through"')[1].split("</table>")[0]
    assert "The team" in table
    assert "Robin" in table
