"""Private coaching: the over-sharing guard and the pitfall detectors.

Every detector fires when it should, stays silent when it should not, and its
nudge reaches only the side concerned — over the socket and in the HTML.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from negotiation.models import (
    Deal,
    DealEvent,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
)
from negotiation.selectors import walk_away_of
from room import actions, coaching, services
from room.models import Message, Nudge
from room.selectors import active_nudges
from tests.room.conftest import access_of_guest, at_stage
from tests.room.sockets import act, quiet, receive, refused
from tests.room.sockets import (
    room as room_sockets,
)

Kind = Nudge.Kind
db = database_sync_to_async


def setup(deal: Deal, purpose: str) -> dict:
    deal.refresh_from_db()
    return {"version": deal.version, "shared_purpose": purpose, "ground_rules": ""}


def perform(access, name: str, data: dict):
    """Apply a room action, then coach on its events, as the socket does
    after its ack (and the HTTP view before its redirect)."""
    before = DealEvent.objects.filter(deal=access.deal).order_by("-seq").first()
    result = actions.perform(access, name, data)
    coaching.run_detectors(
        DealEvent.objects.filter(
            deal=access.deal, seq__gt=before.seq if before else 0
        ).order_by("seq")
    )
    return result


def kinds(party: Party) -> set[str]:
    return set(Nudge.objects.filter(party=party).values_list("kind", flat=True))


@pytest.fixture
def sides(deal, host_access, guest):
    return host_access, access_of_guest(deal, guest[1])


@pytest.fixture
def host_prep(deal) -> Preparation:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.batna = "Move the onboarding squad to the Nordbank expansion instead"
    prep.reservation_value = Decimal("186500")
    prep.save()
    return prep


# --- the over-sharing guard: the text check ------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We could go to 186500 if needed",
        "Our floor is 186,500.",
        "Think 186.500 EUR",
        "186 500 would work",
        "Anything above 186.5k is fine",
        "honestly we would move the onboarding squad to the nordbank expansion",
    ],
)
@pytest.mark.django_db
def test_the_guard_spots_the_walk_away_figure_and_batna_wording(host_prep, text):
    assert coaching.oversharing_in([text], host_prep) is not None


@pytest.mark.parametrize(
    "text", ["We could go to 186,500.25", "Sagen wir 186.500,25", "186500.25 it is"]
)
@pytest.mark.django_db
def test_the_guard_spots_a_figure_with_cents_written_with_separators(host_prep, text):
    host_prep.reservation_value = Decimal("186500.25")
    host_prep.save()

    assert coaching.oversharing_in([text], host_prep) is not None


@pytest.fixture
def internal_evidence(host_prep, host_access) -> None:
    """One item of the host's evidence marked internal only, one not."""
    from negotiation.models import EvidenceItem
    from negotiation.services.preparation import evidence_add

    evidence_add(
        access=host_access,
        kind=EvidenceItem.Kind.ROI,
        title="Our delivery cost model",
        detail="Each store rollout costs us 23,400 in field engineering hours.",
        internal=True,
    )
    evidence_add(
        access=host_access,
        kind=EvidenceItem.Kind.BENCHMARK,
        title="Gartner benchmark",
        detail="Peers pay 41,000 per store for comparable analytics.",
    )


@pytest.mark.parametrize(
    "text",
    [
        "Honestly a rollout runs us about €23.4k per store",
        "Each store rollout costs us a lot in field engineering hours",
        "Our field engineering hours per store rollout are what drive cost",
    ],
)
@pytest.mark.django_db
def test_the_guard_holds_back_a_figure_or_wording_of_internal_evidence(
    host_prep, internal_evidence, text
):
    found = coaching.oversharing_in([text], walk_away_of(host_prep.party))
    assert found is not None
    assert "internal evidence" in found.reason
    assert "Our delivery cost model" in found.reason


