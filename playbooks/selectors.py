"""Reads of the playbooks app: what each page shows, search, and the coaching
for one stage that the room's coach panel can reuse."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from common import outage
from negotiation.models import Deal
from playbooks.models import (
    ChecklistItem,
    ContextPlaybook,
    CultureNote,
    FaqEntry,
    Move,
    PhraseTemplate,
    Pitfall,
    Reference,
    ScenarioCard,
    Stage,
    TeamPlay,
    TradeableItem,
)

Viewer = AbstractBaseUser | AnonymousUser


# --- Sections ---------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A reference page listing every item of one kind."""

    slug: str
    title: str
    blurb: str
    model: type[Model]
    template: str

    @property
    def url(self) -> str:
        return reverse(f"playbooks:{self.slug}")

    def items(self) -> QuerySet:
        queryset = self.model.objects.all()
        if self.model in (ChecklistItem, FaqEntry):
            queryset = queryset.select_related("reference")
        return queryset


SECTIONS: dict[str, Section] = {
    section.slug: section
    for section in (
        Section(
            "templates",
            "Fill-in templates",
            "Sentences with blanks that fill themselves from a deal's issues.",
            PhraseTemplate,
            "playbooks/templates.html",
        ),
        Section(
            "pitfalls",
            "Pitfalls",
            "Common mistakes, why they backfire and what to do instead.",
            Pitfall,
            "playbooks/pitfalls.html",
        ),
        Section(
            "checklist",
            "Do and avoid",
            "The short checklist to read before every session.",
            ChecklistItem,
            "playbooks/checklist.html",
        ),
        Section(
            "faq",
            "Questions",
            "Competitive counterparts, disclosure, speed.",
            FaqEntry,
            "playbooks/faq.html",
        ),
        Section(
            "culture",
            "Culture and relationship",
            "Communication styles, power distance, ethics, and moves that keep "
            "the relationship safe.",
            CultureNote,
            "playbooks/culture.html",
        ),
        Section(
            "tradeables",
            "Tradeables library",
            "Deal dimensions that are often worth trading.",
            TradeableItem,
            "playbooks/tradeables.html",
        ),
        Section(
            "scenarios",
            "Practice scenarios",
            "Real-world examples you can open as a practice deal.",
            ScenarioCard,
            "playbooks/scenario_list.html",
        ),
        Section(
            "references",
            "References",
            "The research the method draws on.",
            Reference,
            "playbooks/references.html",
        ),
    )
}


# --- Index ------------------------------------------------------------------


@dataclass
class Overview:
    stages: list[Stage]
    contexts: list[ContextPlaybook]
    moves: list[Move]
    scenarios: list[ScenarioCard]
    sections: list[tuple[Section, int]]
    team_plays: list[TeamPlay]


def overview(user: Viewer) -> Overview:
    """Everything the playbooks index shows."""
    return Overview(
        stages=list(Stage.objects.all()),
        contexts=list(ContextPlaybook.objects.all()),
        moves=list(Move.objects.all()),
        scenarios=list(ScenarioCard.objects.all()),
        sections=[
            (section, section.model.objects.count())
            for section in SECTIONS.values()
            if section.slug != "scenarios"
        ],
        team_plays=list(team_plays_for(user)),
    )


def team_plays_for(
    user: Viewer, *, stage: str | None = None, context: str | None = None
) -> QuerySet[TeamPlay]:
    """The plays of the user's teams, optionally for one stage or context."""
    plays = TeamPlay.objects.visible_to(user).select_related("team", "created_by")
    if stage:
        plays = plays.filter(stage=stage)
    if context:
        plays = plays.filter(context=context)
    return plays


def team_play_for(user: Viewer, play_id: int) -> TeamPlay:
    """One play of the user's teams, or 404 (other teams never learn it exists)."""
    play = team_plays_for(user).filter(pk=play_id).first()
    if play is None:
        raise Http404("No such play.")
    return play


# --- Stages, contexts, moves ------------------------------------------------


@dataclass
class StageCoaching:
    """One stage with the content that belongs to it: what the stage page
    shows, and what the room's coach panel needs for the deal's stage."""

    stage: Stage
    moves: list[Move]
    templates: list[PhraseTemplate]
    pitfalls: list[Pitfall]
    previous: Stage | None = None
    next: Stage | None = None
    team_plays: list[TeamPlay] = field(default_factory=list)


def stage_coaching(stage: str) -> StageCoaching | None:
    """The coaching for a ``Deal.Stage`` value, or None if it is not loaded.

    Each call gets a StageCoaching of its own (a page adds the viewer's team
    plays to it); the content rows in it are the process's kept copies
    (``kept_content``), which nothing may change."""
    coaching = kept_content(("stage", stage), lambda: _stage_coaching(stage))
    return None if coaching is None else replace(coaching, team_plays=[])


