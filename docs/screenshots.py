"""Take the README's pictures from the running demo: ``make screenshots``.

A fresh SQLite file in a temporary folder gets the demo exactly as
``make run`` makes it (migrate, load_playbooks, seed_demo); daphne serves it
on a free port (the harness of the browser tests, ``tests/live_server.py``),
and Playwright drives Debian's Chromium through it as people would: the rep
logs in and opens the live room, the counterpart joins through the share link
seed_demo printed, the manager opens the dashboard and a closed deal's review.
The pictures are written to ``docs/`` (1366 px wide); ``optipng`` squeezes
them when it is installed.

Each step waits for what a person would wait for (the room's live status, a
heading), never for a fixed time, so a slower machine only takes longer.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from tests.live_server import (  # noqa: E402
    CHROMIUM_ARGS,
    start_servers,
    stop_servers,
)

DOCS = REPO / "docs"
WIDTH, HEIGHT = 1366, 900
# Long pages are cut here: the top of a page is what the picture is for.
MAX_HEIGHT = 2200
TIMEOUT_MS = 30_000
REVIEWED_DEAL = "Meridian Health renewal"
# A colleague of the counterpart seed_demo prepared: a side may be a team.
GUEST_NAME = "Chris Lund (Acme Finance)"


def manage(env: dict[str, str], *args: str) -> str:
    """Run one management command as ``make run`` does; return what it printed."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label(re.compile(r"^Username")).fill(username)
    page.get_by_label(re.compile(r"^Password")).fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def wait_until_live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_text("Live", timeout=TIMEOUT_MS)
    page.evaluate("document.fonts.ready")


def shoot(page: Page, name: str, *, full: bool = False) -> Path:
    """The viewport, or the page from its top down to ``MAX_HEIGHT``."""
    path = DOCS / f"{name}.png"
    if full:
        height = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(
            path=path,
            full_page=True,
            clip={"x": 0, "y": 0, "width": WIDTH, "height": min(height, MAX_HEIGHT)},
        )
    else:
        page.screenshot(path=path)
    return path


def take(base_url: str, demo: dict, chromium: str) -> list[Path]:
    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:

            def person():
                context = browser.new_context(
                    base_url=base_url, viewport={"width": WIDTH, "height": HEIGHT}
                )
                context.set_default_timeout(TIMEOUT_MS)
                return context.new_page()

            rep, guest, manager = person(), person(), person()
            log_in(rep, **demo["host"])
            rep.goto(demo["deal_url"].removeprefix(demo["base_url"]).replace(
                "/deals/", "/room/"
            ))  # fmt: skip
            wait_until_live(rep)
            shots.append(shoot(rep, "room-rep"))

            coach = (
                rep.locator("#region-coach")
                .or_(
                    rep.get_by_role("region", name=re.compile(r"coach", re.IGNORECASE))
                )
                .first
            )
            coach.scroll_into_view_if_needed()
            coach.screenshot(path=DOCS / "coach.png")
            shots.append(DOCS / "coach.png")

            # The counterpart opens the share link and joins under a name.
            guest.goto(demo["invite_url"].removeprefix(demo["base_url"]))
            guest.get_by_label(re.compile(r"^Your name")).fill(GUEST_NAME)
            guest.get_by_role("button", name="Join the room").click()
            wait_until_live(guest)
            shots.append(shoot(guest, "room-counterpart"))

            log_in(manager, **demo["manager"])
            manager.goto("/deals/dashboard/")
            expect(manager.get_by_role("heading", level=1)).to_be_visible()
            shots.append(shoot(manager, "dashboard", full=True))

            manager.goto(f"/deals/dashboard/?q={REVIEWED_DEAL.replace(' ', '+')}")
            manager.get_by_role("link", name=REVIEWED_DEAL, exact=True).click()
            expect(manager.locator("#outcome-heading")).to_be_visible()
            shots.append(shoot(manager, "review", full=True))
        finally:
            browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chromium", default=os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parley-screens-") as tmp:
        database_url = f"sqlite:///{tmp}/demo.sqlite3"
        # The embedded default of ``make run``: SQLite, in-memory channel layer.
        os.environ.pop("REDIS_URL", None)
        env = dict(os.environ, DATABASE_URL=database_url, DJANGO_DEBUG="1")
        manage(env, "migrate", "--noinput")
        manage(env, "load_playbooks")
        base_url = "http://parley.invalid"  # links are followed by their path
        demo = json.loads(manage(env, "seed_demo", "--json", "--base-url", base_url))
        demo["base_url"] = base_url
        servers = start_servers(
            1, database_url=database_url, log_dir=Path(tmp), env={"DJANGO_DEBUG": "1"}
        )
        try:
            shots = take(servers[0].base_url, demo, args.chromium)
        finally:
            stop_servers(servers)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", *map(str, shots)], check=True)
    for shot in shots:
        print(f"{shot.relative_to(REPO)}  {shot.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
