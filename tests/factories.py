"""factory_boy factories for the domain. Deals come with both sides prepared
empty, exactly as ``deal_create`` makes them."""

import factory
from django.contrib.auth import get_user_model

from negotiation.models import Deal, Issue, Membership, Team
from negotiation.services.deals import deal_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-9")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.REP


def make_deal(*, owner=None, team=None, **fields) -> Deal:
    """A deal created through the real service (so both sides exist)."""
    if owner is None:
        owner = UserFactory()
    if team is None:
        membership = Membership.objects.filter(user=owner).first()
        team = membership.team if membership else MembershipFactory(user=owner).team
    fields.setdefault("title", "Renewal 2027")
    fields.setdefault("counterpart_organisation", "Acme Logistics")
    return deal_create(owner=owner, team=team, **fields)


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue

    name = factory.Sequence(lambda n: f"Issue {n}")
    kind = Issue.Kind.NUMERIC
    unit = "EUR"
    position = factory.Sequence(lambda n: n)
