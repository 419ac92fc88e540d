"""Does a text a side is about to share give away its walk-away point?

The check behind the over-sharing guard: the side's walk-away figure, its
sensitive figures, the figures of its internal evidence and both ends of an
opening range (in the ways people write figures), and the wording of its
BATNA, reservation point, target, counterparty map and internal evidence,
repeated or paraphrased. It reads the side's own private preparation only, and its
finding goes to that side only. Services that share text call
``check_shared_text`` inside their transaction, before writing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from common.numbers import figures_in
from negotiation.models import Party, Preparation
from negotiation.selectors import walk_away_of

BATNA_SHINGLE_WORDS = 5


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# A whole figure this small (a number of days, a percentage) is said too often
# for its mention to give anything away.
SMALLEST_SECRET = Decimal(100)


def _telling(figure: Decimal) -> bool:
    """A figure specific enough to give something away: large, or with
    decimals ("61.40" is a unit cost; "30" is any number of days)."""
    return abs(figure) >= SMALLEST_SECRET or figure != figure.to_integral_value()


def sensitive_lines(preparation: Preparation) -> list[tuple[str, list[Decimal]]]:
    """Each line of the side's sensitive-figures list, with its figures."""
    lines = (preparation.sensitive_figures or "").splitlines()
    return [
        (line.strip(), figures)
        for line in lines
        if (figures := [f for f in figures_in(line) if _telling(f)])
    ]


@dataclass(frozen=True)
class Oversharing:
    """What a text would give away; ``reason`` is shown to its author only."""

    reason: str


def oversharing_in(
    texts: Iterable[str], preparation: Preparation
) -> Oversharing | None:
    """Does any text reveal this side's walk-away figure, one of its
    sensitive figures (however written: "104000.00", "€104k", "104.000",
    "104 thousand"), a figure of its evidence marked internal only, both ends
    of one of its opening ranges, or the wording of its BATNA, reservation
    point, target, notes on the other side or internal evidence, repeated
    (five words in a row) or paraphrased (most of one sentence's content
    words)? Its anchors (one end, the opening wording) and benchmarks are
    there to be said, and pass."""
    joined = "\n".join(t for t in texts if t)
    if not joined.strip():
        return None
    figures = set(figures_in(joined))
    walk_away = preparation.reservation_value
    if (
        walk_away is not None
        and abs(walk_away) >= SMALLEST_SECRET
        and walk_away in figures
    ):
        return Oversharing(
            "It contains your walk-away figure. Share interests, not the "
            "number you would settle for."
        )
    for line, secret in sensitive_lines(preparation):
        if figures.intersection(secret):
            return Oversharing(
                f"It contains a figure you marked sensitive (“{line}”). Keep "
                "internal costs, margins and budgets on your side."
            )
    internal = _internal_evidence(preparation)
    for title, text in internal:
        if figures.intersection(f for f in figures_in(text) if _telling(f)):
            return Oversharing(
                f"It contains a figure from your internal evidence (“{title}”). "
                "Share what they can check, not what you keep to yourselves."
            )
    for issue, low, high in opening_ranges(preparation):
        if low in figures and high in figures:
            return Oversharing(
                f"It states both ends of your planned opening range for “{issue}”: "
                "they will go straight to the end that suits them. Open with one "
                "figure and the evidence behind it."
            )
    text_words = _words(joined)
    shingles = {
        tuple(text_words[i : i + BATNA_SHINGLE_WORDS])
        for i in range(len(text_words) - BATNA_SHINGLE_WORDS + 1)
    }
    shared_content = _content(text_words)
    for source, label, why in _private_texts(preparation, internal):
        words = _words(source)
        for i in range(len(words) - BATNA_SHINGLE_WORDS + 1):
            if tuple(words[i : i + BATNA_SHINGLE_WORDS]) in shingles:
                return Oversharing(f"It repeats the wording of {label}. {why}")
        for sentence in _sentences(source):
            if _paraphrased(_content(_words(sentence)), shared_content):
                return Oversharing(f"It says what {label} says, in other words. {why}")
    return None


