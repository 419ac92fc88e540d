"""The negotiation domain: teams, deals, their two sides, issues and preparation.

Each deal has exactly two first-class sides (``Party``): the host (the rep's
organisation) and the counterpart. Everything a side prepares privately hangs
off its ``Party`` (``Preparation``, ``PriorityEntry``, ``AnchorEntry``,
``EvidenceItem``) and is only ever read through selectors that check the side.

Editable objects carry a ``version``: an edit names the version it was made on
and a stale edit is refused (see ``negotiation.services.base.check_version``).
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

IMPORTANCE_MIN = 1
IMPORTANCE_MAX = 5


def new_join_code() -> str:
    return secrets.token_urlsafe(18)


class Team(models.Model):
    name = models.CharField(max_length=120)
    # Colleagues who sign up with this code join the team as reps. Managers can
    # rotate it, which makes every earlier join link useless.
    join_code = models.CharField(max_length=32, unique=True, default=new_join_code)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        REP = "rep", "Rep"
        MANAGER = "manager", "Manager"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role, default=Role.REP)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "user"], name="membership_unique_team_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.team})"


class DealQuerySet(models.QuerySet["Deal"]):
    def visible_to(self, user) -> DealQuerySet:
        """Deals a logged-in user may open: their own, and their teams' if manager.

        Staff get no special pass here: support work happens in the admin.
        """
        if not user.is_authenticated:
            return self.none()
        managed_teams = Membership.objects.filter(
            user=user, role=Membership.Role.MANAGER
        ).values("team_id")
        return self.filter(
            Q(owner=user)
            | Q(parties__participants__user=user)
            | Q(team__in=managed_teams)
        ).distinct()


class Deal(models.Model):
    class Context(models.TextChoices):
        SALES = "sales", "Sales"
        PARTNERSHIP = "partnership", "Partnership / business development"
        PROCUREMENT = "procurement", "Procurement / vendor management"
        HIRING = "hiring", "Hiring / internal"

    class Stage(models.TextChoices):
        SETUP = "setup", "Setup"
        FIRST_MOVE = "first_move", "First Move"
        MIDGAME = "midgame", "Midgame"
        CLOSE = "close", "Close"
        IMPLEMENTATION = "implementation", "Implementation"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        AGREED = "agreed", "Agreed"
        NO_DEAL = "no_deal", "No deal"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="deals")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_deals"
    )
    title = models.CharField(max_length=160)
    context = models.CharField(max_length=16, choices=Context, default=Context.SALES)
    counterpart_organisation = models.CharField(max_length=160)
    counterpart_contact = models.CharField(max_length=160, blank=True)
    ground_rules = models.TextField(
        blank=True,
        help_text="How both sides will work together in the room.",
    )
    review_cadence = models.CharField(
        max_length=16,
        choices=[
            ("weekly", "Weekly"),
            ("fortnightly", "Every two weeks"),
            ("monthly", "Monthly"),
            ("quarterly", "Quarterly"),
        ],
        default="monthly",
    )
    shared_purpose = models.TextField(
        blank=True,
        help_text="The goal both sides can sign up to, e.g. "
        "“a rollout that pays for itself within a year”.",
    )
    deadline = models.DateField(null=True, blank=True)
    stage = models.CharField(max_length=16, choices=Stage, default=Stage.SETUP)
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN)
    outcome_note = models.TextField(blank=True)
    # The last DealEvent.seq handed out; incremented under a row lock so the
    # event log stays gapless per deal.
    last_seq = models.PositiveBigIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("negotiation:deal-detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def stage_number(self) -> int:
        return list(self.Stage.values).index(self.stage) + 1


class Party(models.Model):
    """One side of a deal. Both sides are first-class and can prepare privately."""

    class Side(models.TextChoices):
        HOST = "host", "Host"
        COUNTERPART = "counterpart", "Counterpart"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="parties")
    side = models.CharField(max_length=16, choices=Side)
    organisation = models.CharField(max_length=160)

    class Meta:
        ordering = ["deal", "side"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "side"], name="party_one_per_side"),
        ]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_side_display()}) — {self.deal}"

    @property
    def other_side(self) -> str:
        return self.Side.COUNTERPART if self.side == self.Side.HOST else self.Side.HOST


class Participant(models.Model):
    """A person negotiating for one side: a user (host) or a guest (counterpart)."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="participants"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="participations",
    )
    display_name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Set when the host revokes this guest's link: every later request and
    # websocket frame is refused, and open sockets are closed.
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "user"],
                condition=Q(user__isnull=False),
                name="participant_user_once_per_party",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Issue(models.Model):
    """A dimension of the deal (price, payment terms, …), shared by both sides."""

    class Kind(models.TextChoices):
        NUMERIC = "numeric", "Numeric (a value in a range)"
        OPTIONS = "options", "A set of options"

    class Flexibility(models.TextChoices):
        FLEXIBLE = "flexible", "Flexible"
        FIXED = "fixed", "Fixed"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="issues")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=240, blank=True)
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.NUMERIC)
    unit = models.CharField(max_length=24, blank=True)
    range_min = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    range_max = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    options = models.JSONField(default=list, blank=True)
    flexibility = models.CharField(
        max_length=16, choices=Flexibility, default=Flexibility.FLEXIBLE
    )
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                "deal",
                Lower("name"),
                name="issue_unique_name_per_deal",
                violation_error_message="This deal already has an issue with "
                "that name.",
            ),
            models.CheckConstraint(
                condition=Q(range_min__isnull=True)
                | Q(range_max__isnull=True)
                | Q(range_min__lte=models.F("range_max")),
                name="issue_range_ordered",
                violation_error_message="The lowest value must not be above "
                "the highest value.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.OPTIONS:
            options = [str(o).strip() for o in (self.options or [])]
            if any(not o for o in options) or len(options) < 2:
                raise ValidationError(
                    {"options": "List at least two options, none of them empty."}
                )
            if len({o.lower() for o in options}) != len(options):
                raise ValidationError({"options": "Each option must be different."})
            self.options = options
        else:
            self.options = []

    @property
    def range_label(self) -> str:
        if self.kind == self.Kind.OPTIONS:
            return " / ".join(self.options)
        low, high = self.range_min, self.range_max
        unit = f" {self.unit}" if self.unit else ""
        if low is None and high is None:
            return f"any value{unit}" if unit else "open range"
        if low is None:
            return f"up to {_fmt(high)}{unit}"
        if high is None:
            return f"from {_fmt(low)}{unit}"
        return f"{_fmt(low)}–{_fmt(high)}{unit}"


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():,f}" if value == value.to_integral() else f"{value:,}"


