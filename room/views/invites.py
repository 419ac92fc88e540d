"""Share links: the host side creates and revokes them; a counterpart exchanges
one for a guest session and joins under a display name.

A share link is ``/join/#<token>``: the token rides in the URL fragment, which
browsers never send, so it is in no request line and no access log (daphne's,
nginx's or Django's). The join page's script (``static/js/join.js``) takes it
out of the address bar and posts it to ``/join/open/``, which exchanges it for
a pending invite in the (server-side) session and redirects back to
``/join/`` for the name. Links sent before fragments, ``/join/<token>/``, are
redirected to the fragment form, and their request line is redacted from the
logs (``config/logs.py``). Unknown tokens are throttled per IP, and a refused
link is logged by a prefix of its token's hash, never by the token. The full
link is shown to the host exactly once, in the response to the POST that
created it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.throttle import FailureThrottle
from common.web import HtmxHttpRequest, add_service_errors
from negotiation.access import (
    PENDING_INVITE_SESSION_KEY,
    DealAccess,
    deal_access_for_user,
    guest_participant_id,
    remember_guest,
    room_access,
)
from negotiation.models import Deal, Participant, Party
from room.forms import InviteForm, JoinForm, JoinLinkForm
from room.models import Invite, hash_token, share_path
from room.services import invites as services

logger = logging.getLogger(__name__)

# Why a link admits nobody, and the status of the page that says so.
REFUSAL_STATUS: dict[str, int] = {
    "throttled": 429,  # too many unknown links from one IP
    "unknown": 404,
    "expired": 410,
    "revoked": 410,
    "used": 410,
    "missing": 400,  # a name posted to /join/ without a pending invite
    # The host side opened its own link: nothing went wrong.
    "host": 200,
}


def unknown_links() -> FailureThrottle:
    """Guessing tokens: so many unknown ones per IP in a window, then 429."""
    return FailureThrottle(
        name="join-unknown",
        limit=settings.PARLEY_JOIN_UNKNOWN_LIMIT,
        window=settings.PARLEY_JOIN_UNKNOWN_WINDOW,
    )


def _client_ip(request: HtmxHttpRequest) -> str:
    # daphne --proxy-headers puts the client's address (from the proxy's
    # X-Forwarded-For) here.
    return request.META.get("REMOTE_ADDR") or "unknown"


def token_fingerprint(token: str) -> str:
    """What logs name a link by: enough to match a host's link, useless to open."""
    return hash_token(token)[:12]


def _refused(request: HtmxHttpRequest, reason: str) -> HttpResponse:
    """The friendly page that explains why a link cannot be used."""
    return render(
        request,
        "room/join_refused.html",
        {"reason": reason},
        status=REFUSAL_STATUS[reason],
    )


def _host_access(request: HtmxHttpRequest, deal_id: int) -> DealAccess:
    """The invites page is the host side's (managers may look, read-only)."""
    access = deal_access_for_user(request.user, deal_id)
    if access.side != Party.Side.HOST and not access.is_manager:
        raise PermissionDenied("Only the host side manages share links.")
    return access


