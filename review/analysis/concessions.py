"""The balance of a concession log, seen from one side.

Each entry is one side's: what it gave, what it got, and its own valuation —
``value_to_us`` (what giving it costs that side) and ``value_to_them`` (what
it is worth to the other side). A concession creates value when it is worth
more to the other side than it costs the giver.

Entries reach this module already filtered for the viewer: the other side's
valuations are None unless that side shared them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class ConcessionEntry:
    side: str
    item: str
    we_give: str
    we_get: str
    value_to_us: Decimal | None
    value_to_them: Decimal | None
    created_at: datetime.datetime
    from_trade: bool = False

    @property
    def valued(self) -> bool:
        return self.value_to_us is not None and self.value_to_them is not None

    @property
    def net(self) -> Decimal | None:
        """Value created: worth to the receiver minus cost to the giver."""
        if not self.valued:
            return None
        return self.value_to_them - self.value_to_us


@dataclass(frozen=True)
class ConcessionBalance:
    gave: int
    got: int
    # Our own entries: what giving cost us, and what it was worth to them.
    gave_cost: Decimal
    gave_worth: Decimal
    gave_net: Decimal
    gave_unvalued: int
    # Their entries, where they shared their valuations: what giving cost
    # them, and what they think it was worth to us.
    got_cost: Decimal
    got_worth: Decimal
    got_net: Decimal
    got_unvalued: int

    @property
    def count_balance(self) -> int:
        """Entries given minus entries received: > 0 means we gave more often."""
        return self.gave - self.got


def concession_balance(
    entries: Iterable[ConcessionEntry], *, side: str
) -> ConcessionBalance:
    """What ``side`` gave and got, from entries filtered for that side's view."""
    ours = [entry for entry in entries if entry.side == side]
    theirs_all = [entry for entry in entries if entry.side != side]

    def total(rows: list[ConcessionEntry], attr: str) -> Decimal:
        return sum(
            (getattr(r, attr) for r in rows if getattr(r, attr) is not None), ZERO
        )

    def net(rows: list[ConcessionEntry]) -> Decimal:
        return sum((r.net for r in rows if r.net is not None), ZERO)

    def unvalued(rows: list[ConcessionEntry]) -> int:
        return sum(1 for r in rows if r.value_to_us is None and r.value_to_them is None)

    return ConcessionBalance(
        gave=len(ours),
        got=len(theirs_all),
        gave_cost=total(ours, "value_to_us"),
        gave_worth=total(ours, "value_to_them"),
        gave_net=net(ours),
        gave_unvalued=unvalued(ours),
        got_cost=total(theirs_all, "value_to_us"),
        got_worth=total(theirs_all, "value_to_them"),
        got_net=net(theirs_all),
        got_unvalued=unvalued(theirs_all),
    )
