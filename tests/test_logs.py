"""Share-link tokens (and team join codes) never reach a log.

New links carry the token in the URL fragment (``/join/#<token>``), which no
request line holds; links of the older form (``/join/<token>/``) are redacted
from daphne's access log (``config/serve.py``), Django's log lines
(``config/logs.py``) and nginx's access log (``deploy/nginx.conf``). A refused
link is logged by a prefix of its token's hash.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.logs import RedactSecretsFilter, redact_secrets
from room.services import invite_create
from tests.live_server import (
    Browser,
    LiveServer,
    database_url_for,
    invite_and_join,
    log_in,
    open_share_link,
    seed_demo,
    start_servers,
    stop_servers,
)

REPO = Path(__file__).resolve().parent.parent
TOKEN = "Zx9" + "a" * 40


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"GET /join/{TOKEN}/", "GET /join/[redacted]/"),
        (f"Gone: /join/{TOKEN}/", "Gone: /join/[redacted]/"),
        (f'"GET /join/{TOKEN}?x=1 HTTP/1.1"', '"GET /join/[redacted]?x=1 HTTP/1.1"'),
        ("/accounts/signup/?team=c0de&x=1", "/accounts/signup/?team=[redacted]&x=1"),
        ("/accounts/signup/?a=1&team=c0de", "/accounts/signup/?a=1&team=[redacted]"),
        # Nothing secret: left alone.
        ("POST /join/open/ 302", "POST /join/open/ 302"),
        ("GET /join/ 200", "GET /join/ 200"),
        ("GET /x/?steam=1", "GET /x/?steam=1"),
    ],
)  # fmt: skip
def test_tokens_and_join_codes_are_redacted(line, expected):
    assert redact_secrets(line) == expected


def test_the_log_filter_redacts_the_message_its_arguments_and_the_traceback():
    try:
        raise ValueError(f"bad path /join/{TOKEN}/")
    except ValueError as error:
        exc_info = (type(error), error, None)
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1,
        "Internal Server Error: %s", (f"/join/{TOKEN}/",), exc_info,
    )  # fmt: skip

    assert RedactSecretsFilter().filter(record) is True
    text = logging.Formatter().format(record)
    assert TOKEN not in text
    assert "Internal Server Error: /join/[redacted]/" in text
    assert "bad path /join/[redacted]/" in text


def test_every_console_line_goes_through_the_filter(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["filters"] == ["redact_secrets"]
    # Django's own handlers (which would bypass the filter) are replaced.
    for name in ("django", "django.server"):
        assert settings.LOGGING["loggers"][name]["handlers"] == []
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).propagate


# --- the bundled nginx --------------------------------------------------------


def _nginx_maps() -> dict[str, list[tuple[re.Pattern, str]]]:
    """Each ``map``'s regex rules, in order, translated from PCRE to ``re``."""
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    maps = {}
    for target, body in re.findall(
        r"^map \$\w+ (\$\w+) \{\n(.*?)^\}", conf, re.M | re.S
    ):
        rules = []
        for pattern, value in re.findall(r'^\s*"~(.+?)"\s+"(.+?)";$', body, re.M):
            pattern = pattern.replace("(?<", "(?P<").replace("(?P<!", "(?<!")
            rules.append(
                (re.compile(pattern), re.sub(r"\$\{(\w+)\}", r"\\g<\1>", value))
            )
        maps[target] = rules
    return maps


def _nginx_apply(rules: list[tuple[re.Pattern, str]], value: str) -> str:
    for pattern, replacement in rules:
        if pattern.search(value):
            return pattern.sub(replacement, value, count=1)
    return value


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        (f"/join/{TOKEN}/", "/join/[redacted]/"),
        ("/accounts/signup/?team=c0de&x=1", "/accounts/signup/?team=[redacted]&x=1"),
        ("/join/open/", "/join/open/"),
        ("/room/7/", "/room/7/"),
    ],
)
def test_nginx_logs_the_request_uri_and_referer_redacted(uri, logged):
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    maps = _nginx_maps()

    assert _nginx_apply(maps["$parley_logged_uri"], uri) == logged
    referer = f"https://parley.example{uri}"
    assert _nginx_apply(maps["$parley_logged_referer"], referer) == (
        f"https://parley.example{logged}"
    )
    log_format = re.search(r"log_format parley (.*?);", conf, re.S).group(1)
    assert "$parley_logged_uri" in log_format
    assert "$parley_logged_referer" in log_format
    assert "$request " not in log_format
    assert "$request_uri" not in log_format
    assert "$http_referer" not in log_format
    assert re.search(r"^\s*access_log \S+ parley;", conf, re.M)


# --- a real daphne ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Keep the real password hashers (overrides tests/conftest.py's MD5): the
    demo rep logs in through daphne, which only knows the project's hashers."""


@pytest.fixture
def server(django_db_setup, tmp_path: Path) -> Iterator[LiveServer]:
    from django.db import connection

    servers = start_servers(
        1,
        database_url=database_url_for(connection.settings_dict),
        log_dir=tmp_path,
        env={"LOG_LEVEL": "INFO"},
    )
    try:
        yield servers[0]
    finally:
        stop_servers(servers)


@pytest.mark.django_db(transaction=True)
def test_a_real_daphne_logs_no_token_of_any_link_opened_or_refused(server):
    from negotiation.access import deal_access_for_user
    from negotiation.models import Deal

    demo = seed_demo(server.base_url)
    deal = Deal.objects.get(pk=demo["deal_url"].rstrip("/").rsplit("/", 1)[1])
    host_access = deal_access_for_user(deal.owner, deal.pk)
    _, old_form_token = invite_create(access=host_access, label="Sent last year")
    dead_token = secrets.token_urlsafe(32)
    dead_old_form_token = secrets.token_urlsafe(32)
    host = Browser(server.base_url, "host")
    log_in(host, demo["host"]["username"], demo["host"]["password"])

    # The demo's link (new form), and one the host creates in the UI.
    open_share_link(Browser(server.base_url, "demo guest"), demo["invite_url"])
    invite_and_join(host, Browser(server.base_url, "guest"), deal.pk, "Dana")
    # A link of the older form: redirected to the fragment, then posted.
    old = Browser(server.base_url, "old link")
    landing = old.get(f"/join/{old_form_token}/")
    assert landing.url.endswith("/join/#" + old_form_token)  # as a browser would
    assert old.post("/join/open/", {"link": old_form_token}).url.endswith("/join/")
    # Dead links, of both forms.
    stranger = Browser(server.base_url, "stranger")
    stranger.get(f"/join/{dead_old_form_token}/")
    stranger.post("/join/open/", {"link": dead_token}, expect=(404,))
    stop_servers([server])  # flushes everything it wrote

    log = server.log()
    tokens = [
        demo["invite_url"].rsplit("#", 1)[1],
        old_form_token,
        dead_token,
        dead_old_form_token,
    ]
    for token in tokens:
        assert token not in log
        assert token[:16] not in log
    # The access log and Django's log were on, and wrote what they should.
    assert '"GET /join/[redacted]/" 302' in log
    assert '"POST /join/open/" 302' in log
    assert "Not Found: /join/open/" in log
    fingerprint = hashlib.sha256(dead_token.encode()).hexdigest()[:12]
    assert f"Share link refused (unknown): token sha256 {fingerprint}" in log
