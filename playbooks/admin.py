"""Staff edit every piece of content here. Rows loaded from the data files
show whether they were edited since: ``load_playbooks`` keeps such rows
unless run with ``--force``."""

from django.contrib import admin

from playbooks.loader import is_edited
from playbooks.models import (
    ChecklistItem,
    ContentFile,
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


class ContentAdmin(admin.ModelAdmin):
    list_display = ["title", "key", "position", "edited_here", "updated_at"]
    search_fields = ["key", "title"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["position", "key"]

    @admin.display(boolean=True, description="edited here")
    def edited_here(self, obj) -> bool:
        """Made or changed in the admin since the data files were last loaded."""
        return is_edited(obj)


@admin.register(Reference)
class ReferenceAdmin(ContentAdmin):
    list_display = ["title", "cite_as", "year", "key", "edited_here"]
    search_fields = ["key", "title", "authors"]


@admin.register(Stage)
class StageAdmin(ContentAdmin):
    list_select_related = ["reference"]
    list_display = ["title", "stage", "position", "edited_here", "updated_at"]
    fieldsets = [
        (None, {"fields": ["key", "title", "stage", "position", "summary"]}),
        ("Coaching", {"fields": ["principle", "why_it_works", "reference"]}),
        ("In the room", {"fields": ["actions", "say", "signal", "safeguard"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(ContextPlaybook)
class ContextPlaybookAdmin(ContentAdmin):
    list_display = ["title", "context", "position", "edited_here", "updated_at"]


@admin.register(Move)
class MoveAdmin(ContentAdmin):
    list_display = ["title", "stage", "position", "edited_here", "updated_at"]
    list_filter = ["stage"]


@admin.register(PhraseTemplate)
class PhraseTemplateAdmin(ContentAdmin):
    list_display = ["title", "text", "stage", "edited_here"]
    list_filter = ["stage"]
    search_fields = ["key", "title", "text"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ContentAdmin):
    list_select_related = ["reference"]
    list_display = ["title", "kind", "position", "edited_here"]
    list_filter = ["kind"]


@admin.register(FaqEntry)
class FaqEntryAdmin(ContentAdmin):
    list_select_related = ["reference"]


@admin.register(CultureNote)
class CultureNoteAdmin(ContentAdmin):
    list_display = ["title", "kind", "position", "edited_here"]
    list_filter = ["kind"]


@admin.register(Pitfall)
class PitfallAdmin(ContentAdmin):
    list_display = ["title", "key", "stage", "edited_here"]
    list_filter = ["stage"]


@admin.register(TradeableItem)
class TradeableItemAdmin(ContentAdmin):
    list_display = ["title", "kind", "unit", "position", "edited_here"]
    list_filter = ["kind"]


@admin.register(ScenarioCard)
class ScenarioCardAdmin(ContentAdmin):
    list_display = ["title", "context", "position", "edited_here"]
    list_filter = ["context"]
    fieldsets = [
        (None, {"fields": ["key", "title", "context", "position", "summary"]}),
        (
            "The story",
            {
                "fields": [
                    "situation",
                    "opening_move",
                    "reaction",
                    "resolution",
                    "safeguard",
                    "lesson",
                ]
            },
        ),
        (
            "Practice deal",
            {
                "fields": ["practice"],
                "description": "The deal, its issues and both sides' preparation, "
                "as JSON (same shape as in playbooks/data/scenarios.toml).",
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(ContentFile)
class ContentFileAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "loaded_at"]
    readonly_fields = ["name", "version", "digest", "loaded_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TeamPlay)
class TeamPlayAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "context", "stage", "created_by", "updated_at"]
    list_filter = ["context", "stage", "team"]
    search_fields = ["title", "body", "team__name"]
    autocomplete_fields = ["team", "created_by"]
    readonly_fields = ["version", "created_at", "updated_at"]
