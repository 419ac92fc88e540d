"""The live room's data: what both sides build together in one deal's room.

Everything here is seen by both sides, except where a field says otherwise
(a side's concession valuations, its private nudges). Private preparation
lives in ``negotiation.models`` and has no place here.

These models were first created by the ``negotiation`` app; they keep its
table names (``Meta.db_table``), so moving them here moved no data.

Editable objects carry a ``version``: an edit names the version it was made on
and a stale edit is refused (``negotiation.services.base.check_version``).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from common.phrases import unmeasurable
from negotiation.models import Deal, DealEvent, Issue, Participant, Party

TOKEN_BYTES = 32  # 256 bits from the OS's CSPRNG


def hash_token(token: str) -> str:
    """Only this digest is stored: a leaked database does not leak live links."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def share_path(token: str) -> str:
    """A share link's path: the token rides in the fragment, which browsers
    never send, so no request line (and no log of one) ever holds it. The join
    page's script reads it and posts it (``static/js/join.js``)."""
    return f"{reverse('live:join')}#{token}"


class Invite(models.Model):
    """A share link for one deal's counterpart side.

    The token itself is shown once, when the link is created. It is exchanged
    once for a guest session; after that the link cannot admit anyone else.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="invites")
    label = models.CharField(
        max_length=120,
        blank=True,
        help_text="Who this link is for, e.g. “Dana (Head of Retail Ops)”.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    participant = models.OneToOneField(
        Participant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invite",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Invite #{self.pk}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.participant_id:
            return "used"
        if self.is_expired:
            return "expired"
        return "active"


class RoomConnection(models.Model):
    """One open websocket in a room, for presence across server processes.

    A row is removed when its socket closes; ``seen_at`` is refreshed by the
    client's heartbeat, so rows left behind by a crashed process age out.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="connections"
    )
    channel_name = models.CharField(max_length=255, unique=True)
    connected_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.participant} on {self.channel_name}"


class SharedPosition(models.Model):
    """What a side chooses to show the other side: its interests and ranking.

    Walk-away points live in ``Preparation`` and have no place here: there is
    no way to share them.
    """

    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="shared_position"
    )
    interests = models.TextField(blank=True)
    # Issue ids, most important first. Issues missing from it are unranked.
    ranking = models.JSONField(default=list, blank=True)
    # Matrix columns this side shows the other side, per issue id:
    # {"12": ["can_give", "want_get"]}. Never the importance of unranked issues.
    shared_matrix = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    SHAREABLE_MATRIX_FIELDS = ("can_give", "want_get", "ideal_outcome")

    class Meta:
        db_table = "negotiation_sharedposition"

    def __str__(self) -> str:
        return f"Shared position of {self.party}"


class StageChange(models.Model):
    """A proposal to move the deal to another stage; the other side decides."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=16, choices=Deal.Stage)
    to_stage = models.CharField(max_length=16, choices=Deal.Stage)
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    proposed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=240, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_stagechange"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"],
                condition=Q(status="pending"),
                name="stage_change_one_pending_per_deal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_stage} → {self.to_stage} ({self.status})"


class Trade(models.Model):
    """A conditional trade: "if we give X on issue A, can you give Y on issue B?"."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COUNTERED = "countered", "Countered"
        # Still open when both sides confirmed the agreement: closed by it.
        SUPERSEDED = "superseded", "Superseded by the agreement"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="trades")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="trades")
    proposed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    give_issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="+")
    give_value = models.CharField(max_length=160)
    ask_issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="+")
    ask_value = models.CharField(max_length=160)
    rationale = models.TextField(blank=True)
    counter_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="counters",
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    decline_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_trade"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"If {self.give_value} ({self.give_issue}) → {self.ask_value}"


