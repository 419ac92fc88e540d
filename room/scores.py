"""The viewer's own scores, as markup: a badge per package, and the slot an
open trade's score sits in.

Written with ``format_html`` rather than as template partials: a term change
rescores every open trade, and one partial render per trade cost more than
the whole event (``bench/room_actions.py --scoring``). Only the side whose
scoring it is ever gets this markup: ``RoomState`` scores with the viewer's
own scoring, and has none for a viewer without a side.
"""

from __future__ import annotations

from django.template.defaultfilters import floatformat
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from room.models import Trade
from room.selectors import OwnScore, RoomState

TITLE = "Your own scoring: only your side sees it"


def own_score_badge(score: OwnScore | None) -> SafeString:
    if score is None:
        return mark_safe("")
    tone = {None: "neutral", True: "ok", False: "warn"}[score.clears]
    text = [f"Your score {score.total}/100"]
    if score.clears is True:
        text.append("clears your minimum")
    elif score.clears is False:
        text.append(f"below your minimum of {floatformat(score.reservation, '-2')}")
    gaps = []
    if score.score.open:
        gaps.append(f"{score.score.open} open")
    if score.score.unread:
        gaps.append(f"{score.score.unread} not readable")
    if gaps:
        text.append(", ".join(gaps) + ", counted as 0")
    return format_html(
        '<span class="own-score-badge badge {}" title="{}">{}</span>',
        tone,
        TITLE,
        " · ".join(text),
    )


def trade_score_slot(state: RoomState, trade: Trade, *, oob: bool) -> SafeString:
    return format_html(
        '<span id="trade-{}-score" class="own-score"{}>{}</span>',
        trade.pk,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        own_score_badge(state.trade_score(trade)),
    )
