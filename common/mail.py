"""Outgoing mail: the mailer read from ``EMAIL_URL``, the stand-in used when a
production site has none, and the system check that says so.

``EMAIL_URL`` is parsed by django-environ (``smtp+tls://user:password@host:587``,
``smtp+ssl://…:465``, ``smtp://host:25``, ``consolemail://``); this module only
turns its answer into Django's ``MAILERS`` entry. It is imported by the
settings, so it must not need them at import time.
"""

from __future__ import annotations

from typing import Any

import environ
from django.conf import settings
from django.core.checks import Warning, register
from django.core.mail.backends.base import BaseEmailBackend

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
UNCONFIGURED_BACKEND = "common.mail.UnconfiguredEmailBackend"
# Seconds an SMTP server may take before a send counts as failed: without it a
# dead server would hold the request for the operating system's TCP timeout.
DEFAULT_SMTP_TIMEOUT = 10


def mailer_from_url(url: str) -> dict[str, Any]:
    """The ``MAILERS["default"]`` entry an ``EMAIL_URL`` describes.

    Raises ``ImproperlyConfigured`` for a scheme django-environ does not know.
    """
    parsed = environ.Env.email_url_config(url)
    backend = parsed["EMAIL_BACKEND"]
    if backend != SMTP_BACKEND:
        return {"BACKEND": backend}
    extra = {key.lower(): value for key, value in parsed.get("OPTIONS", {}).items()}
    return {
        "BACKEND": backend,
        "OPTIONS": {
            "host": parsed["EMAIL_HOST"],
            "port": parsed["EMAIL_PORT"],
            "username": parsed["EMAIL_HOST_USER"],
            "password": parsed["EMAIL_HOST_PASSWORD"],
            "use_tls": str(parsed.get("EMAIL_USE_TLS", False)).lower() == "true",
            "use_ssl": str(parsed.get("EMAIL_USE_SSL", False)).lower() == "true",
            "timeout": int(extra.get("timeout", DEFAULT_SMTP_TIMEOUT)),
        },
    }


class MailNotConfigured(RuntimeError):
    pass


class UnconfiguredEmailBackend(BaseEmailBackend):
    """The mailer of a production site without ``EMAIL_URL``: every send fails.

    Failing is the point: the person waiting for the email is told it could
    not be sent, and the failure is logged. Printing the message instead, as
    the console backend does, would write password-reset links to the logs.
    """

    def __init__(self, *, fail_silently: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fail_silently = fail_silently

    def send_messages(self, email_messages) -> int:
        if self.fail_silently:
            return 0
        raise MailNotConfigured("No mail server is configured: set EMAIL_URL.")


@register()
def check_mail_configured(app_configs, **kwargs) -> list[Warning]:
    """A site with DEBUG off and no EMAIL_URL sends no email at all."""
    if settings.DEBUG or getattr(settings, "EMAIL_URL", ""):
        return []
    return [
        Warning(
            "EMAIL_URL is not set and DEBUG is off: Parley cannot send any "
            "email (password resets, check-in reminders).",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@mail.example.com:587"
            " (see the README's 'Security and operations').",
            id="parley.W001",
        )
    ]
