"""The room's services, through the flows the two sides walk: stages, shared
positions, conditional trades, MESO packages, the concession log, the term
sheet, commitments, the agreement and its check-ins.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit; every refused one writes and broadcasts nothing.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from negotiation.access import (
    GUESTS_SESSION_KEY,
    DealAccess,
    deal_access_for_user,
    room_access,
)
from negotiation.models import Deal, DealEvent, Issue, Participant
from negotiation.services import base
from negotiation.services import deals as deal_services
from negotiation.services.base import EditConflict
from room import services
from room.models import (
    AgreementConfirmation,
    CheckIn,
    Commitment,
    Concession,
    MesoSet,
    Message,
    SharedPosition,
    StageChange,
    TermSheetEntry,
    Trade,
)
from tests.factories import make_deal

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- the event log and the broadcast ------------------------------------------


class EventLog:
    """Asserts what one service call wrote to the deal's log and broadcast."""

    def __init__(self, deal: Deal, capture, sent: list) -> None:
        self.deal = deal
        self.capture = capture
        self.sent = sent

    def _events(self) -> list[DealEvent]:
        return list(DealEvent.objects.filter(deal=self.deal).order_by("seq"))

    @contextlib.contextmanager
    def expect(self, kind: str) -> Iterator[None]:
        """The block appends one ``kind`` event, broadcast once after commit."""
        before = self._events()
        self.sent.clear()
        with self.capture(execute=True) as callbacks:
            yield
            assert self.sent == [], "broadcast before the transaction committed"
        new = self._events()[len(before) :]
        assert [event.kind for event in new] == [kind]
        event = new[0]
        assert event.seq == (before[-1].seq if before else 0) + 1  # gapless
        assert Deal.objects.get(pk=self.deal.pk).last_seq == event.seq
        assert len(callbacks) == 1
        assert self.sent == [
            (
                self.deal.pk,
                {
                    "type": "deal.event",
                    "seq": event.seq,
                    "kind": kind,
                    "event_id": event.pk,
                    "actor_id": event.actor_id,
                    # Ids only: no other payload value leaves the database.
                    "ids": {
                        key: value
                        for key, value in event.payload.items()
                        if key.endswith("_id")
                    },
                },
            )
        ]

    @contextlib.contextmanager
    def refused(
        self, exception: type[Exception] = ValidationError, match: str | None = None
    ) -> Iterator[pytest.ExceptionInfo]:
        """The block raises ``exception`` and writes and broadcasts nothing."""
        before = self._events()
        self.sent.clear()
        with (
            self.capture(execute=True) as callbacks,
            pytest.raises(exception, match=match) as info,
        ):
            yield info
        assert self._events() == before
        assert callbacks == []
        assert self.sent == []


@pytest.fixture
def log(deal, django_capture_on_commit_callbacks, monkeypatch) -> EventLog:
    sent: list = []
    monkeypatch.setattr(
        base, "broadcast", lambda deal_id, message: sent.append((deal_id, message))
    )
    return EventLog(deal, django_capture_on_commit_callbacks, sent)


# --- the two sides ------------------------------------------------------------


def access_of_guest(deal: Deal, participant: Participant) -> DealAccess:
    session = {GUESTS_SESSION_KEY: {str(deal.pk): participant.pk}}
    return room_access(AnonymousUser(), session, deal.pk)


@pytest.fixture
def host(host_access) -> DealAccess:
    return host_access


@pytest.fixture
def guest_access(deal, guest) -> DealAccess:
    return access_of_guest(deal, guest[1])


@pytest.fixture
def issues(deal) -> tuple[Issue, Issue]:
    price, terms = deal.issues.order_by("position")
    return price, terms


def at_stage(deal: Deal, stage: str) -> Deal:
    Deal.objects.filter(pk=deal.pk).update(stage=stage)
    deal.refresh_from_db()
    return deal


def fresh(obj):
    obj.refresh_from_db()
    return obj


# --- stages -------------------------------------------------------------------


