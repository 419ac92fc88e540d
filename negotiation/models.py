"""The negotiation domain: teams, deals, their two sides, issues and preparation.

Each deal has exactly two first-class sides (``Party``): the host (the rep's
organisation) and the counterpart. Everything a side prepares privately hangs
off its ``Party`` (``Preparation``, ``PriorityEntry``, ``AnchorEntry``,
``Scoring``, ``EvidenceItem``) and is only ever read through selectors that
check the side.

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

from negotiation.events import EventKind
from negotiation.scoring.values import (
    SCORE_MAX,
    points_problem,
    ratings_problem,
)

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
        """Deals a logged-in user may open: their own while they are on the
        deal's team, and their teams' if manager. Leaving a team ends access
        to its deals (and closes the user's sockets in them: room.sessions).

        Staff get no special pass here: support work happens in the admin.
        """
        if not user.is_authenticated:
            return self.none()
        memberships = Membership.objects.filter(user=user)
        teams = memberships.values("team_id")
        managed_teams = memberships.filter(role=Membership.Role.MANAGER).values(
            "team_id"
        )
        return self.filter(
            Q(team__in=teams) & (Q(owner=user) | Q(parties__participants__user=user))
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
    # The first check-in both sides agreed in the room (with the cadence);
    # the schedule runs from it. None until a cadence is agreed.
    first_check_in = models.DateField(null=True, blank=True)
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
    # Internal figures the side must never let slip (costs, margins, budgets),
    # one per line: the over-sharing guard holds back any text holding one.
    sensitive_figures = models.TextField(blank=True)
    # The side's evidence marked internal only, as [title, detail] pairs: a
    # copy the evidence services keep, so that the over-sharing guard reads
    # it in the same statement as the rest (``walk_away_of``).
    internal_evidence = models.JSONField(default=list, blank=True, editable=False)
    # The side's opening ranges from its anchor worksheet, as [issue name,
    # low, high] (figures as strings) for each row with both ends: a copy the
    # anchor and agenda services keep, read by the guard with the rest.
    anchor_ranges = models.JSONField(default=list, blank=True, editable=False)
    # Counterparty map.
    their_constraints = models.TextField(blank=True)
    their_decision_path = models.TextField(blank=True)
    their_pressures = models.TextField(blank=True)
    their_success = models.TextField(blank=True)
    # How the other side communicates and decides, as this side reads it:
    # the coach's lines adapt to it. Private like the rest of the map.
    their_style = models.CharField(
        max_length=16,
        blank=True,
        choices=[("direct", "Direct"), ("high_context", "High-context")],
    )
    their_decisions = models.CharField(
        max_length=16,
        blank=True,
        choices=[
            ("hierarchical", "Hierarchical"),
            ("consensus", "By consensus"),
            ("individual", "One person decides"),
        ],
    )
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


def _score_validators() -> list:
    return [MinValueValidator(0), MaxValueValidator(SCORE_MAX)]


class Scoring(models.Model):
    """A side's private scoring of packages: how much each issue weighs, what
    each value of it is worth, and the lowest total the side would accept.

    A package's score is the weighted sum of its issues' values, 0–100. Like
    the walk-away point, it is private preparation: it reaches the other side
    only as the blind joint check's verdict, never as a figure.
    """

    party = models.OneToOneField(
        Party, on_delete=models.CASCADE, related_name="scoring"
    )
    reservation_score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_score_validators(),
        help_text="The lowest total score (0–100) of a package you would accept.",
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reservation_score__isnull=True)
                | (Q(reservation_score__gte=0) & Q(reservation_score__lte=SCORE_MAX)),
                name="scoring_reservation_in_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"Scoring of {self.party}"


class IssueScore(models.Model):
    """One issue of a side's scoring: its weight and what its values are worth.

    A numeric issue has a value function, ``points``: ``[["value", score], …]``
    sorted by value (the value as a decimal string, kept exact), scores 0–100,
    straight lines between them and flat beyond the ends. An option issue has
    ``ratings``: ``{option: score}``.
    """

    scoring = models.ForeignKey(
        Scoring, on_delete=models.CASCADE, related_name="issue_scores"
    )
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="scores")
    weight = models.PositiveSmallIntegerField(validators=_score_validators())
    points = models.JSONField(default=list, blank=True)
    ratings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["issue__position", "issue_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scoring", "issue"], name="issue_score_one_per_issue"
            ),
            models.CheckConstraint(
                condition=Q(weight__lte=SCORE_MAX), name="issue_score_weight_in_scale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue}: weight {self.weight}"

    def clean(self) -> None:
        if self.issue.kind == Issue.Kind.OPTIONS:
            problem = ratings_problem(self.ratings or {}, self.issue.options)
            field = "ratings"
            self.points = []
        else:
            problem = points_problem(self.points or [])
            field = "points"
            self.ratings = {}
        if problem:
            raise ValidationError({field: f"{self.issue.name}: {problem}"})


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
    # Evidence for the side's eyes only (its own cost model, a reference it
    # may not name): the over-sharing guard holds back a shared text that
    # repeats its wording or its figures.
    internal = models.BooleanField("internal only", default=False)
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
    kind = models.CharField(max_length=48, choices=EventKind)
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
