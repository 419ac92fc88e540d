"""The team dashboard, its CSV export and the team's lessons library.

The dashboard is for managers, over their own team's deals only: a user who
manages no team is refused (403), a team they do not manage does not exist
for them (404). Its figures never include any side's private preparation, and
of the coaching nudges only the host side's.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from common.web import HtmxHttpRequest
from negotiation.models import Deal, Team
from review import services as review_services
from review.forms import DashboardFilterForm
from review.selectors import (
    csv_rows,
    dashboard_for,
    lessons_for_user,
    managed_teams,
    team_reps,
)

CSV_COLUMNS = [
    "deal_id", "title", "counterpart", "context", "rep", "stage", "status",
    "created", "closed", "days_to_close", "issues", "trades", "trades_accepted",
    "concessions_given_by_host", "commitments", "commitments_overdue",
    "host_pitfalls_flagged", "outcome_note",
]  # fmt: skip


def _team(request: HtmxHttpRequest) -> tuple[Team, list[Team]]:
    """The managed team the dashboard shows (``?team=``), and all managed teams."""
    teams = managed_teams(request.user)
    if not teams:
        raise PermissionDenied("The dashboard is for the team's managers.")
    wanted = request.GET.get("team")
    if not wanted:
        return teams[0], teams
    team = next((t for t in teams if str(t.pk) == wanted), None)
    if team is None:
        raise Http404("No such team.")
    return team, teams


@login_required
@require_GET
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    """The team's deals by outcome, stage, context and rep, with filters."""
    team, teams = _team(request)
    reps = team_reps(team)
    form = DashboardFilterForm(request.GET or None, reps=reps)
    data = dashboard_for(
        team, form.filters(), page_number=request.GET.get("page"), reps=reps
    )
    return render(
        request,
        "review/dashboard.html",
        {"form": form, "data": data, "team": team, "teams": teams},
    )


def _csv_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@require_GET
def dashboard_csv(request: HtmxHttpRequest) -> HttpResponse:
    """The deals the dashboard's filters select, as CSV (host-side figures only)."""
    team, _teams = _team(request)
    filters = DashboardFilterForm(request.GET or None, reps=team_reps(team)).filters()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="{slugify(team.name) or "team"}-deals-{stamp}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(team, filters):
        deal = row.deal
        writer.writerow(
            _csv_cell(value)
            for value in (
                deal.pk, deal.title, deal.counterpart_organisation,
                deal.get_context_display(), row.owner_name, deal.get_stage_display(),
                deal.get_status_display(), timezone.localdate(deal.created_at),
                timezone.localdate(deal.closed_at) if deal.closed_at else "",
                row.days_to_close, row.issues, row.trades, row.trades_accepted,
                row.concessions_given, row.commitments, row.overdue, row.pitfalls,
                deal.outcome_note,
            )
        )  # fmt: skip
    return response


@login_required
@require_GET
def lessons_library(request: HtmxHttpRequest) -> HttpResponse:
    """The lessons of the user's teams, by context."""
    context = request.GET.get("context", "")
    if context not in Deal.Context.values:
        context = ""
    page = Paginator(lessons_for_user(request.user, context), 30).get_page(
        request.GET.get("page")
    )
    managed = {team.pk for team in managed_teams(request.user)}
    return render(
        request,
        "review/lessons.html",
        {
            "page": page,
            "context": context,
            "contexts": Deal.Context.choices,
            "managed": managed,
        },
    )


@login_required
@require_POST
def lesson_delete(request: HtmxHttpRequest, lesson_id: int) -> HttpResponse:
    """A manager takes a lesson out of the team's library."""
    review_services.lesson_remove(user=request.user, lesson_id=lesson_id)
    messages.success(request, "Lesson removed from the library.")
    return redirect("review:lessons")
