"""Load the playbook content from ``playbooks/data/*.toml`` into the database.

Used by the ``load_playbooks`` management command and by the data migration,
which passes its historical app registry: this module therefore reaches models
only through ``apps.get_model`` and sets only the fields the (possibly older)
model has.

Rules, per row (identified by its ``key``):

- a key new to the database is created;
- a row still equal to what was last loaded into it is updated when the file
  changed, and left alone (``updated_at`` untouched) when it did not;
- a row staff edited in the admin since (or created there) is kept as it is,
  unless ``force`` is given;
- a loaded, unedited row whose key left the file is deleted.

A file whose bytes (and the model's fields) are unchanged since the last load
is skipped altogether, so staff deletions stick until the file changes.
Loading twice therefore changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.utils import timezone

DATA_DIR = Path(__file__).parent / "data"
APP_LABEL = "playbooks"


class ContentError(Exception):
    """A data file is malformed; nothing was written."""


@dataclass(frozen=True)
class ContentKind:
    model: str
    file: str
    # The TOML array of tables holding the items, e.g. "stage" for [[stage]].
    table: str
    # Model fields filled from the file (besides key and position).
    fields: tuple[str, ...]
    # TOML key → model field, where they differ.
    renames: Mapping[str, str] = field(default_factory=dict)
    # Extra check of one item's values: returns error messages.
    check: Callable[[dict[str, Any]], list[str]] | None = None


def _check_practice(values: dict[str, Any]) -> list[str]:
    from playbooks.models import practice_spec_errors

    return practice_spec_errors(values.get("practice"))


# In load order: rows that others point to come first.
KINDS: tuple[ContentKind, ...] = (
    ContentKind(
        "Reference",
        "references.toml",
        "reference",
        ("title", "authors", "cite_as", "year", "source", "note"),
    ),
    ContentKind(
        "Stage",
        "stages.toml",
        "stage",
        (
            "title",
            "stage",
            "summary",
            "principle",
            "why_it_works",
            "actions",
            "say",
            "signal",
            "safeguard",
            "reference",
        ),
    ),
    ContentKind(
        "ContextPlaybook",
        "contexts.toml",
        "playbook",
        (
            "title",
            "context",
            "summary",
            "focus",
            "discovery",
            "value_framing",
            "proposal",
            "objections",
            "close",
            "dialogue_title",
            "dialogue",
        ),
    ),
    ContentKind(
        "Move",
        "moves.toml",
        "move",
        (
            "title",
            "stage",
            "when_to_use",
            "what_to_say",
            "signal",
            "risk",
            "safeguard",
            "body",
        ),
    ),
    ContentKind(
        "PhraseTemplate",
        "templates.toml",
        "template",
        ("title", "text", "stage", "guidance"),
    ),
    ContentKind(
        "ChecklistItem",
        "checklist.toml",
        "item",
        ("title", "kind", "body", "reference"),
    ),
    ContentKind("FaqEntry", "faq.toml", "faq", ("title", "body", "reference")),
    ContentKind(
        "CultureNote", "culture.toml", "note", ("title", "kind", "body", "say")
    ),
    ContentKind(
        "Pitfall",
        "pitfalls.toml",
        "pitfall",
        ("title", "why_it_backfires", "corrective_action", "stage", "warning_signs"),
    ),
    ContentKind(
        "TradeableItem",
        "tradeables.toml",
        "tradeable",
        (
            "title",
            "body",
            "kind",
            "unit",
            "range_min",
            "range_max",
            "options",
            "contexts",
        ),
        renames={"name": "title", "description": "body"},
    ),
    ContentKind(
        "ScenarioCard",
        "scenarios.toml",
        "scenario",
        (
            "title",
            "context",
            "summary",
            "situation",
            "opening_move",
            "reaction",
            "resolution",
            "safeguard",
            "lesson",
            "practice",
        ),
        check=_check_practice,
    ),
)


@dataclass
class LoadReport:
    """What a load did, per model: created, updated, unchanged, kept, deleted."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    skipped_files: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def count(self, model: str, outcome: str) -> None:
        self.counts.setdefault(model, Counter())[outcome] += 1

    @property
    def changed(self) -> bool:
        return any(
            counter[outcome]
            for counter in self.counts.values()
            for outcome in ("created", "updated", "deleted")
        )

    def lines(self) -> list[str]:
        out = []
        if self.skipped_files:
            names = ", ".join(self.skipped_files)
            out.append(f"unchanged since the last load: {names}")
        for model, counter in self.counts.items():
            parts = ", ".join(
                f"{n} {outcome}" for outcome, n in sorted(counter.items())
            )
            out.append(f"{model}: {parts}")
        out.extend(
            f"kept (edited in the admin; use --force to overwrite): {label}"
            for label in self.kept
        )
        return out


