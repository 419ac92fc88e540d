"""Fixtures for the playbook tests: the loaded content, and the people around
a team's own plays."""

import tomllib
from pathlib import Path

import pytest
from django.test import Client

from negotiation.models import Membership
from playbooks.loader import DATA_DIR, KINDS, load_content
from playbooks.models import TeamPlay
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def content(db):
    """The method's content as the data files ship it.

    The data migration loads it into a fresh test database, but a
    transactional test elsewhere in the suite empties every table when it
    ends; loading again is cheap and changes nothing when it is there.
    """
    load_content()


def data_items(file: str, table: str) -> list[dict]:
    with (DATA_DIR / file).open("rb") as handle:
        return tomllib.load(handle)[table]


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of the data files, to change one and load it."""
    for kind in KINDS:
        (tmp_path / kind.file).write_bytes((DATA_DIR / kind.file).read_bytes())
    return tmp_path


@pytest.fixture
def team(rep):
    return Membership.objects.get(user=rep).team


@pytest.fixture
def teammate(team):
    return MembershipFactory(team=team, user=UserFactory(username="teammate")).user


@pytest.fixture
def outsider(db):
    """A rep of another team."""
    return MembershipFactory(user=UserFactory(username="outsider")).user


@pytest.fixture
def outsider_client(outsider) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def play(team, rep) -> TeamPlay:
    return TeamPlay.objects.create(
        team=team,
        created_by=rep,
        title="Open with the onboarding numbers",
        stage="first_move",
        context="sales",
        body="Bring the zyxcadence onboarding chart; it turns every renewal talk.",
    )
