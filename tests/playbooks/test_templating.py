"""fill_template: blanks filled from a deal's issues where that makes sense."""

from types import SimpleNamespace

import pytest

from playbooks.models import PhraseTemplate
from playbooks.templating import blanks_in, fill_template, split_blanks


def issue(name: str, flexibility: str = "flexible") -> SimpleNamespace:
    return SimpleNamespace(name=name, flexibility=flexibility)


AGENDA = [issue("Price", "fixed"), issue("Payment terms"), issue("Volume")]


def test_issue_blanks_take_different_issues_in_agenda_order():
    text = "Which mix of [issue] and [issue] would get each of us there?"
    assert fill_template(text, AGENDA) == (
        "Which mix of Payment terms and Volume would get each of us there?"
    )


def test_a_term_to_move_is_never_a_fixed_issue():
    text = "Suppose we moved on [term]. Would that open up [benefit] for both of us?"
    assert fill_template(text, [issue("Price", "fixed")]) == text
    assert fill_template(text, AGENDA) == (
        "Suppose we moved on Payment terms. "
        "Would that open up [benefit] for both of us?"
    )


def test_blanks_it_cannot_fill_stay_visible():
    text = "If we adjust [term], could we unlock [benefit] for both?"
    filled = fill_template(text, AGENDA)
    assert "[benefit]" in filled
    assert fill_template(text, []) == text


def test_more_blanks_than_issues_leaves_the_rest_as_placeholders():
    filled = fill_template("Of [issue], [issue] and [issue], which?", ["Price"])
    assert filled == "Of Price, [issue] and [issue], which?"


def test_the_shared_goal_fills_the_goal_blank():
    text = "We both want [shared goal]. Which mix of [issue] and [issue] works?"
    filled = fill_template(text, AGENDA, shared_goal="stores live before May.")
    assert filled.startswith("We both want stores live before May. Which mix")


def test_priority_blanks_use_the_shared_rankings_and_keep_issues_distinct():
    text = "Could we weigh [their priority] against [our priority] and [issue]?"
    filled = fill_template(
        text, AGENDA, their_priorities=[AGENDA[2]], our_priorities=["Price"]
    )
    assert filled == "Could we weigh Volume against Price and Payment terms?"
    # Without a shared ranking there is nothing sensible to put there.
    assert "[their priority]" in fill_template(text, AGENDA)


def test_the_article_style_blanks_work_too():
    text = "Our shared goal is [X]; what combination of [Y/Z] helps both sides?"
    assert fill_template(text, AGENDA, shared_goal="a calm rollout") == (
        "Our shared goal is a calm rollout; what combination of Payment terms and "
        "Volume helps both sides?"
    )


def test_explicit_values_win_and_match_case_insensitively():
    filled = fill_template(
        "If we adjust [Term], could we unlock [benefit]?",
        AGENDA,
        values={"benefit": "a faster rollout", "term": "Delivery time"},
    )
    assert filled == "If we adjust Delivery time, could we unlock a faster rollout?"


def test_issue_names_can_be_plain_strings():
    assert fill_template("Pilot [issue]?", ["Onboarding"]) == "Pilot Onboarding?"


def test_split_blanks_marks_only_the_placeholders():
    assert split_blanks("Move [term] for [benefit].") == [
        ("Move ", False),
        ("[term]", True),
        (" for ", False),
        ("[benefit]", True),
        (".", False),
    ]
    assert blanks_in("Move [term] for [benefit].") == ["term", "benefit"]


@pytest.mark.django_db
def test_every_loaded_template_fills_from_a_realistic_agenda(content):
    agenda = [issue("Annual fee"), issue("Contract length"), issue("Onboarding")]
    for template in PhraseTemplate.objects.all():
        filled = fill_template(
            template.text,
            agenda,
            shared_goal="every depot productive in two weeks",
            their_priorities=[agenda[2]],
            our_priorities=[agenda[0]],
        )
        unfilled = set(blanks_in(filled))
        assert unfilled <= {"benefit", "what we give", "what we ask"}, template.key
