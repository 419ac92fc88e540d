"""Writes after the deal: each side's review, managers' comments, the team's
lessons library, and follow-through reminders.

Reviews are private to their side, like preparation: they append no
``DealEvent`` (the log is shared with the other side) and broadcast nothing.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from negotiation.access import DealAccess, is_team_manager
from negotiation.models import Deal, Participant, Party
from negotiation.services.base import check_version, save_versioned
from review.models import Lesson, PostDealReview, ReminderLog, ReviewComment
from room.models import Commitment
from room.schedule import DEBRIEF_AFTER_DAYS, is_due_soon, next_check_in

logger = logging.getLogger(__name__)

REVIEW_FIELDS = (
    "our_goals_met",
    "their_goals_met",
    "value_created",
    "value_left",
    "trust_signals",
    "lessons",
)
COMMENT_MAX_LENGTH = 4000
LESSON_MAX_LENGTH = Lesson._meta.get_field("text").max_length


def _day(day: datetime.date, *, long: bool = False) -> str:
    """ "15 Jan", or "15 January 2027" (no platform-specific strftime flags)."""
    return f"{day.day} {day:%B %Y}" if long else f"{day.day} {day:%b}"


def _reviewing_participant(access: DealAccess) -> Participant:
    if access.party is None or access.participant is None:
        raise PermissionDenied("Only the people negotiating for a side review it.")
    if access.participant.revoked_at is not None:
        raise PermissionDenied("Your access to this deal was revoked.")
    return access.participant


@transaction.atomic
def review_save(
    *,
    access: DealAccess,
    version: int | None,
    our_goals_met: str = "",
    their_goals_met: str = "",
    value_created: str = "",
    value_left: str = "",
    trust_signals: str = "",
    lessons: str = "",
) -> PostDealReview:
    """Write (or edit) the acting side's own review of a deal that ended.

    A first save names no version; an edit names the version it was made on
    and is refused if someone of the same side saved meanwhile. The host
    side's lessons, one per line, go into the team's lessons library.
    """
    participant = _reviewing_participant(access)
    deal = Deal.objects.select_for_update().get(pk=access.deal.pk)
    if deal.status == Deal.Status.OPEN:
        raise ValidationError("A deal is reviewed once it has ended.")
    # The deal's row lock serialises saves: a review written meanwhile by
    # someone of the same side is seen here, and an edit that did not see it
    # is refused like any stale edit.
    review = PostDealReview.objects.filter(deal=deal, party=access.party).first()
    if review is None:
        review = PostDealReview(deal=deal, party=access.party)
    else:
        check_version(review, version)
    review.our_goals_met = our_goals_met
    review.their_goals_met = their_goals_met
    review.value_created = value_created.strip()
    review.value_left = value_left.strip()
    review.trust_signals = trust_signals.strip()
    review.lessons = "\n".join(_lesson_lines(lessons))
    review.updated_by = participant
    if review.pk is None:
        review.full_clean()
        review.save()
    else:
        save_versioned(review, fields=[*REVIEW_FIELDS, "updated_by"])
    if access.party.side == Party.Side.HOST:
        _sync_library(review, deal, participant.user)
    return review


def _lesson_lines(text: str) -> list[str]:
    lines = [line.strip(" \t-•*") for line in text.splitlines()]
    lines = [line for line in lines if line]
    if any(len(line) > LESSON_MAX_LENGTH for line in lines):
        raise ValidationError(
            {"lessons": f"Keep each lesson under {LESSON_MAX_LENGTH} characters."}
        )
    return list(dict.fromkeys(lines))  # each lesson once, in order


def _sync_library(
    review: PostDealReview, deal: Deal, user: AbstractBaseUser | None
) -> None:
    """Keep the library's lessons from this review in step with its text."""
    wanted = review.lesson_lines
    existing = {lesson.text: lesson for lesson in review.library_lessons.all()}
    stale = [lesson.pk for text, lesson in existing.items() if text not in wanted]
    if stale:
        Lesson.objects.filter(pk__in=stale).delete()
    Lesson.objects.bulk_create(
        [
            Lesson(
                team_id=deal.team_id,
                context=deal.context,
                text=text,
                source_deal=deal,
                source_review=review,
                created_by=user,
            )
            for text in wanted
            if text not in existing
        ]
    )


def _require_manager(access: DealAccess) -> None:
    if not access.is_manager:
        raise PermissionDenied("Only the team's managers do that.")


