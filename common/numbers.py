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
# decimals ("104,5" is 104.5).
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


def figures_in(text: str | None) -> list[Decimal]:
    """Every figure ``text`` holds, read as people write them (see above)."""
    figures = []
    for match in _FIGURE.finditer(text or ""):
        value = Decimal(_digits(match["body"], match["sep"]))
        if match["scale"]:
            value *= _SCALES[match["scale"].lower()]
        figures.append(-value if match["sign"] else value)
    return figures
