"""The tradeables library: dimensions worth putting on a deal's agenda.

Shipped in ``playbooks/data/tradeables.toml`` (versioned with the code),
loaded into ``TradeableItem`` rows by ``load_playbooks`` so staff can edit it,
and offered as suggestions while a rep maps a deal's issues.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "tradeables.toml"


@dataclass(frozen=True)
class Tradeable:
    key: str
    name: str
    description: str
    kind: str
    unit: str = ""
    range_min: Decimal | None = None
    range_max: Decimal | None = None
    options: tuple[str, ...] = ()
    contexts: tuple[str, ...] = field(default_factory=tuple)

    def form_initial(self) -> dict[str, Any]:
        """Initial values for the issue form when a rep picks this suggestion."""
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "unit": self.unit,
            "range_min": self.range_min,
            "range_max": self.range_max,
            "options": list(self.options),
        }


def library() -> tuple[Tradeable, ...]:
    """The library as staff keep it in the database; the shipped file while
    the database holds none (before the first load)."""
    from playbooks.models import TradeableItem

    rows = TradeableItem.objects.order_by("position", "key")
    return tuple(_from_row(row) for row in rows) or file_library()


def _from_row(row) -> Tradeable:
    return Tradeable(
        key=row.key,
        name=row.title,
        description=row.body,
        kind=row.kind,
        unit=row.unit,
        range_min=_plain(row.range_min),
        range_max=_plain(row.range_max),
        options=tuple(row.options or ()),
        contexts=tuple(row.contexts or ()),
    )


def _plain(value: Decimal | None) -> Decimal | None:
    """120.00 → 120, as in the data file (the column keeps two decimals)."""
    if value is None or value != value.to_integral_value():
        return value
    return value.quantize(Decimal(1))


@cache
def file_library() -> tuple[Tradeable, ...]:
    """The library as shipped in ``tradeables.toml``."""
    with DATA_FILE.open("rb") as handle:
        raw = tomllib.load(handle)["tradeable"]
    return tuple(
        Tradeable(
            key=item["key"],
            name=item["name"],
            description=item["description"],
            kind=item["kind"],
            unit=item.get("unit", ""),
            range_min=Decimal(item["range_min"]) if "range_min" in item else None,
            range_max=Decimal(item["range_max"]) if "range_max" in item else None,
            options=tuple(item.get("options", ())),
            contexts=tuple(item.get("contexts", ())),
        )
        for item in raw
    )


def suggestions_for(issues, context: str | None = None) -> list[Tradeable]:
    """Library entries not yet on the agenda, those fitting ``context`` first."""
    taken = {issue.name.strip().lower() for issue in issues}
    fresh = [t for t in library() if t.name.lower() not in taken]
    if context:
        fresh.sort(key=lambda t: context not in t.contexts)
    return fresh
