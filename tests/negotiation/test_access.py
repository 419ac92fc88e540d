"""Who may open a deal, and whose private preparation they may read."""

import pytest
from django.http import Http404

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Membership, Party
from tests.factories import MembershipFactory, UserFactory, make_deal

pytestmark = pytest.mark.django_db


def test_owner_negotiates_for_the_host_side(rep, deal):
    access = deal_access_for_user(rep, deal.pk)
    assert access.side == Party.Side.HOST
    assert access.can_edit_deal
    assert access.can_prepare
    assert access.can_read_private(access.host_party)
    assert not access.can_read_private(access.counterpart_party)


def test_another_rep_of_the_same_team_cannot_open_a_colleagues_deal(deal):
    colleague = MembershipFactory(team=deal.team).user
    with pytest.raises(Http404):
        deal_access_for_user(colleague, deal.pk)
    assert deal not in Deal.objects.visible_to(colleague)


def test_a_rep_of_another_team_cannot_open_the_deal(deal):
    stranger = MembershipFactory().user
    with pytest.raises(Http404):
        deal_access_for_user(stranger, deal.pk)


def test_manager_of_the_team_reviews_host_side_but_never_counterpart_side(deal):
    manager = MembershipFactory(team=deal.team, role=Membership.Role.MANAGER).user
    access = deal_access_for_user(manager, deal.pk)
    assert access.is_manager
    assert access.party is None
    assert not access.can_edit_deal
    assert not access.can_prepare
    assert access.can_read_private(access.host_party)
    assert not access.can_read_private(access.counterpart_party)
    assert access.private_party() == access.host_party


def test_manager_of_another_team_cannot_open_the_deal(deal):
    other_manager = MembershipFactory(role=Membership.Role.MANAGER).user
    with pytest.raises(Http404):
        deal_access_for_user(other_manager, deal.pk)


def test_staff_get_no_pass_outside_the_admin(deal):
    staff = UserFactory(is_staff=True, is_superuser=True)
    with pytest.raises(Http404):
        deal_access_for_user(staff, deal.pk)


def test_anonymous_cannot_open_a_deal(deal):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        deal_access_for_user(AnonymousUser(), deal.pk)
    assert not Deal.objects.visible_to(AnonymousUser()).exists()


def test_closed_deal_is_read_only_for_its_owner(rep):
    closed = make_deal(owner=rep)
    Deal.objects.filter(pk=closed.pk).update(status=Deal.Status.AGREED)
    access = deal_access_for_user(rep, closed.pk)
    assert not access.can_edit_deal
    assert not access.can_prepare


@pytest.mark.parametrize(
    "path",
    [
        "/deals/{pk}/",
        "/deals/{pk}/edit/",
        "/deals/{pk}/issues/",
        "/deals/{pk}/prep/",
        "/deals/{pk}/prep/walkaway/",
    ],
)
def test_deal_pages_are_not_found_for_outsiders(client, deal, path):
    outsiders = [
        MembershipFactory(team=deal.team).user,  # a colleague who is not on it
        MembershipFactory(role=Membership.Role.MANAGER).user,  # another team
    ]
    for outsider in outsiders:
        client.force_login(outsider)
        assert client.get(path.format(pk=deal.pk)).status_code == 404


@pytest.mark.parametrize("path", ["/deals/", "/deals/{pk}/", "/deals/{pk}/prep/"])
def test_deal_pages_send_anonymous_visitors_to_login(client, deal, path):
    response = client.get(path.format(pk=deal.pk))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_writes_by_outsiders_change_nothing(client, deal):
    issue = deal.issues.first()
    client.force_login(MembershipFactory().user)
    response = client.post(
        f"/deals/{deal.pk}/issues/{issue.pk}/delete/", {"version": issue.version}
    )
    assert response.status_code == 404
    assert deal.issues.filter(pk=issue.pk).exists()


def test_manager_cannot_edit_the_deal(client, deal):
    manager = MembershipFactory(team=deal.team, role=Membership.Role.MANAGER).user
    client.force_login(manager)
    response = client.post(
        f"/deals/{deal.pk}/issues/add/",
        {"name": "Sneaky", "kind": "numeric", "flexibility": "flexible"},
    )
    assert response.status_code == 403
    assert not deal.issues.filter(name="Sneaky").exists()
    assert client.get(f"/deals/{deal.pk}/").status_code == 200
