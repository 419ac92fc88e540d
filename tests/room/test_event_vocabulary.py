"""Every event kind the code can emit is declared once, with everything the
room and the review need to know about it."""

from __future__ import annotations

import ast
import datetime
import string
from pathlib import Path

import pytest

from negotiation.events import EVENTS, EventKind, spec_of
from negotiation.models import DealEvent
from negotiation.services.base import append_event
from review.analysis.narrative import EventNames, describe
from review.analysis.replay import LoggedEvent
from room.render import ALL_REGIONS, TOUCHES

ROOT = Path(__file__).resolve().parents[2]
APPS = ("negotiation", "room", "review", "playbooks", "common")
# The functions that write a kind into the log, and where their kind goes.
EMITTERS = {"append_event": ("kind", None), "room_event": ("kind", 2)}
# Facts the review's narrative fills in a replay line.
REPLAY_FACTS = {
    "who",
    "issue",
    "stage",
    "trade",
    "answer",
    "about",
    "to_value",
    "quote",
    "cadence",
    "resume",
}


def _constants(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def emitted_kinds() -> dict[str, str]:
    """Each kind passed to an emitter anywhere in the apps → where."""
    found: dict[str, str] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                # A kind chosen before the call: ``kind = "a" if x else "b"``.
                if isinstance(node, ast.Assign) and any(
                    getattr(target, "id", None) == "kind" for target in node.targets
                ):
                    for value in _constants(node.value):
                        found[value] = f"{path.relative_to(ROOT)}:{node.lineno}"
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name not in EMITTERS:
                    continue
                keyword, position = EMITTERS[name]
                args = [k.value for k in node.keywords if k.arg == keyword]
                if position is not None and len(node.args) > position:
                    args.append(node.args[position])
                for arg in args:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    for value in _constants(arg):
                        found[value] = where
                    if isinstance(arg, ast.Attribute):
                        found[f"EventKind.{arg.attr}"] = where
    return found


def test_the_scan_finds_the_rooms_kinds():
    kinds = emitted_kinds()
    # One of each emitter, so a broken scan cannot pass by finding nothing.
    assert "trade.proposed" in kinds
    assert "participant.joined" in kinds
    assert "stage.declined" in kinds  # chosen before the call
    assert len(kinds) >= 25


def test_every_kind_the_code_emits_is_declared():
    undeclared = {
        kind: where
        for kind, where in emitted_kinds().items()
        if kind.removeprefix("EventKind.") not in EventKind.values
        and kind.removeprefix("EventKind.") not in EventKind.names
    }
    assert undeclared == {}


def test_every_declared_kind_has_an_entry():
    assert set(EVENTS) == set(EventKind)


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_kind_says_what_it_touches_and_the_room_can_render_it(kind):
    touches = EVENTS[kind].touches
    assert touches
    unknown = [t for t in touches if t not in (*ALL_REGIONS, "room", *TOUCHES)]
    assert unknown == []


@pytest.mark.parametrize("kind", list(EventKind))
def test_each_kind_is_told_in_the_replay_and_announced_with_its_actor(kind):
    spec = EVENTS[kind]
    fields = {f for _, f, _, _ in string.Formatter().parse(spec.replay) if f}
    assert "who" in fields
    assert fields <= REPLAY_FACTS
    sentence = describe(
        LoggedEvent(
            seq=1,
            kind=kind.value,
            payload={},
            created_at=datetime.datetime(2027, 1, 1, tzinfo=datetime.UTC),
            side="host",
            actor="Robin",
        ),
        EventNames(sides={"host": "Northwind"}),
    )
    assert sentence.startswith("Robin (Northwind)")
    if spec.announce:
        assert {f for _, f, _, _ in string.Formatter().parse(spec.announce) if f} == {
            "who"
        }


def test_every_touch_the_room_renders_is_used_by_some_kind():
    used = {touch for spec in EVENTS.values() for touch in spec.touches}
    assert set(TOUCHES) <= used


def test_the_log_refuses_a_kind_outside_the_vocabulary(deal):
    with pytest.raises(ValueError, match=r"trade\.haggled"):
        append_event(deal=deal, kind="trade.haggled", actor=None)
    assert not DealEvent.objects.filter(deal=deal, kind="trade.haggled").exists()


def test_an_unknown_kind_read_back_from_the_log_renders_the_room():
    """A row written by another release must not break a socket."""
    spec = spec_of("trade.haggled")
    assert spec.touches == ("room",)
    assert spec.changes_access
