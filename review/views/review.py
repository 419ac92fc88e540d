"""A deal's review: the page, each side's own review, managers' comments and
lessons, and the exports (print page, Markdown, check-in calendar).

Viewers are the host side's users, the team's managers and the deal's guest
of the counterpart side (``room_access``). What each sees is settled by
``ReviewState``: the viewer's own side's private data (the host side's, for a
manager) and shared facts, never the other side's private data.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from common.web import HtmxHttpRequest, add_service_errors
from negotiation.access import login_or_guest_required, room_access
from negotiation.models import Party
from negotiation.services.base import EditConflict
from review import services as review_services
from review.analysis.ics import CalendarEntry, build_ics
from review.forms import LessonForm, PostDealReviewForm, ReviewCommentForm
from review.selectors import ReviewState


def _state(request: HtmxHttpRequest, deal_id: int) -> ReviewState:
    return ReviewState(room_access(request.user, request.session, deal_id))


def _review_form(state: ReviewState) -> PostDealReviewForm:
    review = state.review
    return PostDealReviewForm(
        instance=review, initial={"version": review.version if review else None}
    )


def _render_review(
    request: HtmxHttpRequest, state: ReviewState, status: int = 200, **forms
) -> HttpResponse:
    number = state.step_number(request.GET.get("step"))
    step = state.replay.step(number)
    context = {
        "state": state,
        "access": state.access,
        "deal": state.deal,
        "step": step,
        "step_number": number,
        "step_terms": state.step_terms(step) if step else [],
        "timeline": state.timeline(number) if step else [],
        "review_form": forms.get("review_form") or _review_form(state),
        "comment_form": forms.get("comment_form") or ReviewCommentForm(),
        "lesson_form": forms.get("lesson_form") or LessonForm(),
        "conflict": forms.get("conflict"),
        "is_guest": state.side == Party.Side.COUNTERPART,
    }
    template = "review/deal.html"
    if request.htmx and request.htmx.target == "replay":
        template += "#replay"
    return render(request, template, context, status=status)


@login_or_guest_required
@require_GET
def review(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The review page; ``?step=N`` replays the log up to its N-th event."""
    return _render_review(request, _state(request, deal_id))


@login_or_guest_required
@require_POST
def review_save(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Save the viewer's own side's review; a stale edit is refused and shown."""
    state = _state(request, deal_id)
    form = PostDealReviewForm(request.POST)
    conflict = None
    if form.is_valid():
        try:
            review_services.review_save(
                access=state.access,
                version=form.cleaned_data["version"],
                **form.service_kwargs(),
            )
        except EditConflict as error:
            conflict = error.current
            form.add_error(None, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Your review is saved.")
            return redirect(reverse("review:review", args=[deal_id]) + "#own-review")
    return _render_review(
        request, _state(request, deal_id), 422, review_form=form, conflict=conflict
    )


@login_required
@require_POST
def comment_add(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """A manager comments on the review; the host side's reps read it."""
    state = _state(request, deal_id)
    form = ReviewCommentForm(request.POST)
    if form.is_valid():
        try:
            review_services.review_comment_add(
                access=state.access, author=request.user, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Comment added.")
            return redirect(reverse("review:review", args=[deal_id]) + "#comments")
    return _render_review(request, state, 422, comment_form=form)


@login_required
@require_POST
def lesson_add(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """A manager adds a lesson from this deal to the team's library."""
    state = _state(request, deal_id)
    form = LessonForm(request.POST)
    if form.is_valid():
        try:
            review_services.lesson_add(
                access=state.access, author=request.user, text=form.cleaned_data["text"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Lesson added to the team's library.")
            return redirect(reverse("review:review", args=[deal_id]) + "#lessons")
    return _render_review(request, state, 422, lesson_form=form)


def _export_state(request: HtmxHttpRequest, deal_id: int, side: str) -> ReviewState:
    """The viewer's state, if ``side`` is the side whose export they may read."""
    state = _state(request, deal_id)
    if side != state.side:
        raise Http404("No such export.")
    return state


@login_or_guest_required
@require_GET
def summary_print(request: HtmxHttpRequest, deal_id: int, side: str) -> HttpResponse:
    """One side's internal review for printing: the agreement and that side's
    private figures and review, marked internal on every page. The summary to
    share with the other side is the room's (``live:summary``)."""
    state = _export_state(request, deal_id, side)
    return render(
        request,
        "review/summary.html",
        {"state": state, "deal": state.deal, "access": state.access},
    )


@login_or_guest_required
@require_GET
def summary_markdown(request: HtmxHttpRequest, deal_id: int, side: str) -> HttpResponse:
    """The same internal review as a Markdown file, named as internal."""
    state = _export_state(request, deal_id, side)
    text = render_to_string(
        "review/summary.md",
        {"state": state, "deal": state.deal, "generated_at": timezone.now()},
    )
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    organisation = slugify(state.party.organisation) or side
    filename = (
        f"{slugify(state.deal.title) or 'deal'}-internal-review-{organisation}-only.md"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_or_guest_required
@require_GET
def checkins_ics(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """The check-in schedule and commitment due dates as an iCalendar file."""
    state = _state(request, deal_id)
    deal = state.deal
    url = request.build_absolute_uri(reverse("review:review", args=[deal.pk]))
    entries = [
        CalendarEntry(
            uid=f"parley-deal-{deal.pk}-checkin-{slot.date:%Y%m%d}@parley",
            day=slot.date,
            summary=f"Check-in: {deal.title}",
            description=f"{slot.label}. Review the commitments of “{deal.title}” "
            f"with {deal.counterpart_organisation} (agreed review cadence: "
            f"{deal.get_review_cadence_display().lower()}).",
            url=url,
        )
        for slot in state.schedule
    ] + [
        CalendarEntry(
            uid=f"parley-commitment-{row.commitment.pk}@parley",
            day=row.commitment.due_date,
            summary=f"Due: {row.commitment.description}",
            description=f"{row.commitment.owner_party.organisation} "
            f"({row.commitment.owner_name}). Metric: {row.commitment.metric or '—'}; "
            f"target: {row.commitment.target or '—'}.",
            url=url,
        )
        for row in state.commitments
        if row.commitment.due_date
    ]
    body = build_ics(entries, name=f"Parley · {deal.title}", now=timezone.now())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    filename = f"{slugify(deal.title) or 'deal'}-check-ins.ics"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
