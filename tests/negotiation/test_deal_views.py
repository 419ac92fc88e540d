"""Deal and issue pages: forms, clear errors, conflicts, suggestions."""

from decimal import Decimal

import pytest

from negotiation.models import (
    Deal,
    DealEvent,
    Issue,
    Membership,
    Party,
    Preparation,
    Team,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signup_founds_a_team_and_logs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "sam",
            "email": "sam@example.com",
            "team_name": "Globex Sales",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="sam")
    assert (membership.team.name, membership.role) == ("Globex Sales", "manager")
    assert client.get("/deals/").status_code == 200


def test_signup_with_a_join_code_joins_that_team_as_rep(client):
    team = Team.objects.create(name="Initech")
    page = client.get(f"/accounts/signup/?team={team.join_code}")
    assert b"You are joining <strong>Initech</strong>" in page.content
    response = client.post(
        f"/accounts/signup/?team={team.join_code}",
        {
            "username": "pat",
            "email": "pat@example.com",
            "join_code": team.join_code,
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__username="pat").team == team


def test_signup_with_a_stale_join_code_explains_and_creates_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "lee",
            "email": "lee@example.com",
            "join_code": "no-such-code",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert response.status_code == 200
    assert b"no longer valid" in response.content
    assert not Membership.objects.exists()


def test_signup_needs_a_team_name(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "lee",
            "email": "lee@example.com",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )
    assert b"Name your team" in response.content


def test_create_deal_then_land_on_issue_mapping(rep_client, rep):
    response = rep_client.post(
        "/deals/new/",
        {
            "title": "Globex pilot",
            "context": "partnership",
            "counterpart_organisation": "Globex",
            "shared_purpose": "A pilot that proves the joint offer",
            "deadline": "2027-01-31",
        },
    )
    deal = Deal.objects.get(title="Globex pilot")
    assert response["Location"] == f"/deals/{deal.pk}/issues/"
    assert deal.owner == rep
    assert str(deal.deadline) == "2027-01-31"


def test_create_deal_with_bad_input_shows_errors(rep_client):
    response = rep_client.post(
        "/deals/new/", {"title": "", "context": "bribery", "deadline": "soon"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "This field is required." in content
    assert "Select a valid choice." in content
    assert "Enter a valid date." in content
    assert not Deal.objects.exists()


def test_stale_deal_edit_shows_the_conflict_and_keeps_the_newer_value(rep_client, deal):
    Deal.objects.filter(pk=deal.pk).update(title="Renamed meanwhile", version=2)
    response = rep_client.post(
        f"/deals/{deal.pk}/edit/",
        {
            "version": 1,
            "title": "My edit",
            "context": "sales",
            "counterpart_organisation": "Acme",
        },
    )
    content = response.content.decode()
    assert "Saved meanwhile by someone else" in content
    assert "Renamed meanwhile" in content
    assert 'value="My edit"' in content  # the editor's own text is kept
    deal.refresh_from_db()
    assert deal.title == "Renamed meanwhile"


def test_issue_form_rejects_an_inverted_range(rep_client, deal):
    response = rep_client.post(
        f"/deals/{deal.pk}/issues/add/",
        {"name": "Volume", "kind": "numeric", "range_min": "500", "range_max": "100",
         "flexibility": "flexible"},
    )  # fmt: skip
    assert response.status_code == 422
    assert b"must not be below the lowest" in response.content
    assert not deal.issues.filter(name="Volume").exists()


def test_issue_form_rejects_empty_options(rep_client, deal):
    response = rep_client.post(
        f"/deals/{deal.pk}/issues/add/",
        {"name": "Pilot", "kind": "options", "options": "", "flexibility": "fixed"},
    )
    assert response.status_code == 422
    assert b"List at least two options" in response.content


def test_issue_form_rejects_a_duplicate_name_whatever_the_case(rep_client, deal):
    response = rep_client.post(
        f"/deals/{deal.pk}/issues/add/",
        {"name": "PRICE", "kind": "numeric", "flexibility": "flexible"},
    )
    assert response.status_code == 422
    assert b"already has an issue with that name" in response.content
    assert deal.issues.count() == 2


def test_issue_with_options_is_saved_one_option_per_line(rep_client, deal):
    rep_client.post(
        f"/deals/{deal.pk}/issues/add/",
        {"name": "Service level", "kind": "options",
         "options": "Standard\r\nExtended\r\nPremium", "flexibility": "flexible"},
    )  # fmt: skip
    issue = deal.issues.get(name="Service level")
    assert issue.options == ["Standard", "Extended", "Premium"]
    assert issue.range_min is None


def test_tradeable_suggestion_prefills_the_form(rep_client, deal):
    response = rep_client.get(f"/deals/{deal.pk}/issues/?suggestion=payment-terms")
    content = response.content.decode()
    # "Payment terms" is already on the agenda, so it is not suggested again…
    assert "?suggestion=payment-terms" not in content
    response = rep_client.get(f"/deals/{deal.pk}/issues/?suggestion=pilot-phase")
    content = response.content.decode()
    # …while an unused one fills the add form.
    assert 'value="Pilot phase"' in content
    assert "12-week pilot with success criteria" in content


def test_stale_issue_edit_is_refused_over_http(rep_client, deal):
    issue = deal.issues.get(name="Price")
    Issue.objects.filter(pk=issue.pk).update(unit="USD", version=2)
    response = rep_client.post(
        f"/deals/{deal.pk}/issues/{issue.pk}/edit/",
        {"version": 1, "name": "Price", "kind": "numeric", "unit": "GBP",
         "flexibility": "flexible"},
    )  # fmt: skip
    assert response.status_code == 422
    assert b"Saved meanwhile by someone else" in response.content
    issue.refresh_from_db()
    assert issue.unit == "USD"


def test_issue_move_buttons_reorder(rep_client, deal):
    payment = deal.issues.get(name="Payment terms")
    rep_client.post(f"/deals/{deal.pk}/issues/{payment.pk}/move/", {"direction": "up"})
    assert deal.issues.values_list("name", flat=True).first() == "Payment terms"


def test_delete_with_a_garbage_version_is_refused(rep_client, deal):
    issue = deal.issues.get(name="Price")
    response = rep_client.post(
        f"/deals/{deal.pk}/issues/{issue.pk}/delete/", {"version": "abc"}, follow=True
    )
    assert b"changed since you loaded the page" in response.content
    assert deal.issues.filter(pk=issue.pk).exists()


def test_deal_list_shows_own_deals_and_managers_see_the_team(client, deal):
    manager = Membership.objects.create(
        team=deal.team,
        user=UserFactory(),
        role=Membership.Role.MANAGER,
    ).user
    client.force_login(manager)
    assert b"Acme renewal" in client.get("/deals/").content


def test_team_page_shows_the_join_link_to_managers_only(client, deal, rep):
    client.force_login(rep)
    assert b"Invite a colleague" not in client.get("/team/").content
    manager = deal.team.memberships.create(
        user=UserFactory(),
        role=Membership.Role.MANAGER,
    ).user
    client.force_login(manager)
    page = client.get("/team/").content.decode()
    assert f"?team={deal.team.join_code}" in page


def test_rep_cannot_rotate_the_join_code(rep_client, deal):
    code = deal.team.join_code
    rep_client.post(f"/team/{deal.team.pk}/rotate-code/")
    deal.team.refresh_from_db()
    assert deal.team.join_code == code


def _walk_away(deal, value: str) -> None:
    prep = Preparation.objects.get(party__deal=deal, party__side=Party.Side.HOST)
    prep.reservation_value = Decimal(value)
    prep.save()


def _post_held(client, url: str, data: dict) -> None:
    """The guard holds the text back and offers to share it anyway."""
    held = client.post(url, data)

    assert held.status_code == 422
    assert b"walk-away figure" in held.content
    assert b'name="confirm_share"' in held.content


def _post_confirmed(client, url: str, data: dict) -> None:
    sent = client.post(url, {**data, "confirm_share": "on"})

    assert sent.status_code == 302


def test_an_issue_that_gives_away_the_walk_away_figure_is_held_until_confirmed(
    rep_client, deal
):
    """The agenda is shared with the other side: the deal pages run the same
    guard as the room, and a held issue writes nothing."""
    _walk_away(deal, "186500")
    url = f"/deals/{deal.pk}/issues/add/"
    data = {
        "name": "Volume",
        "description": "We cannot go below 186,500 in total.",
        "kind": "numeric",
        "flexibility": "flexible",
    }
    events = DealEvent.objects.filter(deal=deal).count()

    _post_held(rep_client, url, data)

    assert not deal.issues.filter(name="Volume").exists()
    assert DealEvent.objects.filter(deal=deal).count() == events

    _post_confirmed(rep_client, url, data)

    assert deal.issues.filter(name="Volume").exists()


def test_an_issue_edit_that_gives_away_the_walk_away_figure_is_held_until_confirmed(
    rep_client, deal
):
    _walk_away(deal, "48000")
    issue = deal.issues.get(name="Price")
    url = f"/deals/{deal.pk}/issues/{issue.pk}/edit/"
    data = {
        "version": issue.version,
        "name": "Price",
        "description": "Anything under EUR 48.000 is off the table for us.",
        "kind": "numeric",
        "flexibility": "flexible",
    }
    events = DealEvent.objects.filter(deal=deal).count()

    _post_held(rep_client, url, data)

    issue.refresh_from_db()
    assert "48" not in issue.description
    assert DealEvent.objects.filter(deal=deal).count() == events

    _post_confirmed(rep_client, url, data)

    issue.refresh_from_db()
    assert issue.description == data["description"]


def test_a_deal_edit_that_gives_away_the_walk_away_figure_is_held_until_confirmed(
    rep_client, deal
):
    """The title and the shared purpose show in the other side's room."""
    _walk_away(deal, "186500")
    url = f"/deals/{deal.pk}/edit/"
    data = {
        "version": deal.version,
        "title": deal.title,
        "context": deal.context,
        "counterpart_organisation": deal.counterpart_organisation,
        "shared_purpose": "A rollout we can both defend, at no less than 186,500.",
    }
    events = DealEvent.objects.filter(deal=deal).count()

    _post_held(rep_client, url, data)

    deal.refresh_from_db()
    assert "186" not in deal.shared_purpose
    assert DealEvent.objects.filter(deal=deal).count() == events

    _post_confirmed(rep_client, url, data)

    deal.refresh_from_db()
    assert deal.shared_purpose == data["shared_purpose"]