@transaction.atomic
def review_comment_add(
    *, access: DealAccess, author: AbstractBaseUser, body: str
) -> ReviewComment:
    """A manager comments on the deal's review; the host side reads it."""
    _require_manager(access)
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write the comment first."})
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError({"body": "Keep comments under 4,000 characters."})
    comment = ReviewComment(
        deal=access.deal,
        author=author,
        author_name=author.get_full_name() or author.get_username(),
        body=body,
    )
    comment.full_clean()
    comment.save()
    return comment


@transaction.atomic
def lesson_add(*, access: DealAccess, author: AbstractBaseUser, text: str) -> Lesson:
    """A manager adds a lesson drawn from this deal to the team's library."""
    _require_manager(access)
    text = " ".join(text.split())
    if not text:
        raise ValidationError({"text": "Write the lesson first."})
    lesson = Lesson(
        team_id=access.deal.team_id,
        context=access.deal.context,
        text=text,
        source_deal=access.deal,
        created_by=author,
    )
    lesson.full_clean()
    lesson.save()
    return lesson


@transaction.atomic
def lesson_remove(*, user: AbstractBaseUser, lesson_id: int) -> None:
    """A manager of the lesson's team takes it out of the library."""
    lesson = Lesson.objects.select_for_update().filter(pk=lesson_id).first()
    if lesson is None or not is_team_manager(user, lesson.team_id):
        raise PermissionDenied("Only the team's managers curate its library.")
    lesson.delete()


# --- Follow-through reminders ------------------------------------------------------


@dataclass(frozen=True)
class ReminderItem:
    kind: str
    key: str
    due_on: datetime.date
    text: str


@dataclass
class ReminderEmail:
    deal: Deal
    recipients: list[str]
    items: list[ReminderItem] = field(default_factory=list)

    @property
    def subject(self) -> str:
        check_ins = [i for i in self.items if i.kind == ReminderLog.Kind.CHECK_IN]
        overdue = [i for i in self.items if i.kind == ReminderLog.Kind.OVERDUE]
        debrief = [i for i in self.items if i.kind == ReminderLog.Kind.DEBRIEF]
        parts = []
        if debrief:
            parts.append("your post-deal review is still to write")
        if check_ins:
            parts.append(f"check-in due {_day(check_ins[0].due_on)}")
        if overdue:
            plural = "s" if len(overdue) > 1 else ""
            parts.append(f"{len(overdue)} commitment{plural} overdue")
        return f"Parley · {self.deal.title}: {' and '.join(parts)}"

    def body(self, base_url: str) -> str:
        review_url = base_url + reverse("review:review", args=[self.deal.pk])
        calendar_url = base_url + reverse("review:review-ics", args=[self.deal.pk])
        check_ins = [i for i in self.items if i.kind == ReminderLog.Kind.CHECK_IN]
        overdue = [i for i in self.items if i.kind == ReminderLog.Kind.OVERDUE]
        debrief = [i for i in self.items if i.kind == ReminderLog.Kind.DEBRIEF]
        lines = [
            "Hello,",
            "",
            f"A follow-through reminder for “{self.deal.title}” with "
            f"{self.deal.counterpart_organisation}.",
        ]
        if debrief:
            lines += ["", *(i.text for i in debrief)]
        if check_ins:
            lines += ["", "Check-in due:"] + [f"- {i.text}" for i in check_ins]
        if overdue:
            lines += ["", "Overdue commitments:"] + [f"- {i.text}" for i in overdue]
        lines += [
            "",
            f"Review the deal and record the check-in: {review_url}",
            f"Check-in calendar (.ics): {calendar_url}",
            "",
            "— Parley",
        ]
        return "\n".join(lines)


