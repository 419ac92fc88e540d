"""What a fresh server process does before it takes its first connection.

Django compiles a template the first time it renders it, and builds the URL
resolver on the first ``reverse``. In a process that just started (a daphne
restarted after a crash, or one more added under load) that lands on the
first sockets it takes: the sockets of a killed process all come back at
once, and each first render paid for the compiling. Done here, before daphne
listens, the first room a fresh process renders costs what any later one
does. The first socket's catch-up of 5 events, in a process just started on
the bench's PostgreSQL (``parley_bench``, 100 rooms of 500 events): 208–251
ms cold, 42–49 ms warmed (three back-to-back pairs); the warming adds about
0.2–0.5 s before the process listens, while the sockets it will take are
still served by the others.
"""

from __future__ import annotations

from pathlib import Path

from django.template import engines
from django.urls import get_resolver


def project_templates() -> list[str]:
    """The names of the project's own templates (the engine's ``DIRS``)."""
    names = []
    for folder in engines["django"].engine.dirs:
        root = Path(folder)
        names += sorted(
            path.relative_to(root).as_posix() for path in root.rglob("*.html")
        )
    return names


def warm_up() -> int:
    """Compile every project template and build the URL resolver; returns how
    many templates were compiled. Needs neither the database nor Redis."""
    engine = engines["django"]
    names = project_templates()
    for name in names:
        engine.get_template(name)
    get_resolver().reverse_dict  # noqa: B018 (imports the URLconf, builds reverse)
    return len(names)
