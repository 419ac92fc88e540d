"""A side's private scoring: the proposal drawn from its preparation, the
page that saves the whole scoring at once, and what it refuses."""

from decimal import Decimal
from fractions import Fraction

import pytest
from django.urls import reverse

from negotiation.models import (
    AnchorEntry,
    Issue,
    IssueScore,
    Preparation,
    PriorityEntry,
    Scoring,
)
from negotiation.scoring.proposal import (
    NumericPrep,
    headline_issue,
    propose_points,
    propose_ratings,
    propose_weights,
)
from negotiation.scoring.values import (
    IssueValue,
    TermsScore,
    largest_remainder,
    score_terms,
    value_at,
)
from negotiation.services import preparation as prep_services
from tests.factories import IssueFactory
from tests.negotiation.conftest import scoring_post


def scoring_url(deal) -> str:
    return reverse("negotiation:prep-section", args=[deal.pk, "scoring"])


def host_scoring(deal) -> Scoring | None:
    return Scoring.objects.filter(party__deal=deal, party__side="host").first()


def html(response) -> str:
    return response.content.decode()


# --- The pure parts -----------------------------------------------------------


def test_whole_shares_go_to_the_largest_remainders():
    assert largest_remainder([Fraction(1, 3)] * 3) == [34, 33, 33]
    assert largest_remainder([Decimal("0.5"), Decimal("0.3"), Decimal("0.2")]) == [
        50,
        30,
        20,
    ]
    assert largest_remainder([0, 0]) == [0, 0]


def test_weights_follow_importance_and_add_up_to_exactly_100():
    assert propose_weights({1: 5, 2: 3, 3: 1}) == {1: 56, 2: 33, 3: 11}
    # Three equal issues: 33.3 each; the one point left goes to the first.
    assert propose_weights({7: 2, 8: 2, 9: 2}) == {7: 34, 8: 33, 9: 33}
    # An unranked issue counts as "important" (3 of 5).
    assert propose_weights({1: None, 2: 3}) == {1: 50, 2: 50}
    assert propose_weights({}) == {}


def test_the_walk_away_figure_belongs_to_the_most_important_numeric_issue():
    assert headline_issue([4, 5, 6], {4: 3, 5: 5, 6: 5}) == 5
    assert headline_issue([4, 5], {}) == 4
    assert headline_issue([], {1: 5}) is None


def test_a_sellers_value_function_rises_from_walk_away_through_target_to_opening():
    prep = NumericPrep(
        target=Decimal(200000),
        walk_away=Decimal(186500),
        opening_low=Decimal(210000),
        opening_high=Decimal(220000),
    )
    assert propose_points(prep) == (
        (Decimal(186500), 0),
        (Decimal(200000), 75),
        (Decimal(220000), 100),
    )


def test_a_buyers_value_function_falls_towards_the_higher_values():
    prep = NumericPrep(
        target=Decimal(60),
        opening_low=Decimal(30),
        opening_high=Decimal(45),
        range_max=Decimal(90),
    )
    # Lower is better: the opening's low end is best, the range's top worst.
    assert propose_points(prep) == (
        (Decimal(30), 100),
        (Decimal(60), 75),
        (Decimal(90), 0),
    )


@pytest.mark.parametrize(
    "prep",
    [
        NumericPrep(),  # nothing prepared
        NumericPrep(target=Decimal(10)),  # no way to tell which way is better
        # Which way is known, but no worst value: the walk-away figure is on
        # another issue and the agenda gives no range.
        NumericPrep(target=Decimal(10), opening_low=Decimal(20)),
    ],
)
def test_no_value_function_is_invented_when_the_preparation_does_not_say(prep):
    assert propose_points(prep) == ()


def test_option_ratings_favour_the_ideal_option():
    assert propose_ratings(["Net 30", "Net 60"], " net 60 ") == {
        "Net 30": 50,
        "Net 60": 100,
    }


def test_values_between_points_are_straight_lines_and_flat_beyond_the_ends():
    points = ((Decimal(100), 0), (Decimal(200), 80), (Decimal(300), 100))
    assert value_at(points, Decimal(50)) == 0
    assert value_at(points, Decimal(150)) == 40
    assert value_at(points, Decimal(250)) == 90
    assert value_at(points, Decimal(999)) == 100


