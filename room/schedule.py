"""The check-in schedule of an agreed deal.

The first check-in is the date both sides agreed in the room with the
cadence; once a check-in has been held, the next falls one review period
after the last one held.
(A deal agreed before cadences were agreed in the room has no first date:
its first check-in falls one period after the agreement.) The room shows
this as "next review".
The schedule continues at the same cadence; a check-in whose date passed
without one being held is overdue.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

CADENCE_DAYS = {"weekly": 7, "fortnightly": 14, "monthly": 30, "quarterly": 91}
DUE_WITHIN_DAYS = 7
# A closed deal whose side has not written its post-deal review this many
# days on is reminded (by email to the host side, in the room to both).
DEBRIEF_AFTER_DAYS = 3
MAX_UPCOMING = 12


@dataclass(frozen=True)
class ScheduledCheckIn:
    date: datetime.date
    status: str  # "held", "overdue", "due" (within a week) or "upcoming"

    @property
    def label(self) -> str:
        return {
            "held": "Held",
            "overdue": "Overdue",
            "due": "Due this week",
            "upcoming": "Upcoming",
        }[self.status]


def next_check_in(
    *,
    closed_on: datetime.date | None,
    last_held: datetime.date | None,
    cadence: str,
    first: datetime.date | None = None,
) -> datetime.date | None:
    """When the next check-in is due, or None before the agreement."""
    if first is not None and closed_on is not None and last_held is None:
        return first
    start = last_held or closed_on
    if start is None:
        return None
    return start + datetime.timedelta(days=CADENCE_DAYS.get(cadence, 30))


def is_due_soon(
    day: datetime.date, today: datetime.date, days: int = DUE_WITHIN_DAYS
) -> bool:
    return today <= day <= today + datetime.timedelta(days=days)


def check_in_schedule(
    *,
    closed_on: datetime.date | None,
    held: Iterable[datetime.date],
    cadence: str,
    today: datetime.date,
    until: datetime.date | None = None,
    minimum: int = 3,
    first: datetime.date | None = None,
) -> list[ScheduledCheckIn]:
    """Held check-ins, then the missed one (if any), then the coming ones.

    Coming check-ins run until ``until`` (e.g. the last commitment's due date,
    plus one more) with at least ``minimum`` of them and at most twelve.
    """
    held = sorted(set(held))
    rows = [ScheduledCheckIn(day, "held") for day in held]
    upcoming = next_check_in(
        closed_on=closed_on,
        last_held=held[-1] if held else None,
        cadence=cadence,
        first=first,
    )
    if upcoming is None:
        return rows
    step = datetime.timedelta(days=CADENCE_DAYS.get(cadence, 30))
    if upcoming < today:
        rows.append(ScheduledCheckIn(upcoming, "overdue"))
        periods = -(-(today - upcoming).days // step.days)  # ceiling
        upcoming += step * periods
    coming: list[ScheduledCheckIn] = []
    while len(coming) < MAX_UPCOMING and (
        len(coming) < minimum or (until is not None and coming[-1].date <= until)
    ):
        status = "due" if is_due_soon(upcoming, today) else "upcoming"
        coming.append(ScheduledCheckIn(upcoming, status))
        upcoming += step
    return rows + coming
