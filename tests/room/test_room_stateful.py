"""Random valid and invalid actions from both sides, checked after each step.

A hypothesis state machine drives the room's one action path
(``room.actions.perform``, which the socket and the HTTP view both call) with
JSON data as a frame carries it, as the host and as the guest, and after every
step checks that:

- the event log's ``seq`` is gapless and ends at the deal's ``last_seq``;
- no version of anything ever goes down;
- nothing is applied twice: a replayed ``client_msg_id`` adds no event and is
  acknowledged again, and one reused for another action is refused with
  ``id_reused``;
- a refused action writes nothing;
- what each side's socket would be sent for the new events (and, at the end,
  a full render) holds none of the other side's private values.

A second test sends generated frames — random JSON, broken characters, NULs,
wrong types, huge strings — through a real socket: each gets an answer, the
socket never closes, and the log stays gapless.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from negotiation.access import deal_access_for_user
from negotiation.models import Deal, DealEvent, Participant, Party, Preparation
from negotiation.services.base import AlreadyApplied
from negotiation.services.preparation import IssueScoreInput, scoring_save
from room import actions
from room.models import Trade
from room.render import ALL_REGIONS, render_events, render_regions
from tests.factories import IssueFactory, MembershipFactory, UserFactory, make_deal
from tests.room.conftest import access_of_guest, session_cookie
from tests.room.sockets import TIMEOUT, socket

# Each side's private preparation: distinctive, so finding one in the other
# side's frames can only mean it leaked.
PRIVATE = {
    "host": {
        "batna": "HOSTBATNA-qz: we renew with Lumen at list price",
        "reservation_point": "HOSTRESERVE-qz: nothing under 41 months",
        "reservation_value": Decimal("987654.32"),
        "target_outcome": "HOSTTARGET-qz: 48 months with a pilot",
    },
    "guest": {
        "batna": "GUESTBATNA-wx: we build it in house",
        "reservation_point": "GUESTRESERVE-wx: no more than EUR 190k",
        "reservation_value": Decimal("123457.89"),
        "target_outcome": "GUESTTARGET-wx: EUR 150k over 3 years",
    },
}
OTHER = {"host": "guest", "guest": "host"}

# Text a person might type, and text only a broken or hostile client sends.
NASTY = ["\x00", "\ud800", "a\udfffb", "\u2028", "<script>x</script>", "x" * 5000]
broken_texts = st.sampled_from(NASTY) | st.tuples(
    st.text(max_size=10), st.sampled_from(NASTY)
).map("".join)
texts = st.text(max_size=40) | broken_texts
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
FIELD_NAMES = [
    "body", "trade_id", "version", "confirm", "give_issue_id", "give_value",
    "ask_issue_id", "ask_value", "rationale", "reason", "to_stage", "change_id",
    "accept", "interests", "ranking", "issue_id", "value", "item", "we_give",
    "value_to_us", "values_shared", "shared_purpose", "digest", "check_id",
]  # fmt: skip
frame_data = st.dictionaries(
    st.sampled_from(FIELD_NAMES) | st.text(max_size=8), json_values, max_size=5
)
message_ids = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    min_size=1,
    max_size=64,
) | st.just(None)
sides = st.sampled_from(["host", "guest"])


def private_values(side: str) -> list[str]:
    values = PRIVATE[side]
    figure = values["reservation_value"]
    return [
        values["batna"],
        values["reservation_point"],
        values["target_outcome"],
        str(figure),
        f"{figure:,}",
        str(int(figure)),
    ]


class RoomMachine(RuleBasedStateMachine):
    """One deal in Midgame, its host (a rep with a scoring) and its guest."""

    @initialize()
    def open_the_room(self) -> None:
        owner = UserFactory(username=f"rep-{uuid.uuid4().hex[:8]}")
        MembershipFactory(user=owner)
        deal = make_deal(owner=owner, title="Fuzzed renewal")
        self.price = IssueFactory(deal=deal, name="Price", unit="EUR", position=0)
        self.terms = IssueFactory(deal=deal, name="Terms", unit="days", position=1)
        Deal.objects.filter(pk=deal.pk).update(stage=Deal.Stage.MIDGAME)
        self.deal_id = deal.pk
        self.owner = owner
        parties = {p.side: p for p in deal.parties.all()}
        self.guest_participant = Participant.objects.create(
            party=parties[Party.Side.COUNTERPART], display_name="Dana"
        )
        for side, party in (
            ("host", parties[Party.Side.HOST]),
            ("guest", parties[Party.Side.COUNTERPART]),
        ):
            Preparation.objects.filter(party=party).update(**PRIVATE[side])
        # Only the host scores packages: any score badge the guest is sent
        # can only be the host's.
        scoring_save(
            access=self.access("host"),
            version=None,
            reservation_score=Decimal(61),
            issues={
                self.price.pk: IssueScoreInput(
                    70, points=[(Decimal(100), 0), (Decimal(200), 100)]
                ),
                self.terms.pk: IssueScoreInput(
                    30, points=[(Decimal(0), 0), (Decimal(100), 100)]
                ),
            },
        )
        self.applied: list[tuple[str, str, dict, str]] = []
        self.versions: dict[tuple[str, int], int] = {}
        self.checked_seq = 0

    def access(self, side: str):
        if side == "host":
            return deal_access_for_user(self.owner, self.deal_id)
        return access_of_guest(
            Deal.objects.get(pk=self.deal_id), self.guest_participant
        )

    def perform(
        self, side: str, name: str, data: Any, client_msg_id: str | None = None
    ) -> str:
        """Act as ``side``; return "applied", "replayed" or the refusal code,
        after checking what the action wrote and what each side is sent."""
        before = Deal.objects.get(pk=self.deal_id).last_seq
        try:
            actions.perform(self.access(side), name, data, client_msg_id)
        except AlreadyApplied:
            outcome = "replayed"
        except actions.ActionRefused as refused:
            outcome = refused.code if refused.message else "refused without a word"
        else:
            outcome = "applied"
        new = list(
            DealEvent.objects.filter(deal_id=self.deal_id, seq__gt=before).order_by(
                "seq"
            )
        )
        assert outcome != "refused without a word", name
        if outcome != "applied":
            assert new == [], (outcome, name, [e.kind for e in new])
        if outcome == "applied" and client_msg_id:
            self.applied.append((side, name, data, client_msg_id))
            logged = [e for e in new if e.client_msg_id == client_msg_id]
            assert len(logged) <= 1
            for event in logged:
                assert event.kind in actions.ACTIONS[name].kinds, (name, event.kind)
        if new:
            for viewer in ("host", "guest"):
                self.check_private(viewer, render_events(self.access(viewer), new))
        return outcome

    def check_private(self, viewer: str, html: str) -> None:
        for value in private_values(OTHER[viewer]):
            assert value not in html, f"{OTHER[viewer]}'s {value!r} sent to {viewer}"
        if viewer == "guest":
            assert "own-score-badge" not in html, "the host's score sent to the guest"

    # --- valid actions (mostly) ----------------------------------------------

    @rule(side=sides, body=texts, client_msg_id=message_ids)
    def post_a_message(self, side, body, client_msg_id) -> None:
        self.perform(side, "message.post", {"body": body}, client_msg_id)

    @rule(side=sides, shape=st.sampled_from(["{:,}", "{}"]))
    def blurt_out_the_walk_away(self, side, shape) -> None:
        """The over-sharing guard holds a side's own walk-away figure back:
        refused, nothing written, nothing sent."""
        figure = shape.format(PRIVATE[side]["reservation_value"])
        body = f"Between us, we could go to {figure}."
        outcome = self.perform(side, "message.post", {"body": body}, uuid.uuid4().hex)
        assert outcome == "over_sharing", outcome

    @rule(
        side=sides,
        give=st.sampled_from(["EUR 120", "EUR 180", "60 days"]) | texts,
        ask=st.sampled_from(["30 days", "90 days", "EUR 150"]) | texts,
        client_msg_id=message_ids,
    )
    def propose_a_trade(self, side, give, ask, client_msg_id) -> None:
        data = {
            "give_issue_id": self.price.pk,
            "give_value": give,
            "ask_issue_id": self.terms.pk,
            "ask_value": ask,
            "rationale": "A fair swap",
        }
        self.perform(side, "trade.propose", data, client_msg_id)

    @rule(
        side=sides,
        name=st.sampled_from(
            ["trade.accept", "trade.decline", "trade.withdraw", "trade.counter"]
        ),
        stale=st.booleans(),
        client_msg_id=message_ids,
        pick=st.integers(min_value=0),
    )
    def answer_a_trade(self, side, name, stale, client_msg_id, pick) -> None:
        trades = list(Trade.objects.filter(deal_id=self.deal_id).order_by("pk"))
        if not trades:
            return
        trade = trades[pick % len(trades)]
        data = {
            "trade_id": trade.pk,
            "version": trade.version - 1 if stale else trade.version,
            "confirm": True,
            "reason": "Not now",
            "give_issue_id": self.terms.pk,
            "give_value": "45 days",
            "ask_issue_id": self.price.pk,
            "ask_value": "EUR 160",
        }
        outcome = self.perform(side, name, data, client_msg_id)
        if stale:
            assert outcome != "applied"

    @rule(side=sides, interests=texts, client_msg_id=message_ids)
    def share_a_position(self, side, interests, client_msg_id) -> None:
        data = {"interests": interests, "ranking": [self.terms.pk, self.price.pk]}
        self.perform(side, "position.update", data, client_msg_id)

    @rule(
        side=sides,
        stage=st.sampled_from(list(Deal.Stage.values)),
        accept=st.booleans(),
    )
    def move_the_stage(self, side, stage, accept) -> None:
        self.perform(side, "stage.propose", {"to_stage": stage, "note": "Ready?"})
        change = (
            apps.get_model("live_sessions", "StageChange")
            .objects.filter(deal_id=self.deal_id)
            .order_by("-pk")
            .first()
        )
        if change is not None:
            data = {"change_id": change.pk, "accept": accept, "confirm": True}
            self.perform(OTHER[side], "stage.respond", data, uuid.uuid4().hex)

    # --- invalid actions --------------------------------------------------------

    @rule(
        side=sides,
        name=st.sampled_from(list(actions.ACTIONS)) | st.text(max_size=20),
        data=frame_data,
        client_msg_id=message_ids | json_scalars,
    )
    def send_anything(self, side, name, data, client_msg_id) -> None:
        self.perform(side, name, data, client_msg_id)

    # --- replays -----------------------------------------------------------------

    @precondition(lambda self: self.applied)
    @rule(pick=st.integers(min_value=0))
    def replay_an_applied_action(self, pick) -> None:
        side, name, data, client_msg_id = self.applied[pick % len(self.applied)]
        outcome = self.perform(side, name, data, client_msg_id)
        # Acknowledged again, even where the checks would now refuse the same
        # input (a stage moved on, a version its first try moved): the log
        # answers for the id, and nothing is written twice.
        assert outcome == "replayed", (name, outcome)

    @precondition(lambda self: self.applied)
    @rule(pick=st.integers(min_value=0))
    def reuse_an_id_for_another_action(self, pick) -> None:
        side, name, _data, client_msg_id = self.applied[pick % len(self.applied)]
        if name == "message.post":
            other, data = "position.update", {"interests": "Reused id"}
        else:
            other, data = "message.post", {"body": "Reused id"}
        outcome = self.perform(side, other, data, client_msg_id)
        assert outcome == "id_reused", outcome

    # --- invariants --------------------------------------------------------------

    @invariant()
    def the_log_is_gapless(self) -> None:
        if not hasattr(self, "deal_id"):
            return
        seqs = list(
            DealEvent.objects.filter(deal_id=self.deal_id)
            .order_by("seq")
            .values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert Deal.objects.get(pk=self.deal_id).last_seq == len(seqs)

    @invariant()
    def versions_only_increase(self) -> None:
        if not hasattr(self, "deal_id"):
            return
        rows = [("deal", Deal.objects.filter(pk=self.deal_id))]
        rows += [
            (model.__name__, model.objects.filter(deal_id=self.deal_id))
            for model in apps.get_app_config("live_sessions").get_models()
            if "version" in {f.name for f in model._meta.fields}
            and "deal" in {f.name for f in model._meta.fields}
        ]
        for label, queryset in rows:
            for pk, version in queryset.values_list("pk", "version"):
                key = (label, pk)
                assert version >= self.versions.get(key, 0), key
                self.versions[key] = version

    def teardown(self) -> None:
        if not hasattr(self, "deal_id"):
            return
        for viewer in ("host", "guest"):
            self.check_private(viewer, render_regions(self.access(viewer), ALL_REGIONS))


@pytest.mark.django_db
def test_random_actions_from_both_sides_keep_the_room_consistent_and_private():
    run_state_machine_as_test(
        RoomMachine,
        settings=hypothesis_settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- generated frames through a real socket -------------------------------------

# Well-formed actions whose values are broken or of the wrong type.
action_frames = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["message.post", "position.update"]),
        "client_msg_id": message_ids,
        "data": st.fixed_dictionaries(
            {"body": broken_texts, "interests": broken_texts},
            optional={"note\ud800": texts, "trade_id": json_values},
        ),
    }
).map(json.dumps)
other_frames = (
    st.fixed_dictionaries(
        {},
        optional={
            "action": st.sampled_from([*actions.ACTIONS, "sync", "ping"])
            | json_scalars,
            "client_msg_id": message_ids | json_values,
            "data": frame_data | json_values,
            "since": json_scalars,
        },
    ).map(json.dumps)
    | json_values.map(json.dumps)
    | st.text(max_size=30)  # not JSON at all
    | st.just("x" * 70_000)  # over the size cap
    | st.just('{"action": "message.post", "data": {"body": NaN}}')
)


ANSWERS = {"hello", "ack", "error", "event", "sync", "presence", "coach", "scores"}


async def exchange(deal_id: int, cookie: str, sent: list[str]) -> None:
    """Send each frame, then a sync as a marker, and read every answer up to
    the marker's: the socket must answer and never close."""
    comm = socket(deal_id, cookie)
    try:
        connected, _ = await comm.connect(timeout=TIMEOUT)
        assert connected
        for text in sent:
            # An empty text frame too (``send_to`` refuses to send one).
            await comm.send_input({"type": "websocket.receive", "text": text})
            await comm.send_json_to({"action": "sync", "since": 10**9})
            while True:
                output = await comm.receive_output(TIMEOUT)
                assert output["type"] == "websocket.send", (text[:200], output)
                frame = json.loads(output["text"])
                assert frame["type"] in ANSWERS, frame
                if frame["type"] == "error":
                    assert frame["message"], frame
                if frame["type"] == "sync":
                    break
    finally:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("own_channel_layer")
def test_generated_frames_get_answers_and_never_close_the_socket(deal, rep, settings):
    settings.PARLEY_WS_BURST = 100_000  # the rate limit is tested elsewhere
    client = Client()
    client.force_login(rep)
    cookie = session_cookie(client)

    @hypothesis_settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.lists(action_frames | other_frames, min_size=1, max_size=6))
    def frames_through_a_socket(sent: list[str]) -> None:
        async_to_sync(exchange)(deal.pk, cookie, sent)

    frames_through_a_socket()

    seqs = list(
        DealEvent.objects.filter(deal=deal)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
