"""Daphne against the test database, and clients that record what they receive.

pytest-django's live server speaks no websocket, so the live tests run the
real ASGI application in daphne subprocesses: this module is the one harness
that starts them, for the real-browser tests (``tests/e2e/conftest.py``), the
privacy and scale-out tests and ``bench/room_latency.py``. ``start_servers``
starts N of them on free ports, all pointed at one database (and at the same
Redis when ``REDIS_URL`` is set), waits until each answers ``/healthz`` and
collects each one's log in a file.

Data a test writes must be committed for daphne to see it: mark such tests
``@pytest.mark.django_db(transaction=True)``. Fixtures that start servers must
depend on ``django_db_setup`` so they stop before pytest-django drops the test
database (PostgreSQL refuses to drop a database that still has connections).

``Browser`` and ``RoomSocket`` are one person's view of the app over real
HTTP and real websockets, keeping every response (status, headers, body) and
every frame they receive, so a test can assert what a side was never sent.
"""

from __future__ import annotations

import html
import http.cookiejar
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

# Playwright cannot download its own browser here: these flags make Debian's
# Chromium run as root in a container, headless, and never phone home (the
# browser tests and `make screenshots`).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Never handed to daphne: it would hide real async-safety bugs in the app.
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


class ServerError(RuntimeError):
    """A daphne process did not come up (the message ends with its log)."""


# --- servers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL naming the database of ``settings_dict`` itself.

    Inside a test session ``connection.settings_dict["NAME"]`` is the test
    database (``test_…`` on PostgreSQL, ``test.sqlite3`` under
    ``PARLEY_VAR_DIR`` on SQLite), which is what daphne must serve.
    """
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
        host = settings_dict.get("HOST") or "localhost"
        port = settings_dict.get("PORT") or "5432"
        return f"postgres://{credentials}{host}:{port}/{quote(name, safe='')}"
    raise RuntimeError(f"no live server for database engine {engine}")


@dataclass
class LiveServer:
    """One daphne process serving the project on ``base_url``."""

    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def server_env(
    database_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a daphne process: ours, pointed at ``database_url``.

    ``PARLEY_VAR_DIR`` and ``REDIS_URL`` pass through unchanged;
    ``DJANGO_ALLOW_ASYNC_UNSAFE`` never does.
    """
    env = {k: v for k, v in os.environ.items() if k != ASYNC_UNSAFE}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG=env.get("DJANGO_DEBUG", "1"),  # static files via finders
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    env.pop(ASYNC_UNSAFE, None)
    return env


def _spawn(port: int, env: dict[str, str], log_path: Path) -> LiveServer:
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            # daphne through config.serve, as deployed: its access log redacted.
            [sys.executable, "-m", "config.serve", "-b", "127.0.0.1", "-p", str(port),
             "config.asgi:application"],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return LiveServer(port=port, process=process, log_path=log_path)