@pytest.mark.parametrize(
    "text",
    [
        # Evidence not marked internal is there to be shown.
        "Peers pay 41,000 per store for comparable analytics",
        "A rollout is a big effort for both teams",
        "Could we phase the store rollout over two quarters?",
    ],
)
@pytest.mark.django_db
def test_the_guard_lets_shareable_evidence_and_near_misses_through(
    host_prep, internal_evidence, text
):
    assert coaching.oversharing_in([text], walk_away_of(host_prep.party)) is None


@pytest.mark.django_db
def test_removing_internal_evidence_lets_its_figures_through(
    host_prep, host_access, internal_evidence
):
    from negotiation.models import EvidenceItem
    from negotiation.services.preparation import evidence_remove

    text = "A rollout runs us 23,400 per store"
    assert coaching.oversharing_in([text], walk_away_of(host_prep.party))
    item = EvidenceItem.objects.get(internal=True)
    evidence_remove(access=host_access, evidence_id=item.pk)
    assert coaching.oversharing_in([text], walk_away_of(host_prep.party)) is None


@pytest.mark.django_db
def test_a_message_repeating_internal_evidence_is_held_until_confirmed(
    deal, sides, host_prep, internal_evidence
):
    host, _ = sides
    data = {"body": "Between us, each store rollout costs us 23,400 in engineering."}
    with pytest.raises(actions.ActionRefused) as held:
        perform(host, "message.post", data)
    assert held.value.code == "over_sharing"
    assert "internal evidence" in held.value.message
    assert not Message.objects.exists()
    perform(host, "message.post", {**data, "confirm_share": "on"})
    assert Message.objects.get().body == data["body"]


@pytest.fixture
def opening_ranges(host_prep, host_access, deal) -> None:
    """The host's anchor worksheet: a price range with its opening wording and
    benchmark, and a payment-terms range of small numbers."""
    from negotiation.services.preparation import anchor_set

    price, terms = deal.issues.order_by("position")
    anchor_set(
        access=host_access,
        issue_id=price.pk,
        version=None,
        low=Decimal("120000"),
        high=Decimal("130000"),
        opening_position="We open at €130k for the full estate",
        benchmark="Peers pay 125,000 to 140,000 for a comparable licence",
    )
    anchor_set(
        access=host_access,
        issue_id=terms.pk,
        version=None,
        low=Decimal("30"),
        high=Decimal("45"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "We had pencilled in €120k–130k for the licence",
        "Somewhere between 120,000 and 130,000 works for us",
        "EUR 120–130k, depending on scope",
        "between 120 and 130 thousand",
        "120.000 to 130.000 EUR",
        "$120K - $130K",
        "We open at 130,000. Our floor for the range is 120000.00",
    ],
)
@pytest.mark.django_db
def test_the_guard_holds_back_both_ends_of_an_opening_range(
    host_prep, opening_ranges, text
):
    found = coaching.oversharing_in([text], walk_away_of(host_prep.party))
    assert found is not None
    assert "both ends of your planned opening range" in found.reason
    assert "“Price”" in found.reason


@pytest.mark.parametrize(
    "text",
    [
        # The anchor itself, in its own words or as a figure: that is anchoring.
        "We open at €130k for the full estate",
        "130,000 is where we would start",
        # The low end alone.
        "We could live with 120k if the scope shrinks",
        # The benchmark is evidence, there to be shown.
        "Peers pay 125,000 to 140,000 for a comparable licence",
        # A range of other figures.
        "Somewhere between 110k and 140k",
        # Small whole numbers, like any single one of them.
        "Payment within 30–45 days is usual for us",
    ],
)
@pytest.mark.django_db
def test_the_guard_lets_an_anchor_its_benchmark_and_near_misses_through(
    host_prep, opening_ranges, text
):
    assert coaching.oversharing_in([text], walk_away_of(host_prep.party)) is None


