import copy
import uuid

import factory.random
import pytest
from django.test import Client, RequestFactory

from negotiation.access import deal_access_for_user
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s a user; tests need the behaviour, not the cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def password_login(client: Client, username: str, password: str) -> bool:
    """``client.login`` with a password. django-axes (first in
    AUTHENTICATION_BACKENDS) refuses to check a password without the request
    it came in, which ``client.login`` does not pass on its own."""
    request = RequestFactory().post("/accounts/login/")
    return client.login(request=request, username=username, password=password)


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Each test starts with an empty cache (throttle counters): a key prefix
    of its own, so that a shared Redis is never flushed under anyone else."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches  # also drops the cache connections made so far


@pytest.fixture(autouse=True)
def _same_fake_data_every_run():
    """Faker's names and words depend on how many were drawn before; seeding
    per test makes each test's data the same whatever ran before it (a random
    "Robin" elsewhere once broke a search test)."""
    factory.random.reseed_random("parley")


@pytest.fixture
def rep(db):
    """A rep on a team, with a known password."""
    return MembershipFactory(user=UserFactory(username="rep")).user


@pytest.fixture
def deal(rep):
    """A deal owned by ``rep`` with two issues on its agenda."""
    deal = make_deal(owner=rep, title="Acme renewal")
    IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
    IssueFactory(deal=deal, name="Payment terms", unit="days", position=1)
    return deal


@pytest.fixture
def host_access(rep, deal):
    return deal_access_for_user(rep, deal.pk)


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client