class CadenceProposal(models.Model):
    """A proposed review cadence and first check-in date; the other side
    accepts or declines, as with a stage change. The accepted one is the
    deal's (``Deal.review_cadence``, ``Deal.first_check_in``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="cadence_proposals"
    )
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    proposed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cadence = models.CharField(
        max_length=16, choices=Deal._meta.get_field("review_cadence").choices
    )
    first_check_in = models.DateField()
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"],
                condition=Q(status="pending"),
                name="cadence_one_pending_per_deal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadence} from {self.first_check_in} ({self.status})"


class Pause(models.Model):
    """ "Pause and revisit": one side proposes a date to resume; the other
    accepts it or proposes another date (which replaces this one)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ACCEPTED = "accepted", "Agreed"
        COUNTERED = "countered", "Another date proposed"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="pauses")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    proposed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    resume_on = models.DateField()
    note = models.CharField(max_length=240, blank=True)
    counter_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"],
                condition=Q(status="pending"),
                name="pause_one_pending_per_deal",
            ),
        ]

    def __str__(self) -> str:
        return f"Pause until {self.resume_on} ({self.status})"


class TermSheetEntry(models.Model):
    """The draft (then agreed) value of one issue."""

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="term")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="terms")
    value = models.CharField(max_length=240)
    source_trade = models.ForeignKey(
        Trade, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "negotiation_termsheetentry"
        ordering = ["issue__position", "issue_id"]
        verbose_name_plural = "term sheet entries"

    def __str__(self) -> str:
        return f"{self.issue}: {self.value}"


class MesoSet(models.Model):
    """Several equivalent packages presented at once; the other side ranks or picks."""

    class Status(models.TextChoices):
        PRESENTED = "presented", "Presented"
        ANSWERED = "answered", "Answered"
        WITHDRAWN = "withdrawn", "Withdrawn"
        # Still unanswered when both sides confirmed the agreement.
        SUPERSEDED = "superseded", "Superseded by the agreement"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="meso_sets")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=240, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PRESENTED)
    # Package ids in the other side's order of preference, best first.
    preference = models.JSONField(default=list, blank=True)
    picked = models.ForeignKey(
        "Package", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_mesoset"
        ordering = ["-created_at"]
        verbose_name = "MESO set"

    def __str__(self) -> str:
        return f"MESO set #{self.pk}"


class Package(models.Model):
    """A value for every issue on the agenda, proposed by one side."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="packages")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    name = models.CharField(max_length=80)
    # {"<issue id>": "<value>"} for every issue on the agenda.
    values = models.JSONField(default=dict)
    meso_set = models.ForeignKey(
        MesoSet,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="packages",
    )
    counter_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_package"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name


class Concession(models.Model):
    """One entry of a side's concession log.

    Both sides see the entry; the valuations are the owning side's own and are
    shown to the other side only when ``values_shared`` is set.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="concessions")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    item = models.CharField(max_length=160)
    we_give = models.CharField(max_length=240)
    we_get = models.CharField(max_length=240, blank=True)
    value_to_us = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    value_to_them = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    values_shared = models.BooleanField(default=False)
    trigger = models.CharField(max_length=240, blank=True)
    trade = models.ForeignKey(
        Trade, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_concession"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.item


class Commitment(models.Model):
    """A measurable promise one side makes; binding once both sides confirm."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        ON_TRACK = "on_track", "On track"
        AT_RISK = "at_risk", "At risk"
        DONE = "done", "Done"
        MISSED = "missed", "Missed"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="commitments")
    owner_party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    owner_name = models.CharField("owner (person)", max_length=120)
    description = models.CharField(max_length=240)
    metric = models.CharField(max_length=160, blank=True)
    target = models.CharField(max_length=160, blank=True)
    due_date = models.DateField(null=True, blank=True)
    contingency = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.PLANNED)
    host_confirmed_at = models.DateTimeField(null=True, blank=True)
    counterpart_confirmed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_commitment"
        ordering = ["due_date", "created_at"]

    def __str__(self) -> str:
        return self.description

    @property
    def missing(self) -> list[str]:
        """What it lacks to be measured: a real metric, target or due date."""
        return unmeasurable(self.metric, self.target, self.due_date)

    @property
    def is_measurable(self) -> bool:
        return not self.missing

    @property
    def is_confirmed(self) -> bool:
        return bool(self.host_confirmed_at and self.counterpart_confirmed_at)


# Commitments still to be delivered: past their due date, they are overdue.
OPEN_COMMITMENT_STATUSES = (
    Commitment.Status.PLANNED,
    Commitment.Status.ON_TRACK,
    Commitment.Status.AT_RISK,
)


def is_overdue(commitment: Commitment, today: datetime.date) -> bool:
    return (
        commitment.due_date is not None
        and commitment.due_date < today
        and commitment.status in OPEN_COMMITMENT_STATUSES
    )


class AgreementConfirmation(models.Model):
    """A side's confirmation of the term sheet and commitments as they stood."""

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="confirmations"
    )
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="+")
    confirmed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # A digest of what was confirmed: any later change invalidates it.
    digest = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_agreementconfirmation"
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "party"], name="agreement_confirmed_once_per_side"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party} confirmed at {self.confirmed_at:%Y-%m-%d %H:%M}"