def _render_invites(
    request: HtmxHttpRequest,
    access: DealAccess,
    *,
    form: InviteForm | None = None,
    new_link: str | None = None,
    status: int = 200,
) -> HttpResponse:
    invites = (
        Invite.objects.filter(deal=access.deal)
        .select_related("participant", "created_by")
        .order_by("-created_at", "-pk")
    )
    context = {
        "access": access,
        "deal": access.deal,
        "invites": invites,
        "form": (form or InviteForm()) if access.can_edit_deal else None,
        "new_link": new_link,
    }
    return render(request, "room/invites.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def invite_list(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The deal's share links, and a form to create one (shown once, on POST)."""
    access = _host_access(request, deal_id)
    if request.method == "GET":
        return _render_invites(request, access)
    if not access.can_edit_deal:
        raise PermissionDenied("Only the host side of an open deal can invite.")
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invite, token = services.invite_create(access=access, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            link = request.build_absolute_uri(share_path(token))
            messages.success(request, f"Share link “{invite}” created.")
            # Rendered, not redirected: the token must never reach a URL.
            return _render_invites(request, access, new_link=link)
    return _render_invites(request, access, form=form, status=422)


@login_required
@require_POST
def invite_revoke(
    request: HtmxHttpRequest, deal_id: int, invite_id: int
) -> HttpResponse:
    """Revoke a link; whoever joined through it loses access at once."""
    access = _host_access(request, deal_id)
    try:
        invite = services.invite_revoke(access=access, invite_id=invite_id)
    except ValidationError:
        messages.error(request, "That link does not exist any more.")
    else:
        guest = invite.participant
        who = f" {guest.display_name} can no longer open the room." if guest else ""
        messages.success(request, f"Share link “{invite}” revoked.{who}")
    return redirect("live:invites", deal_id=deal_id)


def _no_referrer(response: HttpResponse) -> HttpResponse:
    """The page's URL holds a token: never send it on, never store it."""
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _guest_room_for(request: HtmxHttpRequest, invite: Invite) -> str | None:
    """The room URL if this browser already joined the invite's deal as a
    guest (and still may), so a guest reopening their link lands in the room."""
    try:
        room_access(None, request.session, invite.deal_id)
    except Http404:
        return None
    return reverse("live:room", args=[invite.deal_id])


def _is_host_of(request: HtmxHttpRequest, deal_id: int) -> bool:
    """A logged-in user of the host side (or a manager) opened their own link."""
    if not request.user.is_authenticated:
        return False
    return Deal.objects.visible_to(request.user).filter(pk=deal_id).exists()


@require_GET
def join_with_token(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """A link sent before tokens moved to the fragment: send it there.

    Nothing is looked up here, so this answers the same for any token; the
    request line is redacted from the logs.
    """
    return _no_referrer(HttpResponseRedirect(f"{reverse('live:join')}#{quote(token)}"))


@never_cache
@require_POST
def join_open(request: HtmxHttpRequest) -> HttpResponse:
    """Exchange a share link's token (posted by the join page) for a pending
    join, then show the name step."""
    client, throttle = _client_ip(request), unknown_links()
    if throttle.blocked(client):
        logger.warning("Share link refused (throttled) for %s", client)
        response = _refused(request, "throttled")
        response["Retry-After"] = str(throttle.window)
        return response
    form = JoinLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "room/join_open.html", {"form": form}, status=422)
    token = form.cleaned_data["link"]
    # Looked up without the state checks first: a guest who joined through
    # this link may open it again and belongs in the room, not on "used".
    invite = (
        Invite.objects.filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .only("pk", "deal_id")
        .first()
    )
    if invite is not None:
        room_url = _guest_room_for(request, invite)
        if room_url is not None:
            return redirect(room_url)
        if _is_host_of(request, invite.deal_id):
            # Opening it here would only confuse the list ("opened" by the host).
            return _refused(request, "host")
    try:
        invite = services.invite_redeem(token=token)
    except services.InviteRefused as refusal:
        if refusal.reason == "unknown":
            throttle.failed(client)
        logger.warning(
            "Share link refused (%s): token sha256 %s…",
            refusal.reason,
            token_fingerprint(token),
        )
        return _refused(request, refusal.reason)
    request.session[PENDING_INVITE_SESSION_KEY] = invite.pk
    return redirect("live:join")


def _inviter_name(invite: Invite) -> str | None:
    user = invite.created_by
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HtmxHttpRequest) -> HttpResponse:
    """Who invites you to which deal, and the name you will appear under."""
    invite_id = request.session.get(PENDING_INVITE_SESSION_KEY)
    invite = (
        Invite.objects.select_related("deal", "created_by").filter(pk=invite_id).first()
        if invite_id is not None
        else None
    )
    if invite is None and request.method == "POST":
        return _refused(request, "missing")
    if invite is None:
        # The share link's landing page: its script posts the token from the
        # fragment to join_open; without a script, the visitor pastes the link.
        return render(request, "room/join_open.html", {"form": JoinLinkForm()})
    if invite.state != "active":
        request.session.pop(PENDING_INVITE_SESSION_KEY, None)
        return _refused(request, invite.state)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            participant = services.guest_join(
                invite_id=invite.pk,
                display_name=form.cleaned_data["display_name"],
                email=form.cleaned_data["email"],
            )
        except services.InviteRefused as refusal:
            request.session.pop(PENDING_INVITE_SESSION_KEY, None)
            return _refused(request, refusal.reason)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # A new session key for the new identity (session fixation).
            request.session.cycle_key()
            remember_guest(request.session, participant)
            request.session.pop(PENDING_INVITE_SESSION_KEY, None)
            return redirect("live:room", deal_id=invite.deal_id)
    context = {
        "form": form,
        "deal": invite.deal,
        "host_organisation": invite.deal.parties.get(side=Party.Side.HOST).organisation,
        "inviter": _inviter_name(invite),
        "expires_at": invite.expires_at,
        "link_form": JoinLinkForm(),
    }
    status = 422 if request.method == "POST" else 200
    return render(request, "room/join.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def guest_leave(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Leave the room on this browser: asked first (GET), done on POST."""
    participant_id = guest_participant_id(request.session, deal_id)
    guest = (
        Participant.objects.select_related("party__deal")
        .filter(pk=participant_id, party__deal_id=deal_id)
        .first()
        if participant_id is not None
        else None
    )
    if request.method == "GET":
        if guest is None:
            raise Http404("This browser is not in that room.")
        return render(request, "room/leave.html", {"guest": guest})
    services.guest_leave(session=request.session, deal_id=deal_id)
    # A new session key: whoever held the old one is not this guest any more.
    request.session.cycle_key()
    return render(request, "room/left.html", {"left": guest})
