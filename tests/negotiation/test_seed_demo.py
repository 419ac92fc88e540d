"""The seed_demo contract: idempotent, and its private values stay on their side."""

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from negotiation.models import Deal, DealEvent, Membership, Party, PriorityEntry
from tests.conftest import password_login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    """The demo is for development, where DEBUG is on (pytest turns it off)."""
    settings.DEBUG = True


def seed() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", "--base-url", "http://testserver", stdout=out)
    return json.loads(out.getvalue())


def test_seed_demo_prints_the_contract():
    data = seed()
    assert set(data) >= {"host", "deal_url", "invite_url", "private"}
    assert data["host"] == {"username": "demo-rep", "password": "parley-demo-rep"}
    assert data["deal_url"].startswith("http://testserver/deals/")
    assert set(data["private"]) == {"host", "counterpart"}
    assert all(len(values) >= 4 for values in data["private"].values())


def test_seed_demo_is_idempotent():
    first = seed()
    first.pop("invite_url")
    counts = (
        Deal.objects.count(),
        Membership.objects.count(),
        DealEvent.objects.count(),
        PriorityEntry.objects.count(),
    )
    second = seed()
    second.pop("invite_url")
    assert second == first
    assert counts == (
        Deal.objects.count(),
        Membership.objects.count(),
        DealEvent.objects.count(),
        PriorityEntry.objects.count(),
    )


def test_both_sides_are_prepared():
    seed()
    deal = Deal.objects.get()
    for party in deal.parties.all():
        assert party.preparation.batna
        assert party.preparation.reservation_value is not None
        assert party.priorities.exists()
        assert party.evidence.exists()
    assert deal.issues.count() >= 4


def test_demo_rep_sees_own_private_values_and_never_the_counterparts(client):
    data = seed()
    assert password_login(client, **data["host"])
    deal = Deal.objects.get()
    pages = [
        "/deals/",
        data["deal_url"].removeprefix("http://testserver"),
        f"/deals/{deal.pk}/issues/",
        f"/deals/{deal.pk}/edit/",
        f"/deals/{deal.pk}/prep/",
    ] + [
        f"/deals/{deal.pk}/prep/{section}/"
        for section in (
            "walkaway", "counterparty", "readiness", "matrix", "anchors", "evidence"
        )
    ]  # fmt: skip
    everything = ""
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        everything += response.content.decode()
    for value in data["private"]["counterpart"]:
        assert value not in everything
    for value in data["private"]["host"]:
        assert value in everything, value


def test_demo_manager_reviews_host_side_only(client):
    data = seed()
    assert password_login(client, **data["manager"])
    deal = Deal.objects.get()
    assert deal.parties.get(side=Party.Side.HOST).preparation.batna
    everything = "".join(
        client.get(page).content.decode()
        for page in (f"/deals/{deal.pk}/", f"/deals/{deal.pk}/prep/walkaway/")
    )
    assert data["private"]["host"][0] in everything
    for value in data["private"]["counterpart"]:
        assert value not in everything


def test_seed_demo_prints_a_working_invite_link(client):
    data = seed()
    # The token rides in the fragment; the join page's script posts it.
    path, token = data["invite_url"].removeprefix("http://testserver").split("#")
    assert path == "/join/"
    response = client.post("/join/open/", {"link": token})
    assert response.status_code == 302
    assert response["Location"] == "/join/"
    assert b"Acme Retail renewal 2027" in client.get("/join/").content


def test_seed_demo_leaves_a_live_room_worth_looking_at(client):
    data = seed()
    deal = Deal.objects.get()
    assert deal.stage == Deal.Stage.MIDGAME
    assert deal.trades.filter(status="accepted").exists()
    assert deal.trades.filter(status="open").exists()
    assert password_login(client, **data["host"])
    room = client.get(f"/room/{deal.pk}/").content.decode()
    assert "Dedicated onboarding lead" in room
    assert "60 days" in room


def test_seed_demo_refuses_to_run_with_debug_off(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--allow-production"):
        call_command("seed_demo", "--json", stdout=StringIO())
    assert not Deal.objects.exists()
    assert not get_user_model().objects.filter(username="demo-rep").exists()


def test_seed_demo_with_debug_off_seeds_when_forced_and_warns(settings):
    settings.DEBUG = False
    out, err = StringIO(), StringIO()

    call_command("seed_demo", "--json", "--allow-production", stdout=out, stderr=err)

    assert json.loads(out.getvalue())["host"]["username"] == "demo-rep"
    assert "Warning" in err.getvalue()
    assert "log in as the demo users" in err.getvalue()
