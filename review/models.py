"""After the deal: each side's review, managers' comments, the team's lessons
library, and the log of follow-through reminders sent.

These models were first created by the ``negotiation`` app; they keep its
table names (``Meta.db_table``), so moving them here moved no data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from negotiation.models import Deal, Participant, Party, Team


class PostDealReview(models.Model):
    """One side's own look back at a closed deal.

    Private to that side, exactly like its preparation: the host side's review
    is read by the host side and the team's managers, the counterpart's by the
    counterpart side only. Lessons of the host side's review feed the team's
    lessons library (``Lesson``).
    """

    class Verdict(models.TextChoices):
        YES = "yes", "Yes"
        MOSTLY = "mostly", "Mostly"
        PARTLY = "partly", "Partly"
        NO = "no", "No"
        UNSURE = "unsure", "Can't tell"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="reviews")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="reviews")
    our_goals_met = models.CharField(
        "did we meet our goals?", max_length=16, choices=Verdict, blank=True
    )
    their_goals_met = models.CharField(
        "did they meet theirs?", max_length=16, choices=Verdict, blank=True
    )
    value_created = models.TextField(
        "where we created value",
        blank=True,
        help_text="Trades and packages that were worth more to one side than "
        "they cost the other.",
    )
    value_left = models.TextField(
        "where we left value",
        blank=True,
        help_text="Issues settled short of target, trades not explored, "
        "concessions given without anything in return.",
    )
    trust_signals = models.TextField(
        "signals of trust or withdrawal",
        blank=True,
        help_text="Moments the other side opened up, or pulled back.",
    )
    lessons = models.TextField(
        blank=True,
        help_text="One lesson per line. The host side's lessons go into the "
        "team's lessons library for new deals in the same context.",
    )
    updated_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "negotiation_postdealreview"
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "party"], name="review_once_per_deal_and_side"
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.party}"

    @property
    def lesson_lines(self) -> list[str]:
        return [line.strip() for line in self.lessons.splitlines() if line.strip()]


class ReviewComment(models.Model):
    """A manager's comment on a closed deal, read by the host side."""

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="review_comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="review_comments",
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_reviewcomment"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"


class Lesson(models.Model):
    """One lesson in a team's library, shown when preparing deals of its context."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="lessons")
    context = models.CharField(max_length=16, choices=Deal.Context)
    text = models.CharField(max_length=500)
    source_deal = models.ForeignKey(
        Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    # Set for lessons written in the host side's review: saving the review
    # again keeps the library in step with it.
    source_review = models.ForeignKey(
        PostDealReview,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="library_lessons",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_lesson"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["team", "context"])]

    def __str__(self) -> str:
        return self.text[:60]


class ReminderLog(models.Model):
    """A follow-through reminder that was sent, so it is sent once.

    ``key`` names what it was about: ``checkin:2027-01-15`` (a scheduled
    check-in) or ``overdue:12:2027-01-10`` (commitment 12, due that day).
    """

    class Kind(models.TextChoices):
        CHECK_IN = "checkin", "Check-in due"
        OVERDUE = "overdue", "Commitment overdue"
        DEBRIEF = "debrief", "Post-deal review not written"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=Kind)
    key = models.CharField(max_length=64)
    due_on = models.DateField()
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_reminderlog"
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "key"], name="reminder_once_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on} ({self.deal})"
