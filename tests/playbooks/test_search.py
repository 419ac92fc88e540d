"""Search across every kind of playbook item (and the team's own plays)."""

import pytest
from django.urls import reverse

from playbooks.models import CultureNote, FaqEntry, Pitfall
from playbooks.selectors import search, search_terms

pytestmark = pytest.mark.django_db


def result_titles(client, query: str) -> list[str]:
    response = client.get(reverse("playbooks:index"), {"q": query})
    assert response.status_code == 200
    return [hit.title for hit in response.context["hits"]]


def test_a_word_from_the_body_finds_the_item_and_not_unrelated_ones(client, content):
    # "outmanoeuvred" is only in the body of the ethics note.
    titles = result_titles(client, "outmanoeuvred")
    assert titles == [CultureNote.objects.get(key="consent-not-tricks").title]


def test_search_is_case_insensitive(client, content):
    assert result_titles(client, "OUTMANOEUVRED") == result_titles(
        client, "outmanoeuvred"
    )


def test_every_word_of_a_query_must_match(client, content):
    titles = result_titles(client, "walk-away safety")
    assert FaqEntry.objects.get(key="how-much-to-disclose").title in titles
    assert Pitfall.objects.get(key="conceding").title not in titles


def test_title_matches_come_first(client, content):
    titles = result_titles(client, "pilot")
    assert set(titles[:3]) == {
        "Propose a pilot",
        "Pilot phase",
        "Co-branding partnership: a pilot before the big launch",
    }
    assert len(titles) > 3  # items that mention a pilot in their text follow


def test_the_results_page_highlights_the_match(client, content):
    response = client.get(reverse("playbooks:index"), {"q": "outmanoeuvred"})
    assert b"<mark>outmanoeuvred</mark>" in response.content


def test_a_query_that_matches_nothing_says_so(client, content):
    response = client.get(reverse("playbooks:index"), {"q": "qwertyuiop"})
    assert response.context["hits"] == []
    assert b"Nothing matches" in response.content


def test_an_empty_query_shows_the_index(client, content):
    response = client.get(reverse("playbooks:index"), {"q": "   "})
    assert "overview" in response.context


def test_user_text_in_the_query_is_escaped(client, content):
    response = client.get(reverse("playbooks:index"), {"q": "<script>x</script>"})
    assert b"<script>x</script>" not in response.content


def test_search_finds_my_team_play_but_never_another_teams(
    rep, outsider, play, content
):
    assert [hit.title for hit in search("zyxcadence", rep)] == [play.title]
    assert search("zyxcadence", outsider) == []


def test_anonymous_search_sees_no_team_play(client, play, content):
    assert result_titles(client, "zyxcadence") == []


def test_search_terms_ignore_punctuation_and_single_letters():
    assert search_terms("  a BATNA, (reservation) point!! ") == [
        "BATNA",
        "reservation",
        "point",
    ]


def test_on_postgresql_search_also_matches_other_forms_of_a_word(rep, content):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("full-text search is used on PostgreSQL only")
    titles = [hit.title for hit in search("pilots", rep)]
    # "Propose a pilot" never says "pilots": the stemmed match finds it.
    assert "Propose a pilot" in titles