def wait_until_healthy(server: LiveServer, timeout: float = START_TIMEOUT_SECONDS):
    """Block until ``/healthz`` answers 200, or raise ``ServerError``."""
    deadline = time.monotonic() + timeout
    last_error = ""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if not server.running:
            raise ServerError(
                f"daphne on port {server.port} exited with "
                f"{server.process.returncode} before answering:\n{server.log()[-4000:]}"
            )
        try:
            with opener.open(f"{server.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as error:
            last_error = str(error)
        time.sleep(0.2)
    raise ServerError(
        f"daphne on port {server.port} gave no healthy /healthz within {timeout}s "
        f"({last_error}):\n{server.log()[-4000:]}"
    )


def start_servers(
    count: int,
    *,
    database_url: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT_SECONDS,
) -> list[LiveServer]:
    """Start ``count`` daphne processes on free ports and wait for all of them.

    On any failure the ones already started are stopped before raising.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    environment = server_env(database_url, env)
    servers: list[LiveServer] = []
    try:
        for index in range(count):
            port = free_port()
            log_path = log_dir / f"daphne-{index}-{port}.log"
            servers.append(_spawn(port, environment, log_path))
        for server in servers:
            wait_until_healthy(server, timeout)
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: Iterable[LiveServer]) -> None:
    """SIGTERM every process, then SIGKILL whatever is still up after 10 s."""
    servers = list(servers)
    for server in servers:
        if server.running:
            with suppress(ProcessLookupError):
                server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for server in servers:
        try:
            server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def wait_until_quiet(quiet_for: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until no other session on the test database (a daphne's) has been
    inside a statement or a transaction for ``quiet_for`` seconds.

    A test ends when its socket closes; the daphne then still writes (its
    disconnect: presence, "seen up to"). pytest-django's flush after a
    transactional test truncates every table, and its locks met those writes
    in a deadlock (PostgreSQL only; on SQLite there is nothing to wait for).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    quiet_since = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state <> 'idle'"
            )
            busy = cursor.fetchone()[0]
        now = time.monotonic()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_for:
            return
        time.sleep(0.05)


@contextmanager
def running_servers(
    count: int,
    *,
    database_url: str,
    log_dir: Path,
    env: dict[str, str] | None = None,
) -> Iterator[list[LiveServer]]:
    servers = start_servers(count, database_url=database_url, log_dir=log_dir, env=env)
    try:
        yield servers
    finally:
        stop_servers(servers)


# --- clients that record everything ---------------------------------------------


@dataclass
class Response:
    method: str
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Hand every 3xx back as it is, so its headers and body are recorded too."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class HttpFailure(AssertionError):
    pass


def extract_input_value(page: str, name: str, *, after: str = "") -> str:
    """The ``value`` of the first ``<input name=…>`` (after ``after``) on a page."""
    start = page.index(after) if after else 0
    match = re.search(
        rf'<input[^>]*\bname="{re.escape(name)}"[^>]*\bvalue="([^"]*)"', page[start:]
    )
    if match is None:
        raise HttpFailure(f"no <input name={name!r}> with a value on the page")
    return html.unescape(match.group(1))


@dataclass
class Browser:
    """One person's browser: a cookie jar, CSRF handling, and a full record.

    ``received`` holds everything the server sent this person, in order: each
    HTTP response as status line, headers and body, each websocket handshake
    response, and each websocket frame.
    """

    base_url: str
    name: str
    received: list[str] = field(default_factory=list)
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirects(),
        )

    # HTTP -------------------------------------------------------------------

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        follow: bool = True,
        expect: Iterable[int] | None = (200,),
    ) -> Response:
        """Send one request (and follow redirects with GETs unless told not to)."""
        url = urllib.parse.urljoin(self.base_url, path)
        body = None
        headers = {"Accept": "text/html,application/json"}
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.base_url
        request = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            raw = self._opener.open(request, timeout=15)
        except urllib.error.HTTPError as error:
            raw = error  # 3xx (not followed here), 4xx and 5xx: a response too
        with raw:
            response = Response(
                method=method,
                url=url,
                status=raw.status if hasattr(raw, "status") else raw.code,
                headers=list(raw.headers.items()),
                body=raw.read().decode("utf-8", errors="replace"),
            )
        self._record_http(response)
        if follow and 300 <= response.status < 400 and response.header("Location"):
            return self.request("GET", response.header("Location"), expect=expect)
        if expect is not None and response.status not in set(expect):
            raise HttpFailure(
                f"{self.name}: {method} {path} answered {response.status}, "
                f"expected {sorted(set(expect))}:\n{response.body[:3000]}"
            )
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs) -> Response:
        """POST a form with the CSRF token of the session's ``csrftoken`` cookie."""
        token = self.cookie("csrftoken")
        if token is None:
            raise HttpFailure(f"{self.name}: no csrftoken cookie yet; GET a form first")
        payload = {"csrfmiddlewaretoken": token, **(data or {})}
        return self.request("POST", path, payload, **kwargs)

    def _record_http(self, response: Response) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers)
        self.received.append(
            f"HTTP {response.status} {response.method} {response.url}\n"
            f"{headers}\n\n{response.body}"
        )

    # websocket --------------------------------------------------------------

    def websocket(self, path: str, *, base_url: str | None = None) -> RoomSocket:
        """Open a websocket with this browser's cookies and a matching Origin."""
        base = base_url or self.base_url
        ws_url = "ws" + base.removeprefix("http") + path
        connection = connect(
            ws_url,
            origin=base,
            additional_headers={"Cookie": self.cookie_header()},
            proxy=None,
            open_timeout=10,
            max_size=None,
            max_queue=None,
            legacy=True,  # a long-lived connection, closed by RoomSocket.close()
        )
        handshake = connection.response
        if handshake is not None:
            headers = "\n".join(f"{k}: {v}" for k, v in handshake.headers.raw_items())
            self.received.append(
                f"WS {handshake.status_code} {ws_url}\n{headers}\n\n"
                f"{(handshake.body or b'').decode(errors='replace')}"
            )
        return RoomSocket(connection, self)


