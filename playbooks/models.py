"""The method's content (stages, context playbooks, moves, templates, …) and
the plays each team adds for itself.

Content rows come from the versioned TOML files in ``playbooks/data/`` through
``playbooks.loader`` and are then editable by staff in the admin. Every content
row has a stable ``key`` (its identity across loads and the slug in its URL)
and remembers the digest of the file values it was last loaded from, so the
loader can tell a row staff edited from one that is merely out of date.

Other parts of Parley (the room's coach panel, the pitfall detectors) read
these models by ``key`` or by ``stage`` / ``context``; both use the values of
``Deal.Stage`` and ``Deal.Context``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse

from negotiation.models import Deal, EvidenceItem, Issue, Team

STAGE_CHOICES = Deal.Stage.choices
CONTEXT_CHOICES = Deal.Context.choices


def split_lines(text: str) -> list[str]:
    """The non-empty lines of a "one per line" text field."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class PlaybookContent(models.Model):
    """Fields every piece of loaded content shares."""

    key = models.SlugField(
        max_length=64,
        unique=True,
        help_text="Stable identifier: the data files and other features refer "
        "to this item by it. Changing it detaches the row from its data file.",
    )
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    # The data-file values this row was last loaded from (normalised, see
    # ``playbooks.loader``). Empty for rows staff created in the admin. A row
    # whose fields no longer match it was edited in the admin, and the loader
    # keeps it unless told to ``--force``.
    file_values = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The text fields a search looks through, in order of weight.
    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ("title",)
    # How a search result names the kind of item.
    KIND_LABEL: ClassVar[str] = ""
    # Prefix of the item's DOM id on its section page.
    ANCHOR_PREFIX: ClassVar[str] = ""

    class Meta:
        abstract = True
        ordering = ["position", "key"]

    def __str__(self) -> str:
        return self.title

    @property
    def anchor(self) -> str:
        """The DOM id of this item on its section page."""
        return f"{self.ANCHOR_PREFIX or self._meta.model_name}-{self.key}"

    def search_text(self) -> str:
        return "\n".join(str(getattr(self, name) or "") for name in self.SEARCH_FIELDS)


class Reference(PlaybookContent):
    """A published source the method draws on, cited by author and year."""

    authors = models.CharField(max_length=200)
    cite_as = models.CharField(
        max_length=120, help_text="Authors as cited inline, e.g. “Fisher & Ury”."
    )
    year = models.PositiveSmallIntegerField()
    source = models.CharField(
        max_length=200, blank=True, help_text="Publisher, or journal and issue."
    )
    note = models.TextField(
        blank=True, help_text="What Parley takes from it, in our own words."
    )

    SEARCH_FIELDS = ("title", "authors", "source", "note")
    KIND_LABEL = "Reference"
    ANCHOR_PREFIX = "ref"

    class Meta(PlaybookContent.Meta):
        pass

    def __str__(self) -> str:
        return self.short_citation

    def get_absolute_url(self) -> str:
        return reverse("playbooks:references") + f"#{self.anchor}"

    @property
    def short_citation(self) -> str:
        """Inline form, e.g. “Fisher & Ury, 2011”."""
        return f"{self.cite_as}, {self.year}"

    @property
    def citation(self) -> str:
        source = f" {self.source}." if self.source else ""
        title = self.title if self.title.endswith(("?", "!", ".")) else f"{self.title}."
        return f"{self.authors} ({self.year}). {title}{source}"


