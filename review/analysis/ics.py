"""The check-in calendar (RFC 5545) of all-day events, written by ``icalendar``.

``icalendar`` escapes text, folds long lines and ends them with CRLF; stable
UIDs let a re-import update the events instead of duplicating them. It passes
control characters through, which RFC 5545 forbids in text, so ``plain_text``
turns every kind of line break into a newline (escaped as ``\\n``) and drops
the other control characters first.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

import icalendar

# C0 and C1 controls and DEL, but not the tab and the newline RFC 5545 allows.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    day: datetime.date
    summary: str
    description: str = ""
    url: str = ""


def plain_text(text: str) -> str:
    """``text`` with its line breaks (CR, VT, FF, NEL, U+2028…) as newlines and
    no other control character."""
    return _CONTROL.sub("", "\n".join(text.splitlines()))


def build_ics(
    entries: Iterable[CalendarEntry], *, name: str, now: datetime.datetime
) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Parley//Check-ins//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", icalendar.vText(plain_text(name)))
    stamp = now.astimezone(datetime.UTC)
    for entry in entries:
        event = icalendar.Event()
        event.add("uid", plain_text(entry.uid))
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + datetime.timedelta(days=1))
        event.add("summary", plain_text(entry.summary))
        if entry.description:
            event.add("description", plain_text(entry.description))
        if entry.url:
            event.add("url", plain_text(entry.url))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical().decode()
