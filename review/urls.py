"""After the deal: reviews, exports, the team dashboard and the lessons library.

Included under ``/deals/``, before ``negotiation.urls``, in the ``review``
namespace. An internal review export names its side in the URL; only that
side (and, for the host side, the team's managers) can open it. The summary
to share with the other side is the room's (``live:summary``).
"""

from django.urls import path

from review.views import dashboard, review

app_name = "review"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/deals.csv", dashboard.dashboard_csv, name="dashboard-csv"),
    path("lessons/", dashboard.lessons_library, name="lessons"),
    path(
        "lessons/<int:lesson_id>/delete/",
        dashboard.lesson_delete,
        name="lesson-delete",
    ),
    path("<int:deal_id>/review/", review.review, name="review"),
    path("<int:deal_id>/review/save/", review.review_save, name="review-save"),
    path("<int:deal_id>/review/comments/", review.comment_add, name="review-comment"),
    path("<int:deal_id>/review/lessons/", review.lesson_add, name="review-lesson"),
    path("<int:deal_id>/review/checkins.ics", review.checkins_ics, name="review-ics"),
    path(
        "<int:deal_id>/review/internal/<slug:side>/",
        review.summary_print,
        name="review-summary",
    ),
    path(
        "<int:deal_id>/review/internal/<slug:side>.md",
        review.summary_markdown,
        name="review-markdown",
    ),
]