class Stage(PlaybookContent):
    """One of the five stages: its principle, why it works and what to do."""

    stage = models.CharField(max_length=16, choices=STAGE_CHOICES, unique=True)
    summary = models.CharField(max_length=240)
    principle = models.TextField()
    why_it_works = models.TextField()
    actions = models.TextField("what to do", help_text="One action per line.")
    say = models.TextField("what to say", help_text="One line to say per line.")
    signal = models.TextField("signal to adjust")
    safeguard = models.TextField()
    reference = models.ForeignKey(
        Reference, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    SEARCH_FIELDS = (
        "title",
        "summary",
        "principle",
        "why_it_works",
        "actions",
        "say",
        "signal",
        "safeguard",
    )
    KIND_LABEL = "Stage"
    ANCHOR_PREFIX = "stage"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:stage-detail", args=[self.key])

    @property
    def number(self) -> int:
        return list(Deal.Stage.values).index(self.stage) + 1

    @property
    def action_list(self) -> list[str]:
        return split_lines(self.actions)

    @property
    def say_list(self) -> list[str]:
        return split_lines(self.say)


class ContextPlaybook(PlaybookContent):
    """What to say in each phase of a negotiation in one business context."""

    context = models.CharField(max_length=16, choices=CONTEXT_CHOICES, unique=True)
    summary = models.CharField(max_length=240)
    focus = models.TextField(help_text="Where collaboration pays in this context.")
    discovery = models.TextField(help_text="Lines to say, one per line.")
    value_framing = models.TextField(help_text="Lines to say, one per line.")
    proposal = models.TextField(help_text="Lines to say, one per line.")
    objections = models.TextField(help_text="Lines to say, one per line.")
    close = models.TextField(help_text="Lines to say, one per line.")
    dialogue_title = models.CharField(max_length=160, blank=True)
    dialogue = models.TextField(
        blank=True, help_text="A short worked dialogue: “Speaker: line”, one per line."
    )

    PHASES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("discovery", "Discovery"),
        ("value_framing", "Value framing"),
        ("proposal", "Proposal"),
        ("objections", "Objections"),
        ("close", "Close"),
    )
    SEARCH_FIELDS = (
        "title",
        "summary",
        "focus",
        "discovery",
        "value_framing",
        "proposal",
        "objections",
        "close",
        "dialogue",
    )
    KIND_LABEL = "Context playbook"
    ANCHOR_PREFIX = "context"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:context-detail", args=[self.key])

    @property
    def phases(self) -> list[tuple[str, list[str]]]:
        """(label, lines) for discovery, value framing, proposal, objections, close."""
        return [
            (label, split_lines(getattr(self, name))) for name, label in self.PHASES
        ]

    @property
    def dialogue_lines(self) -> list[tuple[str, str]]:
        """(speaker, line) pairs; a line without "Speaker:" has no speaker."""
        pairs = []
        for line in split_lines(self.dialogue):
            speaker, sep, said = line.partition(":")
            pairs.append((speaker.strip(), said.strip()) if sep else ("", line))
        return pairs


class Move(PlaybookContent):
    """A move of the method: when to use it, what to say, when to change course."""

    stage = models.CharField(max_length=16, choices=STAGE_CHOICES)
    when_to_use = models.CharField(max_length=240)
    what_to_say = models.TextField()
    signal = models.TextField("signal to adjust or stop")
    risk = models.TextField()
    safeguard = models.TextField()
    body = models.TextField(blank=True, help_text="Why the move works, in brief.")

    SEARCH_FIELDS = (
        "title",
        "when_to_use",
        "what_to_say",
        "signal",
        "risk",
        "safeguard",
        "body",
    )
    KIND_LABEL = "Move"
    ANCHOR_PREFIX = "move"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:move-detail", args=[self.key])


class PhraseTemplate(PlaybookContent):
    """A sentence with [blanks], filled from a deal's issues by
    ``playbooks.templating.fill_template``."""

    text = models.TextField(help_text="Blanks in square brackets, e.g. [issue].")
    stage = models.CharField(max_length=16, choices=STAGE_CHOICES, blank=True)
    guidance = models.TextField(blank=True, help_text="When and how to use it.")

    SEARCH_FIELDS = ("title", "text", "guidance")
    KIND_LABEL = "Template"
    ANCHOR_PREFIX = "template"

    class Meta(PlaybookContent.Meta):
        verbose_name = "fill-in template"

    def get_absolute_url(self) -> str:
        return reverse("playbooks:templates") + f"#{self.anchor}"