class CheckInQuerySet(models.QuerySet["CheckIn"]):
    def with_items(self) -> CheckInQuerySet:
        """Check-ins with who held them and each commitment's status then."""
        return self.select_related("created_by").prefetch_related(
            models.Prefetch(
                "items", queryset=CheckInItem.objects.select_related("commitment")
            )
        )


class CheckIn(models.Model):
    """An implementation-stage review of the commitments."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="check_ins")
    held_on = models.DateField()
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        db_table = "negotiation_checkin"
        ordering = ["-held_on", "-created_at"]

    def __str__(self) -> str:
        return f"Check-in {self.held_on}"


class CheckInItem(models.Model):
    check_in = models.ForeignKey(
        CheckIn, on_delete=models.CASCADE, related_name="items"
    )
    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="check_in_items"
    )
    status = models.CharField(max_length=16, choices=Commitment.Status)
    note = models.CharField(max_length=240, blank=True)

    class Meta:
        db_table = "negotiation_checkinitem"

    def __str__(self) -> str:
        return f"{self.commitment}: {self.get_status_display()}"


class Message(models.Model):
    """Discussion in the room: never binding. A message may comment on a trade."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        QUESTION = "question", "Question"
        COACH = "coach", "From the coach"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.NOTE)
    body = models.TextField()
    trade = models.ForeignKey(
        Trade, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "negotiation_message"
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.body[:40]


def new_nudge_key() -> str:
    """A nudge's public name: 64 random bits, URL- and id-safe."""
    return secrets.token_urlsafe(8)


class Nudge(models.Model):
    """A private coaching nudge for one side, raised by a pitfall detector.

    Only the side concerned ever sees it. Dismissing hides it but keeps the
    record: the post-deal review counts the pitfalls a side ran into.
    """

    class Kind(models.TextChoices):
        OVER_SHARING = "over_sharing", "Over-sharing sensitive data"
        CONCEDING = "conceding", "Conceding to keep the peace"
        AVOIDING_HARD_ISSUE = "avoiding_hard_issue", "Avoiding the hard issue"
        VAGUE_COMMITMENT = "vague_commitment", "Goodwill without clarity"
        TIME_PRESSURE = "time_pressure", "Ignoring time pressure"
        EMPATHY_NOT_AGREEMENT = (
            "empathy_not_agreement",
            "Confusing empathy with agreement",
        )
        UNDOCUMENTED = "undocumented", "Not documenting outcomes"
        ONE_WAY_DISCLOSURE = "one_way_disclosure", "One-way disclosure"
        STALEMATE = "stalemate", "Stalemate"
        POSITIONAL = "positional", "They hold a position"
        AVOIDING_ACCOUNTABILITY = (
            "avoiding_accountability",
            "They avoid being held to account",
        )
        UNEVEN_PACKAGES = "uneven_packages", "Packages not equal for you"
        BELOW_LIMIT = "below_limit", "Went past your own limit"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="nudges")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="nudges")
    # How the side's room names the nudge (element id, dismiss form). Random,
    # not the row id: row ids are shared by both sides' nudges, so the gaps
    # between a side's own ids would count the other side's nudges.
    key = models.CharField(max_length=16, default=new_nudge_key, editable=False)
    kind = models.CharField(max_length=32, choices=Kind)
    # What the nudge is about ("trade:12", "commitment:3", "deal"), so the same
    # situation nudges a side once, not after every event.
    subject = models.CharField(max_length=64, default="deal")
    message = models.TextField()
    corrective_action = models.TextField(blank=True)
    event = models.ForeignKey(
        DealEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the situation it warned about stopped holding (the price got
    # traded, the commitment became measurable): withdrawn from the room,
    # kept for the review with when it was raised and resolved.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "negotiation_nudge"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "kind", "subject"], name="nudge_once_per_subject"
            ),
            models.UniqueConstraint(fields=["party", "key"], name="nudge_key_per_side"),
        ]
        indexes = [models.Index(fields=["deal", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.party})"


class JointCheckConsent(models.Model):
    """A side's consent to the blind joint check of its deal.

    The check reads both sides' private scorings on the server, so it runs
    only while both sides consent. Withdrawing deletes the row; a check that
    already ran stands.
    """

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="joint_check_consents"
    )
    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="joint_check_consent"
    )
    allowed_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    allowed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Joint check allowed by {self.party}"


