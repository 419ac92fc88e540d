"""The review cadence is agreed in the room: one side proposes a cadence and
a first check-in date, the other accepts (binding) or declines; the agreement
needs an agreed cadence, and the schedule, its calendar file and the
reminders follow it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from negotiation.models import Deal
from review.services import reminders_due
from room import actions, services
from room.models import AgreementConfirmation, CadenceProposal
from room.schedule import check_in_schedule, next_check_in
from tests.room.conftest import agree_cadence, at_stage, fresh
from tests.room.sockets import act, db, receive, room

pytestmark = pytest.mark.django_db

SOON = datetime.timedelta(days=10)


def _propose(access, cadence="weekly", first=None):
    return services.cadence_propose(
        access=access,
        cadence=cadence,
        first_check_in=first or timezone.localdate() + SOON,
    )


def test_a_cadence_proposed_by_one_side_and_accepted_by_the_other_is_the_deals(
    close, host, guest_access, log
):
    first = timezone.localdate() + SOON
    with log.expect("cadence.proposed"):
        proposal = _propose(guest_access, "fortnightly", first)
    assert fresh(close).first_check_in is None

    with log.expect("cadence.accepted"):
        services.cadence_respond(access=host, proposal_id=proposal.pk, accept=True)

    deal = fresh(close)
    assert (deal.review_cadence, deal.first_check_in) == ("fortnightly", first)
    assert fresh(proposal).status == CadenceProposal.Status.ACCEPTED
    event = deal.events.order_by("-seq").first()
    assert event.payload == {
        "proposal_id": proposal.pk,
        "cadence": "fortnightly",
        "first_check_in": first.isoformat(),
    }


def test_a_declined_cadence_changes_nothing_on_the_deal(close, host, guest_access, log):
    proposal = _propose(host, "quarterly")
    with log.expect("cadence.declined"):
        services.cadence_respond(
            access=guest_access, proposal_id=proposal.pk, accept=False
        )
    deal = fresh(close)
    assert (deal.review_cadence, deal.first_check_in) == ("monthly", None)


def test_the_proposing_side_cannot_accept_its_own_cadence(close, host, log):
    proposal = _propose(host)
    with log.refused(PermissionDenied):
        services.cadence_respond(access=host, proposal_id=proposal.pk, accept=True)
    assert fresh(close).first_check_in is None


def test_the_proposing_side_may_withdraw_and_propose_again(close, host, log):
    proposal = _propose(host)
    with log.refused(match="already waiting"):
        _propose(host, "monthly")
    with log.expect("cadence.withdrawn"):
        services.cadence_withdraw(access=host, proposal_id=proposal.pk)
    with log.expect("cadence.proposed"):
        _propose(host, "monthly")


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "still to come"), (400, "within the next year")],
)
def test_a_first_check_in_in_the_past_or_too_far_is_refused(
    close, host, log, days, message
):
    with log.refused(match=message):
        _propose(host, first=timezone.localdate() + datetime.timedelta(days=days))
    assert not CadenceProposal.objects.exists()


def test_an_unknown_cadence_is_refused_by_the_form(close, host):
    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host,
            "cadence.propose",
            {"cadence": "daily", "first_check_in": "2099-01-01"},
        )
    assert refused.value.code == "invalid"
    assert not CadenceProposal.objects.exists()


def test_accepting_a_cadence_is_binding(close, host, guest_access):
    proposal = _propose(host)
    with pytest.raises(actions.ActionRefused, match="tick the box"):
        actions.perform(
            guest_access,
            "cadence.respond",
            {"proposal_id": proposal.pk, "accept": "yes"},
        )
    assert fresh(close).first_check_in is None
    actions.perform(
        guest_access,
        "cadence.respond",
        {"proposal_id": proposal.pk, "accept": "yes", "confirm": "on"},
    )
    assert fresh(close).review_cadence == "weekly"


def test_the_cadence_is_agreed_in_close_not_before(midgame, host, log):
    with log.refused() as refusal:
        _propose(host)
    assert refusal.value.code == "wrong_stage"


def test_the_agreement_is_refused_until_a_cadence_is_agreed(
    close, issues, host, guest_access, log
):
    price, terms = issues
    services.term_set(access=host, issue_id=price.pk, version=None, value="95")
    services.term_set(access=host, issue_id=terms.pk, version=None, value="30 days")

    with log.refused(match="Agree the review cadence first"):
        services.agreement_confirm(access=host, digest=services.agreement_digest(close))
    assert not AgreementConfirmation.objects.exists()

    agree_cadence(guest_access, host)
    services.agreement_confirm(access=host, digest=services.agreement_digest(close))
    assert AgreementConfirmation.objects.count() == 1


def test_a_new_cadence_makes_an_earlier_confirmation_stale(
    ready, deal, host, guest_access, log
):
    shown = services.agreement_digest(deal)
    services.agreement_confirm(access=host, digest=shown)
    agree_cadence(guest_access, host, cadence="quarterly")

    with log.refused() as refusal:
        services.agreement_confirm(access=guest_access, digest=shown)
    assert refusal.value.code == "stale_version"
    assert fresh(deal).status == Deal.Status.OPEN


def test_a_cadence_can_be_agreed_anew_after_the_agreement(agreed, host, guest_access):
    at_stage(agreed, Deal.Stage.IMPLEMENTATION)
    first = timezone.localdate() + datetime.timedelta(days=3)
    agree_cadence(host, guest_access, cadence="weekly", first_check_in=first)
    deal = fresh(agreed)
    assert (deal.status, deal.review_cadence, deal.first_check_in) == (
        Deal.Status.AGREED,
        "weekly",
        first,
    )


# --- what follows the agreed cadence ---------------------------------------------


def test_the_schedule_starts_on_the_agreed_first_check_in():
    closed = datetime.date(2027, 1, 1)
    first = datetime.date(2027, 1, 20)
    assert (
        next_check_in(closed_on=closed, last_held=None, cadence="weekly", first=first)
        == first
    )
    # Once a check-in was held, the cadence runs from it.
    held = datetime.date(2027, 1, 21)
    assert next_check_in(
        closed_on=closed, last_held=held, cadence="weekly", first=first
    ) == datetime.date(2027, 1, 28)
    # Before the agreement there is no schedule, whatever was proposed.
    assert (
        next_check_in(closed_on=None, last_held=None, cadence="weekly", first=first)
        is None
    )
    rows = check_in_schedule(
        closed_on=closed,
        held=[],
        cadence="fortnightly",
        today=datetime.date(2027, 1, 2),
        first=first,
    )
    assert [r.date for r in rows] == [
        first,
        first + datetime.timedelta(days=14),
        first + datetime.timedelta(days=28),
    ]


def test_the_reminder_and_the_calendar_follow_the_agreed_first_date(agreed, rep_client):
    first = timezone.localdate() + datetime.timedelta(days=3)
    Deal.objects.filter(pk=agreed.pk).update(
        review_cadence="weekly", first_check_in=first
    )

    emails = reminders_due(today=timezone.localdate())
    keys = [item.key for email in emails for item in email.items]
    assert f"checkin:{first.isoformat()}" in keys

    ics = rep_client.get(f"/deals/{agreed.pk}/review/checkins.ics").content.decode()
    assert f"DTSTART;VALUE=DATE:{first:%Y%m%d}" in ics
    later = first + datetime.timedelta(days=7)
    assert f"DTSTART;VALUE=DATE:{later:%Y%m%d}" in ics
    assert "agreed review cadence: weekly" in ics.replace("\r\n ", "")


# --- over the sockets -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_channel_layer")
async def test_both_sockets_see_the_proposal_and_the_agreed_cadence(
    close, host_cookie, guest_cookie
):
    first = timezone.localdate() + SOON
    async with room(close.pk, host_cookie, guest_cookie) as (host, guest):
        await act(
            guest,
            "cadence.propose",
            {"cadence": "weekly", "first_check_in": first.isoformat()},
        )
        await receive(guest, "ack")
        await receive(guest, "event")  # its own update
        seen = await receive(host, "event")
        assert 'id="region-cadence"' in seen["html"]
        assert "proposes reviews <strong>weekly</strong>" in seen["html"]
        assert 'data-action="cadence.respond"' in seen["html"]
        proposal_id = await db(lambda: CadenceProposal.objects.get(deal=close).pk)()
        await act(
            host,
            "cadence.respond",
            {"proposal_id": proposal_id, "accept": "yes", "confirm": True},
        )
        await receive(host, "ack")
        agreed = await receive(guest, "event")
        assert 'id="cadence-agreed"' in agreed["html"]
        assert 'id="region-agreement"' in agreed["html"]
    deal = await db(lambda: Deal.objects.get(pk=close.pk))()
    assert (deal.review_cadence, deal.first_check_in) == ("weekly", first)
