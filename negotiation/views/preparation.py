"""A side's private preparation: overview, sections, matrix, anchors, evidence.

The side is never taken from the URL: it is the viewer's own, or for a
reviewing manager the host side (``DealAccess.private_party``), and the
selector checks again that the viewer may read it. Managers and closed deals
get the same pages read-only; their POSTs are refused with 403.

Viewers are logged-in users of the host side (and its managers) or the
session's guest of the counterpart side, who joined through a share link:
``room_access`` resolves either, and refuses a revoked guest at once (404).
Guests cannot open the deal pages, so their links lead back to the room.

Plain forms with POST-redirect-GET: a failed POST renders the page again with
status 422, the user's input and the errors; a stale edit shows the values
saved meanwhile and overwrites nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.web import HtmxHttpRequest, add_service_errors
from negotiation.access import DealAccess, login_or_guest_required, room_access
from negotiation.disclosure import OversharingRefused
from negotiation.forms.preparation import (
    AnchorForm,
    CounterpartyForm,
    EvidenceForm,
    IssueRowForm,
    PriorityForm,
    ReadinessForm,
    ScoringForm,
    VersionedForm,
    WalkawayForm,
)
from negotiation.models import Issue, Party, Scoring
from negotiation.selectors import (
    PreparationView,
    SectionProgress,
    preparation_view,
    scoring_view,
)
from negotiation.services import preparation as prep_services
from negotiation.services.base import EditConflict

# The preparation pages in the order the method works through them.
PAGES: dict[str, str] = {
    "walkaway": "Walk-away",
    "matrix": "Priority matrix",
    "counterparty": "Counterparty map",
    "evidence": "Evidence pack",
    "anchors": "Anchor worksheet",
    "scoring": "Scoring",
    "readiness": "Readiness check",
}
# Pages that edit fields of ``Preparation`` through ``preparation_update``.
SECTION_FORMS: dict[str, type[VersionedForm]] = {
    "walkaway": WalkawayForm,
    "counterparty": CounterpartyForm,
    "readiness": ReadinessForm,
}
# Pages that edit one row per issue of the deal.
ROW_FORMS: dict[str, type[IssueRowForm]] = {
    "matrix": PriorityForm,
    "anchors": AnchorForm,
}
# Pages whose rows all post in one form (to the section's own URL), so an edit
# in one row is never dropped by saving another; saved all or none.
ONE_FORM_PAGES = frozenset({"matrix", "anchors"})
# Which progress items of the selector each page completes.
PAGE_PROGRESS: dict[str, tuple[str, ...]] = {
    "walkaway": ("walkaway", "target"),
    "matrix": ("matrix",),
    "counterparty": ("counterparty",),
    "evidence": ("evidence",),
    "anchors": ("anchors",),
    "scoring": (),  # optional: done when saved (``_navigation``)
    "readiness": ("readiness",),
}

Conflict = list[tuple[str, str]]


@dataclass
class NavItem:
    key: str
    label: str
    url: str
    done: bool


@dataclass
class ChecklistItem:
    progress: SectionProgress
    url: str


@dataclass
class IssueRow:
    issue: Issue
    entry: models.Model | None
    form: IssueRowForm | None  # None when the viewer reviews read-only
    conflict: Conflict | None = None
    # A shared cell's new wording was held back by the over-sharing guard.
    held_back: bool = False


def _access(request: HtmxHttpRequest, deal_id: int) -> DealAccess:
    """The viewer's access: a host-side user, a manager, or the deal's guest."""
    return room_access(request.user, request.session, deal_id)


def _frame(access: DealAccess) -> dict[str, Any]:
    """What every page's frame needs to speak to the viewer's side."""
    is_guest = access.side == Party.Side.COUNTERPART
    return {
        "access": access,
        "deal": access.deal,
        "is_guest": is_guest,
        # The other side, named as the viewer's side knows it.
        "other_organisation": (
            access.host_party.organisation
            if is_guest
            else access.deal.counterpart_organisation
        ),
        "room_url": reverse("live:room", args=[access.deal.pk]),
    }


def _page_url(deal_id: int, page: str) -> str:
    return reverse("negotiation:prep-section", args=[deal_id, page])


def _require_preparer(access: DealAccess) -> None:
    """Refuse a write early, before any input is parsed or echoed back."""
    if not access.can_prepare:
        raise PermissionDenied("Only your own side can edit its preparation.")


def _navigation(deal_id: int, prep: PreparationView) -> list[NavItem]:
    done = {section.key: section.done for section in prep.sections}
    done["scoring"] = Scoring.objects.filter(party=prep.party).exists()
    return [
        NavItem(key, label, _page_url(deal_id, key),
                all(done.get(item, False) for item in PAGE_PROGRESS[key] or [key]))
        for key, label in PAGES.items()
    ]  # fmt: skip


def _checklist(
    deal_id: int, prep: PreparationView, *, is_guest: bool
) -> list[ChecklistItem]:
    def url(key: str) -> str:
        if key == "issues":
            # Guests see (and in Setup co-edit) the agenda in the room.
            name = "live:room" if is_guest else "negotiation:issue-list"
            return reverse(name, args=[deal_id])
        page = next(page for page, keys in PAGE_PROGRESS.items() if key in keys)
        return _page_url(deal_id, page)

    return [ChecklistItem(section, url(section.key)) for section in prep.sections]


def _issue_rows(
    access: DealAccess,
    page: str,
    prep: PreparationView,
    bound: IssueRow | None,
) -> list[IssueRow]:
    """One row per issue, each with its own form; ``bound`` replaces its issue's."""
    pairs = prep.matrix_rows() if page == "matrix" else prep.anchor_rows()
    form_class = ROW_FORMS[page]
    rows = []
    for issue, entry in pairs:
        if bound is not None and bound.issue.pk == issue.pk:
            rows.append(
                IssueRow(issue, entry, bound.form, bound.conflict, bound.held_back)
            )
            continue
        form = None
        if access.can_prepare:
            initial = form_class.initial_from(entry)
            form = form_class(
                issue=issue, initial=initial, in_page=page in ONE_FORM_PAGES
            )
        rows.append(IssueRow(issue, entry, form))
    return rows