def test_a_stage_changes_when_one_side_proposes_and_the_other_accepts(
    deal, host, guest_access, log
):
    with log.expect("stage.proposed"):
        change = services.stage_change_propose(
            access=host, to_stage=Stage.FIRST_MOVE, note="  Agenda agreed  "
        )
    assert fresh(deal).stage == Stage.SETUP  # nothing moves on a proposal
    version = deal.version

    with log.expect("stage.accepted"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    change.refresh_from_db()
    assert change.status == StageChange.Status.ACCEPTED
    assert change.note == "Agenda agreed"
    assert change.decided_by == guest_access.participant
    assert fresh(deal).stage == Stage.FIRST_MOVE
    assert deal.version == version + 1


def test_only_one_stage_change_waits_at_a_time(deal, host, guest_access, log):
    services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(match="already waiting"):
        services.stage_change_propose(access=guest_access, to_stage=Stage.FIRST_MOVE)


@pytest.mark.parametrize("stage", [Stage.MIDGAME, Stage.CLOSE, Stage.SETUP])
def test_a_deal_moves_one_stage_at_a_time(deal, host, log, stage):
    with log.refused(match="one stage at a time"):
        services.stage_change_propose(access=host, to_stage=stage)


def test_a_deal_can_go_back_one_stage(deal, host, guest_access, log):
    at_stage(deal, Stage.MIDGAME)

    change = services.stage_change_propose(access=guest_access, to_stage="first_move")
    services.stage_change_respond(access=host, change_id=change.pk, accept=True)

    assert fresh(deal).stage == Stage.FIRST_MOVE


def test_the_proposer_cannot_accept_its_own_stage_change(deal, host, log):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(PermissionDenied):
        services.stage_change_respond(access=host, change_id=change.pk, accept=True)

    assert fresh(change).status == StageChange.Status.PENDING
    assert fresh(deal).stage == Stage.SETUP


def test_a_declined_stage_change_leaves_the_stage_and_frees_the_way(
    deal, host, guest_access, log
):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.expect("stage.declined"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=False
        )
    with log.refused(match="already answered"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    assert fresh(change).status == StageChange.Status.DECLINED
    assert fresh(deal).stage == Stage.SETUP
    with log.expect("stage.proposed"):
        services.stage_change_propose(access=guest_access, to_stage=Stage.FIRST_MOVE)


def test_only_the_proposer_withdraws_a_stage_change(deal, host, guest_access, log):
    change = services.stage_change_propose(access=host, to_stage=Stage.FIRST_MOVE)

    with log.refused(PermissionDenied):
        services.stage_change_withdraw(access=guest_access, change_id=change.pk)
    with log.expect("stage.withdrawn"):
        services.stage_change_withdraw(access=host, change_id=change.pk)
    with log.refused(match="already answered"):
        services.stage_change_respond(
            access=guest_access, change_id=change.pk, accept=True
        )

    assert fresh(change).status == StageChange.Status.WITHDRAWN
    assert fresh(deal).stage == Stage.SETUP


def test_a_stage_change_of_another_deal_cannot_be_answered(deal, guest_access, log):
    other = make_deal(title="Other")
    foreign = services.stage_change_propose(
        access=deal_access_for_user(other.owner, other.pk), to_stage=Stage.FIRST_MOVE
    )

    with log.refused(match="does not exist"):
        services.stage_change_respond(
            access=guest_access, change_id=foreign.pk, accept=True
        )

    assert fresh(foreign).status == StageChange.Status.PENDING
    assert fresh(other).stage == Stage.SETUP


# --- Setup --------------------------------------------------------------------


def test_setup_is_co_edited_and_a_stale_edit_is_refused(deal, host, guest_access, log):
    with log.expect("setup.updated"):
        services.setup_update(
            access=guest_access,
            version=deal.version,
            shared_purpose=" A rollout both boards sign off ",
            ground_rules="Interests, not walk-away points",
        )
    with log.refused(EditConflict):
        services.setup_update(
            access=host, version=deal.version, shared_purpose="Mine", ground_rules=""
        )

    assert fresh(deal).shared_purpose == "A rollout both boards sign off"
    assert deal.ground_rules == "Interests, not walk-away points"


# --- First Move: shared positions ---------------------------------------------


@pytest.fixture
def first_move(deal) -> Deal:
    return at_stage(deal, Stage.FIRST_MOVE)


def test_a_side_shares_its_interests_ranking_and_chosen_matrix_columns(
    first_move, issues, guest_access, log
):
    price, terms = issues

    with log.expect("position.updated"):
        position = services.position_update(
            access=guest_access,
            version=None,
            interests=" Cash flow in Q4 ",
            ranking=[terms.pk, price.pk],
            shared_matrix={str(price.pk): ["want_get", "can_give"]},
        )

    position.refresh_from_db()
    assert position.party == guest_access.party
    assert position.interests == "Cash flow in Q4"
    assert position.ranking == [terms.pk, price.pk]
    assert position.shared_matrix == {str(price.pk): ["can_give", "want_get"]}
    assert DealEvent.objects.filter(deal=first_move).last().payload == {
        "party": "counterpart"
    }


def test_a_position_update_names_the_version_it_was_made_on(
    first_move, issues, host, log
):
    price, _ = issues
    position = services.position_update(
        access=host, version=None, interests="v1", ranking=[price.pk]
    )

    with log.expect("position.updated"):
        services.position_update(
            access=host, version=position.version, interests="v2", ranking=[]
        )
    with log.refused(EditConflict):
        services.position_update(
            access=host, version=position.version, interests="v3", ranking=[]
        )

    assert fresh(position).interests == "v2"


@pytest.mark.parametrize("ranking", ["duplicate", "foreign", "not an id"])
def test_the_ranking_holds_this_deals_issues_at_most_once(
    first_move, issues, host, log, ranking
):
    price, terms = issues
    foreign = make_deal(title="Other").issues.create(name="Volume")
    ranking = {
        "duplicate": [price.pk, terms.pk, price.pk],
        "foreign": [price.pk, foreign.pk],
        "not an id": [price.pk, "terms"],
    }[ranking]

    with log.refused() as refusal:
        services.position_update(
            access=host, version=None, interests="", ranking=ranking
        )

    assert "ranking" in refusal.value.message_dict
    assert not SharedPosition.objects.exists()


@pytest.mark.parametrize(
    "column", ["importance", "batna", "reservation_point", "reservation_value"]
)
def test_only_what_a_side_can_give_wants_and_would_ideally_get_can_be_shared(
    first_move, issues, host, log, column
):
    price, _ = issues
    position = services.position_update(
        access=host,
        version=None,
        interests="Shared",
        ranking=[price.pk],
        shared_matrix={str(price.pk): ["can_give"]},
    )

    with log.refused(match="Walk-away points never leave your side"):
        services.position_update(
            access=host,
            version=position.version,
            interests="Changed",
            ranking=[price.pk],
            shared_matrix={str(price.pk): ["can_give", column]},
        )

    position.refresh_from_db()
    assert position.interests == "Shared"
    assert position.shared_matrix == {str(price.pk): ["can_give"]}


def test_a_matrix_row_of_another_deals_issue_cannot_be_shared(first_move, host, log):
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused(match="not on this deal's agenda"):
        services.position_update(
            access=host,
            version=None,
            interests="",
            ranking=[],
            shared_matrix={str(foreign.pk): ["can_give"]},
        )


def test_positions_are_shared_in_first_move_and_midgame_only(deal, issues, host, log):
    with log.refused() as refusal:
        services.position_update(access=host, version=None, interests="", ranking=[])

    assert refusal.value.code == "wrong_stage"


# --- Midgame: conditional trades ----------------------------------------------


@pytest.fixture
def midgame(deal) -> Deal:
    return at_stage(deal, Stage.MIDGAME)


def propose(access: DealAccess, give: Issue, give_value, ask: Issue, ask_value):
    return services.trade_propose(
        access=access,
        give_issue_id=give.pk,
        give_value=give_value,
        ask_issue_id=ask.pk,
        ask_value=ask_value,
    )


def test_propose_counter_accept_puts_both_values_on_the_term_sheet(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    with log.expect("trade.proposed"):
        opening = propose(host, price, "-5%", terms, "30 days")
    with log.expect("trade.countered"):
        counter = services.trade_counter(
            access=guest_access,
            trade_id=opening.pk,
            version=opening.version,
            give_issue_id=terms.pk,
            give_value="45 days",
            ask_issue_id=price.pk,
            ask_value="-8%",
            rationale="Our cash cycle",
        )
    opening.refresh_from_db()
    assert opening.status == Trade.Status.COUNTERED
    assert counter.counter_of == opening
    assert counter.party == guest_access.party

    with log.expect("trade.accepted"):
        services.trade_accept(access=host, trade_id=counter.pk, version=1)

    counter.refresh_from_db()
    assert counter.status == Trade.Status.ACCEPTED
    assert counter.decided_by == host.participant
    terms_by_issue = {t.issue_id: t for t in TermSheetEntry.objects.all()}
    assert terms_by_issue[terms.pk].value == "45 days"
    assert terms_by_issue[price.pk].value == "-8%"
    assert {t.source_trade_id for t in terms_by_issue.values()} == {counter.pk}
    # One entry per side in the concession log, give and get swapped.
    guest_entry = Concession.objects.get(trade=counter, party=guest_access.party)
    host_entry = Concession.objects.get(trade=counter, party=host.party)
    assert (guest_entry.we_give, guest_entry.we_get) == (
        "Payment terms: 45 days",
        "Price: -8%",
    )
    assert (host_entry.we_give, host_entry.we_get) == (
        guest_entry.we_get,
        guest_entry.we_give,
    )
    assert Concession.objects.count() == 2
    # The countered original can no longer be accepted.
    with log.refused(match="no longer open"):
        services.trade_accept(access=guest_access, trade_id=opening.pk, version=2)


def test_a_trade_is_accepted_on_the_version_that_was_shown(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(EditConflict):
        services.trade_accept(access=guest_access, trade_id=trade.pk, version=7)

    assert fresh(trade).status == Trade.Status.OPEN
    assert not TermSheetEntry.objects.exists()
    assert not Concession.objects.exists()


def test_a_side_cannot_accept_decline_or_counter_its_own_trade(
    midgame, issues, host, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(PermissionDenied):
        services.trade_accept(access=host, trade_id=trade.pk, version=1)
    with log.refused(PermissionDenied):
        services.trade_decline(access=host, trade_id=trade.pk, version=1, reason="x")
    with log.refused(PermissionDenied):
        services.trade_counter(
            access=host,
            trade_id=trade.pk,
            version=1,
            give_issue_id=price.pk,
            give_value="-6%",
            ask_issue_id=terms.pk,
            ask_value="20 days",
        )

    assert fresh(trade).status == Trade.Status.OPEN


def test_only_the_proposing_side_withdraws_a_trade(
    midgame, issues, host, guest_access, log
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused(PermissionDenied):
        services.trade_withdraw(access=guest_access, trade_id=trade.pk, version=1)
    with log.expect("trade.withdrawn"):
        services.trade_withdraw(access=host, trade_id=trade.pk, version=1)

    assert fresh(trade).status == Trade.Status.WITHDRAWN


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_a_trade_needs_a_reason(
    midgame, issues, host, guest_access, log, reason
):
    price, terms = issues
    trade = propose(host, price, "-5%", terms, "30 days")

    with log.refused() as refusal:
        services.trade_decline(
            access=guest_access, trade_id=trade.pk, version=1, reason=reason
        )
    assert "reason" in refusal.value.message_dict
    assert fresh(trade).status == Trade.Status.OPEN

    with log.expect("trade.declined"):
        services.trade_decline(
            access=guest_access,
            trade_id=trade.pk,
            version=1,
            reason=" Budget is fixed this year ",
        )
    trade.refresh_from_db()
    assert trade.status == Trade.Status.DECLINED
    assert trade.decline_reason == "Budget is fixed this year"


def test_a_trade_names_this_deals_issues_and_both_values(midgame, issues, host, log):
    price, terms = issues
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused(match="not on this deal's agenda"):
        propose(host, foreign, "+10%", terms, "30 days")
    with log.refused() as refusal:
        propose(host, price, "  ", terms, "")
    assert set(refusal.value.message_dict) == {"give_value", "ask_value"}
    assert not Trade.objects.exists()


@pytest.mark.parametrize("stage", [Stage.SETUP, Stage.FIRST_MOVE, Stage.CLOSE])
def test_trades_happen_in_midgame_only(deal, issues, host, log, stage):
    at_stage(deal, stage)
    price, terms = issues

    with log.refused() as refusal:
        propose(host, price, "-5%", terms, "30 days")

    assert refusal.value.code == "wrong_stage"


# --- Midgame: MESO packages ---------------------------------------------------


def packages_for(price: Issue, terms: Issue) -> list[dict]:
    return [
        {"name": "Fast", "values": {str(price.pk): "100", str(terms.pk): "15 days"}},
        {"name": "Cheap", "values": {str(price.pk): "90", str(terms.pk): "60 days"}},
        {"name": "Middle", "values": {str(price.pk): "95", str(terms.pk): "30 days"}},
    ]


@pytest.fixture
def meso(midgame, issues, host) -> MesoSet:
    return services.meso_present(
        access=host, packages=packages_for(*issues), note="All equal to us"
    )


def test_three_equivalent_packages_are_presented_at_once(midgame, issues, host, log):
    with log.expect("meso.presented"):
        meso = services.meso_present(
            access=host, packages=packages_for(*issues), note=" All equal to us "
        )

    assert meso.note == "All equal to us"
    assert [p.name for p in meso.packages.order_by("pk")] == ["Fast", "Cheap", "Middle"]
    assert {p.party_id for p in meso.packages.all()} == {host.party.pk}


@pytest.mark.parametrize(
    "change",
    ["same names", "blank name", "value missing", "foreign issue", "none", "six"],
)
def test_a_meso_set_is_one_to_five_named_packages_valuing_every_issue(
    midgame, issues, host, log, change
):
    price, terms = issues
    packages = packages_for(price, terms)
    if change == "same names":
        packages[2]["name"] = "Fast"
    elif change == "blank name":
        packages[1]["name"] = "  "
    elif change == "value missing":
        packages[0]["values"][str(terms.pk)] = "  "
    elif change == "foreign issue":
        packages[0]["values"]["999999"] = "yes"
    elif change == "none":
        packages = []
    elif change == "six":
        packages = [
            {"name": f"P{n}", "values": {str(price.pk): "1", str(terms.pk): "1"}}
            for n in range(6)
        ]

    with log.refused():
        services.meso_present(access=host, packages=packages)

    assert not MesoSet.objects.exists()


def test_the_other_side_ranks_the_packages(meso, guest_access, log):
    fast, cheap, _ = meso.packages.order_by("pk")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access,
            meso_id=meso.pk,
            version=meso.version,
            preference=[cheap.pk, fast.pk],
        )

    meso.refresh_from_db()
    assert meso.preference == [cheap.pk, fast.pk]
    assert meso.status == MesoSet.Status.ANSWERED
    assert meso.picked is None
    assert meso.answered_by == guest_access.participant
    assert not TermSheetEntry.objects.exists()


def test_picking_a_package_puts_every_value_on_the_term_sheet(
    meso, issues, guest_access, log
):
    price, terms = issues
    cheap = meso.packages.get(name="Cheap")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=cheap.pk
        )

    assert fresh(meso).picked == cheap
    assert {t.issue_id: t.value for t in TermSheetEntry.objects.all()} == {
        price.pk: "90",
        terms.pk: "60 days",
    }


def test_picking_a_package_that_predates_a_new_issue_leaves_that_issue_open(
    meso, issues, host, guest_access, log
):
    """The host side may add an issue after presenting: the pick sets the terms
    the package holds, and the new issue stays open (nothing crashes)."""
    price, terms = issues
    warranty = deal_services.issue_add(access=host, name="Warranty")
    cheap = meso.packages.get(name="Cheap")

    with log.expect("meso.answered"):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=cheap.pk
        )

    terms_set = {t.issue_id: t.value for t in TermSheetEntry.objects.all()}
    assert terms_set == {price.pk: "90", terms.pk: "60 days"}
    assert warranty.pk not in terms_set


@pytest.mark.parametrize(
    "answer", ["foreign package", "twice the same", "foreign pick", "nothing"]
)
def test_an_answer_ranks_or_picks_this_sets_packages_only(
    meso, midgame, issues, host, guest_access, log, answer
):
    fast = meso.packages.order_by("pk").first()
    other = services.meso_present(access=host, packages=packages_for(*issues))
    stranger = other.packages.first()
    kwargs = {
        "foreign package": {"preference": [fast.pk, stranger.pk]},
        "twice the same": {"preference": [fast.pk, fast.pk]},
        "foreign pick": {"picked_id": stranger.pk},
        "nothing": {"preference": []},
    }[answer]

    with log.refused():
        services.meso_respond(access=guest_access, meso_id=meso.pk, version=1, **kwargs)

    assert fresh(meso).status == MesoSet.Status.PRESENTED
    assert not TermSheetEntry.objects.exists()


def test_a_meso_answer_names_the_version_it_was_made_on(meso, guest_access, log):
    fast = meso.packages.first()
    services.meso_respond(
        access=guest_access, meso_id=meso.pk, version=1, preference=[fast.pk]
    )

    with log.refused(EditConflict):
        services.meso_respond(
            access=guest_access, meso_id=meso.pk, version=1, picked_id=fast.pk
        )

    assert fresh(meso).picked is None
    assert not TermSheetEntry.objects.exists()


def test_a_side_cannot_answer_its_own_packages(meso, host, log):
    with log.refused(PermissionDenied):
        services.meso_respond(
            access=host,
            meso_id=meso.pk,
            version=1,
            picked_id=meso.packages.first().pk,
        )


def test_a_single_counter_package_answers_one_of_the_other_sides(
    meso, issues, host, guest_access, log
):
    price, terms = issues
    fast = meso.packages.get(name="Fast")
    values = {str(price.pk): "100", str(terms.pk): "30 days"}
    counter = [{"name": "Fast, later", "values": values}]

    with log.refused(match="only counter the other side's package"):
        services.meso_present(access=host, packages=counter, counter_of_id=fast.pk)
    with log.expect("meso.presented"):
        answer = services.meso_present(
            access=guest_access, packages=counter, counter_of_id=fast.pk
        )

    assert answer.packages.get().counter_of == fast


# --- the concession log -------------------------------------------------------


def test_a_side_values_its_own_concessions_only(midgame, host, guest_access, log):
    concession = services.concession_add(
        access=host, item="Onboarding", we_give="Two workshops"
    )

    with log.refused(PermissionDenied):
        services.concession_value(
            access=guest_access,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1"),
            value_to_them=Decimal("99999"),
            values_shared=True,
        )
    with log.expect("concession.valued"):
        services.concession_value(
            access=host,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1200"),
            value_to_them=Decimal("5000"),
            values_shared=False,
        )
    with log.refused(EditConflict):
        services.concession_value(
            access=host,
            concession_id=concession.pk,
            version=concession.version,
            value_to_us=Decimal("1"),
            value_to_them=None,
            values_shared=True,
        )

    concession.refresh_from_db()
    assert concession.value_to_us == Decimal("1200")
    assert concession.value_to_them == Decimal("5000")
    assert not concession.values_shared
    assert concession.version == 2


def test_a_concession_is_logged_for_the_side_that_logs_it(midgame, guest_access, log):
    with log.expect("concession.added"):
        concession = services.concession_add(
            access=guest_access,
            item=" Pilot ",
            we_give="A reference call",
            value_to_us=Decimal("10"),
        )

    assert concession.party == guest_access.party
    assert concession.created_by == guest_access.participant
    assert concession.item == "Pilot"


# --- Close: the term sheet ----------------------------------------------------


@pytest.fixture
def close(deal) -> Deal:
    return at_stage(deal, Stage.CLOSE)


def test_a_term_is_set_then_edited_on_its_current_version_only(
    close, issues, host, guest_access, log
):
    price, _ = issues
    with log.refused(match="removed meanwhile"):
        services.term_set(access=host, issue_id=price.pk, version=3, value="100")
    with log.expect("term.updated"):
        entry = services.term_set(
            access=host, issue_id=price.pk, version=None, value=" 100 "
        )
    assert entry.value == "100"
    assert entry.version == 1

    with log.expect("term.updated"):
        services.term_set(access=guest_access, issue_id=price.pk, version=1, value="95")
    for stale in (1, None):
        with log.refused(EditConflict):
            services.term_set(
                access=host, issue_id=price.pk, version=stale, value="110"
            )

    entry.refresh_from_db()
    assert entry.value == "95"
    assert entry.version == 2
    assert entry.updated_by == guest_access.participant


def test_a_term_needs_a_value_and_an_issue_of_this_deal(close, issues, host, log):
    foreign = make_deal(title="Other").issues.create(name="Volume")

    with log.refused() as refusal:
        services.term_set(access=host, issue_id=issues[0].pk, version=None, value=" ")
    assert "value" in refusal.value.message_dict
    with log.refused(match="not on this deal's agenda"):
        services.term_set(access=host, issue_id=foreign.pk, version=None, value="1")


# --- Close: commitments -------------------------------------------------------


def add_commitment(access: DealAccess, **fields) -> Commitment:
    fields = {
        "owner_side": "host",
        "owner_name": "Robin",
        "description": "Dashboards live in every store",
        "metric": "stores live",
        "target": "95%",
        "due_date": datetime.date(2027, 3, 31),
        **fields,
    }
    return services.commitment_add(access=access, **fields)


def test_adding_a_commitment_binds_nobody_yet(close, guest_access, log):
    with log.expect("commitment.added"):
        commitment = add_commitment(guest_access, owner_side="counterpart")

    # Confirming is a binding act of its own, for each side.
    assert commitment.counterpart_confirmed_at is None
    assert commitment.host_confirmed_at is None
    assert not commitment.is_confirmed
    assert commitment.owner_party == guest_access.party


def test_confirming_a_commitment_confirms_the_confirming_side(
    close, host, guest_access, log
):
    commitment = add_commitment(host)

    with log.expect("commitment.confirmed"):
        services.commitment_confirm(
            access=guest_access, commitment_id=commitment.pk, version=1
        )

    commitment.refresh_from_db()
    assert commitment.counterpart_confirmed_at is not None
    assert commitment.host_confirmed_at is None
    assert not commitment.is_confirmed
    with log.expect("commitment.confirmed"):
        services.commitment_confirm(access=host, commitment_id=commitment.pk, version=1)
    assert fresh(commitment).is_confirmed
    with log.refused(EditConflict):
        services.commitment_confirm(access=host, commitment_id=commitment.pk, version=0)


def test_editing_a_commitment_withdraws_the_confirmations_it_had(
    close, host, guest_access, log
):
    commitment = add_commitment(host)
    for side in (host, guest_access):
        services.commitment_confirm(access=side, commitment_id=commitment.pk, version=1)
    assert fresh(commitment).is_confirmed

    with log.expect("commitment.updated"):
        services.commitment_update(
            access=guest_access,
            commitment_id=commitment.pk,
            version=1,
            target=" 90% ",
        )

    commitment.refresh_from_db()
    assert commitment.target == "90%"
    assert commitment.version == 2
    # Both sides confirmed the old wording: neither confirmation carries over.
    assert commitment.host_confirmed_at is None
    assert commitment.counterpart_confirmed_at is None
    assert not commitment.is_confirmed


def test_a_commitment_edit_is_refused_on_a_stale_version_or_unknown_field(
    close, host, log
):
    commitment = add_commitment(host)

    with log.refused(EditConflict):
        services.commitment_update(
            access=host, commitment_id=commitment.pk, version=5, target="1"
        )
    with log.refused(match="Unknown commitment fields"):
        services.commitment_update(
            access=host, commitment_id=commitment.pk, version=1, status="done"
        )

    assert fresh(commitment).version == 1


# --- Close: the agreement -----------------------------------------------------


@pytest.fixture
def ready(close, issues, host, guest_access) -> Commitment:
    """Every term set and one commitment confirmed by both sides."""
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")
    commitment = add_commitment(host)
    for side in (host, guest_access):
        services.commitment_confirm(access=side, commitment_id=commitment.pk, version=1)
    return commitment


def test_both_sides_confirming_the_same_agreement_agrees_the_deal(
    ready, deal, host, guest_access, log
):
    with log.expect("agreement.confirmed"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))
    assert fresh(deal).status == Deal.Status.OPEN

    with log.expect("agreement.confirmed"):
        services.agreement_confirm(
            access=guest_access, digest=services.agreement_digest(deal)
        )

    deal.refresh_from_db()
    assert deal.status == Deal.Status.AGREED
    assert deal.closed_at is not None
    assert AgreementConfirmation.objects.filter(deal=deal).count() == 2


def test_an_agreement_confirmed_on_a_stale_digest_is_refused(
    ready, deal, issues, host, guest_access, log
):
    shown = services.agreement_digest(deal)
    services.agreement_confirm(access=host, digest=shown)
    # The host side changes a term after confirming: the guest saw the old one.
    price = issues[0]
    services.term_set(access=host, issue_id=price.pk, version=1, value="97")

    with log.refused() as refusal:
        services.agreement_confirm(access=guest_access, digest=shown)

    assert refusal.value.code == "stale_version"
    assert fresh(deal).status == Deal.Status.OPEN
    # Confirming what stands now does not agree the deal either: the host
    # side's confirmation was of something else.
    services.agreement_confirm(
        access=guest_access, digest=services.agreement_digest(deal)
    )
    assert fresh(deal).status == Deal.Status.OPEN
    assert AgreementConfirmation.objects.get(party=guest_access.party)
    assert not AgreementConfirmation.objects.filter(party=host.party).exists()


def test_the_agreement_needs_every_term(close, issues, host, log):
    services.term_set(access=host, issue_id=issues[0].pk, version=None, value="95")

    with log.refused(match="Every issue needs an agreed value"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(close))


def test_the_agreement_needs_every_commitment_confirmed_by_both(ready, deal, host, log):
    add_commitment(host, description="Quarterly business review")

    with log.refused(match="Both sides must confirm every commitment"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))


def test_the_agreement_is_confirmed_in_close_only(ready, deal, host, log):
    at_stage(deal, Stage.MIDGAME)

    with log.refused() as refusal:
        services.agreement_confirm(access=host, digest=services.agreement_digest(deal))

    assert refusal.value.code == "wrong_stage"


@pytest.fixture
def agreed(ready, deal, host, guest_access) -> Deal:
    for access in (host, guest_access):
        services.agreement_confirm(
            access=access, digest=services.agreement_digest(deal)
        )
    return fresh(deal)


def test_after_the_agreement_its_terms_are_locked(
    agreed, issues, host, guest_access, log
):
    price, terms = issues
    at_stage(agreed, Stage.MIDGAME)

    with log.refused(match="terms are locked"):
        propose(host, price, "-1%", terms, "29 days")
    with log.refused(match="terms are locked"):
        services.term_set(access=guest_access, issue_id=price.pk, version=1, value="1")
    with log.refused(match="terms are locked"):
        add_commitment(guest_access)

    assert not Trade.objects.exists()


def test_after_the_agreement_check_ins_track_the_commitments(
    agreed, ready, host, guest_access, log
):
    change = services.stage_change_propose(access=host, to_stage=Stage.IMPLEMENTATION)
    services.stage_change_respond(access=guest_access, change_id=change.pk, accept=True)

    with log.expect("checkin.added"):
        check_in = services.check_in_add(
            access=guest_access,
            held_on=datetime.date(2027, 1, 15),
            notes=" 40 of 60 stores live ",
            statuses={ready.pk: Commitment.Status.AT_RISK},
        )
    with log.expect("message.posted"):
        services.message_post(access=host, body="We will add a second installer.")

    assert fresh(ready).status == Commitment.Status.AT_RISK
    assert check_in.notes == "40 of 60 stores live"
    assert [(i.commitment_id, i.status) for i in check_in.items.all()] == [
        (ready.pk, Commitment.Status.AT_RISK)
    ]
    assert fresh(agreed).status == Deal.Status.AGREED


@pytest.mark.parametrize("statuses", ["foreign commitment", "unknown status"])
def test_a_check_in_covers_this_deals_commitments_with_known_statuses(
    agreed, ready, host, log, statuses
):
    at_stage(agreed, Stage.IMPLEMENTATION)
    other = at_stage(make_deal(title="Other"), Stage.CLOSE)
    foreign = add_commitment(deal_access_for_user(other.owner, other.pk))
    statuses = {
        "foreign commitment": {foreign.pk: Commitment.Status.DONE},
        "unknown status": {ready.pk: "finished"},
    }[statuses]

    with log.refused():
        services.check_in_add(
            access=host, held_on=datetime.date(2027, 1, 15), notes="", statuses=statuses
        )

    assert not CheckIn.objects.exists()
    assert fresh(ready).status == Commitment.Status.PLANNED
    assert fresh(foreign).status == Commitment.Status.PLANNED


def test_check_ins_happen_in_implementation_only(close, host, log):
    with log.refused() as refusal:
        services.check_in_add(
            access=host, held_on=datetime.date(2027, 1, 15), notes="", statuses={}
        )

    assert refusal.value.code == "wrong_stage"


# --- discussion ---------------------------------------------------------------


def test_a_message_is_posted_in_any_stage(deal, guest_access, log):
    for stage in Stage.values:
        at_stage(deal, stage)
        with log.expect("message.posted"):
            services.message_post(access=guest_access, body=f"  In {stage}  ")

    assert Message.objects.filter(body="In setup").exists()
    assert Message.objects.count() == len(Stage.values)


@pytest.mark.parametrize(
    "body", ["", "   \n ", "x" * (services.MESSAGE_MAX_LENGTH + 1)]
)
def test_an_empty_or_oversized_message_is_refused(deal, host, log, body):
    with log.refused() as refusal:
        services.message_post(access=host, body=body)

    assert "body" in refusal.value.message_dict
    assert not Message.objects.exists()


def test_a_comment_belongs_to_a_trade_of_this_deal(midgame, issues, host, log):
    other = at_stage(make_deal(title="Other"), Stage.MIDGAME)
    volume = other.issues.create(name="Volume", position=0)
    price = other.issues.create(name="Price", position=1)
    foreign = propose(
        deal_access_for_user(other.owner, other.pk), volume, "1", price, "2"
    )

    with log.refused(match="does not exist in this deal"):
        services.message_post(access=host, body="Hm", trade_id=foreign.pk)

    price, terms = issues
    own = propose(host, price, "-5%", terms, "30 days")
    with log.expect("message.posted"):
        comment = services.message_post(access=host, body="Hm", trade_id=own.pk)
    assert comment.trade == own


# --- who may act --------------------------------------------------------------


def test_a_manager_reviews_but_cannot_act(deal, team_manager, log):
    manager = deal_access_for_user(team_manager, deal.pk)

    with log.refused(PermissionDenied):
        services.message_post(access=manager, body="From the manager")
    with log.refused(PermissionDenied):
        services.stage_change_propose(access=manager, to_stage=Stage.FIRST_MOVE)


def test_a_revoked_guest_cannot_act_with_an_access_resolved_before(
    deal, guest, guest_access, log
):
    Participant.objects.filter(pk=guest[1].pk).update(revoked_at=timezone.now())
    guest_access.participant.refresh_from_db()

    with log.refused(PermissionDenied):
        services.message_post(access=guest_access, body="Still here?")


def test_a_revoked_guest_is_refused_even_by_an_access_that_has_not_seen_it(
    deal, guest, guest_access, log
):
    """The deal is locked in the same statement that checks the participant,
    so a socket's long-lived copy of the access cannot act after a revoke."""
    Participant.objects.filter(pk=guest[1].pk).update(revoked_at=timezone.now())
    assert guest_access.participant.revoked_at is None  # the stale copy

    with log.refused(PermissionDenied):
        services.message_post(access=guest_access, body="Still here?")
    with log.refused(PermissionDenied):
        deal_services.issue_add(access=guest_access, name="Sneaked in")


def test_a_retried_action_is_applied_once(deal, host, log):
    with log.expect("message.posted"):
        services.message_post(access=host, body="Once", client_msg_id="m-1")

    with log.refused(base.AlreadyApplied) as replay:
        services.message_post(access=host, body="Once", client_msg_id="m-1")

    assert replay.value.event == DealEvent.objects.get(client_msg_id="m-1")
    assert Message.objects.count() == 1


def test_a_retry_is_recognised_even_when_the_action_would_now_be_refused(
    midgame, issues, host, log
):
    price, terms = issues
    trade = {
        "access": host,
        "give_issue_id": price.pk,
        "give_value": "4% off",
        "ask_issue_id": terms.pk,
        "ask_value": "3 years",
        "client_msg_id": "t-1",
    }
    with log.expect("trade.proposed"):
        services.trade_propose(**trade)
    at_stage(midgame, Stage.CLOSE)  # trades are closed now

    with log.refused(base.AlreadyApplied) as replay:
        services.trade_propose(**trade)

    assert replay.value.event.kind == "trade.proposed"
    assert Trade.objects.count() == 1


# --- ending without agreement -------------------------------------------------


def test_ending_without_agreement_needs_a_reason_and_makes_the_room_read_only(
    midgame, issues, host, guest_access, log
):
    with log.refused() as refusal:
        services.deal_end_no_deal(access=guest_access, reason="  ")
    assert "reason" in refusal.value.message_dict
    assert fresh(midgame).status == Deal.Status.OPEN

    with log.expect("deal.no_deal"):
        services.deal_end_no_deal(access=guest_access, reason=" The budget was frozen ")

    midgame.refresh_from_db()
    assert midgame.status == Deal.Status.NO_DEAL
    assert midgame.outcome_note == "The budget was frozen"
    assert midgame.closed_at is not None
    price, terms = issues
    for access in (host, guest_access):
        with log.refused(match="read-only"):
            services.message_post(access=access, body="One more thing")
        with log.refused(match="read-only"):
            propose(access, price, "-1%", terms, "29 days")
        with log.refused(match="read-only"):
            services.stage_change_propose(access=access, to_stage=Stage.CLOSE)
        with log.refused(match="read-only"):
            services.deal_end_no_deal(access=access, reason="Again")


def test_a_trade_links_two_different_issues(midgame, host, issues, log):
    issue = issues[0]
    with pytest.raises(ValidationError, match="another issue"):
        services.trade_propose(
            access=host,
            give_issue_id=issue.pk,
            give_value="a",
            ask_issue_id=issue.pk,
            ask_value="b",
        )


def test_after_the_agreement_the_only_way_is_implementation(deal, host, log):
    at_stage(deal, Deal.Stage.CLOSE)
    Deal.objects.filter(pk=deal.pk).update(status=Deal.Status.AGREED)
    with pytest.raises(ValidationError, match="next is Implementation"):
        services.stage_change_propose(access=host, to_stage=Deal.Stage.MIDGAME)
    with log.expect("stage.proposed"):
        services.stage_change_propose(access=host, to_stage=Deal.Stage.IMPLEMENTATION)