class Preparation(models.Model):
    """A side's private preparation: never rendered for the other side."""

    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="preparation"
    )
    # Walk-away: BATNA and reservation point.
    batna = models.TextField(
        "BATNA",
        blank=True,
        help_text="What we will do if no agreement is reached.",
    )
    reservation_point = models.TextField(
        blank=True,
        help_text="The least favourable package we would still accept.",
    )
    reservation_value = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The walk-away figure, when the deal has one headline number.",
    )
    target_outcome = models.TextField(
        blank=True, help_text="What a good result looks like for us."
    )
    # Counterparty map.
    their_constraints = models.TextField(blank=True)
    their_decision_path = models.TextField(blank=True)
    their_pressures = models.TextField(blank=True)
    their_success = models.TextField(blank=True)
    # Readiness check ("do not use when…").
    zero_sum_signals = models.BooleanField(
        default=False,
        help_text="They signal win-lose intent and resist transparency.",
    )
    sensitive_data_at_stake = models.BooleanField(
        default=False,
        help_text="Sharing would expose sensitive or proprietary data.",
    )
    crisis_deadline = models.BooleanField(
        default=False,
        help_text="A deadline or crisis leaves no room for joint exploration.",
    )
    readiness_notes = models.TextField(blank=True)
    readiness_reviewed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Preparation of {self.party}"

    @property
    def readiness_flags(self) -> list[str]:
        fields = ("zero_sum_signals", "sensitive_data_at_stake", "crisis_deadline")
        return [name for name in fields if getattr(self, name)]


