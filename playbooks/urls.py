from django.urls import path

from playbooks import views
from playbooks.selectors import SECTIONS

app_name = "playbooks"

urlpatterns = [
    path("", views.index, name="index"),
    path("stages/<slug:key>/", views.stage_detail, name="stage-detail"),
    path("contexts/<slug:key>/", views.context_detail, name="context-detail"),
    path("moves/<slug:key>/", views.move_detail, name="move-detail"),
    path("templates/", views.template_list, name="templates"),
    path("scenarios/<slug:key>/", views.scenario_detail, name="scenario-detail"),
    path(
        "scenarios/<slug:key>/practice/",
        views.scenario_practice,
        name="scenario-practice",
    ),
    path("team/new/", views.team_play_create, name="team-new"),
    path("team/<int:play_id>/", views.team_play_detail, name="team-detail"),
    path("team/<int:play_id>/edit/", views.team_play_edit, name="team-edit"),
    path("team/<int:play_id>/delete/", views.team_play_delete, name="team-delete"),
    # One reference page per section: /playbooks/pitfalls/, /playbooks/faq/, …
    *(
        path(f"{slug}/", views.section_page, {"slug": slug}, name=slug)
        for slug in SECTIONS
        if slug != "templates"
    ),
]
