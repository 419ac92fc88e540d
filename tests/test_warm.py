"""A fresh server process compiles the project's templates before it listens
(``common.warm``), so its first sockets do not pay for it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template import engines

from common.warm import project_templates, warm_up


def cached_names() -> set[str]:
    """The templates the engine's cached loader holds compiled."""
    names = set()
    for loader in engines["django"].engine.template_loaders:
        for key in getattr(loader, "get_template_cache", {}):
            names.add(key)
    return names


def test_every_project_template_is_listed():
    on_disk = {
        path.relative_to(settings.BASE_DIR / "templates").as_posix()
        for path in Path(settings.BASE_DIR / "templates").rglob("*.html")
    }

    assert set(project_templates()) == on_disk
    assert "room/room.html" in on_disk


def test_warming_up_compiles_every_project_template_into_the_cache():
    for loader in engines["django"].engine.template_loaders:
        if hasattr(loader, "reset"):
            loader.reset()
    assert not set(project_templates()) & cached_names()

    compiled = warm_up()

    assert compiled == len(project_templates())
    assert set(project_templates()) <= cached_names()