def _stage_coaching(stage: str) -> StageCoaching | None:
    stages = list(Stage.objects.select_related("reference"))
    ordered = sorted(stages, key=lambda row: row.number)
    current = next((row for row in ordered if row.stage == stage), None)
    if current is None:
        return None
    index = ordered.index(current)
    return StageCoaching(
        stage=current,
        moves=list(Move.objects.filter(stage=stage)),
        templates=list(PhraseTemplate.objects.filter(stage=stage)),
        pitfalls=list(Pitfall.objects.filter(stage=stage)),
        previous=ordered[index - 1] if index > 0 else None,
        next=ordered[index + 1] if index + 1 < len(ordered) else None,
    )


def context_playbook(context: str) -> ContextPlaybook | None:
    """The playbook of a ``Deal.Context`` value (the process's kept copy)."""
    return kept_content(
        ("context", context),
        lambda: ContextPlaybook.objects.filter(context=context).first(),
    )


# --- Content kept per process ------------------------------------------------
#
# The room's coach panel shows the stage's playbook content on every render
# (a page load, a reconnect's catch-up, each change to a side's coaching): five
# of the nine statements it made, for content that changes only when it is
# loaded or edited in the admin. Each process keeps what it read, under the
# content's version in the shared cache (Redis when deployed); any save or
# delete of playbook content gives it a new version once committed
# (``content_changed``, wired in ``PlaybooksConfig.ready``), so every process
# reads it again on its next use.
#
# Measured with ``bench/room_render.py --runs 30`` on PostgreSQL, three pairs
# back to back, before (178ca14) and after: the room page makes 38 → 33
# statements (empty room) and 40 → 35 (500 events); the worst pair's median
# page time is 94 → 81 ms (empty) and 125 → 99 ms (500 events). A catch-up's
# presence and coach regions: 16–23 → 10–14 ms (a scratch loop of 200 renders
# for a rep in Midgame, three rounds).

CONTENT_VERSION_KEY = "playbooks:content-version"
# A version lasts this long at most, so a change whose new version never
# reached the shared cache (saved while Redis was down) shows within it.
CONTENT_VERSION_SECONDS = 300
_kept: dict[tuple[str, str], tuple[str, Any]] = {}


def _content_version() -> str | None:
    """The version of the playbook content, or None if the shared cache
    cannot be reached (the caller then reads the database)."""
    try:
        return cache.get_or_set(
            CONTENT_VERSION_KEY,
            lambda: uuid.uuid4().hex,
            timeout=CONTENT_VERSION_SECONDS,
        )
    except Exception as error:
        if not outage.is_connection_error(error):
            raise
        outage.redis.failed(error, "reading the playbooks' content version")
        return None


def kept_content[T](key: tuple[str, str], load: Callable[[], T]) -> T:
    """``load()``'s result, read once per process and content version."""
    version = _content_version()
    if version is None:
        return load()
    kept = _kept.get(key)
    if kept is not None and kept[0] == version:
        return kept[1]
    value = load()
    _kept[key] = (version, value)
    return value


def forget_kept() -> None:
    """This process reads the content again on its next use."""
    _kept.clear()


def content_changed() -> None:
    """Playbook content was saved or deleted, and committed: every process
    reads it again."""
    try:
        cache.set(
            CONTENT_VERSION_KEY, uuid.uuid4().hex, timeout=CONTENT_VERSION_SECONDS
        )
    except Exception as error:
        if not outage.is_connection_error(error):
            raise
        outage.redis.failed(error, "renewing the playbooks' content version")
    _kept.clear()


def stage_page(key: str, user: Viewer) -> StageCoaching:
    row = Stage.objects.filter(key=key).only("stage").first()
    coaching = stage_coaching(row.stage) if row else None
    if coaching is None:
        raise Http404("No such stage.")
    coaching.team_plays = list(team_plays_for(user, stage=coaching.stage.stage))
    return coaching


@dataclass
class ContextPage:
    playbook: ContextPlaybook
    scenarios: list[ScenarioCard]
    tradeables: list[TradeableItem]
    team_plays: list[TeamPlay]


def context_page(key: str, user: Viewer) -> ContextPage:
    playbook = ContextPlaybook.objects.filter(key=key).first()
    if playbook is None:
        raise Http404("No such playbook.")
    return ContextPage(
        playbook=playbook,
        scenarios=list(ScenarioCard.objects.filter(context=playbook.context)),
        # JSON "contains" is not portable to SQLite; the library is small.
        tradeables=[
            item
            for item in TradeableItem.objects.all()
            if playbook.context in (item.contexts or [])
        ],
        team_plays=list(team_plays_for(user, context=playbook.context)),
    )


@dataclass
class MovePage:
    move: Move
    stage: Stage | None
    templates: list[PhraseTemplate]
    other_moves: list[Move]


