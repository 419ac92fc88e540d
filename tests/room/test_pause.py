""" "Pause and revisit": a side proposes a date to resume (and a note); the
other side agrees or proposes another date; both sides see it, the log keeps
it and the review's replay tells it."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from negotiation.models import DealEvent
from review.analysis.narrative import EventNames, describe
from review.analysis.replay import LoggedEvent
from room import services
from room.models import Pause
from tests.room.conftest import fresh

pytestmark = pytest.mark.django_db


def day(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def test_a_pause_proposed_by_one_side_is_agreed_by_the_other(
    midgame, host, guest_access, log
):
    with log.expect("pause.proposed"):
        pause = services.pause_propose(
            access=host, resume_on=day(2), note="Time to check with finance"
        )
    with log.expect("pause.accepted"):
        services.pause_accept(access=guest_access, pause_id=pause.pk)

    pause = fresh(pause)
    assert pause.status == Pause.Status.ACCEPTED
    assert pause.decided_by == guest_access.participant
    event = DealEvent.objects.filter(deal=midgame).order_by("-seq").first()
    assert event.payload == {
        "pause_id": pause.pk,
        "resume_on": day(2).isoformat(),
        "note": "Time to check with finance",
    }


def test_the_other_side_may_propose_another_date_which_the_first_side_answers(
    midgame, host, guest_access, log
):
    first = services.pause_propose(access=host, resume_on=day(2))
    with log.expect("pause.countered"):
        second = services.pause_counter(
            access=guest_access, pause_id=first.pk, resume_on=day(5), note="Board"
        )
    assert fresh(first).status == Pause.Status.COUNTERED
    assert (second.party, second.counter_of) == (guest_access.party, first)
    # Now the first side answers, not the side that proposed the new date.
    with log.refused(PermissionDenied):
        services.pause_accept(access=guest_access, pause_id=second.pk)
    services.pause_accept(access=host, pause_id=second.pk)
    assert fresh(second).status == Pause.Status.ACCEPTED


def test_a_side_cannot_agree_to_its_own_pause(midgame, host, log):
    pause = services.pause_propose(access=host, resume_on=day(2))
    with log.refused(PermissionDenied):
        services.pause_accept(access=host, pause_id=pause.pk)
    assert fresh(pause).status == Pause.Status.PENDING


@pytest.mark.parametrize(("days", "message"), [(0, "after today"), (400, "year")])
def test_a_resume_date_today_or_too_far_is_refused(midgame, host, log, days, message):
    with log.refused(match=message):
        services.pause_propose(access=host, resume_on=day(days))
    assert not Pause.objects.exists()


def test_countering_with_the_same_date_is_refused(midgame, host, guest_access, log):
    pause = services.pause_propose(access=host, resume_on=day(3))
    with log.refused(match="accept it instead"):
        services.pause_counter(access=guest_access, pause_id=pause.pk, resume_on=day(3))
    assert fresh(pause).status == Pause.Status.PENDING


def test_one_pause_waits_at_a_time(midgame, host, guest_access, log):
    services.pause_propose(access=host, resume_on=day(3))
    with log.refused(match="already waiting"):
        services.pause_propose(access=guest_access, resume_on=day(4))


def test_no_pause_once_the_agreement_is_confirmed(agreed, host, log):
    with log.refused(match="agreement is confirmed"):
        services.pause_propose(access=host, resume_on=day(3))


def test_both_sides_see_the_pause_in_the_room(
    midgame, host, guest_access, rep_client, guest_client
):
    pause = services.pause_propose(access=host, resume_on=day(3), note="After Q3")
    url = reverse("live:room", args=[midgame.pk])
    host_page = rep_client.get(url).content.decode()
    guest_page = guest_client.get(url).content.decode()
    for page in (host_page, guest_page):
        assert f'id="pause-{pause.pk}"' in page
        assert "After Q3" in page
    assert 'data-action="pause.accept"' in guest_page
    assert 'data-action="pause.accept"' not in host_page
    services.pause_accept(access=guest_access, pause_id=pause.pk)
    assert 'id="pause-agreed"' in rep_client.get(url).content.decode()


def test_the_replay_tells_the_pause_with_its_date_and_note():
    def told(kind: str, payload: dict) -> str:
        return describe(
            LoggedEvent(
                seq=1,
                kind=kind,
                payload=payload,
                created_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC),
                side="counterpart",
                actor="Dana",
            ),
            EventNames(sides={"counterpart": "Acme"}),
        )

    assert told(
        "pause.proposed", {"resume_on": "2027-03-04", "note": "Board meets"}
    ) == ("Dana (Acme) proposed to pause and resume on 4 March 2027 (“Board meets”).")
    assert told("pause.countered", {"resume_on": "2027-03-09", "note": ""}) == (
        "Dana (Acme) proposed to resume on 9 March 2027 instead."
    )
    assert told("pause.accepted", {"resume_on": "not a date"}) == (
        "Dana (Acme) agreed to pause and resume later."
    )
