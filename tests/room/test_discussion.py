"""The room's discussion: never binding, possible in every stage.

Every successful action appends exactly one ``DealEvent`` and broadcasts it
exactly once, after commit (the ``log`` fixture); every refused one writes and
broadcasts nothing."""

from __future__ import annotations

import pytest

from negotiation.access import (
    deal_access_for_user,
)
from negotiation.models import Deal
from room import services
from room.models import (
    Message,
)
from tests.factories import make_deal
from tests.room.conftest import (
    at_stage,
    propose,
)

pytestmark = pytest.mark.django_db

Stage = Deal.Stage


# --- discussion ----------------------------------------------------------------


def test_a_message_is_posted_in_any_stage(deal, guest_access, log):
    for stage in Stage.values:
        at_stage(deal, stage)
        with log.expect("message.posted"):
            services.message_post(access=guest_access, body=f"  In {stage}  ")

    assert Message.objects.filter(body="In setup").exists()
    assert Message.objects.count() == len(Stage.values)


@pytest.mark.parametrize(
    "body", ["", "   \n ", "x" * (services.MESSAGE_MAX_LENGTH + 1)]
)
def test_an_empty_or_oversized_message_is_refused(deal, host, log, body):
    with log.refused() as refusal:
        services.message_post(access=host, body=body)

    assert "body" in refusal.value.message_dict
    assert not Message.objects.exists()


def test_a_comment_belongs_to_a_trade_of_this_deal(midgame, issues, host, log):
    other = at_stage(make_deal(title="Other"), Stage.MIDGAME)
    volume = other.issues.create(name="Volume", position=0)
    price = other.issues.create(name="Price", position=1)
    foreign = propose(
        deal_access_for_user(other.owner, other.pk), volume, "1", price, "2"
    )

    with log.refused(match="does not exist in this deal"):
        services.message_post(access=host, body="Hm", trade_id=foreign.pk)

    price, terms = issues
    own = propose(host, price, "-5%", terms, "30 days")
    with log.expect("message.posted"):
        comment = services.message_post(access=host, body="Hm", trade_id=own.pk)
    assert comment.trade == own