class RoomSocket:
    """A websocket to a room; every frame received is kept (and recorded)."""

    def __init__(self, connection: ClientConnection, browser: Browser) -> None:
        self.connection = connection
        self.browser = browser
        self.frames: list[dict[str, Any]] = []
        self.closed_code: int | None = None

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            raw = self.connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd else 1006
            return None
        text = raw if isinstance(raw, str) else raw.decode(errors="replace")
        self.browser.received.append(text)
        frame = json.loads(text)
        self.frames.append(frame)
        return frame

    def mark(self) -> int:
        """A position in ``frames``; ``wait_for(since=mark)`` looks from there."""
        return len(self.frames)

    def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        *,
        since: int = 0,
        timeout: float = 10.0,
        what: str = "a frame",
    ) -> dict[str, Any]:
        """The first frame from ``since`` on that matches, receiving as needed."""
        for frame in self.frames[since:]:
            if predicate(frame):
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self._receive(left)
            if frame is None:
                if self.closed_code is not None:
                    break
                continue
            if predicate(frame):
                return frame
        seen = [(f.get("type"), f.get("seq"), f.get("code")) for f in self.frames]
        raise HttpFailure(
            f"{self.browser.name}: no {what} within {timeout}s "
            f"(closed: {self.closed_code}); frames since: {seen[since:]}"
        )

    def drain(self, quiet: float = 0.3) -> None:
        """Receive until nothing arrives for ``quiet`` seconds."""
        while self._receive(quiet) is not None:
            pass

    def send(self, payload: dict[str, Any]) -> None:
        self.connection.send(json.dumps(payload))

    def act(
        self, action: str, data: dict[str, Any], *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send one room action and return its ``ack``; an ``error`` fails."""
        client_msg_id = uuid.uuid4().hex
        since = self.mark()
        self.send({"action": action, "client_msg_id": client_msg_id, "data": data})
        reply = self.wait_for(
            lambda f: (
                f.get("client_msg_id") == client_msg_id
                and f.get("type") in {"ack", "error"}
            ),
            since=since,
            timeout=timeout,
            what=f"reply to {action}",
        )
        if reply["type"] == "error":
            raise HttpFailure(f"{self.browser.name}: {action} was refused: {reply}")
        return reply

    def close(self) -> None:
        with suppress(Exception):
            self.drain(0.2)
        self.connection.close()


# --- the demo's flows, as a person does them -------------------------------------


def seed_demo(base_url: str) -> dict[str, Any]:
    """Run ``seed_demo --json`` in this process and return what it printed."""
    from django.core.management import call_command

    out = io.StringIO()
    # Tests run with DEBUG off; the test database is no site anyone can reach.
    call_command(
        "seed_demo",
        "--json",
        "--allow-production",
        "--base-url",
        base_url,
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue())


def log_in(browser: Browser, username: str, password: str) -> None:
    browser.get("/accounts/login/")
    page = browser.post(
        "/accounts/login/", {"username": username, "password": password}
    )
    if not page.url.endswith("/deals/"):
        raise HttpFailure(f"{browser.name}: logging in led to {page.url}")


def open_share_link(guest: Browser, link: str, **kwargs) -> Response:
    """Open a share link as the join page's script does: load the page (the
    fragment stays in the browser), then post the token from the fragment."""
    parts = urllib.parse.urlsplit(link)
    guest.get(parts.path)
    return guest.post("/join/open/", {"link": parts.fragment}, **kwargs)


def invite_and_join(
    host: Browser, guest: Browser, deal_id: int, display_name: str
) -> None:
    """The host creates a share link (read from the HTML); the guest opens it
    (on the guest's own server) and joins under ``display_name``."""
    invites = f"/deals/{deal_id}/invites/"
    host.get(invites)
    page = host.post(invites, {"label": display_name, "valid_days": "7"})
    match = re.search(r'id="new-link"[^>]*value="([^"]+)"', page.body)
    if match is None:
        raise HttpFailure("the new share link is not on the page")
    join = open_share_link(guest, html.unescape(match.group(1)))
    if not join.url.endswith("/join/"):
        raise HttpFailure(f"opening the link led to {join.url}, not /join/")
    room = guest.post("/join/", {"display_name": display_name})
    if not room.url.endswith(f"/room/{deal_id}/"):
        raise HttpFailure(f"joining led to {room.url}, not the room")


def presence_of(fragment: str, display_name: str) -> str | None:
    """How the presence region shows ``display_name``: online, offline or None."""
    match = re.search(
        r'<li class="(online|offline)"><span class="dot"[^>]*></span>'
        + re.escape(html.escape(display_name))
        + r" <",
        fragment,
    )
    return match.group(1) if match else None
