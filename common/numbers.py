"""Reading the number a free-text term holds: "EUR 212k", "45 days", "-8%".

Terms are typed by people, so a value is only read as a number when it holds
exactly one: "between 30 and 45 days" is not comparable, and says so.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# A number not glued to a word before it ("Q2", "v3" are not numbers), with
# thousands separators or decimals, an optional sign and an optional "k".
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212]?)"
    r"(?P<int>\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+)"
    r"(?:\.(?P<frac>\d+))?"
    r"(?P<k>[kK])?(?![\w])"
)


def parse_number(text: str | None) -> Decimal | None:
    """The one number ``text`` holds, or None when it holds none or several."""
    if not text:
        return None
    matches = list(_NUMBER.finditer(str(text)))
    if len(matches) != 1:
        return None
    match = matches[0]
    digits = re.sub(r"[,\u00a0\u202f]", "", match["int"])
    if match["frac"]:
        digits = f"{digits}.{match['frac']}"
    try:
        value = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern only matches digits
        return None
    if match["k"]:
        value *= 1000
    if match["sign"] in ("-", "\u2212"):
        value = -value
    return value


def format_number(value: Decimal | float | int | None, places: int = 2) -> str:
    """A compact, human figure: 186500 → "186,500", 12.50 → "12.5"."""
    if value is None:
        return "—"
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places))
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


# Every figure in a text, however it is written: "104000.00", "104,000",
# "104.000", "104 000", "€104k", "EUR 104k", "104 thousand", "1.2m". A run
# of three-digit groups after one separator is read as thousands ("104.000"
# is 104000); a final separator followed by other than three digits marks
# decimals ("104,5" is 104.5). A range written with one scale ("120–130k")
# has it for both ends.
_FIGURE = re.compile(
    r"(?<![\w.,])(?P<sign>[-\u2212])?"
    r"(?P<body>\d{1,3}(?P<sep>[.,\u00a0\u202f ])\d{3}(?:(?P=sep)\d{3})*"
    r"(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"(?:\s?(?P<scale>k|thousand|m|mn|million|bn|billion)\b)?"
    r"(?![\d])",
    re.IGNORECASE,
)
_SCALES = {
    "k": 1000,
    "thousand": 1000,
    "m": 1000**2,
    "mn": 1000**2,
    "million": 1000**2,
    "bn": 1000**3,
    "billion": 1000**3,
}


def _digits(body: str, sep: str | None) -> str:
    if not sep:
        return body.replace(",", ".")
    last = re.search(r"[.,](\d+)$", body)
    if last and last.group(0)[0] != sep:  # "1,234.56", "104.000,00": decimals
        return _GROUPING.sub("", body[: last.start()]) + "." + last.group(1)
    return _GROUPING.sub("", body)


_GROUPING = re.compile(r"[.,\u00a0\u202f ]")


# What joins the two ends of a range ("120–130k", "120 to 130 thousand",
# "€120-€130k", "between 120 and 130k"): a range whose scale is written once,
# at its end, has it for both ends.
_RANGE_JOIN = re.compile(r"\s*(?:[-\u2013\u2014]|to)\s*[€$£]?\s*", re.IGNORECASE)
_BETWEEN_JOIN = re.compile(r"\s+and\s+[€$£]?\s*", re.IGNORECASE)
_BETWEEN = re.compile(r"between\s+[€$£]?\s*$", re.IGNORECASE)


def _one_range(text: str, head: re.Match, tail: re.Match | None) -> bool:
    """Are ``head`` and ``tail`` the two ends of one range?"""
    if tail is None or tail["sign"]:
        return False
    if _RANGE_JOIN.fullmatch(text, head.end(), tail.start()):
        return True
    return bool(
        _BETWEEN_JOIN.fullmatch(text, head.end(), tail.start())
        and _BETWEEN.search(text, 0, head.start())
    )


def figures_in(text: str | None) -> list[Decimal]:
    """Every figure ``text`` holds, read as people write them (see above)."""
    text = text or ""
    matches = list(_FIGURE.finditer(text))
    figures = []
    for index, match in enumerate(matches):
        after = matches[index + 1] if index + 1 < len(matches) else None
        value = Decimal(_digits(match["body"], match["sep"]))
        scale = match["scale"]
        if not scale and after is not None and _one_range(text, match, after):
            scale = after["scale"]
        if scale:
            value *= _SCALES[scale.lower()]
        figures.append(-value if match["sign"] else value)
    return figures
