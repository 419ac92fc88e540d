"""Outgoing mail: EMAIL_URL, the warning when a production site has none, and
a password reset that says so when its email could not be sent."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from common.mail import check_mail_configured, mailer_from_url
from tests.factories import UserFactory

UNCONFIGURED = {"default": {"BACKEND": "common.mail.UnconfiguredEmailBackend"}}


def test_email_url_configures_smtp_with_starttls_and_a_timeout():
    mailer = mailer_from_url(
        "smtp+tls://parley%40example.com:s%3Acret@mx.example.com:587"
    )

    assert mailer == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "mx.example.com",
            "port": 587,
            "username": "parley@example.com",
            "password": "s:cret",
            "use_tls": True,
            "use_ssl": False,
            "timeout": 10,
        },
    }


def test_email_url_configures_implicit_tls_and_its_own_timeout():
    options = mailer_from_url("smtp+ssl://u:p@mx.example.com?timeout=3")["OPTIONS"]

    assert (options["use_ssl"], options["use_tls"], options["port"]) == (
        True,
        False,
        None,  # Django's SMTP mailer then uses 465
    )
    assert options["timeout"] == 3


def test_email_url_can_name_the_console_and_refuses_an_unknown_scheme():
    assert mailer_from_url("consolemail://") == {
        "BACKEND": "django.core.mail.backends.console.EmailBackend"
    }
    with pytest.raises(ImproperlyConfigured):
        mailer_from_url("carrier-pigeon://loft")


def test_a_site_with_debug_off_and_no_email_url_is_warned(settings):
    settings.DEBUG = False
    settings.EMAIL_URL = ""

    (warning,) = check_mail_configured(None)

    assert warning.id == "parley.W001"
    assert "EMAIL_URL" in warning.msg

    settings.EMAIL_URL = "smtp+tls://u:p@mx.example.com:587"
    assert check_mail_configured(None) == []
    settings.DEBUG, settings.EMAIL_URL = True, ""
    assert check_mail_configured(None) == []


@pytest.mark.django_db
def test_a_password_reset_whose_email_fails_says_so_and_logs_it(
    client, settings, caplog
):
    settings.MAILERS = UNCONFIGURED
    user = UserFactory(email="sam@example.com")

    with caplog.at_level(logging.ERROR):
        response = client.post(reverse("password_reset"), {"email": "sam@example.com"})

    assert response.status_code == 503
    assert "We could not send the email" in response.content.decode()
    (record,) = [r for r in caplog.records if "not sent" in r.getMessage()]
    assert str(user.pk) in record.getMessage()
    assert record.exc_info is not None


@pytest.mark.django_db
def test_a_password_reset_that_sends_goes_to_the_sent_page(client):
    UserFactory(email="sam@example.com")

    response = client.post(reverse("password_reset"), {"email": "sam@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