@pytest.mark.django_db
def test_a_range_is_guarded_as_the_worksheet_now_says(
    deal, host_prep, host_access, opening_ranges
):
    from negotiation.models import AnchorEntry
    from negotiation.services.preparation import anchor_set

    price = deal.issues.get(name="Price")
    entry = AnchorEntry.objects.get(issue=price)
    old, new = "Think €120k–130k", "Think €115k–125k"
    assert coaching.oversharing_in([old], walk_away_of(host_prep.party))
    assert coaching.oversharing_in([new], walk_away_of(host_prep.party)) is None

    anchor_set(
        access=host_access,
        issue_id=price.pk,
        version=entry.version,
        low=Decimal("115000"),
        high=Decimal("125000"),
    )
    assert coaching.oversharing_in([old], walk_away_of(host_prep.party)) is None
    assert coaching.oversharing_in([new], walk_away_of(host_prep.party))

    # Only the ambitious end left: the opening is one figure, nothing to guard.
    anchor_set(
        access=host_access,
        issue_id=price.pk,
        version=entry.version + 1,
        high=Decimal("125000"),
    )
    assert coaching.oversharing_in([new], walk_away_of(host_prep.party)) is None


@pytest.mark.django_db
def test_a_trade_rationale_stating_the_range_is_held_and_leaves_nothing_behind(
    deal, sides, host_prep, opening_ranges
):
    from room.models import Trade

    host, _ = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.order_by("position")
    data = {
        "give_issue_id": terms.pk,
        "give_value": "60 days",
        "ask_issue_id": price.pk,
        "ask_value": "EUR 130k",
        "rationale": "Our band is 120k to 130k, so this sits well inside it",
    }
    seq = deal.last_seq
    with pytest.raises(actions.ActionRefused) as held:
        perform(host, "trade.propose", data)
    assert held.value.code == "over_sharing"
    assert "opening range" in held.value.message
    assert not Trade.objects.exists()
    assert not Nudge.objects.exists()
    deal.refresh_from_db()
    assert deal.last_seq == seq

    perform(host, "trade.propose", {**data, "confirm_share": "on"})
    assert Trade.objects.get().rationale == data["rationale"]
    # Recorded for the review, for the host side only.
    assert kinds(host.party) == {Kind.OVER_SHARING}
    assert not Nudge.objects.filter(party__side=Party.Side.COUNTERPART).exists()


@pytest.mark.usefixtures("own_channel_layer")
@pytest.mark.django_db(transaction=True)
async def test_the_range_warning_reaches_the_sender_only(
    deal, host_prep, opening_ranges, host_cookie, guest_cookie
):
    body = "Between us: our range is €120k–130k"
    async with room_sockets(deal.pk, host_cookie, guest_cookie) as (host, guest):
        frame = await refused(host, "message.post", {"body": body})
        assert frame["code"] == "over_sharing"
        assert "opening range" in frame["html"]
        assert await quiet(guest)
    assert not await db(Message.objects.exists)()


@pytest.mark.parametrize(
    "text",
    [
        "Our budget is 1865000 for the whole group",
        "Item 18650 on the list",
        "We can move the onboarding date",
        "Let us talk about the expansion plans",
        "",
    ],
)
@pytest.mark.django_db
def test_the_guard_stays_quiet_on_ordinary_text(host_prep, text):
    assert coaching.oversharing_in([text], host_prep) is None


# --- the over-sharing guard in the room -----------------------------------------


@pytest.mark.django_db
def test_a_message_with_the_walk_away_figure_is_held_until_confirmed(
    deal, sides, host_prep
):
    host, _ = sides
    data = {"body": "Between us: we can go down to 186,500."}
    with pytest.raises(actions.ActionRefused) as held:
        perform(host, "message.post", data)
    assert held.value.code == "over_sharing"
    assert "walk-away figure" in held.value.message
    assert not Message.objects.exists()

    perform(host, "message.post", {**data, "confirm_share": "on"})
    assert Message.objects.get().body == data["body"]
    # Recorded for the review, for the host side only.
    assert kinds(host.party) == {Kind.OVER_SHARING}
    assert not Nudge.objects.filter(party__side=Party.Side.COUNTERPART).exists()


