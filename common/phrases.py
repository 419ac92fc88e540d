"""What people write when they mean "nothing" or "to be decided".

The coach reads what a side typed, not one wording of it: a concession
"for their goodwill" or "n/a" received nothing; a commitment whose target is
"best efforts" or "TBD" cannot be measured. Both checks compare the text,
lowercased and stripped of punctuation and filler words, with the short
phrases people use; a text that says anything more is taken at its word.
"""

from __future__ import annotations

import re

# Words that carry no content of their own around the phrase.
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "some",
        "just",
        "only",
        "for",
        "of",
        "to",
        "in",
        "our",
        "their",
        "your",
        "them",
        "us",
        "we",
        "they",
        "with",
        "on",
        "at",
    ]
)

# "We get: …" with nothing received.
_NOTHING = frozenset(
    {
        "",
        "n a",
        "na",
        "none",
        "nothing",
        "nothing yet",
        "nothing in return",
        "none yet",
        "no return",
        "nil",
        "zero",
        "0",
        "tbd",
        "tba",
        "tbc",
        "goodwill",
        "good will",
        "good faith",
        "trust",
        "relationship",
        "good relationship",
        "better relationship",
        "relationship sake",
        "sake relationship",
        "peace",
        "keep peace",
        "harmony",
        "keep harmony",
        "keep happy",
        "keep them happy",
        "happy",
        "thanks",
        "thank you",
        "gratitude",
        "future business",
        "future goodwill",
        "later",
        "maybe later",
    }
)

# A metric or target that measures nothing.
_PLACEHOLDER = frozenset(
    {
        "",
        "n a",
        "na",
        "tbd",
        "tba",
        "tbc",
        "to be decided",
        "to be defined",
        "to be confirmed",
        "to be agreed",
        "best efforts",
        "best effort",
        "reasonable efforts",
        "commercially reasonable efforts",
        "do best",
        "will do best",
        "try best",
        "will try best",
        "our best",
        "asap",
        "as soon as possible",
        "as needed",
        "as required",
        "ongoing",
        "various",
        "improve",
        "improvement",
        "better",
        "more",
        "some",
        "yes",
        "good",
        "high",
        "success",
        "successful",
    }
)


def _forms(text: str | None) -> set[str]:
    """The text's words, lowercased without punctuation, as typed and without
    filler words ("for their goodwill" is also "goodwill")."""
    words = re.findall(r"[^\W_]+", (text or "").lower())
    return {" ".join(words), " ".join(w for w in words if w not in _FILLER)}


def nothing_in_return(text: str | None) -> bool:
    """Whether what a side says it received is, in fact, nothing."""
    return bool(_forms(text) & _NOTHING)


def placeholder(text: str | None) -> bool:
    """Whether a commitment's metric or target measures nothing."""
    return bool(_forms(text) & _PLACEHOLDER)


def unmeasurable(metric: str, target: str, due_date) -> list[str]:
    """What a commitment lacks to be measurable: its metric, target or due
    date, each missing or a placeholder. Empty when it can be measured."""
    return [
        label
        for label, missing in (
            ("metric", placeholder(metric)),
            ("target", placeholder(target)),
            ("due date", due_date is None),
        )
        if missing
    ]
