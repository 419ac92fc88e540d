"""The write path for deals and issues: validation, versions, the event log."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, DealEvent, Issue, Membership, Party, Preparation
from negotiation.services import deals as services
from negotiation.services.base import AlreadyApplied, EditConflict, group_name
from tests.factories import MembershipFactory, UserFactory, make_deal

pytestmark = pytest.mark.django_db


def test_deal_create_makes_both_sides_with_empty_preparations(rep):
    team = rep.memberships.get().team
    deal = services.deal_create(
        owner=rep, team=team, title="Pilot", counterpart_organisation="Globex"
    )
    sides = dict(deal.parties.values_list("side", "organisation"))
    assert sides == {Party.Side.HOST: team.name, Party.Side.COUNTERPART: "Globex"}
    assert Preparation.objects.filter(party__deal=deal).count() == 2
    host = deal.parties.get(side=Party.Side.HOST)
    assert host.participants.get().user == rep
    assert deal.stage == Deal.Stage.SETUP
    assert deal.status == Deal.Status.OPEN
    assert list(deal.events.values_list("seq", "kind")) == [(1, "deal.created")]


def test_deal_create_for_a_team_you_are_not_on_is_refused(rep):
    other_team = MembershipFactory().team
    with pytest.raises(PermissionDenied):
        services.deal_create(
            owner=rep, team=other_team, title="X", counterpart_organisation="Y"
        )
    assert not Deal.objects.exists()


def test_deal_update_bumps_version_and_logs_the_change(host_access):
    deal = services.deal_update(
        access=host_access, version=1, shared_purpose="Grow together"
    )
    assert deal.version == 2
    event = deal.events.last()
    assert event.kind == "deal.updated"
    assert event.payload == {"fields": ["shared_purpose"]}


def test_stale_deal_update_is_refused_and_changes_nothing(host_access):
    services.deal_update(access=host_access, version=1, title="First edit")
    with pytest.raises(EditConflict) as conflict:
        services.deal_update(access=host_access, version=1, title="Second edit")
    assert conflict.value.current.title == "First edit"
    assert Deal.objects.get(pk=host_access.deal.pk).title == "First edit"


def test_update_without_a_version_is_refused(host_access):
    with pytest.raises(EditConflict):
        services.deal_update(access=host_access, version=None, title="Blind write")
    assert Deal.objects.get(pk=host_access.deal.pk).title == "Acme renewal"


def test_a_retried_issue_add_is_applied_once(host_access):
    first = services.issue_add(access=host_access, name="Volume", client_msg_id="i-1")

    with pytest.raises(AlreadyApplied) as replay:
        services.issue_add(access=host_access, name="Volume", client_msg_id="i-1")

    assert replay.value.event.payload == {"issue_id": first.pk}
    assert host_access.deal.issues.filter(name="Volume").count() == 1


def test_issue_add_appends_an_event_and_broadcasts_ids_only(
    host_access, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "negotiation.services.base.broadcast",
        lambda deal_id, message: sent.append((deal_id, message)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        issue = services.issue_add(
            access=host_access,
            name="Volume",
            unit="units",
            range_min=Decimal(100),
            range_max=Decimal(500),
        )
    event = DealEvent.objects.get(deal=host_access.deal, kind="issue.added")
    assert event.payload == {"issue_id": issue.pk}
    assert sent == [
        (
            host_access.deal.pk,
            {
                "type": "deal.event",
                "seq": event.seq,
                "kind": "issue.added",
                "event_id": event.pk,
                "actor_id": host_access.participant.pk,
                "ids": {"issue_id": issue.pk},
            },
        )
    ]
    assert group_name(host_access.deal.pk) == f"deal.{host_access.deal.pk}"


def test_event_seq_is_gapless_per_deal(host_access, rep):
    for name in ("A", "B", "C"):
        services.issue_add(access=host_access, name=name)
    other = make_deal(owner=rep, title="Other")
    seqs = list(host_access.deal.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert list(other.events.values_list("seq", flat=True)) == [1]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"range_min": Decimal(10), "range_max": Decimal(5)}, "must not be above"),
        ({"kind": Issue.Kind.OPTIONS, "options": ["Only one"]}, "at least two"),
        ({"kind": Issue.Kind.OPTIONS, "options": ["A", " "]}, "none of them empty"),
        ({"kind": Issue.Kind.OPTIONS, "options": ["A", "a"]}, "must be different"),
        ({"name": "price"}, "already has an issue"),
        ({"name": "  "}, "cannot be blank"),
    ],
)
def test_issue_add_rejects_bad_input_and_keeps_the_agenda(host_access, fields, message):
    before = list(host_access.deal.issues.values_list("pk", "name", "version"))
    events_before = host_access.deal.events.count()
    with pytest.raises(ValidationError) as error:
        services.issue_add(access=host_access, **{"name": "New", **fields})
    assert message in str(error.value)
    assert list(host_access.deal.issues.values_list("pk", "name", "version")) == before
    assert host_access.deal.events.count() == events_before


def test_stale_issue_update_is_refused(host_access):
    issue = host_access.deal.issues.get(name="Price")
    services.issue_update(access=host_access, issue_id=issue.pk, version=1, unit="USD")
    with pytest.raises(EditConflict):
        services.issue_update(
            access=host_access, issue_id=issue.pk, version=1, unit="GBP"
        )
    issue.refresh_from_db()
    assert (issue.unit, issue.version) == ("USD", 2)


def test_issue_of_another_deal_cannot_be_edited_through_this_one(host_access, rep):
    other_issue = make_deal(owner=rep, title="Other").issues.create(name="Secret")
    with pytest.raises(Issue.DoesNotExist):
        services.issue_update(
            access=host_access, issue_id=other_issue.pk, version=1, name="Hijacked"
        )
    other_issue.refresh_from_db()
    assert other_issue.name == "Secret"


def test_issue_move_reorders_the_agenda(host_access):
    price = host_access.deal.issues.get(name="Price")
    services.issue_move(access=host_access, issue_id=price.pk, direction=1)
    assert list(host_access.deal.issues.values_list("name", flat=True)) == [
        "Payment terms",
        "Price",
    ]


def test_issue_remove_needs_the_current_version(host_access):
    issue = host_access.deal.issues.get(name="Price")
    with pytest.raises(EditConflict):
        services.issue_remove(access=host_access, issue_id=issue.pk, version=7)
    services.issue_remove(access=host_access, issue_id=issue.pk, version=1)
    assert not host_access.deal.issues.filter(pk=issue.pk).exists()


def test_managers_cannot_change_the_deal(deal):
    manager = MembershipFactory(team=deal.team, role=Membership.Role.MANAGER).user
    access = deal_access_for_user(manager, deal.pk)
    with pytest.raises(PermissionDenied):
        services.issue_add(access=access, name="Nope")
    with pytest.raises(PermissionDenied):
        services.deal_update(access=access, version=1, title="Nope")


def test_team_create_makes_the_founder_its_manager():
    founder = UserFactory()
    team = services.team_create(name="  Northwind  ", founder=founder)
    assert team.name == "Northwind"
    assert team.memberships.get().role == Membership.Role.MANAGER


def test_rotating_the_join_code_invalidates_the_old_one():
    team = services.team_create(name="Northwind", founder=UserFactory())
    old = team.join_code
    assert services.team_rotate_join_code(team_id=team.pk).join_code != old
