"""/favicon.ico answers with Parley's icon, and every page links it."""

import pytest
from django.contrib.staticfiles import finders


def test_favicon_ico_leads_to_the_vendored_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"] == "/static/img/favicon.svg"
    icon = finders.find("img/favicon.svg")
    assert icon is not None
    with open(icon, encoding="utf-8") as svg:
        assert svg.read().startswith("<svg")


@pytest.mark.django_db
def test_every_page_links_the_icon(client):
    page = client.get("/").content.decode()

    assert (
        '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in page
    )
