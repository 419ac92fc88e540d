"""A rep reaches their deals through a real browser, served by daphne."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from negotiation.models import Membership, Team

PASSWORD = "e2e-smoke-Pass-8861"


@pytest.mark.django_db(transaction=True)
def test_rep_logs_in_through_the_browser_and_sees_the_deals_page(page: Page):
    rep = get_user_model().objects.create_user(username="e2e-rep", password=PASSWORD)
    team = Team.objects.create(name="E2E Team")
    Membership.objects.create(team=team, user=rep, role=Membership.Role.REP)

    home = page.goto("/")
    assert home is not None
    assert home.status == 200
    expect(page).to_have_title(re.compile("Parley"))
    # The stylesheet is served too (whitenoise, through daphne).
    stylesheet = page.request.get("/static/css/parley.css")
    assert stylesheet.status == 200
    # So is the icon browsers ask for on their own (no 404 in the console).
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.url.endswith("/static/img/favicon.svg")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Log in"
    ).click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.get_by_label("Username").fill("e2e-rep")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/deals/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Deals")
    expect(page.get_by_text("E2E Team")).to_be_visible()
