"""The apps depend on each other one way: review → room → playbooks → negotiation,
with common/ under all of them. Read from the source with ``ast``, so an import
inside a function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app may import of the others. negotiation's agenda page offers the
# tradeables library's suggestions, the one use of playbooks below it.
ALLOWED: dict[str, set[str]] = {
    "common": set(),
    "negotiation": {"common", "playbooks"},
    "playbooks": {"common", "negotiation"},
    "room": {"common", "negotiation", "playbooks"},
    "review": {"common", "negotiation", "playbooks", "room"},
}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_apps_below_it(app):
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) - ALLOWED[app] - {app})
        for path in sorted((ROOT / app).rglob("*.py"))
    }
    assert {path: apps for path, apps in offending.items() if apps} == {}


def test_the_deal_never_reaches_up_to_the_room_or_the_review():
    """The issue's own check, spelled out: nothing in negotiation/ imports the
    room or the review, even lazily inside a function."""
    for path in (ROOT / "negotiation").rglob("*.py"):
        assert not imported_apps(path) & {"room", "review"}, path


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "def f():\n    from room.models import Trade\n    import review\n"
    )
    assert imported_apps(module) == {"room", "review"}
