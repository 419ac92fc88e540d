from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.web import HtmxHttpRequest
from negotiation.access import is_team_manager
from negotiation.forms.accounts import MailingPasswordResetForm, SignupForm
from negotiation.models import Membership, Team
from negotiation.services import deals as deal_services


def locked_out(
    request: HtmxHttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """django-axes' answer once a username has failed too often from one IP
    (AXES_LOCKOUT_CALLABLE): a clear page, 429, even for the right password."""
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )
    response["Retry-After"] = str(minutes * 60)
    return response


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The landing page; signed-in users go straight to their deals."""
    if request.user.is_authenticated:
        return redirect("negotiation:deal-list")
    return render(request, "negotiation/home.html")


@require_GET
def favicon(request: HtmxHttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own: send them to the icon."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    """Create an account that founds a team, or joins one through its code."""
    join_code = request.GET.get("team", "")
    invited_team = (
        Team.objects.filter(join_code=join_code).first() if join_code else None
    )
    form = SignupForm(request.POST or None, initial={"join_code": join_code})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            if team := form.cleaned_data.get("team"):
                deal_services.membership_add(team=team, user=user)
            else:
                deal_services.team_create(
                    name=form.cleaned_data["team_name"], founder=user
                )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Parley. Start by creating a deal.")
        return redirect("negotiation:deal-list")
    return render(
        request,
        "registration/signup.html",
        {"form": form, "invited_team": invited_team},
    )


@login_required
@require_GET
def team(request: HtmxHttpRequest) -> HttpResponse:
    """The user's teams, their members, and (for managers) the join link."""
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .prefetch_related(
            Prefetch(
                "team__memberships",
                queryset=Membership.objects.select_related("user").order_by(
                    "user__username"
                ),
            )
        )
        .order_by("team__name")
    )
    return render(request, "negotiation/team.html", {"memberships": memberships})


@login_required
@require_POST
def team_rotate_code(request: HtmxHttpRequest, team_id: int) -> HttpResponse:
    """Managers replace the team's join code; earlier links stop working."""
    if not is_team_manager(request.user, team_id):
        messages.error(request, "Only a manager of this team can do that.")
        return redirect("team")
    deal_services.team_rotate_join_code(team_id=team_id)
    messages.success(request, "New join link created; the old one no longer works.")
    return redirect("team")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, which says so when the email could not be sent
    (the failure itself is logged by the form)."""

    form_class = MailingPasswordResetForm

    def form_valid(self, form: MailingPasswordResetForm) -> HttpResponse:
        response = super().form_valid(form)
        if not form.mail_failed:
            return response
        form.add_error(
            None,
            "We could not send the email, so no reset link is on its way. "
            "Please try again later, or ask whoever runs Parley for your team.",
        )
        return self.render_to_response(self.get_context_data(form=form), status=503)
