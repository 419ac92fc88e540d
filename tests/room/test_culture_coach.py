"""Culture in the room: each side records, privately, how the other side
communicates and decides; its coach's lines adapt to it, and nothing of it
reaches the other side. Near-misses: readings that must not bring a tip."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from negotiation.models import DealEvent, Preparation
from negotiation.services.preparation import culture_set
from room import actions
from room.coaching.culture import culture_tips
from tests.room.conftest import at_stage
from tests.room.sockets import act, quiet, receive, room

Stage = __import__("negotiation.models", fromlist=["Deal"]).Deal.Stage

FACE_SAVING = "Leave room to save face"
DECISION_MAKERS = "Bring the decision-makers in early"


def keys(style: str, decisions: str, stage: str) -> set[str]:
    return {tip.key for tip in culture_tips(style, decisions, stage)}


# --- which lines fit which reading -------------------------------------------------


def test_a_high_context_counterpart_brings_face_saving_and_gentle_disagreement():
    found = keys("high_context", "", Stage.MIDGAME)
    assert {"face-saving", "soft-disagree", "soft-decline"} <= found
    assert "direct-disagree" not in found


def test_a_hierarchical_counterpart_brings_the_decision_makers_in_early():
    assert "decision-makers-early" in keys("", "hierarchical", Stage.FIRST_MOVE)
    # In Close it is too late to bring them in: make room for sign-off instead.
    close = keys("", "hierarchical", Stage.CLOSE)
    assert "sign-off" in close
    assert "decision-makers-early" not in close


@pytest.mark.parametrize(
    ("style", "decisions", "stage", "never"),
    [
        # Nothing recorded: no culture line at all.
        ("", "", Stage.MIDGAME, {"face-saving", "decision-makers-early"}),
        # A direct counterpart gets plain talk, never face-saving lines.
        ("direct", "", Stage.MIDGAME, {"face-saving", "soft-disagree"}),
        # The negotiator decides alone: no advice about bringing in the bosses.
        ("", "individual", Stage.FIRST_MOVE, {"decision-makers-early", "sign-off"}),
        # Consensus is not hierarchy.
        ("", "consensus", Stage.MIDGAME, {"decision-makers-early"}),
        # Hierarchy matters less in Implementation: no sign-off push there.
        ("", "hierarchical", Stage.IMPLEMENTATION, {"sign-off"}),
    ],
)
def test_near_misses_bring_no_tip_that_does_not_fit(style, decisions, stage, never):
    assert keys(style, decisions, stage).isdisjoint(never)


def test_nothing_recorded_shows_no_tip():
    assert culture_tips("", "", Stage.MIDGAME) == []


# --- recording it, privately ---------------------------------------------------------


@pytest.mark.django_db
def test_a_side_records_its_reading_and_only_its_coach_adapts(
    midgame, host, guest_access, rep_client, guest_client
):
    version = Preparation.objects.get(party=host.party).version
    events = DealEvent.objects.count()

    actions.perform(
        host,
        "culture.set",
        {"version": version, "their_style": "high_context",
         "their_decisions": "hierarchical"},
    )  # fmt: skip

    prep = Preparation.objects.get(party=host.party)
    assert (prep.their_style, prep.their_decisions) == ("high_context", "hierarchical")
    assert DealEvent.objects.count() == events  # nothing in the shared log
    url = reverse("live:room", args=[midgame.pk])
    host_page = rep_client.get(url).content.decode()
    guest_page = guest_client.get(url).content.decode()
    assert FACE_SAVING in host_page
    assert DECISION_MAKERS in host_page
    assert FACE_SAVING not in guest_page
    assert DECISION_MAKERS not in guest_page
    assert 'value="high_context" selected' not in guest_page
    # The other side's own reading is its own: still empty.
    guest_prep = Preparation.objects.get(party=guest_access.party)
    assert (guest_prep.their_style, guest_prep.their_decisions) == ("", "")


@pytest.mark.django_db
def test_a_reading_saved_on_the_counterparty_map_page_adapts_the_room_coach(
    midgame, host, guest_access, rep_client, guest_client
):
    map_url = reverse("negotiation:prep-section", args=[midgame.pk, "counterparty"])
    version = Preparation.objects.get(party=guest_access.party).version
    response = guest_client.post(
        map_url,
        {"version": str(version), "their_success": "A quick win for their CFO",
         "their_style": "high_context", "their_decisions": "hierarchical"},
    )  # fmt: skip
    assert response.status_code == 302

    url = reverse("live:room", args=[midgame.pk])
    guest_page = guest_client.get(url).content.decode()
    host_page = rep_client.get(url).content.decode()
    assert FACE_SAVING in guest_page
    assert DECISION_MAKERS in guest_page
    # The coach panel's own form shows the reading the page saved.
    assert 'value="high_context" selected' in guest_page
    assert FACE_SAVING not in host_page
    assert DECISION_MAKERS not in host_page
    host_prep = Preparation.objects.get(party=host.party)
    assert (host_prep.their_style, host_prep.their_decisions) == ("", "")


@pytest.mark.django_db
def test_the_coach_lines_follow_the_stage(deal, host, rep_client):
    culture_set(
        access=host,
        version=Preparation.objects.get(party=host.party).version,
        their_decisions="hierarchical",
    )
    url = reverse("live:room", args=[deal.pk])
    at_stage(deal, Stage.MIDGAME)
    page = rep_client.get(url).content.decode()
    assert DECISION_MAKERS in page
    assert "Make room for their sign-off" not in page
    at_stage(deal, Stage.CLOSE)
    page = rep_client.get(url).content.decode()
    assert DECISION_MAKERS not in page
    assert "Make room for their sign-off" in page


@pytest.mark.django_db
def test_an_unknown_reading_or_a_stale_version_changes_nothing(midgame, host):
    version = Preparation.objects.get(party=host.party).version
    with pytest.raises(actions.ActionRefused) as refused:
        actions.perform(
            host, "culture.set", {"version": version, "their_style": "loud"}
        )
    assert refused.value.code == "invalid"
    culture_set(access=host, version=version, their_style="direct")
    with pytest.raises(actions.ActionRefused) as stale:
        actions.perform(
            host, "culture.set", {"version": version, "their_style": "high_context"}
        )
    assert stale.value.code == "stale_version"
    assert Preparation.objects.get(party=host.party).their_style == "direct"


@pytest.mark.django_db
def test_a_manager_cannot_record_a_reading(midgame, team_manager):
    from negotiation.access import deal_access_for_user

    access = deal_access_for_user(team_manager, midgame.pk)
    with pytest.raises(PermissionDenied):
        culture_set(access=access, version=1, their_style="direct")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_channel_layer")
async def test_over_the_socket_only_the_recording_side_hears_of_it(
    midgame, host_cookie, guest_cookie
):
    from tests.room.sockets import db

    version = await db(
        lambda: (
            Preparation.objects.get(
                party__deal=midgame, party__side="counterpart"
            ).version
        )
    )()
    async with room(midgame.pk, host_cookie, guest_cookie) as (host, guest):
        await act(guest, "culture.set", {"version": version, "their_style": "direct"})
        await receive(guest, "ack")
        coach = await receive(guest, "coach")
        assert "Put your interests on the table" in coach["html"]
        assert await quiet(host)