@pytest.mark.django_db
def test_the_guard_checks_every_shared_text_field(deal, sides, host_prep):
    host, _ = sides
    at_stage(deal, Deal.Stage.SETUP)
    with pytest.raises(actions.ActionRefused) as held:
        perform(
            host,
            "setup.update",
            {
                "version": deal.version,
                "shared_purpose": "A fair deal",
                "ground_rules": "If this fails we move the onboarding squad to "
                "the Nordbank expansion instead",
            },
        )
    assert held.value.code == "over_sharing"
    assert "BATNA" in held.value.message
    deal.refresh_from_db()
    assert deal.ground_rules == ""


@pytest.mark.usefixtures("own_channel_layer")
@pytest.mark.django_db(transaction=True)
async def test_the_warning_reaches_the_sender_only_and_can_be_sent_anyway(
    deal, host_prep, host_cookie, guest_cookie
):
    async with room_sockets(deal.pk, host_cookie, guest_cookie) as (host, guest):
        frame = await refused(host, "message.post", {"body": "Our floor: 186500"})
        assert frame["code"] == "over_sharing"
        assert "Send it anyway" in frame["html"]
        assert await quiet(guest)

        await act(
            host, "message.post", {"body": "Our floor: 186500", "confirm_share": "on"}
        )
        await receive(host, "ack")
        event = await receive(guest, "event")
    assert "Our floor: 186500" in event["html"]


