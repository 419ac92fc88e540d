"""Rendering the room for one viewer: whole page or out-of-band fragments.

The full page and every live update come from the same template partials in
``room/room.html``, so what a socket receives is exactly what a reload
would show that side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from negotiation.access import DealAccess
from negotiation.models import DealEvent
from room.actions import ACTIONS
from room.models import Message
from room.selectors import RoomState, messages_by_id

ALL_REGIONS = (
    "status",
    "stagebar",
    "presence",
    "setup",
    "positions",
    "trades",
    "packages",
    "concessions",
    "terms",
    "commitments",
    "agreement",
    "checkins",
    "discussion",
    "coach",
)

# Which regions an event changes. A kind missing here re-renders everything.
EVENT_REGIONS: dict[str, tuple[str, ...]] = {
    "deal.updated": ("status", "setup"),
    "setup.updated": ("setup",),
    "stage.proposed": ("stagebar",),
    "stage.declined": ("stagebar",),
    "stage.withdrawn": ("stagebar",),
    "position.updated": ("positions",),
    "trade.proposed": ("trades",),
    "trade.declined": ("trades",),
    "trade.withdrawn": ("trades",),
    "trade.countered": ("trades",),
    "trade.accepted": ("trades", "terms", "concessions", "agreement"),
    "meso.presented": ("packages",),
    "meso.answered": ("packages", "terms", "agreement"),
    "concession.added": ("concessions",),
    "concession.valued": ("concessions",),
    "term.updated": ("terms", "agreement"),
    "commitment.added": ("commitments", "agreement"),
    "commitment.updated": ("commitments", "agreement"),
    "commitment.confirmed": ("commitments", "agreement"),
    "checkin.added": ("checkins", "commitments"),
    "message.posted": ("discussion", "trades"),
    "participant.joined": ("presence",),
    "invite.revoked": ("presence",),
}

ANNOUNCEMENTS: dict[str, str] = {
    "setup.updated": "{who} updated the shared purpose or ground rules.",
    "issue.added": "{who} added an issue to the agenda.",
    "stage.proposed": "{who} proposed a stage change.",
    "stage.accepted": "{who} accepted the stage change.",
    "stage.declined": "{who} declined the stage change.",
    "position.updated": "{who} updated their shared interests and ranking.",
    "trade.proposed": "{who} proposed a conditional trade.",
    "trade.accepted": "{who} accepted a trade.",
    "trade.declined": "{who} declined a trade.",
    "trade.countered": "{who} countered a trade.",
    "trade.withdrawn": "{who} withdrew a trade.",
    "meso.presented": "{who} presented a set of packages.",
    "meso.answered": "{who} answered a set of packages.",
    "term.updated": "{who} changed the term sheet.",
    "commitment.added": "{who} added a commitment.",
    "commitment.confirmed": "{who} confirmed a commitment.",
    "agreement.confirmed": "{who} confirmed the agreement.",
    "checkin.added": "{who} recorded a check-in.",
    "message.posted": "{who} wrote in the discussion.",
    "participant.joined": "{who} joined the room.",
    "deal.no_deal": "{who} ended the negotiation without agreement.",
}


def regions_for(kinds: Iterable[str]) -> tuple[str, ...]:
    wanted: set[str] = set()
    for kind in kinds:
        regions = EVENT_REGIONS.get(kind)
        if regions is None:
            return ALL_REGIONS
        wanted.update(regions)
    return tuple(region for region in ALL_REGIONS if region in wanted)


def render_events(
    access: DealAccess,
    events: Sequence[DealEvent],
    *,
    messages: Mapping[int, Message] | None = None,
    csrf_token: str = "",
) -> str:
    """What these events change, for this viewer, as out-of-band fragments.

    The room's most frequent event, a message, is appended to the discussion
    (or re-renders the one trade region it comments on) instead of
    re-rendering the whole thread; everything else re-renders the regions it
    touches. ``messages`` are the events' messages already in memory (the
    sender's own); the others are read in one query.
    """
    message_ids = [
        event.payload.get("message_id")
        for event in events
        if event.kind == "message.posted"
    ]
    regions = set(regions_for(e.kind for e in events if e.kind != "message.posted"))
    appended = ""
    if message_ids:
        known = dict(messages or {})
        missing = [pk for pk in message_ids if pk not in known]
        known.update(messages_by_id(access.deal, missing))
        found = [known[pk] for pk in message_ids if pk in known]
        if len(found) != len(message_ids):
            regions |= {"discussion", "trades"}  # one is gone: render both
        if any(m.trade_id is not None for m in found):
            regions.add("trades")
        plain = [m for m in found if m.trade_id is None]
        if plain and "discussion" not in regions:
            appended = append_messages(access, plain)
    ordered = [region for region in ALL_REGIONS if region in regions]
    return render_regions(access, ordered, csrf_token=csrf_token) + appended


def append_messages(access: DealAccess, messages: Sequence[Message]) -> str:
    """New discussion messages, appended out of band to the thread."""
    items = "".join(
        render_to_string(
            "room/room.html#message-item", {"message": m, "access": access}
        )
        for m in messages
    )
    return format_html(
        '<div hx-swap-oob="beforeend:#messages-list">{}</div>', mark_safe(items)
    )


def room_context(access: DealAccess, **extra) -> dict:
    return {
        "state": RoomState(access),
        "access": access,
        "deal": access.deal,
        "bindings": {name: a.binding for name, a in ACTIONS.items() if a.binding},
        **extra,
    }


def render_regions(
    access: DealAccess, regions: Iterable[str], *, csrf_token: str = ""
) -> str:
    """The given regions as out-of-band fragments for this viewer's side."""
    context = room_context(access, oob=True, csrf_token=csrf_token)
    return "".join(
        render_to_string(f"room/room.html#{region}", context) for region in regions
    )


RESEND_SKIP = {"csrfmiddlewaretoken", "client_msg_id", "confirm_share"}


def refusal_context(refused) -> dict:
    """Template context for a refusal, with the data to resend if allowed."""
    context = {"refused": refused}
    if refused.resend:
        action, data = refused.resend
        context["resend_action"] = action
        context["resend_items"] = [
            (key, data.getlist(key)) for key in data if key not in RESEND_SKIP
        ]
    return context


def render_refusal(refused, *, deal, csrf_token: str = "") -> str:
    """The sender's notice for a refused action, as an out-of-band fragment."""
    return render_to_string(
        "room/notice.html",
        {"deal": deal, "oob": True, "csrf_token": csrf_token}
        | refusal_context(refused),
    )


def render_notice(message: str, level: str = "error") -> str:
    return format_html(
        '<div id="room-notice" hx-swap-oob="true" class="alert {}" role="alert">'
        "{}</div>",
        level,
        message,
    )
