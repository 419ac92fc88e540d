"""Rendering the room for one viewer: whole page or out-of-band fragments.

The full page and every live update come from the same template partials in
``sessions/room.html``, so what a socket receives is exactly what a reload
would show that side.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.loader import render_to_string
from django.utils.html import format_html

from negotiation.access import DealAccess
from sessions.actions import ACTIONS
from sessions.selectors import RoomState

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
        render_to_string(f"sessions/room.html#{region}", context) for region in regions
    )


def render_notice(message: str, level: str = "error") -> str:
    return format_html(
        '<div id="room-notice" hx-swap-oob="true" class="alert {}" role="alert">'
        "{}</div>",
        level,
        message,
    )
