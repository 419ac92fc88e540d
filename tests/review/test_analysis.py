"""The pure analysis behind reviews and the dashboard: no database involved."""

from __future__ import annotations

import datetime
from decimal import Decimal

import icalendar
import pytest

from common.numbers import format_number, parse_number
from review.analysis.concessions import ConcessionEntry, concession_balance
from review.analysis.ics import CalendarEntry, build_ics
from review.analysis.narrative import EventNames, describe
from review.analysis.outcome import IssueTarget, compare_outcome, headline_issue
from review.analysis.replay import LoggedEvent, TradeValues, replay_term_sheet
from review.analysis.stages import average_stage_days, stage_durations
from room.schedule import check_in_schedule, next_check_in

T0 = datetime.datetime(2027, 1, 4, 9, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


# --- numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("201000", Decimal("201000")),
        ("EUR 212k", Decimal("212000")),
        ("1.5k EUR", Decimal("1500")),
        ("45 days", Decimal("45")),
        ("-8%", Decimal("-8")),
        ("186,500.50", Decimal("186500.50")),
        ("Net 30", Decimal("30")),
    ],
)
def test_a_term_holding_one_number_reads_as_that_number(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["", None, "Remote only", "between 30 and 45 days"])
def test_a_term_holding_no_number_or_several_is_not_read_as_one(text):
    assert parse_number(text) is None


def test_figures_are_formatted_for_people():
    assert format_number(Decimal("186500")) == "186,500"
    assert format_number(Decimal("12.50")) == "12.5"
    assert format_number(None) == "—"


# --- the term sheet replay -----------------------------------------------------------


def event(seq: int, kind: str, **payload) -> LoggedEvent:
    return LoggedEvent(seq=seq, kind=kind, payload=payload, created_at=T0 + seq * DAY)


PRICE, PAYMENT, SUPPORT = 11, 12, 13
TRADES = {7: TradeValues(PRICE, "201000", PAYMENT, "45 days")}
PICKS = {3: {str(PRICE): "225000", str(PAYMENT): "30 days", str(SUPPORT): "Lead"}}


def test_the_replay_rebuilds_the_term_sheet_after_each_event():
    events = [
        event(1, "deal.created"),
        event(2, "meso.answered", meso_id=3),
        event(3, "trade.accepted", trade_id=7),
        event(4, "message.posted", message_id=1),
        event(5, "term.updated", issue_id=SUPPORT, value="Two on-site weeks"),
    ]
    replay = replay_term_sheet(
        events,
        issue_ids=[PRICE, PAYMENT, SUPPORT],
        trades=TRADES,
        picks=PICKS,
        final_terms={PRICE: "201000", PAYMENT: "45 days", SUPPORT: "Two on-site weeks"},
    )

    def sheet(number):
        return {k: c.value for k, c in replay.step(number).terms.items()}

    assert sheet(1) == {}
    assert sheet(2) == {PRICE: "225000", PAYMENT: "30 days", SUPPORT: "Lead"}
    assert sheet(3) == {PRICE: "201000", PAYMENT: "45 days", SUPPORT: "Lead"}
    assert sheet(4) == sheet(3)
    assert sheet(5)[SUPPORT] == "Two on-site weeks"
    # What changed at a step is marked, and only at that step.
    assert {k for k, c in replay.step(3).terms.items() if c.changed} == {PRICE, PAYMENT}
    assert not any(c.changed for c in replay.step(4).terms.values())
    assert replay.reconciles
    assert [c.value for c in replay.series(PRICE)] == ["225000", "201000"]
    # Steps are clamped into the log.
    assert replay.step(0).number == 1
    assert replay.step(99).number == 5


def test_an_unrecorded_edit_is_known_only_when_it_was_the_last_write():
    """Logs from before ``term.updated`` carried its value."""
    events = [
        event(1, "term.updated", issue_id=PRICE),  # overwritten later: unknown
        event(2, "term.updated", issue_id=PRICE),  # last write: the final value
        event(3, "term.updated", issue_id=PAYMENT, value="60 days"),
    ]
    replay = replay_term_sheet(
        events,
        issue_ids=[PRICE, PAYMENT],
        trades={},
        picks={},
        final_terms={PRICE: "199000", PAYMENT: "60 days"},
    )

    first, second, _ = replay.steps
    assert not first.terms[PRICE].known
    assert first.terms[PRICE].value is None
    assert second.terms[PRICE].value == "199000"
    assert replay.unknown_count == 1
    assert replay.reconciles


