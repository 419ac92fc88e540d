"""Server-rendered SVG charts for the review page and the team dashboard.

No JavaScript, no external library: each tag returns one ``<svg>`` with a
``<title>`` and a ``<desc>`` for screen readers, colours from classes in
``static/css/review.css`` (the CSP allows no inline styles), and shapes and
text labels that still read in black-and-white print. Every piece of user text
is escaped here; the rest are numbers computed here.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from common.numbers import format_number
from review.analysis.concessions import ConcessionEntry
from review.analysis.outcome import Headline
from review.analysis.stages import StageTime

register = template.Library()

_ids = itertools.count(1)
WIDTH = 640
STATUS_LETTER = {
    "planned": "P",
    "on_track": "OK",
    "at_risk": "!",
    "done": "✓",
    "missed": "✗",
}


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attrs(attrs: dict) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not None
    )


def el(tag: str, content: str = "", **attrs) -> str:
    """One SVG element; ``content`` must already be safe markup."""
    if content == "" and tag not in ("text", "title", "desc", "g", "svg"):
        return f"<{tag}{_attrs(attrs)}/>"
    return f"<{tag}{_attrs(attrs)}>{content}</{tag}>"


def text(x: float, y: float, label: str, **attrs) -> str:
    return el("text", conditional_escape(label), x=_n(x), y=_n(y), **attrs)


def svg(
    width: float, height: float, title: str, desc: str, body: Iterable[str], **attrs
) -> SafeString:
    uid = f"chart-{next(_ids)}"
    # Drawn at its own size (one unit, one CSS pixel), so a 12-unit label reads
    # at 12 px; a chart wider than its card scrolls in its frame.
    attrs.setdefault("class_", "chart")
    head = el("title", conditional_escape(title), id=f"{uid}-t") + el(
        "desc", conditional_escape(desc), id=f"{uid}-d"
    )
    # Safe: every label above went through conditional_escape.
    return mark_safe(
        # Focusable, so a chart that scrolls in its frame scrolls by keyboard.
        '<div class="chart-frame" tabindex="0">'
        + el(
            "svg",
            head + "".join(body),
            viewBox=f"0 0 {_n(width)} {_n(height)}",
            width=_n(width),
            height=_n(height),
            role="img",
            aria_labelledby=f"{uid}-t {uid}-d",
            xmlns="http://www.w3.org/2000/svg",
            font_size="12",
            **attrs,
        )
        + "</div>"
    )


def _clip(label: str, length: int = 30) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= length else label[: length - 1] + "…"


# --- Concession timeline -------------------------------------------------------------


@register.simple_tag
def concession_timeline(
    entries: Sequence[ConcessionEntry], side: str, our_name: str, their_name: str
) -> SafeString:
    """Each concession in order: ours above the line, theirs below.

    The stem's length is what the concession was worth to the side receiving
    it (its giver's own valuation); "?" marks one not valued, or not shared.
    """
    if not entries:
        return mark_safe("")
    height, mid, reach = 250, 125, 80
    left, right = 24, WIDTH - 24
    worth = [e.value_to_them for e in entries if e.value_to_them is not None]
    top = max((abs(v) for v in worth), default=Decimal(1)) or Decimal(1)
    step = (right - left) / max(len(entries), 1)
    body = [
        el("line", x1=left, y1=mid, x2=right, y2=mid, class_="axis"),
        text(left, 16, f"▲ {our_name} gave", class_="legend ours"),
        text(left, height - 6, f"▼ {their_name} gave", class_="legend theirs"),
    ]
    described = []
    for index, entry in enumerate(entries):
        x = left + step * (index + 0.5)
        ours = entry.side == side
        sign = -1 if ours else 1
        if entry.value_to_them is None:
            length, label, cls = 18, "?", "unvalued"
        else:
            length = 10 + float(abs(entry.value_to_them) / top) * (reach - 10)
            label, cls = format_number(entry.value_to_them, 0), "valued"
        y = mid + sign * length
        marker = (
            f"{_n(x - 6)},{_n(y)} {_n(x + 6)},{_n(y)} {_n(x)},{_n(y + sign * 10)}"
            if not ours
            else f"{_n(x - 6)},{_n(y)} {_n(x + 6)},{_n(y)} {_n(x)},{_n(y - 10)}"
        )
        body.append(
            el(
                "g",
                el("title", conditional_escape(f"{entry.item}: {entry.we_give}"))
                + el("line", x1=_n(x), y1=mid, x2=_n(x), y2=_n(y), class_="stem")
                + el("polygon", points=marker)
                + text(
                    x,
                    y + sign * (24 if ours else 22),
                    label,
                    text_anchor="middle",
                    class_="value",
                ),
                class_=f"concession {'ours' if ours else 'theirs'} {cls}",
            )
        )
        giver = our_name if ours else their_name
        described.append(f"{index + 1}. {giver} gave {entry.we_give} ({label})")
    first = timezone.localtime(entries[0].created_at)
    last = timezone.localtime(entries[-1].created_at)
    body.append(text(left, mid - 4, f"{first:%d %b}", class_="tick"))
    body.append(text(right, mid - 4, f"{last:%d %b}", text_anchor="end", class_="tick"))
    return svg(
        WIDTH,
        height,
        "Concession timeline",
        "; ".join(described),
        body,
        class_="chart concessions-chart",
    )


# --- Shared priority rankings side by side ----------------------------------------


@register.simple_tag
def ranking_slope(rankings) -> SafeString:
    """Both sides' shared rankings, the same issue joined across the middle.

    ``rankings``: [(party, rows)] for the host then the counterpart, as
    ``ReviewState.rankings`` gives them; rows carry ``issue`` and ``rank``.
    """
    (left_party, left_rows), (right_party, right_rows) = rankings
    if not left_rows and not right_rows:
        return mark_safe("")
    rows = max(len(left_rows), len(right_rows))
    height = 44 + rows * 26
    lx, rx = 230, WIDTH - 230
    y_of = lambda index: 44 + index * 26 + 13  # noqa: E731

    def column(rows, x, anchor) -> tuple[list[str], dict[int, float]]:
        parts, where = [], {}
        for index, row in enumerate(rows):
            y = y_of(index)
            where[row.issue.pk] = y
            rank = f"{row.rank}." if row.rank else "–"
            label = f"{rank} {_clip(row.issue.name, 26)}"
            parts.append(
                text(
                    x + (-10 if anchor == "end" else 10),
                    y + 4,
                    label,
                    text_anchor=anchor,
                    class_="rank" if row.rank else "rank unranked",
                )
            )
            parts.append(
                el("circle", cx=x, cy=_n(y), r=4, class_="dot" if row.rank else "hole")
            )
        return parts, where

    left_parts, left_y = column(left_rows, lx, "end")
    right_parts, right_y = column(right_rows, rx, "start")
    lines = []
    for issue_id, y1 in left_y.items():
        y2 = right_y.get(issue_id)
        if y2 is not None:
            lines.append(el("line", x1=lx, y1=_n(y1), x2=rx, y2=_n(y2), class_="slope"))
    body = [
        text(
            lx, 20, _clip(left_party.organisation, 30), text_anchor="end", class_="head"
        ),
        text(rx, 20, _clip(right_party.organisation, 30), class_="head"),
        *lines,
        *left_parts,
        *right_parts,
    ]

    def order(rows) -> str:
        ranked = [r.issue.name for r in rows if r.rank]
        return ", ".join(ranked) if ranked else "nothing ranked"

    return svg(
        WIDTH,
        height,
        "Shared priority rankings",
        f"{left_party.organisation}: {order(left_rows)}. "
        f"{right_party.organisation}: {order(right_rows)}.",
        body,
        class_="chart ranking-chart",
    )


# --- Term-sheet movement per issue ------------------------------------------------


@register.simple_tag
def term_movement(movement, total_steps: int) -> SafeString:
    """One issue's term across the log: a line for numbers, labelled steps
    otherwise. "?" marks a change whose value the log does not hold."""
    points = movement.points
    if not points:
        return mark_safe("")
    width, height = WIDTH, 96
    left, right, top, bottom = 16, width - 16, 22, height - 22
    total = max(total_steps, 1)
    x_of = lambda step: left + (right - left) * (step - 1) / max(total - 1, 1)  # noqa: E731
    numeric = [p[2] for p in points if p[2] is not None]
    all_numeric = len(numeric) == len(points)
    body = [el("line", x1=left, y1=bottom, x2=right, y2=bottom, class_="axis")]
    if all_numeric and len(set(numeric)) > 1:
        low, high = min(numeric), max(numeric)
        y_of = lambda v: bottom - float((v - low) / (high - low)) * (bottom - top)  # noqa: E731
    else:
        y_of = lambda v: (top + bottom) / 2  # noqa: E731
    path, previous = [], None
    for step, _value, number in points:
        x, y = x_of(step), y_of(number) if number is not None else (top + bottom) / 2
        if previous is not None:
            path.append(f"L{_n(x)},{_n(previous)}")
        path.append(f"{'M' if not path else 'L'}{_n(x)},{_n(y)}")
        previous = y
    if previous is not None:
        path.append(f"L{_n(right)},{_n(previous)}")
    body.append(el("path", d=" ".join(path), class_="movement"))
    for index, (step, value, number) in enumerate(points):
        x = x_of(step)
        y = y_of(number) if number is not None else (top + bottom) / 2
        label = _clip(value, 18) if value is not None else "?"
        above = index % 2 == 0
        body.append(
            el(
                "g",
                el(
                    "title",
                    conditional_escape(f"Step {step}: {value or 'not recorded'}"),
                )
                + el(
                    "circle",
                    cx=_n(x),
                    cy=_n(y),
                    r=4,
                    class_="dot" if value is not None else "hole",
                )
                + text(
                    x,
                    y - 8 if above else y + 16,
                    label,
                    text_anchor="middle",
                    class_="value",
                ),
            )
        )
    described = ", ".join(
        f"step {step}: {value if value is not None else 'not recorded'}"
        for step, value, _number in points
    )
    return svg(
        width,
        height,
        f"{movement.issue.name}: how the term moved",
        described,
        body,
        class_="chart movement-chart",
    )


# --- Commitment progress ------------------------------------------------------------


@register.simple_tag
def commitment_progress(rows, today: datetime.date) -> SafeString:
    """Each commitment on a time line: its check-ins (status letter), its due
    date (◆) and today (dashed). Overdue rows are outlined."""
    if not rows:
        return mark_safe("")
    dates = [today]
    for row in rows:
        if row.commitment.due_date:
            dates.append(row.commitment.due_date)
        dates += [item.check_in.held_on for item in row.history]
    start = min(dates) - datetime.timedelta(days=7)
    end = max(dates) + datetime.timedelta(days=7)
    span = max((end - start).days, 1)
    left, right = 210, WIDTH - 130
    x_of = lambda day: left + (right - left) * (day - start).days / span  # noqa: E731
    row_h, top = 34, 26
    height = top + row_h * len(rows) + 10
    tx = x_of(today)
    body = [
        text(left, 14, f"{start:%d %b %Y}", class_="tick"),
        text(right, 14, f"{end:%d %b %Y}", text_anchor="end", class_="tick"),
        el("line", x1=_n(tx), y1=18, x2=_n(tx), y2=_n(height - 6), class_="today"),
        text(tx, height - 1, "today", text_anchor="middle", class_="tick"),
    ]
    described = []
    for index, row in enumerate(rows):
        commitment = row.commitment
        y = top + index * row_h + row_h / 2
        parts = [
            el(
                "rect",
                x=2,
                y=_n(y - row_h / 2 + 2),
                width=WIDTH - 4,
                height=row_h - 4,
                rx=4,
                class_="row overdue" if row.overdue else "row",
            ),
            text(8, y + 4, _clip(commitment.description, 28), class_="label"),
            el("line", x1=left, y1=_n(y), x2=right, y2=_n(y), class_="track"),
        ]
        if commitment.due_date:
            dx = x_of(commitment.due_date)
            parts.append(
                el(
                    "polygon",
                    points=f"{_n(dx)},{_n(y - 7)} {_n(dx + 7)},{_n(y)} "
                    f"{_n(dx)},{_n(y + 7)} {_n(dx - 7)},{_n(y)}",
                    class_="due",
                )
            )
        for item in row.history:
            cx = x_of(item.check_in.held_on)
            parts.append(
                el(
                    "g",
                    el(
                        "title",
                        conditional_escape(
                            f"{item.check_in.held_on:%d %b %Y}: "
                            f"{item.get_status_display()}"
                        ),
                    )
                    + el(
                        "circle",
                        cx=_n(cx),
                        cy=_n(y),
                        r=11,
                        class_=f"status s-{item.status}",
                    )
                    + text(
                        cx,
                        y + 4,
                        STATUS_LETTER.get(item.status, "?"),
                        text_anchor="middle",
                        class_="letter",
                    ),
                )
            )
        status = commitment.get_status_display()
        if row.overdue:
            status += " · overdue"
        parts.append(text(WIDTH - 8, y + 4, status, text_anchor="end", class_="state"))
        body.append(el("g", "".join(parts), class_="commitment"))
        due = (
            f"due {commitment.due_date:%d %b %Y}" if commitment.due_date else "no date"
        )
        described.append(f"{commitment.description}: {status}, {due}")
    return svg(
        WIDTH,
        height,
        "Commitment progress",
        "; ".join(described),
        body,
        class_="chart commitments-chart",
    )


# --- Bars: stage times, outcomes, pitfalls --------------------------------------


def _hbars(
    items: Sequence[tuple[str, float, str]], title: str, css: str = ""
) -> SafeString:
    """Horizontal bars, the label column as wide as the longest label needs."""
    if not items:
        return mark_safe("")
    top_value = max((value for _, value, _ in items), default=0) or 1
    longest = max(len(_clip(label, 28)) for label, _, _ in items)
    label_w = min(max(longest * 7.2, 60), 200)
    # As narrow as the labels allow: a third of the dashboard holds it unscaled.
    width = label_w + 8 + 150 + 80
    bar_left, bar_right = label_w + 8, width - 80
    row_h = 22
    height = row_h * len(items) + 6
    body = []
    for index, (label, value, shown) in enumerate(items):
        y = 3 + index * row_h
        bar = (bar_right - bar_left) * value / top_value
        body += [
            text(label_w, y + 14, _clip(label, 28), text_anchor="end", class_="label"),
            el(
                "rect", x=_n(bar_left), y=y + 3, width=_n(max(bar, 1)), height=14,
                class_="bar",
            ),
            text(bar_left + bar + 5, y + 14, shown, class_="value"),
        ]  # fmt: skip
    desc = "; ".join(f"{label}: {shown}" for label, _, shown in items)
    return svg(width, height, title, desc, body, class_=f"chart bars {css}".strip())


@register.simple_tag
def stage_bars(stage_times: Sequence[StageTime]) -> SafeString:
    """Mean days in each stage (team dashboard)."""
    items = [
        (
            s.label,
            s.average_days,
            f"{_duration(datetime.timedelta(days=s.average_days))} · "
            f"{s.deals} deal{'s' if s.deals != 1 else ''}"
            if s.deals
            else "—",
        )
        for s in stage_times
    ]
    return _hbars(items, "Average time in each stage", "stages")


@register.simple_tag
def deal_stage_bars(stage_times) -> SafeString:
    """Days this deal spent in each stage (review page)."""
    items = [
        (label, spent.total_seconds() / 86400, _duration(spent))
        for _stage, label, spent in stage_times
        if spent.total_seconds() > 0
    ]
    return _hbars(items, "Time in each stage", "stages")


def _duration(spent: datetime.timedelta) -> str:
    days = spent.total_seconds() / 86400
    if days >= 1:
        return f"{days:.1f} d"
    hours = spent.total_seconds() / 3600
    if hours >= 1:
        return f"{hours:.1f} hours"
    return f"{max(round(spent.total_seconds() / 60), 1)} min"


@register.simple_tag
def count_bars(breakdowns, title: str) -> SafeString:
    """Counts per category (outcomes, pitfalls): ``Breakdown`` rows."""
    items = [(b.label, float(b.count), str(b.count)) for b in breakdowns]
    return _hbars(items, title)


# --- The headline number between walk-away and target --------------------------------


@register.simple_tag
def headline_gauge(headline: Headline | None) -> SafeString:
    """Walk-away, target and the agreed figure on one scale."""
    if headline is None or headline.final is None:
        return mark_safe("")
    marks = [
        ("Walk-away", headline.reservation, "walkaway"),
        ("Agreed", headline.final, "final"),
    ]
    if headline.target is not None:
        marks.append(("Target", headline.target, "target"))
    values = [v for _, v, _ in marks]
    low, high = min(values), max(values)
    pad = (high - low) * Decimal("0.1") or abs(high) * Decimal("0.05") or Decimal(1)
    low, high = low - pad, high + pad
    left, right, y = 30, WIDTH - 30, 60
    x_of = lambda v: left + float((v - low) / (high - low)) * (right - left)  # noqa: E731
    body = [el("line", x1=left, y1=y, x2=right, y2=y, class_="axis")]
    if headline.target is not None:
        x1, x2 = sorted((x_of(headline.reservation), x_of(headline.target)))
        body.append(
            el(
                "rect",
                x=_n(x1),
                y=y - 8,
                width=_n(max(x2 - x1, 1)),
                height=16,
                class_="zone",
            )
        )
    for index, (label, value, css) in enumerate(marks):
        x = x_of(value)
        above = css == "final"
        body.append(
            el(
                "g",
                el("line", x1=_n(x), y1=y - 14, x2=_n(x), y2=y + 14)
                + text(
                    x,
                    y - 20 if above else y + 30 + 14 * (index % 2),
                    f"{label} {format_number(value)}",
                    text_anchor="middle",
                ),
                class_=f"mark {css}",
            )
        )
    desc = ", ".join(f"{label}: {format_number(value)}" for label, value, _ in marks)
    return svg(
        WIDTH,
        110,
        f"{headline.name}: agreed against walk-away and target",
        desc,
        body,
        class_="chart gauge-chart",
    )


@register.filter
def number(value) -> str:
    """A figure for people: 186500 → "186,500"; None → "—"."""
    return format_number(value)


@register.filter
def signed(value) -> str:
    if value is None:
        return "—"
    prefix = "+" if value > 0 else ""
    return f"{prefix}{format_number(value)}"


# --- Value created and left: own score path, the frontier ---------------------------

PLOT = 100  # scores run 0–100 on both axes


@register.simple_tag
def score_path(path: Sequence[tuple[int, float]]) -> SafeString:
    """The side's own score of the term sheet after each step that wrote
    terms, on its own scoring (0–100)."""
    if not path:
        return mark_safe("")
    height, left, right, top, bottom = 200, 36, WIDTH - 16, 14, 170
    last_step = max(step for step, _ in path) or 1

    def xy(step: int, score: float) -> tuple[float, float]:
        x = left + (right - left) * step / last_step
        return x, bottom - (bottom - top) * score / PLOT

    coords = [xy(step, score) for step, score in path]
    body = [
        el("line", x1=left, y1=bottom, x2=right, y2=bottom, class_="axis"),
        el("line", x1=left, y1=top, x2=left, y2=bottom, class_="axis"),
        text(left - 6, top + 4, "100", text_anchor="end", class_="tick"),
        text(left - 6, bottom, "0", text_anchor="end", class_="tick"),
        text(right, height - 8, "steps of the log →", text_anchor="end", class_="tick"),
        el(
            "polyline",
            points=" ".join(f"{_n(x)},{_n(y)}" for x, y in coords),
            class_="path ours",
            fill="none",
        ),
    ]
    body += [el("circle", cx=_n(x), cy=_n(y), r=3, class_="ours") for x, y in coords]
    final = path[-1][1]
    return svg(
        WIDTH,
        height,
        "Your own score of the term sheet over the negotiation",
        f"{len(path)} changes to the terms; it ended at {final:.0f} of 100 on "
        "your own scoring.",
        body,
        class_="chart score-path",
    )


@register.simple_tag
def frontier_scatter(analysis) -> SafeString:
    """The agreement against every efficient package, in both sides' scores
    (yours across, theirs up), with the Nash point and, if one exists, the
    package that was better for both."""
    size, pad = 300, 40

    def xy(point: tuple[float, float]) -> tuple[float, float]:
        return (
            pad + (size - pad - 10) * point[0] / PLOT,
            size - pad - (size - pad - 10) * point[1] / PLOT,
        )

    origin, far = xy((0, 0)), xy((PLOT, PLOT))
    body = [
        el("line", x1=origin[0], y1=origin[1], x2=far[0], y2=origin[1], class_="axis"),
        el("line", x1=origin[0], y1=origin[1], x2=origin[0], y2=far[1], class_="axis"),
        text(far[0], size - 12, "your score →", text_anchor="end", class_="tick"),
        text(8, far[1] + 4, "theirs ↑", class_="tick"),
    ]
    line = sorted(xy(point) for point in analysis.frontier)
    if len(line) > 1:
        body.append(
            el(
                "polyline",
                points=" ".join(f"{_n(x)},{_n(y)}" for x, y in line),
                class_="frontier",
                fill="none",
            )
        )
    body += [
        el("circle", cx=_n(x), cy=_n(y), r=2.5, class_="efficient") for x, y in line
    ]
    described = [f"{len(analysis.frontier)} efficient packages"]
    if analysis.nash is not None:
        x, y = xy(analysis.nash)
        body.append(
            el(
                "g",
                el("title", "The Nash point")
                + el("rect", x=_n(x - 4), y=_n(y - 4), width=8, height=8, class_="nash")
                + text(x + 7, y - 6, "Nash", class_="label"),
            )
        )
        described.append(
            f"the Nash point scores {analysis.nash[0]:.0f} for you and "
            f"{analysis.nash[1]:.0f} for them"
        )
    if analysis.agreement is not None:
        x, y = xy(analysis.agreement)
        body.append(
            el(
                "g",
                el("title", "The agreement")
                + el("circle", cx=_n(x), cy=_n(y), r=6, class_="agreement")
                + text(x + 9, y + 4, "Agreement", class_="label"),
            )
        )
        described.append(
            f"the agreement scores {analysis.agreement[0]:.0f} for you and "
            f"{analysis.agreement[1]:.0f} for them"
        )
    return svg(
        size,
        size,
        "The agreement against the packages no one could improve on",
        "; ".join(described) + ".",
        body,
        class_="chart frontier-chart",
    )
