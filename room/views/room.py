"""The room page, and every room action as a plain HTTP request.

When the socket is down the room keeps working through these: forms post
here, the same ``perform`` applies them, and the page is rendered again.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from common.web import HtmxHttpRequest
from negotiation.access import room_access
from negotiation.models import DealEvent
from negotiation.services.base import AlreadyApplied
from room import actions
from room.attention import away_summary
from room.coaching import coach_safely
from room.render import (
    ALL_REGIONS,
    refusal_context,
    render_regions,
    room_context,
)
from room.selectors import orientation_dismissed
from room.services.presence import (
    visit_orientation_dismiss,
    visit_present,
    visit_seen,
)
from room.services.rules import ACTION_TOOLS

REFUSAL_STATUS = {
    "forbidden": 403,
    "stale_version": 409,
    "not_found": 404,
    "unknown_action": 404,
}


def _access(request: HtmxHttpRequest, deal_id: int):
    return room_access(request.user, request.session, deal_id)


@never_cache
@require_GET
def room(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The live room: both sides, one page, each seeing its own side's view,
    with what happened since the viewer was last here."""
    access = _access(request, deal_id)
    away = None
    dismissed = True  # a viewer who is no participant gets no orientation
    if access.participant is not None:
        away = away_summary(access.participant, access.deal)
        visit = visit_present(participant=access.participant, deal=access.deal)
        dismissed = visit.orientation_dismissed_at is not None
    context = room_context(access, away=away, orientation_dismissed=dismissed)
    return render(request, "room/room.html", context)


@require_POST
def room_seen(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The viewer read "while you were away" up to ``seq``: not shown again."""
    access = _access(request, deal_id)
    try:
        seq = int(request.POST.get("seq", ""))
    except ValueError:
        return HttpResponse("Say up to which event you read (seq).", status=400)
    if access.participant is not None:
        visit_seen(participant=access.participant, deal=access.deal, seq=seq)
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("live:room", deal_id=deal_id)


@require_POST
def room_orientation_dismiss(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The viewer hid the room's orientation: hidden for them on any browser."""
    access = _access(request, deal_id)
    if access.participant is None:
        raise PermissionDenied("Only a participant of the room has an orientation.")
    visit_orientation_dismiss(participant=access.participant, deal=access.deal)
    if request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(status=204)
    return redirect("live:room", deal_id=deal_id)


@require_POST
def room_action(request: HtmxHttpRequest, deal_id: int, action: str) -> HttpResponse:
    """Apply one room action from a form post (the socket-less path)."""
    access = _access(request, deal_id)
    data = request.POST.copy()
    client_msg_id = data.pop("client_msg_id", [None])[0] or None
    before = access.deal.last_seq
    try:
        actions.perform(access, action, data, client_msg_id)
    except actions.ActionRefused as refused:
        access = _access(request, deal_id)  # show the room as it stands now
        context = room_context(
            access,
            orientation_dismissed=orientation_dismissed(access.participant),
            **refusal_context(refused),
        )
        status = REFUSAL_STATUS.get(refused.code, 422)
        return render(request, "room/room.html", context, status=status)
    except AlreadyApplied:
        pass  # a resubmitted form: it was applied the first time
    else:
        # Without a socket there is no "after the ack": the coach runs before
        # the redirect, on this action's events only (bounded reads).
        coach_safely(
            DealEvent.objects.filter(
                deal_id=deal_id, seq__gt=before, actor=access.participant
            )
        )
    return redirect(f"{reverse('live:room', args=[deal_id])}#{_anchor(action)}")


# Where the page scrolls back to after an action: the region of its tool.
TOOL_REGIONS = {
    "setup": "setup",
    "agenda": "setup",
    "stage": "stagebar",
    "end": "status",
    "position": "positions",
    "trades": "trades",
    "discussion": "discussion",
    "packages": "packages",
    "concessions": "concessions",
    "terms": "terms",
    "commitments": "commitments",
    "agreement": "agreement",
    "check_ins": "checkins",
    "cadence": "cadence",
    "pause": "pause",
    "coach": "coach",
}


def _anchor(action: str) -> str:
    return "region-" + TOOL_REGIONS.get(ACTION_TOOLS.get(action, ""), "status")


@never_cache
@require_GET
def room_sync(request: HtmxHttpRequest, deal_id: int) -> JsonResponse:
    """A fresh render of every region, for a client whose socket is down."""
    try:
        access = _access(request, deal_id)
    except Http404:
        return JsonResponse({"error": "No such deal."}, status=404)
    seq = access.deal.last_seq
    html = render_regions(
        access, ALL_REGIONS, csrf_token=request.META.get("CSRF_COOKIE", "")
    )
    return JsonResponse({"type": "sync", "seq": seq, "html": html})


# "Show earlier": each growing list of the room, its rows partial, how it is
# read (RoomState.earlier) and where the next page goes.
EARLIER = {
    "trades": ("trade-row", "trade", "#trade-list", "beforeend", "Show earlier trades"),
    "meso": ("meso-set", "meso", "#meso-list", "beforeend", "Show earlier packages"),
    "concessions": (
        "concession-row",
        "row",
        "#concession-rows",
        "afterbegin",
        "Show earlier entries",
    ),
    "messages": (
        "message-item",
        "message",
        "#messages-list",
        "afterbegin",
        "Show earlier messages",
    ),
}


@never_cache
@require_GET
def room_earlier(
    request: HtmxHttpRequest, deal_id: int, list_name: str
) -> HttpResponse:
    """The page of a list before ``?before=<pk>``, and the next "show earlier"."""
    if list_name not in EARLIER:
        raise Http404("No such list.")
    try:
        before = int(request.GET.get("before", ""))
    except ValueError:
        return HttpResponse("Give the id to page from (?before=…).", status=400)
    access = _access(request, deal_id)
    partial, name, target, swap, label = EARLIER[list_name]
    context = room_context(access)
    rows = context["state"].earlier(list_name, before)
    html = "".join(
        render_to_string(f"room/room.html#{partial}", {**context, name: row})
        for row in rows
    )
    html += render_to_string(
        "room/earlier.html",
        {
            **context,
            "list": list_name,
            "cursor": rows.earlier,
            "target": target,
            "swap": swap,
            "label": label,
            "earlier_oob": True,
        },
    )
    return HttpResponse(html)


@require_GET
def agreement_summary(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The written agreement: terms, commitments, who confirmed (printable)."""
    access = _access(request, deal_id)
    return render(request, "room/summary.html", room_context(access))


@never_cache
@require_GET
def meso_suggest(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The MESO form filled with three packages the viewer's side scores
    alike and that differ where the other side said it cares most: drawn
    from the viewer's own scoring and the other side's shared ranking, for
    the viewer to edit before presenting. Nothing is written or sent."""
    access = _access(request, deal_id)
    context = room_context(access)
    state = context["state"]
    if not state.can("meso.present"):
        return HttpResponse("Packages cannot be presented now.", status=409)
    return HttpResponse(
        render_to_string(
            "room/room.html#meso-form",
            {**context, **state.meso_suggestions()},
            request=request,
        )
    )