class JointCheck(models.Model):
    """One run of the blind joint check: what both sides are told, the same
    for each, with no side's score in it.

    ``suggestions`` are complete packages (``{"<issue id>": "value"}``) that
    both sides score at least as high as the terms at the time, one side
    higher; ``accepted`` records which one each side accepted
    (``{"host": 0, "counterpart": 0}``). When both accept the same one, its
    values become the draft term sheet.
    """

    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="joint_checks"
    )
    requested_by = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # A complete package exists that clears both sides' reservation scores.
    agreement_possible = models.BooleanField()
    # The term sheet at the time: complete and readable by both scorings?
    terms_complete = models.BooleanField()
    # Whether no package is better for one side and no worse for the other
    # (None when the terms were not complete).
    terms_efficient = models.BooleanField(null=True)
    suggestions = models.JSONField(default=list, blank=True)
    accepted = models.JSONField(default=dict, blank=True)
    applied = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Joint check #{self.pk}"


class RoomVisit(models.Model):
    """Where a participant left the room: the basis of "while you were away".

    ``seen_seq`` is the last event the participant's room showed them (the
    socket's ``last_seq`` when it closed, or the deal's ``last_seq`` when they
    dismissed the summary); the summary on return tells the other side's
    events after it. ``present_at`` is the last time they had the room open
    (a page load, or a socket closing), which decides whether they are away.
    """

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="room_visit"
    )
    seen_seq = models.PositiveIntegerField(default=0)
    present_at = models.DateTimeField(default=timezone.now)
    # When the participant hid the room's first-visit orientation: it stays
    # hidden for them on every browser (they can still bring it back).
    orientation_dismissed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.participant} saw up to #{self.seen_seq}"


class GuestEmail(models.Model):
    """The address a guest chose to leave when joining, to hear when the room
    waits for them. Their own side's: no page or frame of the other side
    reads it."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="guest_email"
    )
    email = models.EmailField()

    def __str__(self) -> str:
        return f"Email of {self.participant}"


class WaitingEmail(models.Model):
    """One "the room waits for you" email, sent once per participant and
    waiting item (``key``, e.g. ``trade:12``), so a rerun sends nothing new."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=64)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "key"], name="waiting_email_once_per_item"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.participant}"
