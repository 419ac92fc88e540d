"""After the deal, in the admin: reviews, comments, lessons, reminders sent."""

from django.contrib import admin

from review.models import Lesson, PostDealReview, ReminderLog, ReviewComment


@admin.register(PostDealReview)
class PostDealReviewAdmin(admin.ModelAdmin):
    list_display = ["deal", "party", "our_goals_met", "their_goals_met", "updated_at"]
    list_select_related = ["deal", "party"]
    search_fields = ["deal__title", "party__organisation"]
    raw_id_fields = ["deal", "party", "updated_by"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(admin.ModelAdmin):
    list_display = ["deal", "author_name", "created_at"]
    search_fields = ["deal__title", "author_name", "body"]
    raw_id_fields = ["deal", "author"]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["text", "team", "context", "source_deal", "created_at"]
    list_filter = ["context", "team"]
    search_fields = ["text"]
    raw_id_fields = ["team", "source_deal", "source_review", "created_by"]


@admin.register(ReminderLog)
class ReminderLogAdmin(admin.ModelAdmin):
    list_display = ["deal", "kind", "key", "due_on", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["deal__title", "key"]
    raw_id_fields = ["deal"]