@pytest.mark.django_db
def test_the_http_fallback_offers_to_send_anyway(deal, rep_client, host_prep):
    response = rep_client.post(
        f"/room/{deal.pk}/act/message.post/", {"body": "Our floor: 186500"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "walk-away figure" in page
    assert 'name="confirm_share" value="on"' in page
    assert not Message.objects.exists()


# --- detectors -----------------------------------------------------------------------


@pytest.mark.django_db
def test_conceding_without_getting_anything_nudges_that_side(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(
        host,
        "concession.add",
        {"item": "Onboarding", "we_give": "Free", "confirm_pitfall": "on"},
    )
    assert kinds(host.party) == {Kind.CONCEDING}
    assert kinds(guest.party) == set()
    # A concession that gets something back is a trade: no nudge.
    perform(
        guest,
        "concession.add",
        {"item": "Volume", "we_give": "+10%", "we_get": "Faster delivery"},
    )
    assert kinds(guest.party) == set()


@pytest.mark.django_db
def test_avoiding_price_nudges_once_trading_is_under_way(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    terms = deal.issues.get(name="Payment terms")
    volume = deal.issues.create(name="Volume", position=5)
    for _ in range(1):
        perform(
            host,
            "trade.propose",
            {
                "give_issue_id": terms.pk,
                "give_value": "45 days",
                "ask_issue_id": volume.pk,
                "ask_value": "+10%",
            },
        )
    assert Kind.AVOIDING_HARD_ISSUE not in kinds(host.party)  # too early to tell
    perform(
        guest,
        "trade.propose",
        {"give_issue_id": volume.pk, "give_value": "+5%", "ask_issue_id": terms.pk,
         "ask_value": "60 days"},
    )  # fmt: skip
    assert Kind.AVOIDING_HARD_ISSUE in kinds(host.party)
    assert Kind.AVOIDING_HARD_ISSUE in kinds(guest.party)
    nudge = Nudge.objects.filter(kind=Kind.AVOIDING_HARD_ISSUE).first()
    assert "Price" in nudge.message


@pytest.mark.django_db
def test_touching_price_keeps_the_hard_issue_detector_silent(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    price = deal.issues.get(name="Price")
    terms = deal.issues.get(name="Payment terms")
    for access in (host, guest):
        perform(
            access,
            "trade.propose",
            {
                "give_issue_id": terms.pk,
                "give_value": "45 days",
                "ask_issue_id": price.pk,
                "ask_value": "-3%",
            },
        )
    assert not Nudge.objects.filter(kind=Kind.AVOIDING_HARD_ISSUE).exists()


@pytest.mark.django_db
def test_a_side_whose_top_issue_is_untouched_is_nudged_about_it(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.CLOSE)
    terms = deal.issues.get(name="Payment terms")
    PriorityEntry.objects.create(party=guest.party, issue=terms, importance=5)
    price = deal.issues.get(name="Price")
    perform(host, "term.set", {"issue_id": price.pk, "value": "95"})
    assert Kind.AVOIDING_HARD_ISSUE in kinds(guest.party)
    assert Kind.AVOIDING_HARD_ISSUE not in kinds(host.party)


@pytest.mark.django_db
def test_a_vague_commitment_asks_for_a_metric_target_and_date(deal, sides):
    host, _ = sides
    at_stage(deal, Deal.Stage.CLOSE)
    perform(
        host,
        "commitment.add",
        {"owner_side": "host", "owner_name": "Robin", "description": "Support well",
         "confirm_pitfall": "on"},
    )  # fmt: skip
    nudge = Nudge.objects.get(party=host.party, kind=Kind.VAGUE_COMMITMENT)
    assert nudge.message == "“Support well” has no metric, target or due date yet."
    perform(
        host,
        "commitment.add",
        {"owner_side": "host", "owner_name": "Robin", "description": "Uptime",
         "metric": "monthly uptime", "target": "99.9%", "due_date": "2027-03-01"},
    )  # fmt: skip
    assert (
        Nudge.objects.filter(party=host.party, kind=Kind.VAGUE_COMMITMENT).count() == 1
    )


@pytest.mark.django_db
def test_a_near_deadline_in_an_early_stage_nudges_both_sides(deal, sides):
    host, guest = sides
    Deal.objects.filter(pk=deal.pk).update(
        deadline=timezone.localdate() + datetime.timedelta(days=3)
    )
    perform(host, "setup.update", setup(deal, "Hello"))
    assert Kind.TIME_PRESSURE in kinds(host.party)
    assert Kind.TIME_PRESSURE in kinds(guest.party)


@pytest.mark.django_db
def test_a_distant_deadline_or_a_late_stage_stays_silent(deal, sides):
    host, _ = sides
    Deal.objects.filter(pk=deal.pk).update(
        deadline=timezone.localdate() + datetime.timedelta(days=30)
    )
    perform(host, "setup.update", setup(deal, "Hello"))
    at_stage(deal, Deal.Stage.CLOSE)
    Deal.objects.filter(pk=deal.pk).update(deadline=timezone.localdate())
    perform(host, "concession.add", {"item": "x", "we_give": "a", "we_get": "b"})
    assert not Nudge.objects.filter(kind=Kind.TIME_PRESSURE).exists()


@pytest.mark.django_db
def test_a_near_deadline_in_midgame_nudges_while_issues_are_open(deal, sides):
    """Two days left in Midgame with nothing settled: warned. Once every
    issue has an agreed value, the same deadline is no cause for alarm."""
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    Deal.objects.filter(pk=deal.pk).update(
        deadline=timezone.localdate() + datetime.timedelta(days=2)
    )
    perform(host, "concession.add", {"item": "x", "we_give": "a", "we_get": "b"})
    assert Kind.TIME_PRESSURE in kinds(guest.party)
    assert (
        "still in Midgame" in Nudge.objects.filter(kind=Kind.TIME_PRESSURE)[0].message
    )

    for issue in deal.issues.all():
        services.term_set(access=host, issue_id=issue.pk, version=None, value="set")
    Nudge.objects.all().delete()
    perform(host, "concession.add", {"item": "y", "we_give": "c", "we_get": "d"})
    assert not Nudge.objects.filter(kind=Kind.TIME_PRESSURE).exists()


@pytest.mark.django_db
def test_proposing_close_with_open_issues_nudges_the_proposer(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(host, "stage.propose", {"to_stage": "close"})
    nudge = Nudge.objects.get(kind=Kind.EMPATHY_NOT_AGREEMENT)
    assert nudge.party == host.party
    assert "Price" in nudge.message
    assert "Payment terms" in nudge.message
    assert kinds(guest.party) == set()


@pytest.mark.django_db
def test_proposing_close_with_every_term_agreed_stays_silent(deal, sides):
    host, _ = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    for issue in deal.issues.all():
        services.term_set(access=host, issue_id=issue.pk, version=None, value="ok")
    perform(host, "stage.propose", {"to_stage": "close"})
    assert not Nudge.objects.filter(kind=Kind.EMPATHY_NOT_AGREEMENT).exists()


@pytest.mark.django_db
def test_moving_to_implementation_unconfirmed_nudges_the_proposer(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.CLOSE)
    perform(guest, "stage.propose", {"to_stage": "implementation"})
    assert Kind.UNDOCUMENTED in kinds(guest.party)
    assert Kind.UNDOCUMENTED not in kinds(host.party)


@pytest.mark.django_db
def test_one_way_disclosure_suggests_a_reciprocal_question(deal, sides):
    host, _guest = sides
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, terms = deal.issues.all()
    perform(
        host,
        "position.update",
        {"interests": "Predictability", "ranking": [str(price.pk), str(terms.pk)]},
    )
    nudge = Nudge.objects.get(kind=Kind.ONE_WAY_DISCLOSURE)
    assert nudge.party == host.party
    assert "What matters most to you" in nudge.corrective_action


@pytest.mark.django_db
def test_mutual_disclosure_raises_no_one_way_nudge(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price, terms = deal.issues.all()
    services.position_update(
        access=guest, version=None, interests="Speed", ranking=[terms.pk]
    )
    perform(host, "position.update", {"interests": "Cost", "ranking": [str(price.pk)]})
    assert not Nudge.objects.filter(kind=Kind.ONE_WAY_DISCLOSURE).exists()


@pytest.mark.django_db
def test_three_declined_trades_in_a_row_suggest_meso(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    price, terms = deal.issues.all()
    for attempt in range(3):
        trade = services.trade_propose(
            access=host,
            give_issue_id=price.pk,
            give_value=f"-{attempt}%",
            ask_issue_id=terms.pk,
            ask_value="30 days",
        )
        assert not Nudge.objects.filter(kind=Kind.STALEMATE).exists()
        perform(
            guest,
            "trade.decline",
            {"trade_id": trade.pk, "version": trade.version, "reason": "No"},
        )
    nudges = Nudge.objects.filter(kind=Kind.STALEMATE)
    assert {n.party.side for n in nudges} == {"host", "counterpart"}
    assert "MESO" in nudges.first().corrective_action


@pytest.mark.django_db
def test_each_situation_nudges_a_side_once(deal, sides):
    host, _ = sides
    Deal.objects.filter(pk=deal.pk).update(
        deadline=timezone.localdate() + datetime.timedelta(days=1)
    )
    for n in range(3):
        perform(host, "setup.update", setup(deal, f"Goal {n}"))
    assert Nudge.objects.filter(party=host.party, kind=Kind.TIME_PRESSURE).count() == 1


# --- privacy of nudges, and dismissing them -------------------------------------------


@pytest.mark.usefixtures("own_channel_layer")
@pytest.mark.django_db(transaction=True)
async def test_a_nudge_reaches_only_the_side_concerned_over_the_socket(
    deal, host_cookie, guest_cookie
):
    await db(Deal.objects.filter(pk=deal.pk).update)(stage=Deal.Stage.MIDGAME)
    async with room_sockets(deal.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            host,
            "concession.add",
            {"item": "Training", "we_give": "Free", "confirm_pitfall": "on"},
        )
        await receive(host, "ack")
        coach = await receive(host, "coach")
        event = await receive(guest, "event")
        assert await quiet(guest)
    assert "Trade, don" in coach["html"]
    assert "Training" in event["html"]  # the entry itself is shared…
    assert "nothing in return" not in event["html"]  # …the coaching is not


@pytest.mark.django_db
def test_a_nudge_appears_in_its_sides_room_page_only(deal, sides, rep_client, guest):
    host, _ = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(
        host,
        "concession.add",
        {"item": "Training", "we_give": "Free", "confirm_pitfall": "on"},
    )
    host_page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    guest_page = guest[0].get(f"/room/{deal.pk}/").content.decode()
    assert "with nothing in return" in host_page
    assert "with nothing in return" not in guest_page


@pytest.mark.django_db
def test_a_side_dismisses_its_own_nudge_and_it_stays_on_record(deal, sides):
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(
        host,
        "concession.add",
        {"item": "Training", "we_give": "Free", "confirm_pitfall": "on"},
    )
    nudge = Nudge.objects.get()
    with pytest.raises(actions.ActionRefused):
        perform(guest, "nudge.dismiss", {"nudge_key": nudge.key})
    assert Nudge.objects.get().dismissed_at is None
    perform(host, "nudge.dismiss", {"nudge_key": nudge.key})
    nudge.refresh_from_db()
    assert nudge.dismissed_at is not None
    assert nudge.dismissed_by == host.participant
    assert active_nudges(host.party) == []


@pytest.mark.django_db
def test_a_sides_nudges_are_named_by_keys_that_say_nothing_of_the_other_side(
    deal, sides, rep_client
):
    """The room names a nudge by a random key, not by the row id: both sides'
    nudges share row ids, so gaps between a side's own ids would count the
    nudges the other side got."""
    host, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    for item in ("Training", "Onboarding"):
        perform(
            host,
            "concession.add",
            {"item": item, "we_give": "Free", "confirm_pitfall": "on"},
        )
        services.coaching.nudge_raise(
            guest.party, Nudge.Kind.STALEMATE, f"test:{item}", message="m", action=""
        )
    host_nudges = list(Nudge.objects.filter(party=host.party))
    assert len(host_nudges) >= 2
    page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    for nudge in host_nudges:
        assert f'id="nudge-{nudge.key}"' in page
        assert f'value="{nudge.key}"' in page
        assert f'id="nudge-{nudge.pk}"' not in page
        assert f'name="nudge_key" value="{nudge.pk}"' not in page
    assert len({n.key for n in host_nudges}) == len(host_nudges)


@pytest.mark.django_db
def test_a_revoked_guest_cannot_dismiss_a_nudge_with_an_access_resolved_before(
    deal, sides
):
    _, guest = sides
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(
        guest,
        "concession.add",
        {"item": "Pilot", "we_give": "Free", "confirm_pitfall": "on"},
    )
    nudge = Nudge.objects.get(party=guest.party)
    Participant.objects.filter(pk=guest.participant.pk).update(
        revoked_at=timezone.now()
    )

    with pytest.raises(actions.ActionRefused) as refusal:
        perform(guest, "nudge.dismiss", {"nudge_key": nudge.key})

    assert refusal.value.code == "forbidden"
    assert Nudge.objects.get(pk=nudge.pk).dismissed_at is None


@pytest.mark.django_db
def test_a_manager_has_no_coach_to_dismiss(deal, client):
    from tests.factories import MembershipFactory

    manager = MembershipFactory(team=deal.team, role="manager").user
    client.force_login(manager)
    response = client.post(f"/room/{deal.pk}/act/nudge.dismiss/", {"nudge_key": "abc"})
    assert response.status_code == 403


# --- the coach panel ------------------------------------------------------------


@pytest.mark.django_db
def test_the_coach_panel_follows_the_stage_and_the_deals_context(
    deal, rep_client, guest
):
    from playbooks.models import ContextPlaybook, PhraseTemplate
    from playbooks.models import Stage as Playbook

    page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    setup = Playbook.objects.get(stage="setup")
    assert setup.principle in page
    sales = ContextPlaybook.objects.get(context=deal.context)
    assert sales.phases[0][1][0] in page  # a discovery line for this context
    templates = PhraseTemplate.objects.filter(stage="setup")
    assert templates.exists()
    assert "Price" in page.split('id="region-coach"')[1]  # blanks filled from issues

    at_stage(deal, Deal.Stage.MIDGAME)
    page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    assert Playbook.objects.get(stage="midgame").principle in page
    assert setup.principle not in page.split('id="region-coach"')[1]
    assert "Draft a conditional trade" in page


@pytest.mark.django_db
def test_a_template_line_goes_into_the_room_in_one_click(deal, rep_client, guest):
    rep_client.post(
        f"/room/{deal.pk}/act/message.post/",
        {"body": "Which mix of Price and Payment terms works?", "kind": "question"},
    )
    message = Message.objects.get()
    assert message.kind == "question"
    assert "Which mix" in guest[0].get(f"/room/{deal.pk}/").content.decode()


@pytest.mark.django_db
def test_the_readiness_check_shows_at_setup_for_its_own_side_only(
    deal, rep_client, guest
):
    counterpart_prep = Preparation.objects.get(
        party__deal=deal, party__side=Party.Side.COUNTERPART
    )
    counterpart_prep.zero_sum_signals = True
    counterpart_prep.readiness_reviewed_at = timezone.now()
    counterpart_prep.save()
    host_page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    guest_page = guest[0].get(f"/room/{deal.pk}/").content.decode()
    assert "Readiness check:" in host_page
    assert "Hold off on a collaborative session" not in host_page
    assert "Hold off on a collaborative session" in guest_page
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    assert "Readiness check:" not in guest[0].get(f"/room/{deal.pk}/").content.decode()


@pytest.mark.django_db
def test_a_pending_stage_change_shows_the_do_and_avoid_checklist(
    deal, sides, rep_client
):
    from playbooks.models import ChecklistItem

    host, _ = sides
    perform(host, "stage.propose", {"to_stage": "first_move"})
    page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    assert "Before you move on" in page
    for item in ChecklistItem.objects.all():
        assert item.title in page


@pytest.mark.django_db
def test_every_nudge_a_side_gets_stays_off_the_other_sides_page(
    deal, sides, rep_client, guest
):
    """Raise several kinds of nudge for the host side only; the host's page
    shows each one, the counterpart's page none of them."""
    host, _ = sides
    at_stage(deal, Deal.Stage.FIRST_MOVE)
    price = deal.issues.get(name="Price")
    perform(host, "position.update", {"interests": "Cost", "ranking": [str(price.pk)]})
    at_stage(deal, Deal.Stage.MIDGAME)
    perform(
        host,
        "concession.add",
        {"item": "Onboarding", "we_give": "Free", "confirm_pitfall": "on"},
    )
    perform(host, "stage.propose", {"to_stage": "close"})
    nudges = list(Nudge.objects.filter(party=host.party))
    assert {n.kind for n in nudges} >= {
        Kind.ONE_WAY_DISCLOSURE,
        Kind.CONCEDING,
        Kind.EMPATHY_NOT_AGREEMENT,
    }
    assert not Nudge.objects.filter(party__side=Party.Side.COUNTERPART).exists()
    host_page = rep_client.get(f"/room/{deal.pk}/").content.decode()
    guest_page = guest[0].get(f"/room/{deal.pk}/").content.decode()
    for nudge in nudges:
        assert nudge.get_kind_display() in host_page
        assert nudge.get_kind_display() not in guest_page