def load_content(
    *,
    apps=global_apps,
    force: bool = False,
    data_dir: Path = DATA_DIR,
    kinds: Iterable[ContentKind] = KINDS,
) -> LoadReport:
    """Bring the database in line with the data files (see the module doc)."""
    report = LoadReport()
    with transaction.atomic():
        for kind in kinds:
            _load_kind(apps, kind, data_dir, force, report)
    return report


def _load_kind(
    apps, kind: ContentKind, data_dir: Path, force: bool, report: LoadReport
) -> None:
    model = apps.get_model(APP_LABEL, kind.model)
    content_file = apps.get_model(APP_LABEL, "ContentFile")
    path = data_dir / kind.file
    raw_bytes = path.read_bytes()
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{kind.file}: {error}") from error
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ContentError(f"{kind.file}: needs a top-level integer `version` ≥ 1.")
    fields = [name for name in kind.fields if _has_field(model, name)]
    # The model's fields are part of the digest: a schema that gained a field
    # must load the file again even if its bytes did not change.
    digest = hashlib.sha256(
        raw_bytes + b"\0" + ",".join(sorted(fields)).encode()
    ).hexdigest()
    recorded = content_file.objects.filter(name=kind.file).first()
    if (
        not force
        and recorded is not None
        and (recorded.digest, recorded.version) == (digest, version)
    ):
        report.skipped_files.append(kind.file)
        return
    items = _file_items(kind, data, fields, model)
    _merge(apps, model, kind, fields, items, force, report)
    if recorded is None or (recorded.digest, recorded.version) != (digest, version):
        content_file.objects.update_or_create(
            name=kind.file,
            defaults={
                "version": version,
                "digest": digest,
                "loaded_at": timezone.now(),
            },
        )


def _has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def _file_items(
    kind: ContentKind, data: dict[str, Any], fields: list[str], model
) -> dict[str, dict[str, Any]]:
    """key → normalised values of every item of the file, in file order."""
    raw_items = data.get(kind.table)
    if not isinstance(raw_items, list) or not raw_items:
        raise ContentError(f"{kind.file}: no [[{kind.table}]] items.")
    unknown_top = set(data) - {"version", kind.table}
    if unknown_top:
        raise ContentError(f"{kind.file}: unknown keys {sorted(unknown_top)}.")
    known = set(kind.fields)
    items: dict[str, dict[str, Any]] = {}
    for position, raw in enumerate(raw_items):
        key = raw.get("key")
        if not key or not isinstance(key, str):
            raise ContentError(f"{kind.file}: item {position + 1} has no key.")
        if key in items:
            raise ContentError(f"{kind.file}: key {key!r} appears twice.")
        renamed = {kind.renames.get(name, name): value for name, value in raw.items()}
        unknown = set(renamed) - known - {"key"}
        if unknown:
            raise ContentError(f"{kind.file}: {key}: unknown keys {sorted(unknown)}.")
        values = {"position": position}
        for name in fields:
            model_field = model._meta.get_field(name)
            value = renamed.get(name, _file_default(model_field))
            values[name] = normalise(model_field, value)
        if kind.check is not None and (errors := kind.check(values)):
            raise ContentError(f"{kind.file}: {key}: {' '.join(errors)}")
        items[key] = values
    return items


