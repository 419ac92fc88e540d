"""Two-party integrative analysis: utilities, the exact frontier, Nash, moves."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negotiation.scoring.frontier import (
    PRUNE_AT,
    _merge_general,
    _merge_packed,
    brute_force_frontier,
    frontier_of,
    merge_frontier,
    nash_point,
    pareto_frontier,
)
from negotiation.scoring.moves import (
    equivalent_packages,
    improvements,
    is_efficient,
    score_spread,
    zopa_exists,
)
from negotiation.scoring.profiles import (
    UNITS,
    Domain,
    IssueScoring,
    NumericIssue,
    OptionIssue,
    Profile,
    clears_reservation,
    package_score,
    package_utility,
)

DOMAIN = Domain(
    (
        OptionIssue("Payment", ("Net 30", "Net 60", "Net 90")),
        NumericIssue("Price", 100, 200, 10),
        OptionIssue("Pilot", ("none", "3 months")),
    )
)
SELLER = Profile.from_scores(
    DOMAIN,
    weights={"Payment": 20, "Price": 60, "Pilot": 20},
    ratings={
        "Payment": {"Net 30": 100, "Net 60": 50, "Net 90": 0},
        "Pilot": {"none": 100, "3 months": 30},
    },
    points={"Price": [(100, 0), (200, 100)]},
    reservation=40,
)
BUYER = Profile.from_scores(
    DOMAIN,
    weights={"Payment": 50, "Price": 30, "Pilot": 20},
    ratings={
        "Payment": {"Net 30": 0, "Net 60": 60, "Net 90": 100},
        "Pilot": {"none": 0, "3 months": 100},
    },
    points={"Price": [(100, 100), (150, 50), (200, 0)]},
    reservation=35,
)
CURRENT = {"Payment": "Net 30", "Price": "150", "Pilot": "none"}


# --- the reference: every package, compared pair by pair ------------------------


def all_packages(domain):
    for values in itertools.product(*(issue.values for issue in domain.issues)):
        yield dict(zip(domain.names, values, strict=True))


def naive_frontier_points(a, b):
    """The frontier's utility pairs by the definition: pairs no other package
    dominates (quadratic, for small spaces only)."""
    pairs = {(a.utility_units(p), b.utility_units(p)) for p in all_packages(a.domain)}
    return sorted(
        (ua, ub)
        for ua, ub in pairs
        if not any(xa >= ua and xb >= ub and (xa, xb) != (ua, ub) for xa, xb in pairs)
    )


def units(point):
    return tuple(round(u * UNITS) for u in point.utilities)


@st.composite
def profile_pairs(draw, max_issues=4, max_values=4):
    """Two random additive profiles over a random small domain; evaluations
    drawn from a few levels so that equal utility pairs (ties) are common."""
    sizes = draw(st.lists(st.integers(1, max_values), min_size=1, max_size=max_issues))
    domain = Domain(
        tuple(
            OptionIssue(f"issue {i}", tuple(f"v{j}" for j in range(size)))
            for i, size in enumerate(sizes)
        )
    )

    def profile():
        raw = draw(
            st.lists(st.integers(0, 5), min_size=len(sizes), max_size=len(sizes))
        )
        if not sum(raw):
            raw[0] = 1
        scorings = tuple(
            IssueScoring(
                Fraction(w, sum(raw)),
                ratings=tuple(
                    (option, Fraction(draw(st.integers(0, 4)), 4))
                    for option in issue.options
                ),
            )
            for w, issue in zip(raw, domain.issues, strict=True)
        )
        return Profile(domain, scorings, Fraction(draw(st.integers(0, 10)), 10))

    return profile(), profile()


# --- utilities -------------------------------------------------------------------


def test_a_package_scores_its_weighted_ratings_and_value_functions():
    # Seller: Net 30 (100) × 20 % + price 150 halfway up (50) × 60 % + no pilot
    # (100) × 20 % = 20 + 30 + 20.
    assert package_score(SELLER, CURRENT) == 70.0
    # Buyer: 0 + 50 × 30 % + 0.
    assert package_score(BUYER, CURRENT) == 15.0
    assert package_utility(BUYER, CURRENT) == 0.15


def test_a_numeric_value_between_points_is_read_on_the_straight_line():
    between = {**CURRENT, "Price": Decimal("125")}
    # Buyer's price function falls from 100 at 100 to 50 at 150: 75 at 125.
    assert package_score(BUYER, between) == pytest.approx(0 + 0.3 * 75 + 0)


def test_meeting_the_reservation_exactly_clears_it():
    assert clears_reservation(SELLER, CURRENT)
    assert not clears_reservation(BUYER, CURRENT)
    at_reservation = {"Payment": "Net 60", "Price": "100", "Pilot": "3 months"}
    # Buyer: 60 × 50 % + 100 × 30 % + 100 × 20 % = 80; seller: 10 + 0 + 6 = 16.
    edge = Profile.from_scores(
        DOMAIN,
        weights={"Payment": 20, "Price": 60, "Pilot": 20},
        ratings={"Payment": {"Net 60": 50}, "Pilot": {"3 months": 30}},
        reservation=16,
    )
    assert package_score(edge, at_reservation) == 16.0
    assert clears_reservation(edge, at_reservation)


def test_an_incomplete_or_unknown_package_is_refused_in_words():
    with pytest.raises(ValueError, match="leaves open: Pilot"):
        package_score(SELLER, {"Payment": "Net 30", "Price": "150"})
    with pytest.raises(ValueError, match="not an option"):
        package_score(SELLER, {**CURRENT, "Payment": "Net 45"})
    with pytest.raises(ValueError, match="outside the range"):
        package_score(SELLER, {**CURRENT, "Price": "250"})


def test_weights_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="add up"):
        Profile.from_scores(DOMAIN, weights={"Payment": 50, "Price": 30})


def test_a_numeric_issue_is_discretised_at_its_step_or_into_101_values():
    assert NumericIssue("Days", 30, 90, 15).values == tuple(
        Decimal(v) for v in (30, 45, 60, 75, 90)
    )
    # A step that does not divide the range still ends on the upper end.
    assert NumericIssue("Days", 30, 100, 15).values[-2:] == (Decimal(90), Decimal(100))
    no_step = NumericIssue("Price", 0, 1000)
    assert len(no_step.values) == 101
    assert no_step.values[1] == Decimal(10)
    fine = NumericIssue("Price", 0, 1000, "0.5")
    assert len(fine.values) <= 101
    assert fine.values[-1] == Decimal(1000)


# --- the frontier ----------------------------------------------------------------


def test_the_frontier_of_the_example_is_what_the_definition_gives():
    points = pareto_frontier(SELLER, BUYER)
    assert [units(p) for p in points] == naive_frontier_points(SELLER, BUYER)
    assert [p.utilities[0] for p in points] == sorted(p.utilities[0] for p in points)
    best_for_buyer = points[0]
    assert best_for_buyer.outcome == {
        "Payment": "Net 90",
        "Price": Decimal(100),
        "Pilot": "3 months",
    }
    assert best_for_buyer.scores == (6.0, 100.0)


@settings(max_examples=300, deadline=None)
@given(profile_pairs())
def test_the_pairwise_merge_finds_exactly_the_brute_force_frontier(pair):
    a, b = pair
    points = pareto_frontier(a, b)
    assert [units(p) for p in points] == naive_frontier_points(a, b)
    for point in points:
        assert (
            a.utility_units(point.outcome),
            b.utility_units(point.outcome),
        ) == units(point)


@settings(max_examples=200, deadline=None)
@given(profile_pairs(max_issues=5, max_values=5), st.sampled_from([0, 8, PRUNE_AT]))
def test_merge_and_vectorised_brute_force_keep_the_same_package_for_ties(
    pair, prune_at
):
    # prune_at=0 prunes after every issue; PRUNE_AT (the default) defers it.
    a, b = pair
    merged = merge_frontier(list(a.tables), list(b.tables), prune_at=prune_at)
    brute = brute_force_frontier(list(a.tables), list(b.tables))
    for mine, reference in zip(merged, brute, strict=True):
        assert np.array_equal(mine, reference)
    assert [tuple(point) for point in zip(*brute[:2], strict=True)] == (
        naive_frontier_points(a, b)
    )


@st.composite
def unit_tables(draw, max_issues=5, max_values=6):
    """Both sides' unit tables straight: a few levels times a unit per side
    (1, 7 or the app's 10⁵), ragged issues, ties and all-zero sides common."""
    sizes = draw(st.lists(st.integers(1, max_values), min_size=1, max_size=max_issues))

    def side():
        unit = draw(st.sampled_from([1, 7, 10**5]))
        return [
            np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))) * unit
            for n in sizes
        ]

    return side(), side()


