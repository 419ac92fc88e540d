"""A minimal iCalendar (RFC 5545) writer for all-day events.

Enough for a check-in schedule that any calendar imports: CRLF line ends,
long lines folded at 75 octets, text escaped, stable UIDs so a re-import
updates the events instead of duplicating them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    day: datetime.date
    summary: str
    description: str = ""
    url: str = ""


def escape_text(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into 75-octet pieces (never inside a character)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    pieces, current, limit = [], b"", 75
    for char in line:
        octets = char.encode()
        if len(current) + len(octets) > limit:
            pieces.append(current.decode())
            current, limit = b"", 74  # continuation lines start with a space
        current += octets
    pieces.append(current.decode())
    return "\r\n ".join(pieces)


def build_ics(
    entries: Iterable[CalendarEntry], *, name: str, now: datetime.datetime
) -> str:
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Parley//Check-ins//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for entry in entries:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{entry.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{entry.day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{entry.day + datetime.timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape_text(entry.summary)}",
        ]
        if entry.description:
            lines.append(f"DESCRIPTION:{escape_text(entry.description)}")
        if entry.url:
            lines.append(f"URL:{entry.url}")
        lines += ["TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(f"{fold(line)}\r\n" for line in lines)