def move_page(key: str) -> MovePage:
    moves = list(Move.objects.all())
    move = next((row for row in moves if row.key == key), None)
    if move is None:
        raise Http404("No such move.")
    return MovePage(
        move=move,
        stage=Stage.objects.filter(stage=move.stage).first(),
        templates=list(PhraseTemplate.objects.filter(stage=move.stage)),
        other_moves=[row for row in moves if row.pk != move.pk],
    )


def scenario_for(key: str) -> ScenarioCard:
    scenario = ScenarioCard.objects.filter(key=key).first()
    if scenario is None:
        raise Http404("No such scenario.")
    return scenario


def practice_deals_of(user: Viewer, scenario: ScenarioCard) -> QuerySet[Deal]:
    """The user's own deals opened from this scenario card, newest first."""
    if not user.is_authenticated:
        return Deal.objects.none()
    return Deal.objects.filter(owner=user, title=scenario.practice_title).order_by(
        "-created_at"
    )


# --- Search -----------------------------------------------------------------

SEARCHABLE: tuple[type[Model], ...] = (
    Stage,
    ContextPlaybook,
    Move,
    ScenarioCard,
    PhraseTemplate,
    Pitfall,
    ChecklistItem,
    FaqEntry,
    CultureNote,
    TradeableItem,
    Reference,
)
MAX_QUERY_CHARS = 200
MAX_TERMS = 8
MAX_HITS_PER_KIND = 25
SNIPPET_CHARS = 200
WORD = re.compile(r"[\w'’-]+")


@dataclass(frozen=True)
class SearchHit:
    kind: str
    title: str
    url: str
    # The snippet cut into (text, is_match) parts, for highlighting.
    snippet: list[tuple[str, bool]]
    score: int


def search_terms(query: str) -> list[str]:
    """The words of a query worth matching (at most ``MAX_TERMS``)."""
    words = [word.strip("'’-") for word in WORD.findall(query)]
    unique = list(dict.fromkeys(word for word in words if len(word) > 1))
    return unique[:MAX_TERMS]


def search(query: str, user: Viewer) -> list[SearchHit]:
    """Items of every kind whose text contains all words of ``query``
    (case-insensitive), plus the user's team plays; on PostgreSQL also
    items that match the query under full-text search (stemmed, so "trading"
    finds "trade"). Title matches first."""
    terms = search_terms(query)
    if not terms:
        return []
    hits: list[SearchHit] = []
    for model in SEARCHABLE:
        hits.extend(_hits(model.objects.all(), model, query, terms))
    hits.extend(_hits(TeamPlay.objects.visible_to(user), TeamPlay, query, terms))
    kind_order = {model.KIND_LABEL: index for index, model in enumerate(SEARCHABLE)}
    hits.sort(key=lambda hit: (-hit.score, kind_order.get(hit.kind, 99)))
    return hits


def _hits(
    queryset: QuerySet, model: type[Model], query: str, terms: list[str]
) -> list[SearchHit]:
    fields = model.SEARCH_FIELDS
    every_term = Q()
    for term in terms:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": term})
        every_term &= any_field
    condition = every_term
    if connections[queryset.db].vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        queryset = queryset.annotate(
            search_vector=SearchVector(*fields, config="english")
        )
        condition |= Q(
            search_vector=SearchQuery(query, config="english", search_type="websearch")
        )
    rows = queryset.filter(condition)[:MAX_HITS_PER_KIND]
    return [_hit(row, terms) for row in rows]


def _hit(row, terms: list[str]) -> SearchHit:
    title = row.title.lower()
    text = row.search_text()
    lowered = text.lower()
    score = sum(3 for term in terms if term.lower() in title) + sum(
        1 for term in terms if term.lower() in lowered
    )
    return SearchHit(
        kind=row.KIND_LABEL,
        title=row.title,
        url=row.get_absolute_url(),
        snippet=snippet(text[len(row.title) :].strip() or text, terms),
        score=score,
    )


def snippet(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """About ``SNIPPET_CHARS`` of ``text`` around the first match of a term,
    cut into (text, is_match) parts."""
    flat = " ".join(text.split())
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
    first = pattern.search(flat)
    start = 0
    if first and first.start() > SNIPPET_CHARS // 3:
        start = flat.rfind(" ", 0, first.start() - SNIPPET_CHARS // 3) + 1
    end = start + SNIPPET_CHARS
    if end < len(flat):
        end = flat.rfind(" ", start, end) if " " in flat[start:end] else end
    window = flat[start:end]
    prefix, suffix = ("… " if start > 0 else ""), (" …" if end < len(flat) else "")
    parts: list[tuple[str, bool]] = [(prefix, False)] if prefix else []
    position = 0
    for match in pattern.finditer(window):
        if match.start() > position:
            parts.append((window[position : match.start()], False))
        parts.append((match.group(0), True))
        position = match.end()
    parts.append((window[position:] + suffix, False))
    return parts