def test_a_set_answered_twice_writes_its_pick_at_the_last_answer_only():
    events = [
        event(1, "meso.answered", meso_id=3),
        event(2, "meso.answered", meso_id=3),
    ]
    replay = replay_term_sheet(
        events,
        issue_ids=[PRICE, PAYMENT, SUPPORT],
        trades={},
        picks=PICKS,
        final_terms={PRICE: "225000", PAYMENT: "30 days", SUPPORT: "Lead"},
    )

    assert replay.steps[0].terms == {}
    assert replay.steps[1].terms[PRICE].value == "225000"


def test_writes_to_issues_no_longer_on_the_agenda_are_left_out():
    events = [event(1, "trade.accepted", trade_id=7)]
    replay = replay_term_sheet(
        events, issue_ids=[PAYMENT], trades=TRADES, picks={}, final_terms={}
    )

    assert set(replay.steps[0].terms) == {PAYMENT}
    assert not replay.reconciles  # the stored sheet lacks what the log wrote


def test_an_empty_log_replays_to_nothing():
    replay = replay_term_sheet([], issue_ids=[], trades={}, picks={}, final_terms={})

    assert replay.step(1) is None
    assert len(replay) == 0


def test_each_event_is_told_in_one_sentence_with_its_shared_facts():
    names = EventNames(
        issues={PRICE: "Price", PAYMENT: "Payment terms"},
        trades=TRADES,
        stages={"midgame": "Midgame"},
        sides={"host": "Helio", "counterpart": "Acme"},
    )
    accepted = LoggedEvent(
        3, "trade.accepted", {"trade_id": 7}, T0, side="host", actor="Robin"
    )
    moved = LoggedEvent(2, "stage.accepted", {"stage": "midgame"}, T0, "counterpart")
    edit = LoggedEvent(4, "term.updated", {"issue_id": PRICE, "value": "199k"}, T0)

    assert describe(accepted, names) == (
        "Robin (Helio) accepted “if we give Price: 201000, "
        "can you give Payment terms: 45 days?”."
    )
    assert describe(moved, names) == (
        "Acme accepted the move: the deal is now in Midgame."
    )
    assert describe(edit, names) == "Someone set Price to “199k” on the term sheet."


# --- stages ------------------------------------------------------------------------


def test_time_in_each_stage_runs_from_one_accepted_change_to_the_next():
    durations = stage_durations(
        started_at=T0,
        changes=[
            (T0 + 5 * DAY, "midgame"),  # given out of order on purpose
            (T0 + 2 * DAY, "first_move"),
            (T0 + 9 * DAY, "first_move"),  # a step back…
            (T0 + 10 * DAY, "midgame"),  # …and forward again
            (T0 + 30 * DAY, "implementation"),  # after the end: not counted
        ],
        ended_at=T0 + 12 * DAY,
    )

    assert durations == {
        "setup": 2 * DAY,
        "first_move": 4 * DAY,
        "midgame": 6 * DAY,
    }


def test_the_team_average_counts_the_deals_that_spent_time_in_a_stage():
    averages = average_stage_days(
        [{"setup": 2 * DAY, "midgame": 4 * DAY}, {"setup": 4 * DAY}],
        [("setup", "Setup"), ("midgame", "Midgame"), ("close", "Close")],
    )

    assert [(a.stage, a.average_days, a.deals) for a in averages] == [
        ("setup", 3.0, 2),
        ("midgame", 4.0, 1),
        ("close", 0.0, 0),
    ]


# --- concessions ---------------------------------------------------------------------


def entry(side, to_us, to_them) -> ConcessionEntry:
    return ConcessionEntry(side, "item", "give", "get", to_us, to_them, T0)