def opening_ranges(preparation: Preparation) -> list[tuple[str, Decimal, Decimal]]:
    """The side's opening ranges worth guarding: (issue, low, high).

    Saying one end is anchoring, the point of the worksheet; saying both
    tells the other side how far the opening can move. A range whose ends
    are equal is a single figure, and one of small whole numbers ("30–45
    days") is said too often to give anything away, like a single one."""
    ranges = []
    for issue, low, high in preparation.anchor_ranges or []:
        low, high = Decimal(low), Decimal(high)
        if low != high and (_telling(low) or _telling(high)):
            ranges.append((issue, low, high))
    return ranges


def _internal_evidence(preparation: Preparation) -> list[tuple[str, str]]:
    """The side's evidence marked internal only: (title, title and detail)."""
    return [
        (title, f"{title}.\n{detail}")
        for title, detail in preparation.internal_evidence or []
    ]


def _private_texts(
    preparation: Preparation, internal: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str, str]]:
    """The private wordings a shared text must not repeat or paraphrase."""
    alternative = "Telling them your alternative removes your safety margin."
    map_ = "Your read of their side is yours: ask them instead of telling them."
    texts = [
        (preparation.batna, "your BATNA", alternative),
        (preparation.reservation_point, "your reservation point", alternative),
        (
            preparation.target_outcome,
            "your target",
            "Let them show their priorities before you show your aim.",
        ),
    ]
    # What success looks like for them is theirs to hear back (that is
    # empathy, and the stuff of a shared purpose); what boxes them in, who
    # decides and what presses on them are the side's intelligence.
    for field in ("their_constraints", "their_decision_path", "their_pressures"):
        texts.append((getattr(preparation, field), "your notes on their side", map_))
    for title, text in internal:
        texts.append(
            (
                text,
                f"your internal evidence (“{title}”)",
                "Share what they can check, not what you keep to yourselves.",
            )
        )
    return [(text, label, why) for text, label, why in texts if text]


# Words too common to tell one text from another.
_STOPWORDS = frozenset(
    re.findall(
        r"\w+",
        """a about above after again all also am an and any are as at be because
        been before being below between both but by can could did do does doing
        down during each few for from further had has have having he her here
        hers him his how i if in into is it its just me more most my no nor not
        now of off on once only or other our ours out over own same she should
        so some such than that the their theirs them then there these they this
        those through to too under until up very was we were what when where
        which while who whom why will with would you your yours us one""",
    )
)
# A private sentence of at least this many content words is paraphrased when
# a shared text holds this share of them.
PARAPHRASE_MIN_WORDS = 4
PARAPHRASE_SHARE = 0.6


def _content(words: list[str]) -> set[str]:
    """Distinct content words, with a plural's "s" dropped."""
    return {
        word[:-1] if len(word) > 3 and word.endswith("s") else word
        for word in words
        if word not in _STOPWORDS and len(word) > 2 and not word.isdigit()
    }


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"[.;!?\n]+", text) if part.strip()]


def _paraphrased(private: set[str], shared: set[str]) -> bool:
    """Most of a private sentence's content words are in the shared text."""
    if len(private) < PARAPHRASE_MIN_WORDS:
        return False
    needed = max(PARAPHRASE_MIN_WORDS, -(-len(private) * 6 // 10))
    return len(private & shared) >= needed


# Which of a side's matrix cells it shows the other side, by issue id: the
# room keeps that (its shared position) and registers how to read it when it
# loads (room.apps), so the deal's app never imports the room.
SharedCells = Callable[[Party], Mapping[str, Iterable[str]]]
_shared_cells: SharedCells = lambda party: {}  # noqa: E731 - until the room registers


def register_shared_cells(reader: SharedCells) -> None:
    global _shared_cells
    _shared_cells = reader


def shared_cells(party: Party) -> Mapping[str, Iterable[str]]:
    return _shared_cells(party)


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
