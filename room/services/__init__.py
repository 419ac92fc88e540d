"""Writes made in the live room, by either side, one module per feature.

Every room action is one function here: it checks who acts (side, stage,
ownership of the object), validates, writes in one transaction, appends one
``DealEvent`` and broadcasts after commit. ``applied_once`` runs each one: a
retry with the same ``client_msg_id`` writes nothing and raises
``AlreadyApplied``. The HTTP views and the websocket consumer call the same
functions, through the action table (``room.actions``).
"""

from room.services.cadence import cadence_propose, cadence_respond, cadence_withdraw
from room.services.closing import (
    COMMITMENT_FIELDS,
    agreement_confirm,
    agreement_digest,
    check_in_add,
    commitment_add,
    commitment_confirm,
    commitment_remove,
    commitment_update,
    term_set,
)
from room.services.concessions import (
    concession_add,
    concession_value,
    concession_withdraw,
)
from room.services.discussion import MESSAGE_MAX_LENGTH, message_post
from room.services.invites import (
    InviteRefused,
    guest_join,
    guest_leave,
    invite_create,
    invite_for_token,
    invite_redeem,
    invite_revoke,
    participant_group,
)
from room.services.packages import meso_present, meso_respond
from room.services.pauses import pause_accept, pause_counter, pause_propose
from room.services.positions import position_update
from room.services.rules import STAGE_ORDER
from room.services.stages import (
    deal_end_no_deal,
    setup_update,
    stage_change_propose,
    stage_change_respond,
    stage_change_withdraw,
)
from room.services.trades import (
    trade_accept,
    trade_counter,
    trade_decline,
    trade_propose,
    trade_withdraw,
)

__all__ = [
    "COMMITMENT_FIELDS",
    "MESSAGE_MAX_LENGTH",
    "STAGE_ORDER",
    "InviteRefused",
    "agreement_confirm",
    "agreement_digest",
    "cadence_propose",
    "cadence_respond",
    "cadence_withdraw",
    "check_in_add",
    "commitment_add",
    "commitment_confirm",
    "commitment_remove",
    "commitment_update",
    "concession_add",
    "concession_value",
    "concession_withdraw",
    "deal_end_no_deal",
    "guest_join",
    "guest_leave",
    "invite_create",
    "invite_for_token",
    "invite_redeem",
    "invite_revoke",
    "meso_present",
    "meso_respond",
    "message_post",
    "participant_group",
    "pause_accept",
    "pause_counter",
    "pause_propose",
    "position_update",
    "setup_update",
    "stage_change_propose",
    "stage_change_respond",
    "stage_change_withdraw",
    "term_set",
    "trade_accept",
    "trade_counter",
    "trade_decline",
    "trade_propose",
    "trade_withdraw",
]
