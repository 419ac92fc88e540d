"""Loading the content: idempotent, respectful of admin edits, strict about
malformed files, and run by a fresh migrate."""

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command

from playbooks.loader import KINDS, ContentError, is_edited, load_content
from playbooks.models import (
    ContentFile,
    Move,
    Pitfall,
    Reference,
    ScenarioCard,
    Stage,
    TradeableItem,
)
from tests.playbooks.conftest import data_items

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list[tuple]]:
    """Every content row's key and updated_at, per model, plus the files."""
    state = {}
    for kind in KINDS:
        model = apps.get_model("playbooks", kind.model)
        state[kind.model] = sorted(model.objects.values_list("key", "updated_at"))
    state["files"] = sorted(
        ContentFile.objects.values_list("name", "version", "digest", "loaded_at")
    )
    return state


def test_every_data_file_item_is_in_the_database(content):
    for kind in KINDS:
        model = apps.get_model("playbooks", kind.model)
        keys = [item["key"] for item in data_items(kind.file, kind.table)]
        assert sorted(model.objects.values_list("key", flat=True)) == sorted(keys)
    assert Stage.objects.count() == 5
    assert Pitfall.objects.count() == 7
    assert ScenarioCard.objects.count() == 4
    assert ContentFile.objects.count() == len(KINDS)


def test_loading_twice_changes_nothing(content):
    before = snapshot()
    report = load_content()
    assert not report.changed
    assert snapshot() == before


def test_a_forced_reload_of_unchanged_content_changes_nothing(content):
    before = snapshot()
    report = load_content(force=True)
    assert not report.changed
    assert sum(counter["unchanged"] for counter in report.counts.values()) > 50
    assert snapshot() == before


def test_the_data_migration_loads_the_content_with_the_same_loader():
    migration = importlib.import_module("playbooks.migrations.0002_load_content")
    for kind in reversed(KINDS):
        apps.get_model("playbooks", kind.model).objects.all().delete()
    ContentFile.objects.all().delete()
    migration.load(apps, schema_editor=None)
    assert Stage.objects.count() == 5
    assert Move.objects.count() == 6
    assert TradeableItem.objects.count() == len(
        data_items("tradeables.toml", "tradeable")
    )


def test_the_command_reports_when_everything_is_up_to_date(content, capsys):
    call_command("load_playbooks")
    assert "already up to date" in capsys.readouterr().out


def test_an_admin_edit_is_kept_until_forced(content, data_copy):
    stage = Stage.objects.get(key="midgame")
    stage.principle = "Our own midgame principle."
    stage.save()
    assert is_edited(stage)
    changed = data_copy / "stages.toml"
    changed.write_text(
        changed.read_text().replace("Swap priorities", "Trade priorities")
    )

    report = load_content(data_dir=data_copy)
    stage.refresh_from_db()
    assert stage.principle == "Our own midgame principle."
    assert "Stage midgame" in report.kept

    load_content(data_dir=data_copy, force=True)
    stage.refresh_from_db()
    assert stage.principle.startswith("Exchanges that are open")
    assert stage.summary.startswith("Trade priorities")
    assert not is_edited(stage)


def test_a_changed_file_updates_unedited_rows_only_where_they_changed(
    content, data_copy
):
    untouched = Stage.objects.get(key="setup").updated_at
    changed = data_copy / "stages.toml"
    changed.write_text(
        changed.read_text().replace("Swap priorities", "Trade priorities")
    )
    report = load_content(data_dir=data_copy)
    assert report.counts["Stage"]["updated"] == 1
    assert Stage.objects.get(key="midgame").summary.startswith("Trade priorities")
    assert Stage.objects.get(key="setup").updated_at == untouched


def test_an_item_removed_from_its_file_is_deleted_but_staff_rows_stay(
    content, data_copy
):
    Reference.objects.create(
        key="staff-added", title="House notes", authors="Us", cite_as="Us", year=2026
    )
    path = data_copy / "moves.toml"
    text = path.read_text()
    start = text.index('[[move]]\nkey = "capture-lessons"')
    path.write_text(text[:start])
    load_content(data_dir=data_copy)
    assert not Move.objects.filter(key="capture-lessons").exists()
    assert Move.objects.count() == 5
    assert Reference.objects.filter(key="staff-added").exists()


def test_a_malformed_file_writes_nothing(content, data_copy):
    before = snapshot()
    path = data_copy / "pitfalls.toml"
    path.write_text(path.read_text().replace('stage = "close"', 'stage = "overtime"'))
    path_moves = data_copy / "moves.toml"
    path_moves.write_text(
        path_moves.read_text().replace("Frame the joint", "Set the joint")
    )
    with pytest.raises(ContentError, match="overtime"):
        load_content(data_dir=data_copy)
    assert snapshot() == before
    assert Move.objects.get(key="frame-joint-goal").title == "Frame the joint goal"


@pytest.mark.parametrize(
    ("find", "replace", "message"),
    [
        ("version = 1\n", "", "version"),
        ('key = "setup"', 'key = "first_move"', "appears twice"),
        ('summary = "Agree', 'sumary = "Agree', "unknown keys"),
    ],
)
def test_the_loader_refuses_files_it_cannot_trust(
    content, data_copy, find, replace, message
):
    path = data_copy / "stages.toml"
    path.write_text(path.read_text().replace(find, replace, 1))
    with pytest.raises(ContentError, match=message):
        load_content(data_dir=data_copy, force=True)


def test_a_scenario_whose_practice_deal_names_an_unknown_issue_is_refused(
    content, data_copy
):
    path = data_copy / "scenarios.toml"
    path.write_text(
        path.read_text().replace(
            'issue = "Contract length"\nimportance = 4',
            'issue = "Contract lenght"\nimportance = 4',
            1,
        )
    )
    with pytest.raises(ContentError, match="not on the agenda"):
        load_content(data_dir=data_copy)


def test_saving_unchanged_text_with_crlf_line_ends_is_no_edit(content):
    """The admin's textareas send CRLF; that alone must not pin a row."""
    stage = Stage.objects.get(key="setup")
    stage.actions = stage.actions.replace("\n", "\r\n") + "\r\n"
    stage.save()
    assert not is_edited(stage)


def test_pitfall_keys_are_the_room_nudge_kinds(content):
    """The pitfall detectors raise a Nudge of a kind; its pitfall row has
    that kind as key, so the coach can show why it backfires and what to do."""
    from room.models import Nudge

    assert set(Pitfall.objects.values_list("key", flat=True)) <= set(Nudge.Kind.values)
