from django.contrib import admin

from negotiation.models import (
    AnchorEntry,
    Deal,
    DealEvent,
    EvidenceItem,
    Issue,
    Membership,
    Participant,
    Party,
    Preparation,
    PriorityEntry,
    Team,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["join_code"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "joined_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    autocomplete_fields = ["user", "team"]


class PartyInline(admin.TabularInline):
    model = Party
    extra = 0
    can_delete = False
    max_num = 2
    show_change_link = True


class IssueInline(admin.TabularInline):
    model = Issue
    extra = 0
    fields = [
        "position",
        "name",
        "kind",
        "unit",
        "range_min",
        "range_max",
        "flexibility",
    ]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "team",
        "owner",
        "context",
        "stage",
        "status",
        "updated_at",
    ]
    list_filter = ["status", "stage", "context", "team"]
    search_fields = ["title", "counterpart_organisation", "owner__username"]
    date_hierarchy = "created_at"
    list_select_related = ["team", "owner"]
    autocomplete_fields = ["team", "owner"]
    readonly_fields = ["last_seq", "version", "created_at", "updated_at"]
    inlines = [PartyInline, IssueInline]


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    autocomplete_fields = ["user"]


class PreparationInline(admin.StackedInline):
    model = Preparation
    extra = 0
    can_delete = False
    readonly_fields = ["version", "updated_at"]


class PriorityInline(admin.TabularInline):
    model = PriorityEntry
    extra = 0
    readonly_fields = ["version"]


class AnchorInline(admin.TabularInline):
    model = AnchorEntry
    extra = 0
    readonly_fields = ["version"]


class EvidenceInline(admin.TabularInline):
    model = EvidenceItem
    extra = 0


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    """Support view of one side, with its private preparation (staff only)."""

    list_display = ["organisation", "side", "deal"]
    list_filter = ["side"]
    search_fields = ["organisation", "deal__title"]
    list_select_related = ["deal"]
    inlines = [
        ParticipantInline,
        PreparationInline,
        PriorityInline,
        AnchorInline,
        EvidenceInline,
    ]


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    list_display = ["name", "deal", "kind", "flexibility", "position"]
    search_fields = ["name", "deal__title"]
    list_select_related = ["deal"]


@admin.register(DealEvent)
class DealEventAdmin(admin.ModelAdmin):
    """The event log is append-only: staff can read it, never rewrite it."""

    list_display = ["deal", "seq", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["deal__title", "kind"]
    list_select_related = ["deal", "actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
