"""The stage and context content a process keeps (``kept_content``): read
once per content version, read again after any change, never shared with a
viewer's own additions, and read from the database when the shared cache is
down."""

from __future__ import annotations

import pytest
import redis.exceptions
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import outage
from playbooks import selectors
from playbooks.models import ContextPlaybook, Move, Stage
from playbooks.selectors import (
    CONTENT_VERSION_KEY,
    context_playbook,
    stage_coaching,
    stage_page,
)

pytestmark = pytest.mark.django_db


def playbook_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if '"playbooks_' in q["sql"]]


def test_the_content_is_read_once_per_process(content):
    stage_coaching("midgame")
    context_playbook("sales")
    with CaptureQueriesContext(connection) as queries:
        coaching = stage_coaching("midgame")
        playbook = context_playbook("sales")
    assert playbook_reads(queries) == []
    assert coaching.stage.stage == "midgame"
    assert coaching.moves
    assert playbook == ContextPlaybook.objects.get(context="sales")


def test_a_committed_edit_shows_at_the_next_read(
    content, django_capture_on_commit_callbacks
):
    move = stage_coaching("midgame").moves[0]
    version = cache.get(CONTENT_VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        edited = Move.objects.get(pk=move.pk)
        edited.title = "A title edited in the admin"
        edited.save()
    assert cache.get(CONTENT_VERSION_KEY) != version
    moves = {m.pk: m.title for m in stage_coaching("midgame").moves}
    assert moves[move.pk] == "A title edited in the admin"


def test_another_process_edit_shows_once_its_version_arrives(content):
    """A change saved elsewhere reaches this process only through the shared
    version: ``update()`` sends no signal here, as a save in another process
    would not."""
    move = stage_coaching("midgame").moves[0]
    Move.objects.filter(pk=move.pk).update(title="Changed by another process")
    assert stage_coaching("midgame").moves[0].title == move.title  # still kept
    cache.set(CONTENT_VERSION_KEY, "the other process's version")
    moves = {m.pk: m.title for m in stage_coaching("midgame").moves}
    assert moves[move.pk] == "Changed by another process"


def test_a_deleted_playbook_is_gone_at_the_next_read(content):
    assert context_playbook("sales") is not None
    ContextPlaybook.objects.filter(context="sales").get().delete()
    assert context_playbook("sales") is None


def test_a_viewers_team_plays_stay_on_that_viewers_page(content, play, outsider):
    """The stage page adds the viewer's team plays to its coaching: the kept
    copy, and so every other viewer, never gets them."""
    key = Stage.objects.get(stage=play.stage).key
    own = stage_page(key, play.created_by)
    assert [p.pk for p in own.team_plays] == [play.pk]
    assert stage_coaching(play.stage).team_plays == []
    assert stage_page(key, outsider).team_plays == []


def test_the_content_is_read_from_the_database_when_the_cache_is_down(
    content, monkeypatch
):
    stage_coaching("midgame")

    class Unreachable:
        def get_or_set(self, *args, **kwargs):
            raise redis.exceptions.ConnectionError("Redis is down")

    monkeypatch.setattr(selectors, "cache", Unreachable())
    Move.objects.filter(stage="midgame").update(title="Read while Redis is down")
    with CaptureQueriesContext(connection) as queries:
        coaching = stage_coaching("midgame")
    assert playbook_reads(queries)
    assert {m.title for m in coaching.moves} == {"Read while Redis is down"}
    assert outage.redis.down
    outage.redis.ok()
