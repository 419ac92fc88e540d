from django.urls import path

from negotiation.views import deals, preparation

app_name = "negotiation"

urlpatterns = [
    path("", deals.deal_list, name="deal-list"),
    path("new/", deals.deal_create, name="deal-create"),
    path("<int:deal_id>/", deals.deal_detail, name="deal-detail"),
    path("<int:deal_id>/edit/", deals.deal_edit, name="deal-edit"),
    path("<int:deal_id>/issues/", deals.issue_list, name="issue-list"),
    path("<int:deal_id>/issues/add/", deals.issue_add, name="issue-add"),
    path(
        "<int:deal_id>/issues/<int:issue_id>/edit/",
        deals.issue_edit,
        name="issue-edit",
    ),
    path(
        "<int:deal_id>/issues/<int:issue_id>/delete/",
        deals.issue_delete,
        name="issue-delete",
    ),
    path(
        "<int:deal_id>/issues/<int:issue_id>/move/",
        deals.issue_move,
        name="issue-move",
    ),
    # A side's private preparation. The side is never in the URL: it is the
    # viewer's own (or, for a reviewing manager, the host side).
    path("<int:deal_id>/prep/", preparation.overview, name="prep"),
    path(
        "<int:deal_id>/prep/<slug:section>/",
        preparation.section,
        name="prep-section",
    ),
    path(
        "<int:deal_id>/prep/matrix/<int:issue_id>/",
        preparation.priority_save,
        name="prep-priority",
    ),
    path(
        "<int:deal_id>/prep/anchors/<int:issue_id>/",
        preparation.anchor_save,
        name="prep-anchor",
    ),
    path(
        "<int:deal_id>/prep/evidence/add/",
        preparation.evidence_add,
        name="prep-evidence-add",
    ),
    path(
        "<int:deal_id>/prep/evidence/<int:evidence_id>/delete/",
        preparation.evidence_delete,
        name="prep-evidence-delete",
    ),
    # After the deal: reviews, exports, the team dashboard, the lessons library.
]