class PriorityEntry(models.Model):
    """One row of a side's priority & tradeables matrix."""

    party = models.ForeignKey(
        Party, on_delete=models.CASCADE, related_name="priorities"
    )
    issue = models.ForeignKey(
        Issue, on_delete=models.CASCADE, related_name="priorities"
    )
    importance = models.PositiveSmallIntegerField(
        validators=[
            MinValueValidator(IMPORTANCE_MIN),
            MaxValueValidator(IMPORTANCE_MAX),
        ],
        help_text=f"{IMPORTANCE_MIN} (nice to have) to {IMPORTANCE_MAX} (essential).",
    )
    can_give = models.TextField("what we can give", blank=True)
    want_get = models.TextField("what we want to get", blank=True)
    ideal_outcome = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-importance", "issue__position", "issue_id"]
        verbose_name_plural = "priority entries"
        constraints = [
            models.UniqueConstraint(
                fields=["party", "issue"], name="priority_one_per_issue_and_side"
            ),
            models.CheckConstraint(
                condition=Q(importance__gte=IMPORTANCE_MIN)
                & Q(importance__lte=IMPORTANCE_MAX),
                name="priority_importance_in_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue}: {self.importance}"


class AnchorEntry(models.Model):
    """A credible opening range for one key issue, backed by a benchmark."""

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="anchors")
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="anchors")
    low = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    high = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    opening_position = models.CharField(max_length=240, blank=True)
    benchmark = models.TextField(
        blank=True, help_text="The evidence that makes this range credible."
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["issue__position", "issue_id"]
        verbose_name_plural = "anchor entries"
        constraints = [
            models.UniqueConstraint(
                fields=["party", "issue"], name="anchor_one_per_issue_and_side"
            ),
            models.CheckConstraint(
                condition=Q(low__isnull=True)
                | Q(high__isnull=True)
                | Q(low__lte=models.F("high")),
                name="anchor_range_ordered",
                violation_error_message="The low end must not be above the high end.",
            ),
        ]

    def __str__(self) -> str:
        return f"Anchor for {self.issue}"


class EvidenceItem(models.Model):
    class Kind(models.TextChoices):
        BENCHMARK = "benchmark", "Benchmark"
        CASE = "case", "Case reference"
        ROI = "roi", "ROI note"
        RISK = "risk", "Risk scenario"

    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.BENCHMARK)
    title = models.CharField(max_length=160)
    detail = models.TextField(blank=True)
    url = models.URLField("link", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "created_at"]

    def __str__(self) -> str:
        return self.title


class DealEvent(models.Model):
    """The deal's append-only log. ``seq`` is gapless per deal.

    Payloads hold ids and small shared facts only, never private preparation:
    the log is what the room replays to both sides.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    actor = models.ForeignKey(
        Participant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    kind = models.CharField(max_length=48)
    payload = models.JSONField(default=dict, blank=True)
    # NULL, not "", when absent: the per-deal uniqueness only binds real ids.
    client_msg_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deal", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "seq"], name="event_seq_per_deal"),
            models.UniqueConstraint(
                fields=["deal", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="event_client_msg_once_per_deal",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"


# --- The shared room ---------------------------------------------------------
# Everything below is seen by both sides, except where a field says otherwise.


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
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"If {self.give_value} ({self.give_issue}) → {self.ask_value}"


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
        ordering = ["due_date", "created_at"]

    def __str__(self) -> str:
        return self.description

    @property
    def is_measurable(self) -> bool:
        return bool(self.metric and self.target and self.due_date)

    @property
    def is_confirmed(self) -> bool:
        return bool(self.host_confirmed_at and self.counterpart_confirmed_at)


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
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.body[:40]


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

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="nudges")
    party = models.ForeignKey(Party, on_delete=models.CASCADE, related_name="nudges")
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

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["party", "kind", "subject"], name="nudge_once_per_subject"
            ),
        ]
        indexes = [models.Index(fields=["deal", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.party})"


# --- After the deal: reviews, lessons, reminders -----------------------------


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

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, choices=Kind)
    key = models.CharField(max_length=64)
    due_on = models.DateField()
    recipients = models.TextField(blank=True)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal", "key"], name="reminder_once_per_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_on} ({self.deal})"
