"""The over-sharing guard: a side's walk-away figure or BATNA wording never
leaves in a shared text unless that side confirms.

It runs inside the action's transaction, before the shared text is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from negotiation.models import (
    Party,
    Preparation,
)
from negotiation.services.base import broadcast
from room.models import (
    Nudge,
)
from room.services.coaching import nudge_raise

BATNA_SHINGLE_WORDS = 5


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def figure_variants(value: Decimal) -> set[str]:
    """The ways people write a figure: 186500, 186,500, 186.500, 186 500, 186.5k."""
    whole = int(value)
    variants = {str(whole), f"{whole:,}", f"{whole:,}".replace(",", ".")}
    variants.add(f"{whole:,}".replace(",", " "))
    if value != whole:
        variants.add(f"{value.normalize():f}")
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


def record_oversharing(*, party: Party, reason: str, confirmed: bool) -> None:
    """Keep the warning for the review (once per side a day)."""
    subject = f"guard:{timezone.localdate().isoformat()}"
    created = nudge_raise(
        party,
        Nudge.Kind.OVER_SHARING,
        subject,
        message=reason + (" You chose to send it anyway." if confirmed else ""),
        action="Share enough for trust, not all: describe the interest behind "
        "the number instead.",
    )
    if created:
        side = party.side
        transaction.on_commit(
            lambda: broadcast(party.deal_id, {"type": "coach.changed", "side": side})
        )


# --- detectors ----------------------------------------------------------------------
