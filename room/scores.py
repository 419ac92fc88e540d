"""The viewer's own scores, as markup: a badge per package, and the slot an
open trade's score sits in.

Built as plain strings rather than template partials or ``format_html``: a
term change rescores every open trade, and with 100 open trades a partial
per trade cost more than the rest of the event. Only the side whose
scoring it is ever gets this markup: ``RoomState`` scores with the viewer's
own scoring, and has none for a viewer without a side.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from room.models import Trade
from room.selectors import OwnScore, RoomState

TITLE = "Your own scoring: only your side sees it"


def own_score_badge(score: OwnScore | None) -> SafeString:
    """Plain string building, not ``format_html``: every part is a number or
    fixed text of ours, nothing typed by a user."""
    if score is None:
        return mark_safe("")
    tone = {None: "neutral", True: "ok", False: "warn"}[score.clears]
    text = f"Your score {score.total}/100"
    if score.clears is True:
        text += " · clears your minimum"
    elif score.clears is False:
        text += f" · below your minimum of {floatformat(score.reservation, '-2')}"
    gaps = []
    if score.score.open:
        gaps.append(f"{score.score.open} open")
    if score.score.unread:
        gaps.append(f"{score.score.unread} not readable")
    if gaps:
        text += " · " + ", ".join(gaps) + ", counted as 0"
    return mark_safe(
        f'<span class="own-score-badge badge {tone}" title="{TITLE}">{text}</span>'
    )


def _slot(trade_id: int, badge: SafeString, *, oob: bool) -> SafeString:
    swap = ' hx-swap-oob="true"' if oob else ""
    return mark_safe(
        f'<span id="trade-{int(trade_id)}-score" class="own-score"{swap}>{badge}</span>'
    )


def trade_score_slot(state: RoomState, trade: Trade) -> SafeString:
    """An open trade's score in its row."""
    return _slot(trade.pk, own_score_badge(state.trade_score(trade)), oob=False)


def open_trade_score_slots(
    state: RoomState, changed: Collection[int] | None, skip: Iterable[int] = ()
) -> list[str]:
    """The open trades' scores that a term change changed, out of band: what
    it sends the side with a scoring. ``changed`` are the issues whose terms
    changed (None: any of them). A trade that sets all of them itself scores
    the same as before (it overrides those terms), so it is not sent again;
    nor are the trades in ``skip`` (rendered whole in the same update)."""
    skip = set(skip)
    slots = []
    for pk, give_issue, give_value, ask_issue, ask_value in state.open_trades:
        if pk in skip:
            continue
        if changed is not None and set(changed) <= {give_issue, ask_issue}:
            continue
        score = state.trade_values_score(give_issue, give_value, ask_issue, ask_value)
        slots.append(_slot(pk, own_score_badge(score), oob=True))
    return slots
