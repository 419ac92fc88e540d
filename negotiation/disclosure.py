"""Does a text a side is about to share give away its walk-away point?

The check behind the over-sharing guard: the side's walk-away figure (in the
ways people write figures) or five words in a row of its BATNA or reservation
point wording. It reads the side's own private preparation only, and its
finding goes to that side only. Services that share text call
``check_shared_text`` inside their transaction, before writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from negotiation.models import Party, Preparation
from negotiation.selectors import walk_away_of

BATNA_SHINGLE_WORDS = 5


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def figure_variants(value: Decimal) -> set[str]:
    """The ways people write a figure: 186500, 186,500, 186.500, 186 500, 186.5k."""
    whole = int(value)
    variants = {str(whole), f"{whole:,}", f"{whole:,}".replace(",", ".")}
    variants.add(f"{whole:,}".replace(",", " "))
    if value != whole:
        exact = value.normalize()
        variants.add(f"{exact:f}")
        # With its cents and a thousands separator: 186,500.25 or 186.500,25.
        grouped = f"{exact:,f}"
        variants.add(grouped)
        variants.add(grouped.translate(str.maketrans(",.", ".,")))
    if whole >= 1000 and whole % 100 == 0:
        thousands = Decimal(whole) / 1000
        variants.add(f"{thousands.normalize():f}k")
    return {v for v in variants if len(v.replace(",", "").replace(".", "")) >= 3}


@dataclass(frozen=True)
class Oversharing:
    """What a text would give away; ``reason`` is shown to its author only."""

    reason: str


def oversharing_in(
    texts: Iterable[str], preparation: Preparation
) -> Oversharing | None:
    """Does any text reveal this side's walk-away figure or BATNA wording?"""
    joined = "\n".join(t for t in texts if t)
    if not joined.strip():
        return None
    if preparation.reservation_value is not None:
        lowered = joined.lower()
        for variant in figure_variants(preparation.reservation_value):
            if re.search(rf"(?<![\d.,]){re.escape(variant)}(?![\d]|[.,]\d)", lowered):
                return Oversharing(
                    "It contains your walk-away figure. Share interests, not "
                    "the number you would settle for."
                )
    text_words = _words(joined)
    shingles = {
        tuple(text_words[i : i + BATNA_SHINGLE_WORDS])
        for i in range(len(text_words) - BATNA_SHINGLE_WORDS + 1)
    }
    for source, label in (
        (preparation.batna, "your BATNA"),
        (preparation.reservation_point, "your reservation point"),
    ):
        words = _words(source)
        for i in range(len(words) - BATNA_SHINGLE_WORDS + 1):
            if tuple(words[i : i + BATNA_SHINGLE_WORDS]) in shingles:
                return Oversharing(
                    f"It repeats the wording of {label}. Telling them your "
                    "alternative removes your safety margin."
                )
    return None


class OversharingRefused(ValidationError):
    """The text was not shared: it gives away the sender's walk-away point.
    Nothing was written; the sender may confirm and send it again."""

    def __init__(self, found: Oversharing) -> None:
        super().__init__(f"Not sent yet. {found.reason}", code="over_sharing")
        self.found = found


def check_shared_text(
    party: Party, texts: Iterable[str], *, confirmed: bool
) -> Oversharing | None:
    """Refuse (``OversharingRefused``) a text that gives this side's walk-away
    point away, unless the side confirmed; return what was found, if anything,
    so that a confirmed send can be recorded."""
    texts = [text for text in texts if text and text.strip()]
    if not texts:
        return None
    found = oversharing_in(texts, walk_away_of(party))
    if found is not None and not confirmed:
        raise OversharingRefused(found)
    return found