def test_the_balance_weighs_what_a_side_gave_against_what_it_got():
    entries = [
        entry("host", Decimal(5000), Decimal(12000)),
        entry("host", None, None),
        entry("counterpart", Decimal(1000), Decimal(4000)),  # shared
        entry("counterpart", None, None),  # not shared: hidden upstream
    ]

    balance = concession_balance(entries, side="host")

    assert (balance.gave, balance.got) == (2, 2)
    assert (balance.gave_cost, balance.gave_worth) == (Decimal(5000), Decimal(12000))
    assert balance.gave_net == Decimal(7000)
    assert balance.gave_unvalued == 1
    assert (balance.got_cost, balance.got_worth) == (Decimal(1000), Decimal(4000))
    assert balance.got_unvalued == 1
    assert balance.count_balance == 0


# --- outcome against targets -----------------------------------------------------


def test_the_headline_lands_between_walk_away_and_target():
    targets = [
        IssueTarget(1, "Price", "EUR", importance=5, ideal="212k",
                    opening_low=Decimal(220000), opening_high=Decimal(240000)),
        IssueTarget(2, "Payment", "days", importance=3, ideal="45 days",
                    opening_low=Decimal(30), opening_high=Decimal(40)),
        IssueTarget(3, "Support", numeric=False, importance=2, ideal="Remote only"),
        IssueTarget(4, "Start", "weeks", importance=1),
    ]  # fmt: skip

    report = compare_outcome(
        targets=targets,
        final_terms={1: "EUR 201,000", 2: "60 days", 3: "remote ONLY"},
        reservation_value=Decimal(186500),
    )

    price, payment, support, start = report.issues
    assert (price.verdict, price.gap) == ("short", Decimal(-11000))
    # Opening at 30–40 days for a 45-day target: fewer days are better here.
    assert (payment.direction, payment.verdict, payment.gap) == (-1, "short", -15)
    assert support.verdict == "met"
    assert start.verdict == "open"
    headline = report.headline
    assert headline.name == "Price"
    assert headline.surplus == Decimal(14500)
    assert headline.left == Decimal(11000)
    assert round(headline.share_of_range, 3) == round(14500 / 25500, 3)
    assert not headline.below_walkaway
    assert [o.name for o in report.left] == ["Price", "Payment"]
    assert [o.name for o in report.created] == ["Support"]


def test_a_buyer_below_its_walk_away_is_flagged():
    """A buyer walks away above 150: lower is better, 160 is past the limit."""
    targets = [IssueTarget(1, "Price", importance=5, ideal="120")]

    report = compare_outcome(
        targets=targets, final_terms={1: "160"}, reservation_value=Decimal(150)
    )

    assert report.headline.direction == -1
    assert report.headline.surplus == Decimal(-10)
    assert report.headline.below_walkaway
    assert report.issues[0].verdict == "short"


def test_without_a_direction_a_gap_gets_no_verdict():
    targets = [IssueTarget(1, "Volume", ideal="500 units")]

    report = compare_outcome(
        targets=targets, final_terms={1: "450 units"}, reservation_value=None
    )

    assert report.headline is None
    assert (report.issues[0].verdict, report.issues[0].gap) == ("differs", -50)


def test_the_headline_issue_is_the_most_important_numeric_one():
    targets = [
        IssueTarget(1, "Scope", numeric=False, importance=5),
        IssueTarget(2, "Term", importance=3),
        IssueTarget(3, "Price", importance=3),
    ]

    assert headline_issue(targets).name == "Term"  # first among equals


# --- check-in schedule and calendar -------------------------------------------------


def test_the_next_check_in_follows_the_last_one_held_at_the_cadence():
    closed = datetime.date(2027, 1, 1)

    assert next_check_in(closed_on=None, last_held=None, cadence="weekly") is None
    assert next_check_in(closed_on=closed, last_held=None, cadence="weekly") == (
        datetime.date(2027, 1, 8)
    )
    assert next_check_in(
        closed_on=closed, last_held=datetime.date(2027, 2, 1), cadence="fortnightly"
    ) == datetime.date(2027, 2, 15)