def _render_page(
    request: HtmxHttpRequest,
    access: DealAccess,
    page: str,
    *,
    status: int = 200,
    form: VersionedForm | None = None,
    conflict: Conflict | None = None,
    bound_row: IssueRow | None = None,
    rows: list[IssueRow] | None = None,
    evidence_form: EvidenceForm | None = None,
    scoring_form: ScoringForm | None = None,
) -> HttpResponse:
    """Render one section page, with a submitted form in place if there is one."""
    prep = preparation_view(access, access.private_party())
    context: dict[str, Any] = {
        **_frame(access),
        "prep": prep,
        "page": page,
        "page_label": PAGES[page],
        "page_url": _page_url(access.deal.pk, page),
        "nav": _navigation(access.deal.pk, prep),
        "progress": [s for s in prep.sections if s.key in PAGE_PROGRESS[page]],
        "conflict": conflict,
    }
    if page in SECTION_FORMS and access.can_prepare:
        form_class = SECTION_FORMS[page]
        if form is None:
            form = form_class(initial=form_class.initial_from(prep.preparation))
        context["form"] = form
    if page in ROW_FORMS:
        context["rows"] = rows or _issue_rows(access, page, prep, bound_row)
    if page == "evidence" and access.can_prepare:
        context["evidence_form"] = (
            EvidenceForm() if evidence_form is None else evidence_form
        )
    if page == "scoring":
        scoring = scoring_view(access, access.private_party())
        context["scoring"] = scoring
        if access.can_prepare:
            context["scoring_form"] = scoring_form or ScoringForm(
                rows=scoring.rows, scoring=scoring.scoring
            )
    template = f"negotiation/prep/{page}.html"
    return render(request, template, context, status=status)


