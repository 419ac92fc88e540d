"""Every piece of content shows on its page, for anyone, in Parley's layout."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from playbooks.models import (
    ChecklistItem,
    ContextPlaybook,
    CultureNote,
    FaqEntry,
    Move,
    PhraseTemplate,
    Pitfall,
    Reference,
    ScenarioCard,
    Stage,
    TeamPlay,
    TradeableItem,
)
from playbooks.selectors import SECTIONS

pytestmark = pytest.mark.django_db

ALL_KINDS = (
    Stage,
    ContextPlaybook,
    Move,
    ScenarioCard,
    PhraseTemplate,
    Pitfall,
    ChecklistItem,
    FaqEntry,
    CultureNote,
    TradeableItem,
    Reference,
)


def page_text(response) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded)."""
    assert response.status_code == 200, response.status_code
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return " ".join(text.split())


def path_of(item) -> str:
    return item.get_absolute_url().split("#")[0]


@pytest.mark.parametrize("model", ALL_KINDS, ids=lambda model: model.__name__)
def test_every_item_of_every_kind_renders_on_its_page(client, content, model):
    items = list(model.objects.all())
    assert items, f"no {model.__name__} loaded"
    for item in items:
        response = client.get(path_of(item))
        text = page_text(response)
        assert item.title in text, (model.__name__, item.key)
        if "#" in item.get_absolute_url():
            assert f'id="{item.anchor}"' in response.content.decode()


def test_a_stage_page_shows_principle_coaching_and_related_content(client, content):
    stage = Stage.objects.get(key="midgame")
    text = page_text(client.get(stage.get_absolute_url()))
    for expected in (
        stage.principle,
        stage.safeguard,
        stage.signal,
        *stage.action_list,
        *stage.say_list,
        "Stage 3 of 5",
        "Brainstorm trades",
        "Giving ground to keep the peace",
        "Malhotra & Bazerman, 2007",
        "← First Move",
        "Close →",
    ):
        assert expected in text, expected


def test_a_context_page_shows_every_phase_and_the_dialogue(client, content):
    playbook = ContextPlaybook.objects.get(key="procurement")
    text = page_text(client.get(playbook.get_absolute_url()))
    for label, lines in playbook.phases:
        assert label in text
        assert lines, label
        for line in lines:
            assert line in text
    for speaker, line in playbook.dialogue_lines:
        assert speaker in text
        assert line in text
    assert "Logistics procurement" in text  # its scenario card
    assert "Risk sharing" in text  # a tradeable that fits procurement


def test_a_move_page_shows_its_whole_row_of_the_table(client, content):
    move = Move.objects.get(key="clarify-metrics")
    text = page_text(client.get(move.get_absolute_url()))
    for value in (move.when_to_use, move.what_to_say, move.signal, move.risk):
        assert value in text
    assert "SMART" in text
    assert "Close" in text


def test_the_index_lists_stages_contexts_moves_scenarios_and_sections(client, content):
    text = page_text(client.get(reverse("playbooks:index")))
    for model in (Stage, ContextPlaybook, Move, ScenarioCard):
        for item in model.objects.all():
            assert item.title in text
    for section in SECTIONS.values():
        assert section.title in text


def test_pitfalls_table_has_the_seven_rows_with_why_and_correction(client, content):
    text = page_text(client.get(reverse("playbooks:pitfalls")))
    assert Pitfall.objects.count() == 7
    for pitfall in Pitfall.objects.all():
        assert pitfall.why_it_backfires in text
        assert pitfall.corrective_action in text


def test_references_show_full_citations(client, content):
    text = page_text(client.get(reverse("playbooks:references")))
    assert "Fisher, R., & Ury, W. (2011). Getting to Yes" in text
    assert "Curhan, J. R., Elfenbein, H. A., & Xu, H. (2006)." in text
    for cite in ("Malhotra", "Thompson, L. (2015)", "Camerer, C. (2003)"):
        assert cite in text


def test_the_pages_are_readable_without_an_account(client, content):
    response = client.get(reverse("playbooks:index"))
    assert response.status_code == 200
    assert b"Log in</a> to see the plays your team wrote" in response.content


def test_unknown_items_are_404(client, content):
    for url in (
        "/playbooks/stages/overtime/",
        "/playbooks/contexts/poker/",
        "/playbooks/moves/bluff/",
        "/playbooks/scenarios/nope/",
    ):
        assert client.get(url).status_code == 404


def test_templates_page_marks_the_blanks_still_to_fill(client, content):
    response = client.get(reverse("playbooks:templates"))
    assert b'<mark class="blank">[benefit]</mark>' in response.content


def test_templates_page_fills_blanks_from_one_of_my_deals(rep_client, deal, content):
    response = rep_client.get(reverse("playbooks:templates"), {"deal": deal.pk})
    text = page_text(response)
    assert "Suppose we moved on Price. Would that open up [benefit]" in text
    assert f"Filled from {deal.title}" in text


def test_templates_page_refuses_someone_elses_deal(outsider_client, deal, content):
    response = outsider_client.get(reverse("playbooks:templates"), {"deal": deal.pk})
    assert response.status_code == 404


def test_the_pages_use_the_shared_layout_and_their_stylesheet(client, content):
    response = client.get(reverse("playbooks:faq"))
    body = response.content.decode()
    assert "css/parley.css" in body
    assert "css/playbooks.css" in body
    assert "style=" not in body  # the CSP allows no inline styles


def test_page_queries_do_not_grow_with_the_team_plays(rep_client, team, rep, content):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert rep_client.get(url).status_code == 200
        return len(captured.captured_queries)

    urls = [
        reverse("playbooks:index"),
        reverse("playbooks:stage-detail", args=["midgame"]),
        reverse("playbooks:index") + "?q=trade",
    ]
    TeamPlay.objects.create(team=team, created_by=rep, title="One", body="trade")
    for url in urls:  # the process reads the shared content once (kept_content)
        queries(url)
    before = [queries(url) for url in urls]
    for n in range(8):
        TeamPlay.objects.create(
            team=team, created_by=rep, title=f"Play {n}", stage="midgame", body="trade"
        )
    assert [queries(url) for url in urls] == before
