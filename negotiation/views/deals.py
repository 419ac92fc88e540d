import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.web import HtmxHttpRequest, add_service_errors, parse_version
from negotiation.access import deal_access_for_user
from negotiation.disclosure import OversharingRefused
from negotiation.forms.deals import DealForm, IssueForm
from negotiation.models import Issue
from negotiation.selectors import deals_for_user, memberships_of, preparation_view
from negotiation.services import deals as deal_services
from negotiation.services.base import EditConflict
from playbooks.tradeables import suggestions_for


@login_required
@require_GET
def deal_list(request: HtmxHttpRequest) -> HttpResponse:
    """The deals the user may open, open ones first."""
    memberships = list(memberships_of(request.user))
    return render(
        request,
        "negotiation/deal_list.html",
        {"deals": deals_for_user(request.user), "memberships": memberships},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deal_create(request: HtmxHttpRequest) -> HttpResponse:
    """Create a deal for the user's team, then go on to map its issues."""
    membership = memberships_of(request.user).first()
    if membership is None:
        raise PermissionDenied("Join a team before creating deals.")
    form = DealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {
            k: v
            for k, v in form.cleaned_data.items()
            if k not in ("version", "confirm_share")
        }
        try:
            deal = deal_services.deal_create(
                owner=request.user, team=membership.team, **data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Deal created. Now map the issues at stake.")
            _warn_if_past(request, deal.deadline)
            return redirect("negotiation:issue-list", deal_id=deal.pk)
    return render(request, "negotiation/deal_form.html", {"form": form})


def _warn_if_past(request: HtmxHttpRequest, deadline: datetime.date | None) -> None:
    """A past deadline is saved (a deal may be recorded late), with a warning
    in case it is a slip."""
    if deadline is not None and deadline < timezone.localdate():
        messages.warning(
            request,
            f"The deadline, {dateformat.format(deadline, 'j M Y')}, has already "
            "passed. It is saved as you entered it: change it if that was a slip.",
        )


@login_required
@require_GET
def deal_detail(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The deal's overview: shared facts, agenda, and this side's preparation."""
    access = deal_access_for_user(request.user, deal_id)
    prep = preparation_view(access, access.private_party())
    return render(
        request,
        "negotiation/deal_detail.html",
        {"access": access, "deal": access.deal, "prep": prep},
    )


@login_required
@require_http_methods(["GET", "POST"])
def deal_edit(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Edit the deal's shared facts; a stale edit is refused and shown."""
    access = deal_access_for_user(request.user, deal_id)
    if not access.can_edit_deal:
        raise PermissionDenied
    deal = access.deal
    form = DealForm(
        request.POST or None, instance=deal, initial={"version": deal.version}
    )
    conflict = None
    held_back = False
    if request.method == "POST" and form.is_valid():
        changes = {
            k: v
            for k, v in form.cleaned_data.items()
            if k not in ("version", "confirm_share")
        }
        try:
            deal_services.deal_update(
                access=access,
                version=form.cleaned_data["version"],
                confirm_share=form.cleaned_data["confirm_share"],
                **changes,
            )
        except EditConflict as error:
            conflict = error.current
            form.add_error(None, error)
        except ValidationError as error:
            held_back = isinstance(error, OversharingRefused)
            add_service_errors(form, error)
        else:
            messages.success(request, "Deal saved.")
            if "deadline" in form.changed_data:
                _warn_if_past(request, form.cleaned_data["deadline"])
            return redirect(deal)
    return render(
        request,
        "negotiation/deal_form.html",
        {"form": form, "deal": deal, "conflict": conflict, "held_back": held_back},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def issue_list(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Issue mapping: the agenda, an add form, and library suggestions."""
    access = deal_access_for_user(request.user, deal_id)
    issues = list(access.deal.issues.all())
    initial = {}
    if suggestion := request.GET.get("suggestion"):
        initial = next(
            (
                s.form_initial()
                for s in suggestions_for(issues, access.deal.context)
                if s.key == suggestion
            ),
            {},
        )
    return render(
        request,
        "negotiation/issue_list.html",
        {
            "access": access,
            "deal": access.deal,
            "issues": issues,
            "form": IssueForm(initial=initial),
            "suggestions": suggestions_for(issues, access.deal.context),
        },
    )


@login_required
@require_POST
def issue_add(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Add an issue to the agenda; a bad form is shown again with its errors."""
    access = deal_access_for_user(request.user, deal_id)
    form = IssueForm(request.POST)
    held_back = False
    if form.is_valid():
        try:
            issue = deal_services.issue_add(
                access=access,
                confirm_share=form.cleaned_data["confirm_share"],
                **form.service_kwargs(),
            )
        except ValidationError as error:
            held_back = isinstance(error, OversharingRefused)
            add_service_errors(form, error)
        else:
            messages.success(request, f"“{issue.name}” added to the agenda.")
            return redirect("negotiation:issue-list", deal_id=deal_id)
    issues = list(access.deal.issues.all())
    return render(
        request,
        "negotiation/issue_list.html",
        {
            "access": access,
            "deal": access.deal,
            "issues": issues,
            "form": form,
            "held_back": held_back,
            "suggestions": suggestions_for(issues, access.deal.context),
        },
        status=422,
    )


@login_required
@require_http_methods(["GET", "POST"])
def issue_edit(request: HtmxHttpRequest, deal_id: int, issue_id: int) -> HttpResponse:
    """Edit one issue; an edit made on a stale version is refused and shown."""
    access = deal_access_for_user(request.user, deal_id)
    if not access.can_edit_agenda:
        raise PermissionDenied
    issue = get_object_or_404(Issue, pk=issue_id, deal=access.deal)
    form = IssueForm(
        request.POST or None, instance=issue, initial={"version": issue.version}
    )
    conflict = None
    held_back = False
    if request.method == "POST" and form.is_valid():
        try:
            deal_services.issue_update(
                access=access,
                issue_id=issue.pk,
                version=form.cleaned_data["version"],
                confirm_share=form.cleaned_data["confirm_share"],
                **form.service_kwargs(),
            )
        except EditConflict as error:
            conflict = error.current
            form.add_error(None, error)
        except ValidationError as error:
            held_back = isinstance(error, OversharingRefused)
            add_service_errors(form, error)
        else:
            messages.success(request, "Issue saved.")
            return redirect("negotiation:issue-list", deal_id=deal_id)
    return render(
        request,
        "negotiation/issue_form.html",
        {
            "deal": access.deal,
            "issue": issue,
            "form": form,
            "conflict": conflict,
            "held_back": held_back,
        },
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def issue_delete(request: HtmxHttpRequest, deal_id: int, issue_id: int) -> HttpResponse:
    """Remove an issue from the agenda."""
    access = deal_access_for_user(request.user, deal_id)
    try:
        deal_services.issue_remove(
            access=access,
            issue_id=issue_id,
            version=parse_version(request.POST.get("version")),
        )
    except Issue.DoesNotExist:
        messages.error(request, "That issue was already removed.")
    except EditConflict:
        messages.error(
            request, "That issue changed since you loaded the page; review it first."
        )
    else:
        messages.success(request, "Issue removed.")
    return redirect("negotiation:issue-list", deal_id=deal_id)


@login_required
@require_POST
def issue_move(request: HtmxHttpRequest, deal_id: int, issue_id: int) -> HttpResponse:
    """Move an issue up or down the agenda (keyboard-friendly buttons)."""
    access = deal_access_for_user(request.user, deal_id)
    direction = -1 if request.POST.get("direction") == "up" else 1
    try:
        deal_services.issue_move(access=access, issue_id=issue_id, direction=direction)
    except Issue.DoesNotExist:
        messages.error(request, "That issue was removed meanwhile.")
    return redirect("negotiation:issue-list", deal_id=deal_id)
