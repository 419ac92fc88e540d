from django.contrib import admin
from django.urls import include, path

from negotiation.views import accounts as account_views
from negotiation.views import health

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", account_views.favicon, name="favicon"),
    path("accounts/signup/", account_views.signup, name="signup"),
    path("team/", account_views.team, name="team"),
    path(
        "team/<int:team_id>/rotate-code/",
        account_views.team_rotate_code,
        name="team-rotate-code",
    ),
    path(
        "accounts/password_reset/",
        account_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("deals/", include("review.urls")),
    path("deals/", include("negotiation.urls")),
    path("", include("room.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("admin/", admin.site.urls),
]