@settings(max_examples=300, deadline=None)
@given(unit_tables(), st.sampled_from([0, 8, PRUNE_AT]))
def test_the_packed_and_the_general_merge_each_give_the_brute_force_frontier(
    tables, prune_at
):
    tables_a, tables_b = tables
    brute = brute_force_frontier(tables_a, tables_b)
    packed = _merge_packed(tables_a, tables_b, prune_at)
    assert packed is not None  # a few levels per issue always fit in the key
    for merged in (packed, _merge_general(tables_a, tables_b, prune_at)):
        for mine, reference in zip(merged, brute, strict=True):
            assert np.array_equal(mine, reference)


def test_the_packed_merge_declines_a_key_too_wide_and_the_general_one_answers():
    # Units with no common divisor need 30 bits per side: 60 + 4 × 4 > 62.
    rng = np.random.default_rng(3)
    tables = [[rng.integers(0, UNITS // 4, 10) for _ in range(4)] for _ in range(2)]
    assert _merge_packed(*tables, PRUNE_AT) is None
    for mine, reference in zip(
        merge_frontier(*tables), brute_force_frontier(*tables), strict=True
    ):
        assert np.array_equal(mine, reference)


def test_of_packages_tied_on_both_utilities_the_first_in_domain_order_is_kept():
    domain = Domain((OptionIssue("A", ("x", "y")), OptionIssue("B", ("p", "q"))))
    # Both sides value x+q exactly like y+p: one point, two packages.
    scoring = IssueScoring(Fraction(1, 2), ratings=(("x", Fraction(1)), ("y", 0)))
    other = IssueScoring(Fraction(1, 2), ratings=(("p", Fraction(1)), ("q", 0)))
    a = Profile(domain, (scoring, other))
    b = Profile(domain, (scoring, other))
    points = pareto_frontier(a, b)
    assert [p.outcome for p in points] == [{"A": "x", "B": "p"}]
    flat = Profile(domain, (IssueScoring(Fraction(1, 2), ()), other))
    tied = pareto_frontier(flat, flat)
    assert [p.outcome for p in tied] == [{"A": "x", "B": "p"}]


def test_profiles_of_different_domains_cannot_be_compared():
    other = Domain((OptionIssue("Payment", ("Net 30",)),))
    lone = Profile(other, (IssueScoring(Fraction(1)),))
    with pytest.raises(ValueError, match="same issues"):
        pareto_frontier(SELLER, lone)


# --- Nash ------------------------------------------------------------------------


def test_the_nash_point_of_the_example():
    nash = nash_point(SELLER, BUYER)
    assert nash.outcome == {
        "Payment": "Net 90",
        "Price": Decimal(200),
        "Pilot": "3 months",
    }
    assert nash.scores == (66.0, 70.0)


@settings(max_examples=300, deadline=None)
@given(profile_pairs())
def test_the_nash_point_maximises_the_product_over_every_package(pair):
    a, b = pair
    ra, rb = a.reservation_units, b.reservation_units
    products = [
        (a.utility_units(p) - ra) * (b.utility_units(p) - rb)
        for p in all_packages(a.domain)
        if a.utility_units(p) >= ra and b.utility_units(p) >= rb
    ]
    nash = nash_point(a, b)
    assert zopa_exists(a, b) == bool(products)
    if not products:
        assert nash is None
        return
    ua, ub = units(nash)
    assert (ua - ra) * (ub - rb) == max(products)
    assert clears_reservation(a, nash.outcome)
    assert clears_reservation(b, nash.outcome)


def test_no_zopa_when_no_package_clears_both_reservations():
    greedy = Profile(SELLER.domain, SELLER.scorings, Fraction(95, 100))
    assert not zopa_exists(greedy, BUYER)
    assert nash_point(greedy, BUYER) is None
    assert zopa_exists(SELLER, BUYER)


# --- the room's questions --------------------------------------------------------


def test_terms_off_the_frontier_are_not_efficient_and_frontier_terms_are():
    assert not is_efficient(SELLER, BUYER, CURRENT)
    for point in pareto_frontier(SELLER, BUYER):
        assert is_efficient(SELLER, BUYER, point.outcome)


def test_improvements_of_the_example_are_the_nearest_to_nash_that_beat_the_terms():
    found = improvements(SELLER, BUYER, CURRENT)
    assert [p.scores for p in found] == [(74.0, 53.0), (80.0, 50.0), (84.0, 33.0)]


@settings(max_examples=200, deadline=None)
@given(profile_pairs(), st.data())
def test_every_improvement_pareto_dominates_the_current_terms(pair, data):
    a, b = pair
    current = data.draw(st.sampled_from(list(all_packages(a.domain))))
    ca, cb = a.utility_units(current), b.utility_units(current)
    found = improvements(a, b, current, k=3)
    efficient = is_efficient(a, b, current)
    assert (found == []) == efficient
    assert len(found) <= 3
    for point in found:
        ua, ub = a.utility_units(point.outcome), b.utility_units(point.outcome)
        assert ua >= ca
        assert ub >= cb
        assert ua > ca or ub > cb
        assert is_efficient(a, b, point.outcome)


def test_equivalent_packages_score_alike_and_vary_what_the_other_side_ranks_first():
    packages = equivalent_packages(SELLER, ["Payment", "Pilot"], n=3, tolerance=2.0)
    assert len(packages) == 3
    # Around halfway between the reservation (40) and the best score (100).
    for package in packages:
        assert abs(package_score(SELLER, package) - 70) <= 2.0
    assert score_spread(SELLER, packages) <= 4.0
    # Three options of the buyer's top issue, three packages: all differ there.
    assert {p["Payment"] for p in packages} == {"Net 30", "Net 60", "Net 90"}
    assert len({tuple(p.values()) for p in packages}) == 3


@settings(max_examples=100, deadline=None)
@given(
    profile_pairs(max_issues=4, max_values=5),
    st.floats(10, 90),
    st.floats(0.5, 5),
)
def test_equivalent_packages_always_stay_within_the_tolerance(pair, around, tolerance):
    profile = pair[0]
    order = list(reversed(profile.domain.names))
    packages = equivalent_packages(
        profile, order, n=3, tolerance=tolerance, around=around
    )
    assert len({tuple(p.values()) for p in packages}) == len(packages)
    for package in packages:
        assert abs(package_score(profile, package) - around) <= tolerance + 1e-9


def test_the_spread_is_the_gap_between_the_highest_and_lowest_own_score():
    low = {"Payment": "Net 90", "Price": "100", "Pilot": "3 months"}
    assert score_spread(SELLER, [CURRENT, low]) == pytest.approx(70 - 6)
    assert score_spread(SELLER, [CURRENT]) == 0.0


def test_a_tie_on_the_frontier_keeps_the_package_first_in_domain_order():
    # Packages (0, 0) and (1, 1) both give (1, 3), and no package beats it;
    # the sort of the merge meets (1, 1) first, the rule wants (0, 0).
    tables_a = [np.array([1, 0]), np.array([0, 1])]
    tables_b = [np.array([1, 2]), np.array([2, 1])]
    ua, ub, choices = merge_frontier(tables_a, tables_b)
    assert ua.tolist() == [0, 1, 2]
    assert ub.tolist() == [4, 3, 2]
    assert choices.tolist() == [[1, 0], [0, 0], [0, 1]]
    for mine, reference in zip(
        (ua, ub, choices), brute_force_frontier(tables_a, tables_b), strict=True
    ):
        assert np.array_equal(mine, reference)


def test_the_frontier_of_ten_issues_of_ten_options_comes_without_enumerating():
    rng = np.random.default_rng(5)
    tables = []
    for _ in range(2):
        weights = rng.random(10)
        weights /= weights.sum()
        tables.append(
            [np.rint(w * rng.random(10) * UNITS).astype(np.int64) for w in weights]
        )
    ua, ub, choices = merge_frontier(*tables, prune_at=0)
    assert np.array_equal(merge_frontier(*tables)[2], choices)
    assert choices.shape == (len(ua), 10)
    recomputed_a = sum(tables[0][i][choices[:, i]] for i in range(10))
    recomputed_b = sum(tables[1][i][choices[:, i]] for i in range(10))
    assert np.array_equal(recomputed_a, ua)
    assert np.array_equal(recomputed_b, ub)
    assert np.all(np.diff(ua) > 0)
    assert np.all(np.diff(ub) < 0)


def test_frontier_of_checks_both_profiles_once():
    frontier = frontier_of(SELLER, BUYER)
    assert len(frontier) == len(pareto_frontier(SELLER, BUYER))
