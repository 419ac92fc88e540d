"""What waits for each side of the room (``room.attention``), its box, the
tab title's count, and "while you were away"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from negotiation.models import Deal, DealEvent
from room import services
from room.attention import (
    SUGGESTED_MOVES,
    attention_for,
    away_summary,
    waiting_for,
)
from room.models import RoomVisit
from room.render import render_events
from room.services.jointcheck import joint_check_allow
from room.services.presence import visit_left, visit_present, visit_seen
from tests.room.conftest import add_commitment, at_stage, propose

pytestmark = pytest.mark.django_db


def keys(deal, access) -> list[str]:
    deal.refresh_from_db()
    return [item.key for item in waiting_for(deal, access.party)]


def last_event(deal: Deal) -> DealEvent:
    return DealEvent.objects.filter(deal=deal).latest("seq")


# --- each kind of waiting item, for the side it waits for only -----------------


def test_an_open_trade_waits_for_the_other_side_only(
    midgame, issues, host, guest_access
):
    price, terms = issues
    trade = propose(host, price, "5% off", terms, "30 days sooner")

    assert keys(midgame, guest_access) == [f"trade:{trade.pk}"]
    assert keys(midgame, host) == []
    [item] = waiting_for(midgame, guest_access.party)
    assert item.target == f"trade-{trade.pk}"
    assert "5% off" in item.text
    assert "30 days sooner" in item.text


def test_a_proposed_review_cadence_waits_for_the_other_side_until_answered(
    close, host, guest_access
):
    import datetime

    from django.utils import timezone

    first = timezone.localdate() + datetime.timedelta(days=14)
    proposal = services.cadence_propose(
        access=host, cadence="fortnightly", first_check_in=first
    )

    assert keys(close, guest_access) == [f"cadence:{proposal.pk}"]
    assert keys(close, host) == []
    [item] = waiting_for(close, guest_access.party)
    assert item.target == "region-cadence"
    assert "every two weeks" in item.text

    services.cadence_respond(access=guest_access, proposal_id=proposal.pk, accept=True)
    assert keys(close, guest_access) == keys(close, host) == []


def test_a_proposed_pause_waits_for_the_other_side_until_agreed(
    midgame, host, guest_access
):
    import datetime

    from django.utils import timezone

    pause = services.pause_propose(
        access=guest_access,
        resume_on=timezone.localdate() + datetime.timedelta(days=3),
        note="",
    )

    assert keys(midgame, host) == [f"pause:{pause.pk}"]
    assert keys(midgame, guest_access) == []
    assert waiting_for(midgame, host.party)[0].target == "region-pause"

    services.pause_accept(access=host, pause_id=pause.pk)
    assert keys(midgame, host) == keys(midgame, guest_access) == []


def test_an_answered_trade_waits_no_more(midgame, issues, host, guest_access):
    price, terms = issues
    trade = propose(host, price, "5% off", terms, "30 days sooner")
    services.trade_decline(
        access=guest_access, trade_id=trade.pk, version=1, reason="Not now"
    )

    assert keys(midgame, guest_access) == keys(midgame, host) == []


def test_a_counter_waits_for_the_side_that_proposed_the_original(
    midgame, issues, host, guest_access
):
    price, terms = issues
    original = propose(host, price, "5% off", terms, "30 days sooner")
    counter = services.trade_counter(
        access=guest_access,
        trade_id=original.pk,
        version=1,
        give_issue_id=terms.pk,
        give_value="10 days sooner",
        ask_issue_id=price.pk,
        ask_value="8% off",
    )

    assert keys(midgame, host) == [f"trade:{counter.pk}"]
    assert keys(midgame, guest_access) == []
    assert waiting_for(midgame, host.party)[0].action == "Answer their counter-offer"


def test_a_stage_change_waits_for_the_side_that_did_not_propose_it(
    deal, host, guest_access
):
    change = services.stage_change_propose(access=guest_access, to_stage="first_move")

    assert keys(deal, host) == [f"stage:{change.pk}"]
    assert keys(deal, guest_access) == []
    assert waiting_for(deal, host.party)[0].target == "region-stagebar"


def test_a_set_of_packages_waits_for_the_other_side(meso, host, guest_access):
    deal = meso.deal

    assert keys(deal, guest_access) == [f"meso:{meso.pk}"]
    assert keys(deal, host) == []


def test_a_commitment_the_other_side_confirmed_waits_for_this_side(
    close, host, guest_access
):
    commitment = add_commitment(host)
    assert keys(close, host) == keys(close, guest_access) == []  # nobody confirmed

    services.commitment_confirm(access=host, commitment_id=commitment.pk, version=1)

    assert keys(close, guest_access) == [f"commitment:{commitment.pk}:1"]
    assert keys(close, host) == []
    services.commitment_confirm(
        access=guest_access, commitment_id=commitment.pk, version=1
    )
    assert keys(close, guest_access) == []


def test_a_joint_check_one_side_allowed_waits_for_the_other(
    midgame, host, guest_access
):
    joint_check_allow(access=host)

    [key] = keys(midgame, guest_access)
    assert key.startswith("jointcheck:allow:")
    assert keys(midgame, host) == []


def test_the_agreement_one_side_confirmed_waits_for_the_other(
    ready, host, guest_access
):
    deal = ready.deal
    deal.refresh_from_db()
    services.agreement_confirm(access=host, digest=services.agreement_digest(deal))

    [key] = keys(deal, guest_access)
    assert key.startswith("agreement:")
    assert keys(deal, host) == []


def test_nothing_waiting_gives_the_stages_suggested_move(deal, host, guest_access):
    for stage in Deal.Stage.values:
        deal = at_stage(deal, stage)
        attention = attention_for(deal, guest_access.party)
        assert attention.count == 0
        assert attention.first is None
        assert attention.suggestion == SUGGESTED_MOVES[stage]
    assert len({s.text for s in SUGGESTED_MOVES.values()}) == len(Deal.Stage.values)


def test_a_manager_has_no_attention_box(deal):
    assert attention_for(deal, None) is None


# --- the box on the page, live ---------------------------------------------------


def test_the_page_shows_one_action_for_the_first_waiting_item_and_the_count(
    midgame, issues, host, guest_client
):
    price, terms = issues
    first = propose(host, price, "5% off", terms, "30 days sooner")
    propose(host, terms, "15 days sooner", price, "2% more")

    html = guest_client.get(reverse("live:room", args=[midgame.pk])).content.decode()

    assert "<title>(2) Acme renewal · Parley</title>" in html
    assert 'id="room-attention"' in html
    assert 'data-count="2"' in html
    assert f'href="#trade-{first.pk}" data-attention-target="trade-{first.pk}"' in html
    assert "1 more waiting" in html


def test_the_page_shows_the_suggested_move_when_nothing_waits(midgame, rep_client):
    html = rep_client.get(reverse("live:room", args=[midgame.pk])).content.decode()

    assert "<title>Acme renewal · Parley</title>" in html
    assert "Your next move" in html
    assert SUGGESTED_MOVES[Deal.Stage.MIDGAME].action in html


def test_a_proposal_renders_the_other_sides_box_and_not_the_proposers(
    midgame, issues, host, guest_access
):
    price, terms = issues
    trade = propose(host, price, "5% off", terms, "30 days sooner")
    event = last_event(midgame)

    for_guest = render_events(guest_access, [event])
    for_host = render_events(host, [event], known=[trade])

    assert '<section id="room-attention"' in for_guest
    assert 'hx-swap-oob="true"' in for_guest.split('id="room-attention"')[1][:200]
    assert 'data-count="1"' in for_guest
    assert "room-attention" not in for_host


def test_an_answer_renders_the_answering_sides_box_again(
    midgame, issues, host, guest_access
):
    price, terms = issues
    trade = propose(host, price, "5% off", terms, "30 days sooner")
    services.trade_decline(
        access=guest_access, trade_id=trade.pk, version=1, reason="No"
    )

    html = render_events(guest_access, [last_event(midgame)])

    assert 'id="room-attention"' in html
    assert 'data-count="0"' in html


def test_a_message_does_not_render_the_box(midgame, host, guest_access):
    services.message_post(access=host, body="Hello")

    assert "room-attention" not in render_events(guest_access, [last_event(midgame)])


# --- while you were away -----------------------------------------------------------


def test_the_summary_tells_the_other_sides_events_since_the_last_visit(
    midgame, issues, host, guest
):
    guest_client, participant = guest
    price, terms = issues
    visit_left(participant_id=participant.pk, seen_seq=midgame.last_seq)
    services.message_post(access=host, body="Back soon")
    trade = propose(host, price, "5% off", terms, "30 days sooner")
    midgame.refresh_from_db()

    summary = away_summary(participant, midgame)

    assert summary.seq == midgame.last_seq
    assert len(summary.lines) == 2
    assert (
        "proposed “Price 5% off for Payment terms 30 days sooner”" in (summary.lines[1])
    )
    assert summary.unread == [f"trade-{trade.pk}"]
    html = guest_client.get(reverse("live:room", args=[midgame.pk])).content.decode()
    assert "While you were away" in html
    assert f'data-unread="trade-{trade.pk}"' in html


def test_the_summary_leaves_out_the_viewers_own_side(midgame, issues, host, guest):
    _, participant = guest
    price, terms = issues
    midgame.refresh_from_db()
    visit_left(participant_id=participant.pk, seen_seq=midgame.last_seq)
    host_participant = host.participant
    visit_left(participant_id=host_participant.pk, seen_seq=midgame.last_seq)
    propose(host, price, "5% off", terms, "30 days sooner")
    midgame.refresh_from_db()

    assert not away_summary(host_participant, midgame)
    assert away_summary(participant, midgame)


def test_a_first_visit_has_no_summary(midgame, issues, host, guest):
    guest_client, participant = guest
    price, terms = issues
    propose(host, price, "5% off", terms, "30 days sooner")
    RoomVisit.objects.filter(participant=participant).delete()

    html = guest_client.get(reverse("live:room", args=[midgame.pk])).content.decode()

    assert "While you were away" not in html
    # That visit is recorded from the log's end: nothing to tell next time.
    midgame.refresh_from_db()
    assert not away_summary(participant, midgame)


def test_dismissing_the_summary_marks_it_seen(midgame, issues, host, guest):
    guest_client, participant = guest
    price, terms = issues
    visit_left(participant_id=participant.pk, seen_seq=midgame.last_seq)
    propose(host, price, "5% off", terms, "30 days sooner")
    midgame.refresh_from_db()
    url = reverse("live:seen", args=[midgame.pk])

    response = guest_client.post(url, {"seq": str(midgame.last_seq)})

    assert response.status_code == 302
    assert not away_summary(participant, midgame)
    assert guest_client.post(url, {"seq": "many"}).status_code == 400


def test_a_visit_never_goes_back_nor_past_the_log(midgame, guest):
    _, participant = guest
    visit_present(participant=participant, deal=midgame)
    visit_seen(participant=participant, deal=midgame, seq=10**6)
    assert RoomVisit.objects.get(participant=participant).seen_seq == midgame.last_seq
    visit_left(participant_id=participant.pk, seen_seq=0)
    assert RoomVisit.objects.get(participant=participant).seen_seq == midgame.last_seq


def test_a_socket_closing_records_what_it_showed(midgame, guest):
    """The consumer calls ``visit_left`` with its ``last_seq`` on close
    (``RoomConsumer._presence_leave``): the next summary starts there."""
    _, participant = guest
    visit_left(participant_id=participant.pk, seen_seq=3)
    visit = RoomVisit.objects.get(participant=participant)
    assert visit.seen_seq == 3
    assert visit.present_at is not None


def test_a_manager_gets_no_summary(midgame, manager_client):
    response = manager_client.get(reverse("live:room", args=[midgame.pk]))

    assert response.status_code == 200
    assert "While you were away" not in response.content.decode()
    assert not RoomVisit.objects.exists()


def test_the_summary_and_box_never_name_the_other_sides_private_values(
    midgame, issues, host, guest
):
    """Only shared facts: the summary of a host's trade for the guest holds
    the trade's words, nothing of the host's preparation."""
    guest_client, participant = guest
    prep = host.party.preparation
    prep.batna = "Walk to Globex at 80k"
    prep.save()
    price, terms = issues
    visit_left(participant_id=participant.pk, seen_seq=midgame.last_seq)
    propose(host, price, "5% off", terms, "30 days sooner")

    html = guest_client.get(reverse("live:room", args=[midgame.pk]))
    assert "Globex" not in html.content.decode()


def test_a_long_absence_is_told_in_a_few_lines_and_counted(
    midgame, host, guest, monkeypatch
):
    from room import attention

    monkeypatch.setattr(attention, "SUMMARY_EVENTS", 5)
    _, participant = guest
    midgame.refresh_from_db()
    visit_left(participant_id=participant.pk, seen_seq=midgame.last_seq)
    for n in range(12):
        services.message_post(access=host, body=f"Note {n}")
        services.stage_change_propose(access=host, to_stage="close")
        services.stage_change_withdraw(
            access=host, change_id=midgame.stage_changes.latest("pk").pk
        )
    midgame.refresh_from_db()

    summary = away_summary(participant, midgame)

    assert len(summary.lines) == 5
    assert summary.more == 36 - 5


# --- the first visit's orientation: hidden per participant, on any browser ---


def _orientation_hidden(client, deal: Deal) -> bool:
    html = client.get(reverse("live:room", args=[deal.pk])).content.decode()
    tag = html[html.index('<section id="room-orientation"') :]
    return " hidden>" in tag[: tag.index(">") + 1]


def test_hiding_the_orientation_holds_on_every_browser_of_that_participant_only(
    midgame, issues, host, rep, rep_client, guest
):
    guest_client, participant = guest
    assert not _orientation_hidden(rep_client, midgame)
    assert not _orientation_hidden(guest_client, midgame)
    url = reverse("live:orientation-dismiss", args=[midgame.pk])

    response = rep_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("live:room", args=[midgame.pk])
    # Another browser of the same rep: hidden there too.
    other_browser = Client()
    other_browser.force_login(rep)
    assert _orientation_hidden(other_browser, midgame)
    assert _orientation_hidden(rep_client, midgame)
    # The other side still sees its own.
    assert not _orientation_hidden(guest_client, midgame)
    assert (
        RoomVisit.objects.get(participant=participant).orientation_dismissed_at is None
    )

    # The guest hides theirs from the page's script: no redirect, and what
    # they have not seen yet (the trade proposed since) stays unseen.
    seen = RoomVisit.objects.get(participant=participant).seen_seq
    price, terms = issues
    propose(host, price, "5% off", terms, "30 days sooner")
    response = guest_client.post(url, headers={"X-Requested-With": "fetch"})
    assert response.status_code == 204
    assert RoomVisit.objects.get(participant=participant).seen_seq == seen
    assert _orientation_hidden(guest_client, midgame)


def test_hiding_the_orientation_needs_the_csrf_token_and_a_participant(
    midgame, rep, team_manager
):
    url = reverse("live:orientation-dismiss", args=[midgame.pk])
    careful = Client(enforce_csrf_checks=True)
    careful.force_login(rep)
    assert careful.post(url).status_code == 403
    assert not RoomVisit.objects.filter(orientation_dismissed_at__isnull=False)
    assert careful.get(url).status_code == 405
    # A reviewing manager has no place in the room to hide anything from.
    manager = Client()
    manager.force_login(team_manager)
    assert manager.post(url).status_code == 403
