"""Template helpers for the review pages, the exports and the lessons panel."""

from __future__ import annotations

import re

from django import template

from negotiation.access import DealAccess
from review.models import Lesson
from review.selectors import lessons_for_preparation

register = template.Library()

# Characters that change meaning anywhere in a line of Markdown, and the marks
# that start a block (heading, quote, list, rule) at the start of a line. User
# text is escaped so that it reads literally in any renderer, raw HTML included.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_MD_BLOCK_START = re.compile(r"^(\s*\d*)([#>+=.)-])")


def _md_line(line: str) -> str:
    line = _MD_INLINE.sub(r"\\\1", line.rstrip())
    # "# x", "> x", "- x", "1. x", "2) x": escape the mark (CommonMark escapes
    # punctuation only, so "2\)" rather than "\2)").
    return _MD_BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}", line)


@register.filter
def md(value) -> str:
    """User text for a Markdown document: escaped, line breaks kept."""
    if value is None:
        return ""
    return "  \n".join(_md_line(line) for line in str(value).splitlines())


@register.filter
def mdcell(value) -> str:
    """User text for one cell of a Markdown table: one line, pipes escaped."""
    if value is None or value == "":
        return "—"
    return _md_line(" ".join(str(value).split()))


@register.filter
def get_item(mapping, key):
    if mapping is None or not hasattr(mapping, "get"):
        return None
    return mapping.get(key)


@register.filter
def absolute(value):
    return abs(value) if value is not None else value


@register.simple_tag
def prep_lessons(access: DealAccess) -> list[Lesson]:
    """Lessons from the team's earlier deals in this context (host side only)."""
    return lessons_for_preparation(access)


@register.filter
def verdict_class(verdict: str) -> str:
    return {
        "beat": "ok",
        "met": "ok",
        "short": "warn",
        "differs": "neutral",
        "open": "danger",
        "no_target": "neutral",
        "yes": "ok",
        "mostly": "ok",
        "partly": "warn",
        "no": "danger",
        "unsure": "neutral",
    }.get(verdict, "neutral")


@register.filter
def status_class(status: str) -> str:
    return {
        "agreed": "ok",
        "no_deal": "danger",
        "done": "ok",
        "on_track": "ok",
        "at_risk": "warn",
        "missed": "danger",
        "accepted": "ok",
        "declined": "danger",
        "countered": "warn",
        "withdrawn": "neutral",
        "held": "ok",
        "overdue": "danger",
        "due": "warn",
    }.get(status, "neutral")
