"""Parley's own 404 and 500 pages, with DEBUG on and off (the 410 a revoked
guest gets: tests/room/test_guest_header.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.error_urls")]

DEBUG = pytest.mark.parametrize("debug", [True, False], ids=["debug", "no-debug"])


@DEBUG
def test_an_unknown_url_gets_parleys_404(settings, client, debug):
    settings.DEBUG = debug

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "There is nothing for you here" in html
    assert "Using the URLconf" not in html  # Django's debug page


@DEBUG
def test_a_deal_that_is_not_yours_gets_parleys_404(settings, client, deal, debug):
    settings.DEBUG = debug

    response = client.get(reverse("live:room", args=[deal.pk]))

    assert response.status_code == 404
    assert "There is nothing for you here" in response.content.decode()
    assert "No such deal" not in response.content.decode()


@DEBUG
def test_an_error_gets_parleys_500(settings, debug):
    settings.DEBUG = debug
    client = Client(raise_request_exception=False)

    response = client.get("/boom/")

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html


def test_an_error_is_still_raised_to_the_test_client_and_logged(settings, caplog):
    settings.DEBUG = True

    with pytest.raises(RuntimeError, match="kaboom"):
        Client().get("/boom/")
    assert any("Internal Server Error: /boom/" in r.message for r in caplog.records)