def _file_default(model_field: models.Field) -> Any:
    if model_field.is_relation or model_field.null:
        return None
    return model_field.get_default()


def normalise(model_field: models.Field, value: Any) -> Any:
    """A field's value in the comparable, JSON-safe form kept in ``source``.

    Foreign keys are named by the target's ``key``; decimals are strings
    without trailing zeros; text has ``\\n`` line ends and no outer blanks (the
    admin's textareas send ``\\r\\n``); a list given for a text field is joined
    one item per line.
    """
    if value is None:
        return None
    internal = model_field.get_internal_type()
    if model_field.is_relation:
        return value if isinstance(value, str) else value.key
    if internal == "DecimalField":
        return format(Decimal(str(value)).normalize(), "f")
    if internal == "JSONField":
        return json.loads(json.dumps(value, default=str))
    if internal.endswith("IntegerField"):
        return int(value)
    if isinstance(value, list | tuple):
        value = "\n".join(str(item) for item in value)
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def current_values(row: models.Model, names: Iterable[str]) -> dict[str, Any]:
    """The row's values for ``names``, normalised like the file's."""
    values = {}
    for name in names:
        if name == "position":
            values[name] = row.position
            continue
        if not _has_field(type(row), name):
            continue
        model_field = row._meta.get_field(name)
        value = getattr(row, name)
        values[name] = normalise(model_field, value)
    return values


def is_edited(row: models.Model) -> bool:
    """True if the row was made or changed in the admin since its last load."""
    source = row.file_values or {}
    if not source:
        return True
    current = current_values(row, source)
    # Fields a later schema dropped cannot have been edited.
    return current != {name: source[name] for name in current}


def _merge(
    apps,
    model,
    kind: ContentKind,
    fields: list[str],
    items: dict[str, dict[str, Any]],
    force: bool,
    report: LoadReport,
) -> None:
    relations = [name for name in fields if model._meta.get_field(name).is_relation]
    rows = model.objects.select_related(*relations) if relations else model.objects
    existing = {row.key: row for row in rows.all()}
    targets = _relation_targets(model, relations)
    for key, values in items.items():
        row = existing.get(key)
        if row is None:
            row = model(key=key)
            outcome = "created"
        else:
            edited = is_edited(row)
            if not edited and row.file_values == values:
                report.count(kind.model, "unchanged")
                continue
            if edited and not force:
                report.count(kind.model, "kept")
                report.kept.append(f"{kind.model} {key}")
                continue
            outcome = "updated"
        _assign(row, values, targets)
        row.file_values = values
        try:
            row.full_clean()
        except ValidationError as error:
            raise ContentError(f"{kind.file}: {key}: {error.messages}") from error
        row.save()
        report.count(kind.model, outcome)
    for key, row in existing.items():
        if key in items:
            continue
        if row.file_values and (force or not is_edited(row)):
            row.delete()
            report.count(kind.model, "deleted")


def _relation_targets(model, relations: list[str]) -> dict[str, dict[str, Any]]:
    """For each foreign key, the target rows by key."""
    targets = {}
    for name in relations:
        target_model = model._meta.get_field(name).related_model
        targets[name] = {row.key: row for row in target_model.objects.all()}
    return targets


def _assign(
    row: models.Model, values: dict[str, Any], targets: dict[str, dict[str, Any]]
) -> None:
    for name, value in values.items():
        if name in targets:
            if value is not None and value not in targets[name]:
                raise ContentError(f"{row.key}: no {name} with key {value!r}.")
            setattr(row, name, targets[name].get(value) if value else None)
        elif value is not None and row._meta.get_field(name).get_internal_type() == (
            "DecimalField"
        ):
            setattr(row, name, Decimal(value))
        else:
            setattr(row, name, value)
