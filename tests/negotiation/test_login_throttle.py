"""Login throttling (django-axes): a username that fails too often from one IP
is refused for a while, even with the right password; the admin's login too."""

from __future__ import annotations

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-9"  # UserFactory's
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password})


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN], ids=["login", "admin"])
def test_fifty_wrong_passwords_then_the_right_one_is_refused(client, url):
    user = UserFactory(username="robin", is_staff=True, is_superuser=True)

    for _ in range(50):
        attempt(client, url, user.username, "wrong-guess")
    response = attempt(client, url, user.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "paused logins to it from here for 15 minutes" in page
    assert response["Retry-After"] == "900"


def test_the_lockout_starts_at_the_configured_limit(client, settings):
    user = UserFactory(username="robin")
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(client, LOGIN, user.username, f"wrong-{n}")
        assert response.status_code == 200  # the form, with its error
        assert "Please enter a correct username and password" in (
            response.content.decode()
        )

    assert attempt(client, LOGIN, user.username, "wrong").status_code == 429
    assert attempt(client, LOGIN, user.username, PASSWORD).status_code == 429


def test_the_lockout_is_per_username_and_ip(client):
    robin, sam = UserFactory(username="robin"), UserFactory(username="sam")
    for _ in range(10):
        attempt(client, LOGIN, robin.username, "wrong")

    # The same person from another address, another account from this one.
    elsewhere = Client(REMOTE_ADDR="203.0.113.7")
    attempt(elsewhere, LOGIN, robin.username, PASSWORD)
    attempt(client, LOGIN, sam.username, PASSWORD)

    assert logged_in(elsewhere)
    assert logged_in(client)


def test_a_successful_login_clears_the_count(client, settings):
    user = UserFactory(username="robin")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, LOGIN, user.username, "wrong")
    assert attempt(client, LOGIN, user.username, PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, LOGIN, user.username, "wrong")
    attempt(client, LOGIN, user.username, PASSWORD)

    assert logged_in(client)


def test_the_right_password_works_again_after_the_cool_off(client):
    user = UserFactory(username="robin")
    for _ in range(10):
        attempt(client, LOGIN, user.username, "wrong")
    assert attempt(client, LOGIN, user.username, PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=timezone.now() - datetime.timedelta(minutes=16)
    )

    assert attempt(client, LOGIN, user.username, PASSWORD).status_code == 302
    assert logged_in(client)