def test_a_missed_check_in_is_overdue_and_the_schedule_resumes_from_today():
    schedule = check_in_schedule(
        closed_on=datetime.date(2027, 1, 1),
        held=[datetime.date(2027, 1, 8)],
        cadence="weekly",
        today=datetime.date(2027, 1, 20),
    )

    assert [(s.date.isoformat(), s.status) for s in schedule] == [
        ("2027-01-08", "held"),
        ("2027-01-15", "overdue"),
        ("2027-01-22", "due"),
        ("2027-01-29", "upcoming"),
        ("2027-02-05", "upcoming"),
    ]


def test_the_schedule_runs_past_the_last_commitment_due_date():
    schedule = check_in_schedule(
        closed_on=datetime.date(2027, 1, 1),
        held=[],
        cadence="monthly",
        today=datetime.date(2027, 1, 2),
        until=datetime.date(2027, 6, 1),
    )

    assert schedule[-1].date > datetime.date(2027, 6, 1)
    assert len(schedule) == 6


def test_the_calendar_is_valid_icalendar_with_escaped_folded_lines():
    body = build_ics(
        [
            CalendarEntry(
                uid="a@parley",
                day=datetime.date(2027, 1, 15),
                summary="Check-in; Acme, renewal",
                description="Line one\nLine two — " + "long " * 30 + "C:\\x",
            )
        ],
        name="Parley",
        now=T0,
    )

    lines = body.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert body.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Check-in\\; Acme\\, renewal" in lines
    assert "DTSTART;VALUE=DATE:20270115" in lines
    assert "DTEND;VALUE=DATE:20270116" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "Line one\\nLine two" in body
    assert any(line.startswith(" ") for line in lines)  # folded
    assert "C:\\\\x" in body.replace("\r\n ", "")  # a backslash, escaped
    parsed = icalendar.Calendar.from_ical(body)
    (event,) = parsed.walk("VEVENT")
    assert event["DESCRIPTION"].endswith("long C:\\x")


def test_the_calendar_holds_no_control_character():
    breaks = "a\x0bb\x0cc\x85d\u2028e\u2029f\rg"
    body = build_ics(
        [
            CalendarEntry(
                uid="a@parley",
                day=datetime.date(2027, 1, 15),
                summary=f"Due: {breaks}\x00\x1b\x7f!",
                description=breaks,
            )
        ],
        name=f"Parley\x0b{breaks}",
        now=T0,
    )

    unfolded = body.replace("\r\n ", "").removesuffix("\r\n")
    for line in unfolded.split("\r\n"):
        assert line.isprintable(), repr(line)
    assert "SUMMARY:Due: a\\nb\\nc\\nd\\ne\\nf\\ng!" in unfolded
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(event["DESCRIPTION"]) == "a\nb\nc\nd\ne\nf\ng"


@pytest.mark.parametrize(
    ("final", "ideal"),
    [
        ("a 12-week pilot…", "12-week pilot…"),
        ("A 12-week pilot", "12-week pilot"),
        ("The 12 week pilot.", "12-week pilot"),
        ("12‑week  pilot", "12–week pilot"),  # non-breaking hyphen, en dash
        ("an on-site week", "On site week"),
        ("“Remote only”", "remote only"),
    ],
)
def test_an_option_written_differently_still_meets_its_target(final, ideal):
    target = IssueTarget(1, "Pilot", numeric=False, importance=3, ideal=ideal)

    report = compare_outcome(
        targets=[target], final_terms={1: final}, reservation_value=None
    )

    assert report.issues[0].verdict == "met"


@pytest.mark.parametrize(
    ("final", "ideal"),
    [
        ("a 6-week pilot", "12-week pilot"),
        ("no pilot", "pilot"),
        ("pilot", "12-week pilot"),
        ("Remote", "Remote only"),
        ("a pilot then a rollout", "a pilot"),
        ("12-week pilots", "12-week pilot"),
    ],
)
def test_a_different_option_is_still_short_of_its_target(final, ideal):
    target = IssueTarget(1, "Pilot", numeric=False, importance=3, ideal=ideal)

    report = compare_outcome(
        targets=[target], final_terms={1: final}, reservation_value=None
    )

    assert report.issues[0].verdict == "short"