class ChecklistItem(PlaybookContent):
    class Kind(models.TextChoices):
        DO = "do", "Do"
        AVOID = "avoid", "Avoid"

    kind = models.CharField(max_length=8, choices=Kind)
    body = models.TextField(blank=True)
    reference = models.ForeignKey(
        Reference, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    SEARCH_FIELDS = ("title", "body")
    KIND_LABEL = "Checklist"
    ANCHOR_PREFIX = "check"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:checklist") + f"#{self.anchor}"


class FaqEntry(PlaybookContent):
    """A frequent question (``title``) and its answer."""

    body = models.TextField("answer")
    reference = models.ForeignKey(
        Reference, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    SEARCH_FIELDS = ("title", "body")
    KIND_LABEL = "FAQ"
    ANCHOR_PREFIX = "faq"

    class Meta(PlaybookContent.Meta):
        verbose_name = "FAQ entry"
        verbose_name_plural = "FAQ entries"

    def get_absolute_url(self) -> str:
        return reverse("playbooks:faq") + f"#{self.anchor}"


class CultureNote(PlaybookContent):
    """Cultural styles, ethics, and moves that keep the relationship safe."""

    class Kind(models.TextChoices):
        CULTURE = "culture", "Culture"
        RELATIONSHIP = "relationship", "Relationship-safe move"
        ETHICS = "ethics", "Ethics"

    kind = models.CharField(max_length=16, choices=Kind)
    body = models.TextField()
    say = models.TextField("what to say", blank=True)

    SEARCH_FIELDS = ("title", "body", "say")
    KIND_LABEL = "Culture & relationship"
    ANCHOR_PREFIX = "note"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:culture") + f"#{self.anchor}"


class Pitfall(PlaybookContent):
    """A common mistake, why it backfires and what to do instead.

    ``key`` is what the room's pitfall detectors refer to.
    """

    why_it_backfires = models.TextField()
    corrective_action = models.TextField()
    stage = models.CharField(
        max_length=16,
        choices=STAGE_CHOICES,
        blank=True,
        help_text="The stage where it usually shows up.",
    )
    warning_signs = models.TextField(
        blank=True, help_text="How it shows up in a room, one sign per line."
    )

    SEARCH_FIELDS = ("title", "why_it_backfires", "corrective_action", "warning_signs")
    KIND_LABEL = "Pitfall"
    ANCHOR_PREFIX = "pitfall"

    class Meta(PlaybookContent.Meta):
        pass

    def get_absolute_url(self) -> str:
        return reverse("playbooks:pitfalls") + f"#{self.anchor}"

    @property
    def warning_sign_list(self) -> list[str]:
        return split_lines(self.warning_signs)


class TradeableItem(PlaybookContent):
    """An entry of the tradeables library (``title`` is its name).

    ``playbooks.tradeables.library()`` reads these rows, so staff edits reach
    the suggestions on the issue-mapping page.
    """

    body = models.TextField("description", blank=True)
    kind = models.CharField(max_length=16, choices=Issue.Kind.choices)
    unit = models.CharField(max_length=24, blank=True)
    range_min = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    range_max = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    options = models.JSONField(default=list, blank=True)
    contexts = models.JSONField(
        default=list, blank=True, help_text="Deal contexts it suits best."
    )

    SEARCH_FIELDS = ("title", "body")
    KIND_LABEL = "Tradeable"
    ANCHOR_PREFIX = "tradeable"

    class Meta(PlaybookContent.Meta):
        verbose_name = "tradeable"

    def get_absolute_url(self) -> str:
        return reverse("playbooks:tradeables") + f"#{self.anchor}"

    @property
    def context_labels(self) -> list[str]:
        labels = dict(CONTEXT_CHOICES)
        return [labels.get(context, context) for context in self.contexts]


class ScenarioCard(PlaybookContent):
    """A real-world example, and the practice deal a rep can open from it.

    ``practice`` describes that deal: its facts, its issues and each side's
    preparation (see ``practice_spec_errors`` for the shape).
    """

    context = models.CharField(max_length=16, choices=CONTEXT_CHOICES)
    summary = models.CharField(max_length=240)
    situation = models.TextField()
    opening_move = models.TextField("move")
    reaction = models.TextField()
    resolution = models.TextField()
    safeguard = models.TextField()
    lesson = models.TextField(blank=True)
    practice = models.JSONField(default=dict, blank=True)

    SEARCH_FIELDS = (
        "title",
        "summary",
        "situation",
        "opening_move",
        "reaction",
        "resolution",
        "safeguard",
        "lesson",
    )
    KIND_LABEL = "Scenario"
    ANCHOR_PREFIX = "scenario"

    class Meta(PlaybookContent.Meta):
        verbose_name = "scenario card"

    def get_absolute_url(self) -> str:
        return reverse("playbooks:scenario-detail", args=[self.key])

    def clean(self) -> None:
        errors = practice_spec_errors(self.practice)
        if errors:
            raise ValidationError({"practice": errors})

    @property
    def practice_title(self) -> str:
        return f"Practice: {self.title}"[: Deal._meta.get_field("title").max_length]

    @property
    def practice_issue_names(self) -> list[str]:
        return [issue.get("name", "") for issue in self.practice.get("issues", [])]


PRACTICE_SIDE_SECTIONS = ("walkaway", "counterparty", "readiness")
_PRACTICE_ISSUE_KEYS = {
    "name",
    "description",
    "kind",
    "unit",
    "range_min",
    "range_max",
    "options",
    "flexibility",
}
_PRACTICE_SIDE_KEYS = {
    "batna",
    "reservation_point",
    "reservation_value",
    "target_outcome",
    "their_constraints",
    "their_decision_path",
    "their_pressures",
    "their_success",
    "readiness_notes",
    "priorities",
    "anchors",
    "evidence",
}


def practice_spec_errors(spec: Any) -> list[str]:
    """What is wrong with a scenario's ``practice`` description, if anything.

    Checks the shape only (keys, types, references between issues and matrix
    rows); the deal services validate the values themselves when a practice
    deal is opened.
    """
    if not spec:
        return []
    if not isinstance(spec, dict):
        return ["The practice deal must be an object."]
    errors = []
    if not str(spec.get("counterpart_organisation", "")).strip():
        errors.append("Name the counterpart organisation.")
    issues = spec.get("issues", [])
    if not isinstance(issues, list) or not issues:
        return [*errors, "List at least one issue."]
    names = set()
    for index, issue in enumerate(issues, start=1):
        if not isinstance(issue, dict) or not str(issue.get("name", "")).strip():
            errors.append(f"Issue {index} needs a name.")
            continue
        unknown = set(issue) - _PRACTICE_ISSUE_KEYS
        if unknown:
            errors.append(
                f"Issue {index} has unknown keys: {', '.join(sorted(unknown))}."
            )
        names.add(issue["name"].strip().lower())
    for side in ("host", "counterpart"):
        prep = spec.get(side, {})
        if not isinstance(prep, dict):
            errors.append(f"The {side} preparation must be an object.")
            continue
        unknown = set(prep) - _PRACTICE_SIDE_KEYS
        if unknown:
            listed = ", ".join(sorted(unknown))
            errors.append(f"The {side} preparation has unknown keys: {listed}.")
        for row_kind in ("priorities", "anchors"):
            for row in prep.get(row_kind, []):
                issue_name = str(row.get("issue", "")).strip().lower()
                if issue_name not in names:
                    errors.append(
                        f"A {side} {row_kind} row names an issue that is not on "
                        f"the agenda: {row.get('issue', '')!r}."
                    )
        evidence_kinds = set(EvidenceItem.Kind.values)
        for row in prep.get("evidence", []):
            if row.get("kind", EvidenceItem.Kind.BENCHMARK) not in evidence_kinds:
                errors.append(f"Unknown evidence kind {row.get('kind')!r}.")
    return errors


class ContentFile(models.Model):
    """Which version of each data file the database holds."""

    name = models.CharField(max_length=64, unique=True)
    version = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class TeamPlayQuerySet(models.QuerySet["TeamPlay"]):
    def visible_to(self, user) -> TeamPlayQuerySet:
        """Plays of the teams the user belongs to; nothing for anyone else."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(team__memberships__user=user)


class TeamPlay(models.Model):
    """A play a team wrote for itself: seen by that team's members only."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="plays")
    title = models.CharField(max_length=160)
    context = models.CharField(
        max_length=16,
        choices=CONTEXT_CHOICES,
        blank=True,
        help_text="Leave empty if it fits every context.",
    )
    stage = models.CharField(
        max_length=16,
        choices=STAGE_CHOICES,
        blank=True,
        help_text="Leave empty if it fits every stage.",
    )
    body = models.TextField(
        help_text="What to do or say, and when it worked for you.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team_plays",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamPlayQuerySet.as_manager()

    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ("title", "body")
    KIND_LABEL: ClassVar[str] = "Team play"

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["team", "stage"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""), name="team_play_title_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("playbooks:team-detail", args=[self.pk])

    def search_text(self) -> str:
        return f"{self.title}\n{self.body}"
