"""A team's own plays: written by its members, seen by its members only."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from negotiation.models import Membership
from playbooks.models import TeamPlay
from playbooks.services import team_play_create, team_play_update
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_adds_a_play_through_the_form(rep_client, rep, team, content):
    page = rep_client.get(reverse("playbooks:team-new"))
    assert page.status_code == 200
    response = rep_client.post(
        reverse("playbooks:team-new"),
        {
            "team": team.pk,
            "title": "Ask for the onboarding data first",
            "context": "sales",
            "stage": "first_move",
            "body": "Customers who share onboarding data close faster.",
        },
    )
    play = TeamPlay.objects.get()
    assert response.status_code == 302
    assert response["Location"] == play.get_absolute_url()
    assert (play.team, play.created_by, play.stage) == (team, rep, "first_move")


def test_the_form_explains_what_is_missing(rep_client, team, content):
    response = rep_client.post(
        reverse("playbooks:team-new"), {"team": team.pk, "title": "", "body": ""}
    )
    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not TeamPlay.objects.exists()


def test_nobody_adds_a_play_to_a_team_they_are_not_in(
    rep_client, team, outsider, content
):
    foreign = Membership.objects.get(user=outsider).team
    response = rep_client.post(
        reverse("playbooks:team-new"),
        {"team": foreign.pk, "title": "Sneaky", "body": "Nope."},
    )
    assert response.status_code == 200
    assert b"Pick one of your own teams." in response.content
    with pytest.raises(PermissionDenied):
        team_play_create(author=outsider, team=team, title="Sneaky", body="Nope.")
    assert not TeamPlay.objects.exists()


def test_team_plays_are_visible_to_the_team_only(
    rep_client, outsider_client, teammate, play, content
):
    anonymous = Client()
    teammate_client = Client()
    teammate_client.force_login(teammate)
    stage_url = reverse("playbooks:stage-detail", args=["first_move"])
    context_url = reverse("playbooks:context-detail", args=["sales"])
    for viewer in (rep_client, teammate_client):
        assert viewer.get(play.get_absolute_url()).status_code == 200
        for url in (reverse("playbooks:index"), stage_url, context_url):
            assert play.title.encode() in viewer.get(url).content, url
    for stranger in (outsider_client, anonymous):
        for url in (reverse("playbooks:index"), stage_url, context_url):
            assert play.title.encode() not in stranger.get(url).content, url
    assert outsider_client.get(play.get_absolute_url()).status_code == 404
    assert anonymous.get(play.get_absolute_url()).status_code == 302  # to log in


def test_a_play_for_another_stage_is_not_on_this_stage_page(rep_client, play, content):
    page = rep_client.get(reverse("playbooks:stage-detail", args=["close"]))
    assert play.title.encode() not in page.content


def test_the_author_edits_a_play(rep_client, play, content):
    response = rep_client.post(
        reverse("playbooks:team-edit", args=[play.pk]),
        {
            "version": play.version,
            "title": "Open with the numbers",
            "context": "",
            "stage": "first_move",
            "body": "Bring the chart.",
        },
    )
    assert response.status_code == 302
    play.refresh_from_db()
    assert (play.title, play.context, play.version) == ("Open with the numbers", "", 2)


def test_a_stale_edit_is_refused_and_shows_what_changed(rep, rep_client, play, content):
    team_play_update(actor=rep, play_id=play.pk, version=1, title="Saved first")
    response = rep_client.post(
        reverse("playbooks:team-edit", args=[play.pk]),
        {
            "version": 1,
            "title": "Saved second",
            "stage": "",
            "context": "",
            "body": "b",
        },
    )
    assert response.status_code == 200
    assert b"Saved meanwhile by someone else" in response.content
    assert b"Saved first" in response.content
    play.refresh_from_db()
    assert play.title == "Saved first"


def test_a_teammate_reads_but_does_not_edit_someone_elses_play(teammate, play, content):
    teammate_client = Client()
    teammate_client.force_login(teammate)
    page = teammate_client.get(play.get_absolute_url())
    assert b"Edit</a>" not in page.content
    edit_url = reverse("playbooks:team-edit", args=[play.pk])
    assert teammate_client.get(edit_url).status_code == 403
    delete_url = reverse("playbooks:team-delete", args=[play.pk])
    assert teammate_client.post(delete_url).status_code == 403
    assert TeamPlay.objects.filter(pk=play.pk).exists()


def test_a_team_manager_may_delete_a_play(team, play, content):
    manager = MembershipFactory(team=team, role=Membership.Role.MANAGER).user
    manager_client = Client()
    manager_client.force_login(manager)
    response = manager_client.post(reverse("playbooks:team-delete", args=[play.pk]))
    assert response.status_code == 302
    assert not TeamPlay.objects.exists()


def test_another_team_cannot_delete_a_play(outsider_client, play, content):
    response = outsider_client.post(reverse("playbooks:team-delete", args=[play.pk]))
    assert response.status_code == 404
    assert TeamPlay.objects.filter(pk=play.pk).exists()


def test_adding_a_play_needs_a_team(client, content):
    client.force_login(UserFactory(username="loner"))
    assert client.get(reverse("playbooks:team-new")).status_code == 403
