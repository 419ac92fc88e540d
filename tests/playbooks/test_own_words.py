"""Every sentence Parley shows is its own: no page and no data file repeats a
sentence of the source article.

The article's facts carry over; its wording does not. Only the reference list
is left out of the comparison (a citation is a fact, written the way it is
written). Matching ignores case, punctuation and typographic quotes, so a
copied sentence with different quote marks still counts as copied.
"""

import html
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from playbooks.loader import DATA_DIR
from playbooks.models import ContextPlaybook, Move, ScenarioCard, Stage
from playbooks.selectors import SECTIONS

pytestmark = pytest.mark.django_db

# The article is not part of the repository (its words are not ours to ship).
ARTICLE = Path(
    os.environ.get(
        "PARLEY_SOURCE_ARTICLE",
        Path(settings.BASE_DIR).parent
        / "shared"
        / "reference"
        / "collaborative-negotiation-article.txt",
    )
)
MIN_WORDS = 8
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("‘", "'")
    return WORD.findall(text)


def article_sentences() -> list[list[str]]:
    """The article's sentences (and quoted phrases) of ≥ MIN_WORDS words,
    without its reference list."""
    if not ARTICLE.is_file():
        if os.environ.get("CI") == "true":  # CI has shared/ beside the clone
            pytest.fail(f"source article not found at {ARTICLE}")
        pytest.skip(
            f"source article not found at {ARTICLE} (set PARLEY_SOURCE_ARTICLE)"
        )
    text = ARTICLE.read_text(encoding="utf-8")
    references = text.index("\nReferences\n")
    after = text.index("\nRelated Elements\n")
    text = text[:references] + text[after:]
    pieces = []
    for line in text.splitlines():
        # A quote is a sentence of its own, and so is what surrounds it; a
        # clause after a colon or semicolon counts as one too.
        for part in [line, *re.split(r"[“”\"]", line)]:
            pieces.extend(re.split(r"(?<=[.!?])\s+", part))
            pieces.extend(re.split(r"(?<=[.!?;:])\s+", part))
    sentences = {tuple(words(piece)) for piece in pieces}
    return sorted(list(s) for s in sentences if len(s) >= MIN_WORDS)


def shingles(sentence: list[str]) -> set[str]:
    return {
        " ".join(sentence[i : i + MIN_WORDS])
        for i in range(len(sentence) - MIN_WORDS + 1)
    }


def rendered_pages(client) -> dict[str, str]:
    urls = [reverse("playbooks:index"), reverse("playbooks:templates")]
    urls += [section.url for section in SECTIONS.values()]
    for model in (Stage, ContextPlaybook, Move, ScenarioCard):
        urls += [item.get_absolute_url() for item in model.objects.all()]
    urls += [reverse("playbooks:index") + "?q=the"]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return pages


def texts_to_check(client) -> dict[str, str]:
    texts = {path.name: path.read_text() for path in sorted(DATA_DIR.glob("*.toml"))}
    texts.update(rendered_pages(client))
    return texts


def test_the_article_is_there_and_has_long_sentences():
    assert len(article_sentences()) > 80


def copied_sentences(text: str, sentences: list[list[str]]) -> list[str]:
    haystack = f" {' '.join(words(text))} "
    return [
        " ".join(sentence)
        for sentence in sentences
        if f" {' '.join(sentence)} " in haystack
    ]


def test_the_check_catches_a_copy_whatever_its_quotes_and_case():
    copy = (
        "<p>Seller: «IF we extend the term by six months, "
        "can we align on the annual rate»</p>"
    )
    assert "if we extend the term by six months can we align on the annual rate" in (
        copied_sentences(copy, article_sentences())
    )


def test_no_page_or_data_file_repeats_an_article_sentence(client, content):
    sentences = article_sentences()
    copied = [
        (name, sentence)
        for name, text in texts_to_check(client).items()
        for sentence in copied_sentences(text, sentences)
    ]
    assert copied == []


def test_no_page_or_data_file_repeats_eight_words_of_the_article_in_a_row(
    client, content
):
    """Stricter than whole sentences: a sentence copied with a word changed
    at its end is still copied."""
    article = set().union(*(shingles(sentence) for sentence in article_sentences()))
    copied = []
    for name, text in texts_to_check(client).items():
        ours = shingles(words(text))
        copied += [(name, phrase) for phrase in sorted(ours & article)]
    assert copied == []
