"""Rendering the room for one viewer: the whole page, or what events changed.

The full page and every live update come from the same template partials in
``room/room.html``, so what a socket receives is exactly what a reload would
show that side.

An event renders only what it touched (``negotiation.events.EVENTS``): the one
trade row, the one term row, the one commitment, inserted into its list when
it is new. A region is rendered whole only when its size is bounded by the
agenda (the stage bar, the positions, the agreement), and the whole room only
after a stage change or the end of the negotiation. So a live update costs
the same in an empty room and after 500 events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from negotiation.access import DealAccess
from negotiation.events import EventKind, spec_of
from negotiation.models import DealEvent
from room.actions import ACTIONS
from room.models import Message, Trade
from room.scores import open_trade_score_slots
from room.selectors import (
    RoomState,
    SocketMemo,
    events_after,
    messages_by_id,
    scoring_changed_since,
)

TEMPLATE = "room/room.html"

ALL_REGIONS = (
    "status",
    "stagebar",
    "attention",
    "presence",
    "setup",
    "positions",
    "trades",
    "packages",
    "concessions",
    "terms",
    "jointcheck",
    "commitments",
    "cadence",
    "agreement",
    "checkins",
    "pause",
    "discussion",
    "coach",
)

# The regions that show a side's own scores: rendered again for that side's
# sockets when it saves a new scoring.
SCORED_REGIONS = ("trades", "packages", "terms", "jointcheck")

# What changes with no event in the log: who is in the room, and a side's
# own coaching. A socket that comes back renders these whatever it missed.
UNLOGGED_REGIONS = ("presence", "coach")

# A socket this many events behind, or more, gets the whole room again
# rather than what each event touched.
CATCH_UP_EVENTS = 200

# Regions kept in templates of their own (included from the room's page),
# rather than as partials of ``TEMPLATE``.
REGION_TEMPLATES = {
    "attention": "room/attention.html#attention",
    "cadence": "room/cadence.html",
    "pause": "room/pause.html",
}

# What a side is waiting for (``room.attention``) changes only with these
# touches: an event touching one renders each side's attention box again.
# Messages, concessions and terms (the frequent events) do not.
ATTENTION_TOUCHES = frozenset(
    {
        "stagebar",
        "trade",
        "trade.original",
        "meso",
        "commitment",
        "commitments",
        "agreement",
        "jointcheck",
        "cadence",
        "pause",
    }
)


# A viewer's own proposals add nothing to what waits for the viewer: its own
# render of them skips the attention box (and its reads).
OWN_PROPOSALS = frozenset(
    {
        EventKind.TRADE_PROPOSED,
        EventKind.MESO_PRESENTED,
        EventKind.STAGE_PROPOSED,
        EventKind.CADENCE_PROPOSED,
        EventKind.PAUSE_PROPOSED,
    }
)


def _own_proposals_only(access: DealAccess, events: Sequence[DealEvent]) -> bool:
    me = access.participant.pk if access.participant else None
    return me is not None and all(
        event.actor_id == me and event.kind in OWN_PROPOSALS for event in events
    )


def region_template(region: str) -> str:
    return REGION_TEMPLATES.get(region, f"{TEMPLATE}#{region}")


# Events whose object is new: it is inserted into its list, not replaced.
CREATES = frozenset(
    {
        EventKind.TRADE_PROPOSED,
        EventKind.TRADE_COUNTERED,
        EventKind.MESO_PRESENTED,
        EventKind.CONCESSION_ADDED,
        EventKind.COMMITMENT_ADDED,
        EventKind.CHECKIN_ADDED,
        EventKind.MESSAGE_POSTED,
    }
)


@dataclass
class Changes:
    """What a run of events touched, object by object."""

    everything: bool = False
    regions: set[str] = field(default_factory=set)
    # Object id → whether it is new (inserted) rather than changed (replaced).
    trades: dict[int, bool] = field(default_factory=dict)
    meso_sets: dict[int, bool] = field(default_factory=dict)
    concessions: dict[int, bool] = field(default_factory=dict)
    commitments: dict[int, bool] = field(default_factory=dict)
    terms: set[int] = field(default_factory=set)  # issue ids
    trades_settled: set[int] = field(default_factory=set)  # accepted trades
    check_ins: set[int] = field(default_factory=set)
    messages: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[DealEvent]) -> Changes:
        changes = cls()
        for event in events:
            new = event.kind in CREATES
            payload = event.payload or {}
            for touch in spec_of(event.kind).touches:
                if touch in ATTENTION_TOUCHES:
                    changes.regions.add("attention")
                if touch == "room":
                    changes.everything = True
                elif touch in ALL_REGIONS:
                    changes.regions.add(touch)
                else:
                    TOUCHES[touch](changes, payload, new)
        return changes

    def mark(self, objects: dict[int, bool], pk: Any, new: bool, region: str) -> None:
        if not isinstance(pk, int):  # no id to go by: render its region
            self.regions.add(region)
        else:
            objects[pk] = objects.get(pk, False) or new


def _id_into(ids: str, key: str, region: str):
    def touch(changes: Changes, payload: Mapping[str, Any], new: bool) -> None:
        pk = payload.get(key)
        if isinstance(pk, int):
            getattr(changes, ids).add(pk)
        else:
            changes.regions.add(region)

    return touch


def _object(objects: str, key: str, region: str, *, inserts: bool = True):
    def touch(changes: Changes, payload: Mapping[str, Any], new: bool) -> None:
        changes.mark(
            getattr(changes, objects), payload.get(key), new and inserts, region
        )

    return touch


def _message(changes: Changes, payload: Mapping[str, Any], new: bool) -> None:
    pk = payload.get("message_id")
    if isinstance(pk, int):
        changes.messages.append(pk)
    else:
        changes.regions |= {"discussion", "trades"}


# How each object a kind touches (``EVENTS[kind].touches``) is found from the
# event's payload. A test checks every touch named in the table is here.
TOUCHES: dict[str, Callable[[Changes, Mapping[str, Any], bool], None]] = {
    "trade": _object("trades", "trade_id", "trades"),
    "trade.original": _object("trades", "original_id", "trades", inserts=False),
    "trade.terms": _id_into("trades_settled", "trade_id", "terms"),
    "trade.concessions": _id_into("trades_settled", "trade_id", "concessions"),
    "meso": _object("meso_sets", "meso_id", "packages"),
    # A picked package writes every issue's term: the term sheet (one row
    # per agenda issue) is rendered whole.
    "meso.terms": lambda changes, payload, new: changes.regions.add("terms"),
    "concession": _object("concessions", "concession_id", "concessions"),
    "term": _id_into("terms", "issue_id", "terms"),
    "commitment": _object("commitments", "commitment_id", "commitments"),
    "checkin": _id_into("check_ins", "check_in_id", "checkins"),
    "checkin.commitments": _id_into("check_ins", "check_in_id", "commitments"),
    "message": _message,
}


def room_context(
    access: DealAccess, *, memo: SocketMemo | None = None, **extra
) -> dict:
    return {
        "state": RoomState(access, memo=memo),
        "access": access,
        "deal": access.deal,
        "bindings": {name: a.binding for name, a in ACTIONS.items() if a.binding},
        **extra,
    }


def render_regions(
    access: DealAccess,
    regions: Iterable[str],
    *,
    csrf_token: str = "",
    memo: SocketMemo | None = None,
) -> str:
    """The given regions as out-of-band fragments for this viewer's side
    (with ``memo``, what the socket keeps across renders: ``SocketMemo``)."""
    context = room_context(access, oob=True, csrf_token=csrf_token, memo=memo)
    return "".join(
        render_to_string(region_template(region), context) for region in regions
    )


def render_events(
    access: DealAccess,
    events: Sequence[DealEvent],
    *,
    known: Iterable[Any] = (),
    csrf_token: str = "",
    memo: SocketMemo | None = None,
) -> str:
    """What these events changed, for this viewer, as out-of-band fragments.

    ``known`` are objects the events created that are already in memory (the
    sender's own message or trade, as its service returned it): they are
    rendered as they are instead of read back. Anything else is read.
    ``memo`` is what the socket keeps across renders (``SocketMemo``).
    """
    changes = Changes.of(events)
    if _own_proposals_only(access, events):
        changes.regions.discard("attention")
    if changes.everything:
        return _render_whole(access, csrf_token, memo)
    context = room_context(access, oob=True, csrf_token=csrf_token, memo=memo)
    return _Renderer(context, changes, known).render()


def _render_whole(access: DealAccess, csrf_token: str, memo: SocketMemo | None) -> str:
    """The whole room. What the socket kept may be out of date (an agenda
    change, or events skipped over): it reads everything again after."""
    if memo is not None:
        memo.forget()
    return render_regions(access, ALL_REGIONS, csrf_token=csrf_token, memo=memo)


def render_catch_up(
    access: DealAccess,
    since: int,
    *,
    csrf_token: str = "",
    memo: SocketMemo | None = None,
) -> tuple[int, str]:
    """The newest seq, and what a page that has every event up to ``since``
    needs to be current: what the events after it touched (as a live update
    renders them), and the regions that change without an event.

    A socket coming back after a short drop, or opening under a page just
    rendered, is a few events behind at most, so this costs about what its
    missed live updates would have, not a render of the whole room. The whole
    room comes instead when ``since`` is unknown (-1), ahead of the log,
    ``CATCH_UP_EVENTS`` or more behind, or when the side saved a new scoring
    since (its scores are on every package)."""
    seq = access.deal.last_seq
    whole = (
        since < 0
        or since > seq
        or seq - since >= CATCH_UP_EVENTS
        or scoring_changed_since(access.party, access.deal.pk, since)
    )
    if whole:
        return seq, _render_whole(access, csrf_token, memo)
    events = events_after(access.deal.pk, since)
    html = ""
    if events:
        seq = max(seq, events[-1].seq)
        html = render_events(access, events, csrf_token=csrf_token, memo=memo)
    return seq, html + render_regions(
        access, UNLOGGED_REGIONS, csrf_token=csrf_token, memo=memo
    )


class _Renderer:
    """Renders a ``Changes`` with one viewer's context, objects before the
    regions whose content depends on them (the agreement)."""

    def __init__(self, context: dict, changes: Changes, known: Iterable[Any]) -> None:
        self.context = context
        self.state: RoomState = context["state"]
        self.changes = changes
        known = list(known)
        self.known_messages = {m.pk: m for m in known if isinstance(m, Message)}
        # A trade just created, as its service made it: its issues and party
        # are set on it, and it has no comments yet.
        self.known_trades = {
            t.pk: t for t in known if isinstance(t, Trade) and changes.trades.get(t.pk)
        }
        self.parts: list[str] = []

    def partial(self, name: str, **extra) -> str:
        html = render_to_string(region_template(name), {**self.context, **extra})
        return html.strip()

    def render(self) -> str:
        regions = self.changes.regions
        if "trades" not in regions:
            self.trades()
        if "packages" not in regions:
            self.meso_sets()
        if "concessions" not in regions:
            self.concessions()
        if "terms" not in regions:
            self.terms()
        self.scores()
        if "commitments" not in regions:
            self.commitments()
        if "checkins" not in regions:
            self.check_ins()
        self.messages()
        for region in ALL_REGIONS:
            if region in self.changes.regions:
                self.parts.append(self.partial(region))
        return "".join(self.parts)

    # --- objects -------------------------------------------------------------

    def _insert(self, wrapper: str, target: str, rows: list[str]) -> None:
        if rows:
            self.parts.append(
                format_html(
                    '<{0} hx-swap-oob="{1}">{2}</{0}>',
                    wrapper,
                    target,
                    mark_safe("".join(rows)),
                )
            )

    def trades(self) -> None:
        changes, state = self.changes, self.state
        wanted = set(changes.trades) | changes.trades_settled
        if not wanted:
            return
        new = {pk for pk, created in changes.trades.items() if created}
        trades = {pk: t for pk, t in self.known_trades.items() if pk in wanted}
        for trade in trades.values():
            trade.comment_list = []
        if missing := wanted - trades.keys():
            trades |= {t.pk: t for t in state.trades_by_id(missing, new=new)}
        new_rows = []
        for pk in sorted(changes.trades):
            trade = trades.get(pk)
            if trade is None:
                continue
            if changes.trades[pk]:
                new_rows.append(self.partial("trade-row", trade=trade))
            else:
                self.parts.append(self.partial("trade-row", trade=trade, oob_row=True))
        # Newest first: the last created goes on top.
        self._insert("ul", "afterbegin:#trade-list", new_rows[::-1])
        for pk in changes.trades_settled:
            trade = trades.get(pk)
            if trade is not None:
                changes.terms |= {trade.give_issue_id, trade.ask_issue_id}
        if changes.trades_settled and "concessions" not in changes.regions:
            for row in state.concessions_of_trades(changes.trades_settled):
                changes.concessions.setdefault(row.concession.pk, True)

    def meso_sets(self) -> None:
        changes = self.changes
        if not changes.meso_sets:
            return
        sets = {m.pk: m for m in self.state.meso_sets_by_id(changes.meso_sets)}
        new_rows = []
        for pk in sorted(changes.meso_sets):
            meso = sets.get(pk)
            if meso is None:
                continue
            if changes.meso_sets[pk]:
                new_rows.append(self.partial("meso-set", meso=meso))
            else:
                self.parts.append(self.partial("meso-set", meso=meso, oob_row=True))
        self._insert("div", "afterbegin:#meso-list", new_rows[::-1])

    def concessions(self) -> None:
        changes = self.changes
        if not changes.concessions:
            return
        new_rows = []
        for row in self.state.concessions_by_id(changes.concessions):
            if changes.concessions.get(row.concession.pk, False):
                new_rows.append(self.partial("concession-row", row=row))
            else:
                self.parts.append(
                    _in_template(self.partial("concession-row", row=row, oob_row=True))
                )
        if new_rows:
            # Table rows parse only inside table elements, and those only
            # inside a <template> (htmx swaps out-of-band elements found there).
            self.parts.append(
                format_html(
                    '<template><tbody hx-swap-oob="beforeend:#concession-rows">'
                    "{}</tbody></template>",
                    mark_safe("".join(new_rows)),
                )
            )

    def terms(self) -> None:
        if not self.changes.terms:
            return
        for issue, term in self.state.term_rows(self.changes.terms):
            self.parts.append(
                _in_template(
                    self.partial("term-row", issue=issue, term=term, oob_row=True)
                )
            )

    def scores(self) -> None:
        """The viewer's own scores that follow the term sheet: the sheet's
        and every open trade's (scored as the sheet would be if accepted).
        Only when the terms changed and the viewer's side has a scoring; a
        region or row rendered whole here already holds its score."""
        changes, state = self.changes, self.state
        if not (changes.terms or "terms" in changes.regions):
            return
        if state.own_scoring is None:
            return
        if "terms" not in changes.regions:
            self.parts.append(self.partial("terms-score", oob_score=True))
        if "trades" in changes.regions:
            return
        changed = None if "terms" in changes.regions else changes.terms
        self.parts.extend(open_trade_score_slots(state, changed, skip=changes.trades))

    def commitments(self) -> None:
        changes, state = self.changes, self.state
        if changes.check_ins:
            for commitment in state.commitments_checked_in(changes.check_ins):
                changes.commitments.setdefault(commitment.pk, False)
        if not changes.commitments:
            return
        new_rows = []
        for c in sorted(state.commitments_by_id(changes.commitments), key=_pk):
            if changes.commitments[c.pk]:
                new_rows.append(self.partial("commitment-row", c=c))
            else:
                self.parts.append(self.partial("commitment-row", c=c, oob_row=True))
        self._insert("ul", "beforeend:#commitment-list", new_rows)

    def check_ins(self) -> None:
        if not self.changes.check_ins:
            return
        rows = [
            self.partial("checkin-item", check_in=check_in)
            for check_in in self.state.check_ins_by_id(self.changes.check_ins)
        ]
        self._insert("ul", "afterbegin:#checkin-list", rows)

    def messages(self) -> None:
        """New messages, appended to the discussion or to their trade's
        comments (unless that trade's row was rendered whole just now)."""
        ids = self.changes.messages
        if not ids:
            return
        known = dict(self.known_messages)
        missing = [pk for pk in ids if pk not in known]
        known.update(messages_by_id(self.state.deal, missing))
        rendered_trades = set(self.changes.trades)  # their rows hold comments
        plain: list[str] = []
        for pk in ids:
            message = known.get(pk)
            if message is None:
                continue
            if message.trade_id is None:
                if "discussion" not in self.changes.regions:
                    plain.append(self.partial("message-item", message=message))
            elif (
                "trades" not in self.changes.regions
                and message.trade_id not in rendered_trades
            ):
                self._insert(
                    "div",
                    f"beforeend:#trade-{message.trade_id}-comments",
                    [self.partial("trade-comment", comment=message)],
                )
        self._insert("ol", "beforeend:#messages-list", plain)


def _pk(obj) -> int:
    return obj.pk


def _in_template(html: str) -> SafeString:
    return format_html("<template>{}</template>", mark_safe(html))


RESEND_SKIP = {"csrfmiddlewaretoken", "client_msg_id"}
# The field that confirms past each kind of warning: the over-sharing guard's,
# the side's own limits', a package changing terms already on the sheet. A
# resend keeps any earlier confirmation.
CONFIRM_FIELDS = {
    "over_sharing": "confirm_share",
    "below_limit": "confirm_limit",
    "changes_agreed": "confirm_overwrite",
    "pitfall": "confirm_pitfall",
}


def refusal_context(refused) -> dict:
    """Template context for a refusal, with the data to resend if allowed."""
    context = {"refused": refused}
    if refused.resend:
        action, data = refused.resend
        confirm = CONFIRM_FIELDS[refused.code]
        context["resend_action"] = action
        context["resend_confirm"] = confirm
        context["resend_items"] = [
            (key, data.getlist(key))
            for key in data
            if key not in RESEND_SKIP and key != confirm
        ]
    return context


def render_refusal(refused, *, deal, csrf_token: str = "") -> str:
    """The sender's notice for a refused action, as an out-of-band fragment."""
    return render_to_string(
        "room/notice.html",
        {"deal": deal, "oob": True, "csrf_token": csrf_token}
        | refusal_context(refused),
    )


def render_notice(message: str, level: str = "error") -> str:
    return format_html(
        '<div id="room-notice" hx-swap-oob="true" class="alert {}" role="alert">'
        "{}</div>",
        level,
        message,
    )
