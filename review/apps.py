from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """After the deal: reviews, lessons, reminders, the dashboard, exports."""

    name = "review"
    verbose_name = "Review"
