"""The playbook pages: index and search, one page per stage, context playbook
and move, reference sections, scenario cards with their practice deals, and
each team's own plays.

The method's content is public reading (a counterpart without an account may
learn the method too); team plays, practice deals and filling templates from
a deal need an account.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.web import HtmxHttpRequest, add_service_errors
from negotiation.access import deal_access_for_user
from negotiation.models import Deal, Party, Team
from negotiation.selectors import deals_for_user
from negotiation.services.base import EditConflict
from playbooks import selectors, services
from playbooks.forms import PracticeForm, TeamPlayForm
from playbooks.models import PhraseTemplate
from playbooks.templating import fill_template, split_blanks


def _user_team_list(request: HtmxHttpRequest):
    return Team.objects.filter(memberships__user=request.user).order_by("name")


@require_GET
def index(request: HtmxHttpRequest) -> HttpResponse:
    """The playbooks' table of contents, or search results for ``?q=``."""
    query = request.GET.get("q", "").strip()[: selectors.MAX_QUERY_CHARS]
    if query:
        hits = selectors.search(query, request.user)
        return render(request, "playbooks/search.html", {"q": query, "hits": hits})
    return render(
        request,
        "playbooks/index.html",
        {"overview": selectors.overview(request.user)},
    )


@require_GET
def stage_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """One stage: its principle, why it works, what to do and say."""
    coaching = selectors.stage_page(key, request.user)
    return render(request, "playbooks/stage_detail.html", {"coaching": coaching})


@require_GET
def context_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """One context playbook: lines per phase and a worked dialogue."""
    page = selectors.context_page(key, request.user)
    return render(request, "playbooks/context_detail.html", {"page": page})


@require_GET
def move_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """One move: when, what to say, when to change course, risk and safeguard."""
    return render(
        request, "playbooks/move_detail.html", {"page": selectors.move_page(key)}
    )


@require_GET
def section_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """A reference section listing every item of one kind."""
    section = selectors.SECTIONS[slug]
    return render(
        request, section.template, {"section": section, "items": section.items()}
    )


@require_GET
def template_list(request: HtmxHttpRequest) -> HttpResponse:
    """The fill-in templates, filled from one of the user's deals if chosen."""
    deal, filled = None, {}
    templates = list(PhraseTemplate.objects.all())
    if deal_id := request.GET.get("deal", "").strip():
        if not deal_id.isdigit():
            raise Http404("No such deal.")
        deal = deal_access_for_user(request.user, int(deal_id)).deal
        filled = _filled_templates(deal, templates)
    deals = (
        deals_for_user(request.user).filter(status=Deal.Status.OPEN)
        if request.user.is_authenticated
        else []
    )
    rows = [(t, split_blanks(filled.get(t.pk, t.text))) for t in templates]
    return render(
        request,
        "playbooks/templates.html",
        {
            "section": selectors.SECTIONS["templates"],
            "rows": rows,
            "deal": deal,
            "deals": deals,
        },
    )


def _filled_templates(deal: Deal, templates: list[PhraseTemplate]) -> dict[int, str]:
    """Each template filled from the deal's agenda and both sides' *shared*
    rankings (never anyone's private matrix)."""
    issues = list(deal.issues.all())
    by_id = {issue.pk: issue for issue in issues}
    rankings = {
        party.side: [by_id[i] for i in party.shared_position.ranking if i in by_id]
        # The room's shared positions (a side's ranking, both sides see it),
        # read through the party so that the playbooks need not know the room.
        for party in deal.parties.filter(shared_position__isnull=False).select_related(
            "shared_position"
        )
    }
    return {
        template.pk: fill_template(
            template.text,
            issues,
            shared_goal=deal.shared_purpose,
            their_priorities=rankings.get(Party.Side.COUNTERPART, []),
            our_priorities=rankings.get(Party.Side.HOST, []),
        )
        for template in templates
    }


@require_GET
def scenario_detail(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """A scenario card, and the button that opens it as a practice deal."""
    scenario = selectors.scenario_for(key)
    teams = _user_team_list(request) if request.user.is_authenticated else None
    return render(
        request,
        "playbooks/scenario_detail.html",
        {
            "scenario": scenario,
            "form": PracticeForm(teams=teams) if teams else None,
            "practice_deals": selectors.practice_deals_of(request.user, scenario),
        },
    )


@login_required
@require_POST
def scenario_practice(request: HtmxHttpRequest, key: str) -> HttpResponse:
    """Open the scenario as a practice deal of the chosen team."""
    scenario = selectors.scenario_for(key)
    form = PracticeForm(request.POST, teams=_user_team_list(request))
    if not form.is_valid():
        raise PermissionDenied("Join a team before opening a practice deal.")
    try:
        deal = services.practice_deal_open(
            scenario=scenario, owner=request.user, team=form.cleaned_data["team"]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(scenario)
    messages.success(
        request,
        "Practice deal ready: the issues and your preparation are filled in. "
        "Invite a colleague to play the other side.",
    )
    return redirect(deal)


@login_required
@require_http_methods(["GET", "POST"])
def team_play_create(request: HtmxHttpRequest) -> HttpResponse:
    """Add a play to one of the user's teams."""
    teams = _user_team_list(request)
    if not teams:
        raise PermissionDenied("Join a team before adding plays.")
    initial = {k: request.GET[k] for k in ("stage", "context") if k in request.GET}
    form = TeamPlayForm(request.POST or None, teams=teams, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            play = services.team_play_create(author=request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Play added. Only your team can see it.")
            return redirect(play)
    return render(request, "playbooks/team_play_form.html", {"form": form})


@login_required
@require_GET
def team_play_detail(request: HtmxHttpRequest, play_id: int) -> HttpResponse:
    """One of the team's plays."""
    play = selectors.team_play_for(request.user, play_id)
    return render(
        request,
        "playbooks/team_play_detail.html",
        {"play": play, "can_edit": services.can_edit_play(request.user, play)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_play_edit(request: HtmxHttpRequest, play_id: int) -> HttpResponse:
    """Edit a play (its author or a team manager); a stale edit is refused."""
    play = selectors.team_play_for(request.user, play_id)
    if not services.can_edit_play(request.user, play):
        raise PermissionDenied
    form = TeamPlayForm(
        request.POST or None,
        instance=play,
        teams=_user_team_list(request),
        initial={"version": play.version},
    )
    conflict = None
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k != "version"}
        try:
            services.team_play_update(
                actor=request.user,
                play_id=play.pk,
                version=form.cleaned_data["version"],
                **changes,
            )
        except EditConflict as error:
            conflict = error.current
            form.add_error(None, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Play saved.")
            return redirect("playbooks:team-detail", play_id=play.pk)
    return render(
        request,
        "playbooks/team_play_form.html",
        {"form": form, "play": play, "conflict": conflict},
    )


@login_required
@require_POST
def team_play_delete(request: HtmxHttpRequest, play_id: int) -> HttpResponse:
    """Delete a play (its author or a team manager)."""
    play = selectors.team_play_for(request.user, play_id)
    services.team_play_delete(actor=request.user, play_id=play.pk)
    messages.success(request, "Play deleted.")
    return redirect("playbooks:index")