def test_a_package_scores_its_weighted_total_and_open_issues_count_nothing():
    issues = {
        1: IssueValue(60, points=((Decimal(0), 0), (Decimal(100), 100))),
        2: IssueValue(40, ratings={"Net 30": 25, "Net 60": 100}),
    }
    assert score_terms(issues, {1: "50", 2: "net 60"}) == TermsScore(70)
    assert score_terms(issues, {1: "50"}) == TermsScore(30, open=1)


# --- The page -----------------------------------------------------------------


@pytest.fixture
def prepared(deal, host_access):
    """The host side's matrix, opening range and walk-away figure."""
    price, payment = deal.issues.all()
    party = host_access.party
    PriorityEntry.objects.create(
        party=party, issue=price, importance=5, ideal_outcome="EUR 200k"
    )
    PriorityEntry.objects.create(party=party, issue=payment, importance=3)
    AnchorEntry.objects.create(party=party, issue=price, low=210000, high=220000)
    Preparation.objects.filter(party=party).update(reservation_value=186500)
    return price, payment


def test_the_page_proposes_a_scoring_drawn_from_the_preparation(
    rep_client, deal, prepared
):
    price, payment = prepared

    response = rep_client.get(scoring_url(deal))

    assert response.status_code == 200
    form = response.context["scoring_form"]
    assert form[f"weight-{price.pk}"].value() == 63
    assert form[f"weight-{payment.pk}"].value() == 37
    assert [
        (form[f"value-{price.pk}-{i}"].value(), form[f"score-{price.pk}-{i}"].value())
        for i in range(3)
    ] == [(Decimal(186500), 0), (Decimal(200000), 75), (Decimal(220000), 100)]
    page = html(response)
    assert "Nothing is saved yet" in page
    # Payment terms: no target, no range, no walk-away figure of its own.
    assert "does not say which way is better" in page
    assert host_scoring(deal) is None


def test_saving_the_scoring_stores_every_issue_and_then_versions_it(rep_client, deal):
    price, payment = deal.issues.all()

    response = rep_client.post(scoring_url(deal), scoring_post(deal, weights=[70, 30]))

    assert response.status_code == 302
    scoring = host_scoring(deal)
    assert (scoring.version, scoring.reservation_score) == (1, Decimal(60))
    saved = {s.issue_id: s for s in scoring.issue_scores.all()}
    assert saved[price.pk].weight == 70
    assert saved[price.pk].points == [["100", 0], ["200", 100]]
    assert saved[payment.pk].weight == 30
    page = html(rep_client.get(scoring_url(deal)))
    assert "Scoring saved." in page
    assert "saved weight 70" in page

    again = scoring_post(deal, version="1", weights=[40, 60], reservation="")
    assert rep_client.post(scoring_url(deal), again).status_code == 302
    scoring.refresh_from_db()
    assert (scoring.version, scoring.reservation_score) == (2, None)
    assert IssueScore.objects.get(issue=price).weight == 40
    assert IssueScore.objects.count() == 2


def saved_state(deal):
    scoring = host_scoring(deal)
    rows = sorted(scoring.issue_scores.values_list("issue_id", "weight", "points"))
    return scoring.version, scoring.reservation_score, rows


@pytest.fixture
def saved_once(rep_client, deal):
    assert rep_client.post(scoring_url(deal), scoring_post(deal)).status_code == 302
    return saved_state(deal)


def post_broken(rep_client, deal, **changes):
    data = scoring_post(deal, version="1")
    data.update(changes)
    return rep_client.post(scoring_url(deal), data)


def test_weights_that_do_not_add_up_to_100_are_refused(rep_client, deal, saved_once):
    price, payment = deal.issues.all()

    response = post_broken(
        rep_client, deal, **{f"weight-{price.pk}": "50", f"weight-{payment.pk}": "20"}
    )

    assert response.status_code == 422
    assert "The weights add up to 70" in html(response)
    assert saved_state(deal) == saved_once


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score-{pk}-1", "", "Give both the value and its score."),
        ("value-{pk}-1", "100", "List each value once"),
        ("score-{pk}-0", "101", "less than or equal to 100"),
        ("value-{pk}-0", "EUR 12", "Enter a number"),
        ("weight-{pk}", "-5", "greater than or equal to 0"),
    ],
)
def test_a_broken_value_function_is_refused_and_nothing_changes(
    rep_client, deal, saved_once, field, value, message
):
    price = deal.issues.first()

    response = post_broken(rep_client, deal, **{field.format(pk=price.pk): value})

    assert response.status_code == 422
    assert message in html(response)
    assert saved_state(deal) == saved_once


