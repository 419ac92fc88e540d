"""Secrets that must never reach a log line, and the filter that removes them.

A share link's token admits whoever holds it, and so does a team's join code.
New share links carry the token in the URL fragment (``/join/#<token>``), which
browsers never send, but links sent before that change still open
``/join/<token>/``, and a sign-up link carries ``?team=<code>``. Every log
line that may hold a request path goes through ``redact_secrets``: Django's
(``RedactSecretsFilter`` on the console handler) and daphne's access log
(``config/serve.py``). ``deploy/nginx.conf`` does the same for nginx.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

_SECRETS = (
    # /join/<token>/ (not /join/ itself, nor the page's own /join/open/).
    (re.compile(r"(/join/)(?!open/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    # ?team=<join code> on the sign-up page.
    (re.compile(r"([?&]team=)[^&#\s\"']+"), rf"\g<1>{REDACTED}"),
)


def redact_secrets(text: str) -> str:
    """``text`` with every share-link token and team join code replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message (and its traceback text) without secrets.

    Attached to a handler, so it sees the records of every logger that
    reaches it (``django.request``'s "Not Found: <path>" among them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        return True