def reminders_due(*, today: datetime.date) -> list[ReminderEmail]:
    """What is due and not reminded yet, one email per deal.

    Check-ins whose date falls within the next seven days, commitments past
    their due date that are neither done nor missed, and a closed deal whose
    host side has not written its post-deal review three days on. Each
    reminder is sent once: per deal and check-in date, per commitment and
    due date, per deal for the review.
    """
    agreed = Deal.objects.filter(status=Deal.Status.AGREED)
    items: dict[int, list[ReminderItem]] = defaultdict(list)
    deals: dict[int, Deal] = {}
    for deal in agreed.annotate(last_held=Max("check_ins__held_on")):
        day = next_check_in(
            closed_on=timezone.localdate(deal.closed_at) if deal.closed_at else None,
            last_held=deal.last_held,
            cadence=deal.review_cadence,
            first=deal.first_check_in,
        )
        if day is not None and is_due_soon(day, today):
            deals[deal.pk] = deal
            cadence = deal.get_review_cadence_display().lower()
            items[deal.pk].append(
                ReminderItem(
                    ReminderLog.Kind.CHECK_IN,
                    f"checkin:{day.isoformat()}",
                    day,
                    f"{day:%A} {_day(day, long=True)} (review cadence: {cadence})",
                )
            )
    # Closed three days ago or more and no review from the host side yet: the
    # "rush to the next deal" the method warns about.
    debrief_before = today - datetime.timedelta(days=DEBRIEF_AFTER_DAYS)
    undebriefed = (
        Deal.objects.filter(
            status__in=(Deal.Status.AGREED, Deal.Status.NO_DEAL),
            closed_at__date__lte=debrief_before,
        )
        .exclude(reviews__party__side=Party.Side.HOST)
        .order_by("pk")
    )
    for deal in undebriefed:
        deals.setdefault(deal.pk, deal)
        closed = _day(timezone.localdate(deal.closed_at), long=True)
        items[deal.pk].append(
            ReminderItem(
                ReminderLog.Kind.DEBRIEF,
                f"debrief:{deal.pk}",
                timezone.localdate(deal.closed_at),
                f"The deal closed on {closed} and your post-deal review is not "
                "written yet. Ten minutes now, while it is fresh: where value "
                "was created, where it was left, what you would do again.",
            )
        )
    overdue = Commitment.objects.filter(
        deal__status=Deal.Status.AGREED,
        due_date__lt=today,
        status__in=(
            Commitment.Status.PLANNED,
            Commitment.Status.ON_TRACK,
            Commitment.Status.AT_RISK,
        ),
    ).select_related("deal", "owner_party")
    for commitment in overdue:
        deals.setdefault(commitment.deal_id, commitment.deal)
        due = _day(commitment.due_date, long=True)
        items[commitment.deal_id].append(
            ReminderItem(
                ReminderLog.Kind.OVERDUE,
                f"overdue:{commitment.pk}:{commitment.due_date.isoformat()}",
                commitment.due_date,
                f"{commitment.description} — {commitment.owner_party.organisation}"
                f" ({commitment.owner_name}), due {due},"
                f" {commitment.get_status_display().lower()}",
            )
        )
    if not items:
        return []
    sent = set(
        ReminderLog.objects.filter(deal_id__in=list(items)).values_list(
            "deal_id", "key"
        )
    )
    recipients: dict[int, set[str]] = defaultdict(set)
    # The host side's people. Guests (the counterpart) have no email address.
    for deal_id, email in Participant.objects.filter(
        party__deal_id__in=list(items),
        party__side=Party.Side.HOST,
        user__isnull=False,
        revoked_at__isnull=True,
    ).values_list("party__deal_id", "user__email"):
        if email:
            recipients[deal_id].add(email)
    for deal_id, email in Deal.objects.filter(pk__in=list(items)).values_list(
        "pk", "owner__email"
    ):
        if email:
            recipients[deal_id].add(email)
    emails = []
    for deal_id, deal_items in sorted(items.items()):
        fresh = [item for item in deal_items if (deal_id, item.key) not in sent]
        if fresh and recipients[deal_id]:
            emails.append(
                ReminderEmail(deals[deal_id], sorted(recipients[deal_id]), fresh)
            )
    return emails


def _claim(email: ReminderEmail) -> list[ReminderLog] | None:
    """Record the reminders before sending; None if another run got there first."""
    try:
        with transaction.atomic():
            return ReminderLog.objects.bulk_create(
                [
                    ReminderLog(
                        deal=email.deal,
                        kind=item.kind,
                        key=item.key,
                        due_on=item.due_on,
                        recipients=", ".join(email.recipients),
                    )
                    for item in email.items
                ]
            )
    except IntegrityError:
        return None


def reminders_send(
    *, today: datetime.date, base_url: str, dry_run: bool = False
) -> list[ReminderEmail]:
    """Send what ``reminders_due`` finds and record it, so a rerun sends nothing.

    Reminders are recorded first and the record is dropped again if sending
    fails, so the next run retries; two runs at once send each reminder once.
    """
    base_url = base_url.rstrip("/")
    sent = []
    for email in reminders_due(today=today):
        if dry_run:
            sent.append(email)
            continue
        claimed = _claim(email)
        if claimed is None:
            continue
        try:
            send_mail(
                email.subject,
                email.body(base_url),
                None,
                email.recipients,
            )
        except Exception:
            ReminderLog.objects.filter(pk__in=[log.pk for log in claimed]).delete()
            logger.exception("Reminder for deal %s not sent", email.deal.pk)
            raise
        sent.append(email)
    return sent