def test_a_single_point_is_not_a_value_function(rep_client, deal, saved_once):
    price = deal.issues.first()

    response = post_broken(
        rep_client, deal, **{f"value-{price.pk}-1": "", f"score-{price.pk}-1": ""}
    )

    assert response.status_code == 422
    assert "between 2 and 5 points" in html(response)
    assert saved_state(deal) == saved_once


def test_points_typed_out_of_order_are_sorted(rep_client, deal):
    price = deal.issues.first()
    data = scoring_post(deal)
    data.update({f"value-{price.pk}-0": "300", f"score-{price.pk}-0": "100"})
    data.update({f"value-{price.pk}-1": "100", f"score-{price.pk}-1": "0"})

    assert rep_client.post(scoring_url(deal), data).status_code == 302
    assert IssueScore.objects.get(issue=price).points == [["100", 0], ["300", 100]]


def test_a_stale_scoring_is_refused_and_the_newer_one_kept(
    rep_client, deal, host_access, saved_once
):
    price, payment = deal.issues.all()
    scoring_now = saved_state(deal)
    # A colleague of the same side saves first.
    prep_services.scoring_save(
        access=host_access,
        version=1,
        reservation_score=Decimal(75),
        issues={
            price.pk: prep_services.IssueScoreInput(
                90, points=[(Decimal(1), 0), (Decimal(2), 100)]
            ),
            payment.pk: prep_services.IssueScoreInput(
                10, points=[(Decimal(1), 0), (Decimal(2), 100)]
            ),
        },
    )
    assert saved_state(deal) != scoring_now

    response = post_broken(rep_client, deal)

    assert response.status_code == 422
    assert "Someone saved a newer version" in html(response)
    assert host_scoring(deal).reservation_score == Decimal(75)
    # Saving again from here is a deliberate overwrite of version 2.
    assert response.context["scoring_form"]["version"].value() == "2"


def test_a_scoring_saved_meanwhile_by_a_colleague_is_a_conflict_too(
    rep_client, deal, saved_once
):
    response = rep_client.post(scoring_url(deal), scoring_post(deal, version=""))

    assert response.status_code == 422
    assert "Someone saved a newer version" in html(response)
    assert saved_state(deal) == saved_once


def test_an_issue_added_while_scoring_refuses_the_save(rep_client, deal, saved_once):
    data = scoring_post(deal, version="1")
    IssueFactory(deal=deal, name="Volume", unit="units")

    response = rep_client.post(scoring_url(deal), data)

    assert response.status_code == 422
    # The form now asks for the new issue's weight too.
    assert "Weight of Volume" in html(response)
    assert saved_state(deal) == saved_once


def test_an_issue_added_after_saving_is_flagged_for_review(
    rep_client, deal, saved_once
):
    IssueFactory(deal=deal, name="Volume", unit="units")

    page = html(rep_client.get(scoring_url(deal)))

    assert page.count("Changed since you scored it") == 1


def test_an_option_issue_is_rated_per_option(rep_client, deal):
    support = IssueFactory(
        deal=deal, name="Support", kind=Issue.Kind.OPTIONS, options=["Basic", "Gold"]
    )
    data = scoring_post(deal, weights=[40, 40, 20])

    assert rep_client.post(scoring_url(deal), data).status_code == 302
    assert IssueScore.objects.get(issue=support).ratings == {"Basic": 50, "Gold": 51}

    del data[f"rating-{support.pk}-1"]
    data["version"] = "1"
    response = rep_client.post(scoring_url(deal), data)
    assert response.status_code == 422
    assert IssueScore.objects.get(issue=support).ratings == {"Basic": 50, "Gold": 51}


def test_the_other_sides_scoring_is_never_the_viewers_starting_point(
    rep_client, deal, counterpart_secrets
):
    """The counterpart's saved scoring exists; the host still starts from a
    proposal of its own, and nothing of the counterpart's shows."""
    response = rep_client.get(scoring_url(deal))

    assert response.context["scoring"].scoring is None
    page = html(response)
    assert "Nothing is saved yet" in page
    for secret in counterpart_secrets:
        assert secret not in page