@login_or_guest_required
@require_GET
def overview(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Progress, the readiness verdict and a summary of every section."""
    access = _access(request, deal_id)
    prep = preparation_view(access, access.private_party())
    frame = _frame(access)
    context = {
        **frame,
        "prep": prep,
        "page": "overview",
        "nav": _navigation(deal_id, prep),
        "checklist": _checklist(deal_id, prep, is_guest=frame["is_guest"]),
    }
    return render(request, "negotiation/prep/overview.html", context)


@login_or_guest_required
@require_http_methods(["GET", "POST"])
def section(request: HtmxHttpRequest, deal_id: int, section: str) -> HttpResponse:
    """One section page; walk-away, counterparty and readiness save here."""
    if section not in PAGES:
        raise Http404("No such preparation section.")
    access = _access(request, deal_id)
    if request.method == "GET":
        return _render_page(request, access, section)
    if section == "scoring":
        return _save_scoring(request, access)
    if section in ONE_FORM_PAGES:
        return _save_rows(request, access, section)
    if section not in SECTION_FORMS:
        # Rows and evidence items have their own URLs to post to.
        return HttpResponseNotAllowed(["GET"])
    _require_preparer(access)
    form = SECTION_FORMS[section](request.POST)
    conflict = None
    if form.is_valid():
        try:
            prep_services.preparation_update(
                access=access,
                section=section,
                version=form.cleaned_data["version"],
                **form.changes(),
            )
        except EditConflict as error:
            conflict = form.show_conflict(error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{PAGES[section]} saved.")
            return redirect(_page_url(deal_id, section))
    return _render_page(
        request, access, section, status=422, form=form, conflict=conflict
    )


class _RowsRefused(Exception):
    """Rolls back the rows saved before one that was refused."""


def _save_rows(request: HtmxHttpRequest, access: DealAccess, page: str) -> HttpResponse:
    """Save every row of the page posted at once, or none of them.

    Only the rows whose values changed are saved, in one transaction. When
    any is refused (bad input, a row changed meanwhile, a held-back share),
    nothing is saved and every row comes back as typed, each refused one
    with its reason.
    """
    _require_preparer(access)
    prep = preparation_view(access, access.private_party())
    form_class = ROW_FORMS[page]
    save = prep_services.priority_set if page == "matrix" else prep_services.anchor_set
    pairs = prep.matrix_rows() if page == "matrix" else prep.anchor_rows()
    rows = [
        IssueRow(
            issue,
            entry,
            form_class(
                request.POST,
                issue=issue,
                initial=form_class.initial_from(entry),
                in_page=True,
            ),
        )
        for issue, entry in pairs
    ]
    changed = [row for row in rows if row.form.has_changed()]
    refused = [row for row in changed if not row.form.is_valid()]
    if not refused:
        try:
            with transaction.atomic():
                for row in changed:
                    try:
                        save(
                            access=access,
                            issue_id=row.issue.pk,
                            **row.form.cleaned_data,
                        )
                    except EditConflict as error:
                        row.conflict = row.form.show_conflict(error)
                        refused.append(row)
                    except ValidationError as error:
                        add_service_errors(row.form, error)
                        row.held_back = isinstance(error, OversharingRefused)
                        refused.append(row)
                if refused:
                    raise _RowsRefused
        except _RowsRefused:
            pass
    if refused:
        return _render_page(request, access, page, status=422, rows=rows)
    names = ", ".join(f"“{row.issue.name}”" for row in changed)
    messages.success(
        request, f"{PAGES[page]}: {names} saved." if changed else "Nothing had changed."
    )
    return redirect(_page_url(access.deal.pk, page))


def _save_scoring(request: HtmxHttpRequest, access: DealAccess) -> HttpResponse:
    """Save the whole scoring; a refused save keeps every value typed."""
    _require_preparer(access)
    scoring = scoring_view(access, access.private_party())
    form = ScoringForm(request.POST, rows=scoring.rows, scoring=scoring.scoring)
    if form.is_valid():
        try:
            prep_services.scoring_save(
                access=access,
                version=form.cleaned_data["version"],
                reservation_score=form.cleaned_data["reservation_score"],
                issues=form.cleaned_data["issues"],
            )
        except EditConflict as error:
            form.show_conflict(error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Scoring saved.")
            return redirect(_page_url(access.deal.pk, "scoring"))
    return _render_page(request, access, "scoring", status=422, scoring_form=form)


def _save_row(
    request: HtmxHttpRequest, deal_id: int, issue_id: int, page: str
) -> HttpResponse:
    """Save one issue's row of the matrix or the anchor worksheet."""
    access = _access(request, deal_id)
    _require_preparer(access)
    issue = get_object_or_404(Issue, pk=issue_id, deal=access.deal)
    form = ROW_FORMS[page](request.POST, issue=issue)
    save = prep_services.priority_set if page == "matrix" else prep_services.anchor_set
    conflict = None
    held_back = False
    if form.is_valid():
        try:
            save(access=access, issue_id=issue.pk, **form.cleaned_data)
        except EditConflict as error:
            conflict = form.show_conflict(error)
        except ValidationError as error:
            add_service_errors(form, error)
            held_back = isinstance(error, OversharingRefused)
        else:
            messages.success(request, f"{PAGES[page]}: “{issue.name}” saved.")
            return redirect(f"{_page_url(deal_id, page)}#issue-{issue.pk}")
    row = IssueRow(issue, None, form, conflict, held_back)
    return _render_page(request, access, page, status=422, bound_row=row)


@login_or_guest_required
@require_POST
def priority_save(
    request: HtmxHttpRequest, deal_id: int, issue_id: int
) -> HttpResponse:
    """Save one issue's row of the priority & tradeables matrix."""
    return _save_row(request, deal_id, issue_id, "matrix")


@login_or_guest_required
@require_POST
def anchor_save(request: HtmxHttpRequest, deal_id: int, issue_id: int) -> HttpResponse:
    """Save one issue's opening range on the anchor worksheet."""
    return _save_row(request, deal_id, issue_id, "anchors")


@login_or_guest_required
@require_POST
def evidence_add(request: HtmxHttpRequest, deal_id: int) -> HttpResponse:
    """Add a piece of evidence to this side's pack."""
    access = _access(request, deal_id)
    _require_preparer(access)
    form = EvidenceForm(request.POST)
    if form.is_valid():
        try:
            item = prep_services.evidence_add(access=access, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"“{item.title}” added to the evidence pack.")
            return redirect(_page_url(deal_id, "evidence"))
    return _render_page(request, access, "evidence", status=422, evidence_form=form)


@login_or_guest_required
@require_POST
def evidence_delete(
    request: HtmxHttpRequest, deal_id: int, evidence_id: int
) -> HttpResponse:
    """Remove a piece of evidence from this side's pack."""
    access = _access(request, deal_id)
    _require_preparer(access)
    try:
        prep_services.evidence_remove(access=access, evidence_id=evidence_id)
    except ValidationError:
        messages.error(request, "That item was not in your evidence pack any more.")
    else:
        messages.success(request, "Evidence removed.")
    return redirect(_page_url(deal_id, "evidence"))
