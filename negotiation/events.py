"""The deal's event vocabulary: every kind a ``DealEvent`` can have, declared once.

``EventKind`` is ``DealEvent.kind``'s choices. ``EVENTS`` says, for each kind:

- ``touches``: what the event changes on screen, which is what each connected
  socket renders again for its own side. An object name (``trade``, ``term``,
  ``concession``…) means that one object, found through the event's payload
  ids; a region name (``stagebar``, ``agreement``…) means that region, whose
  size is bounded by the agenda, not by the room's history; ``room`` means a
  fresh render of every region (a stage change, the end of the negotiation).
  ``room.render`` has a renderer for each name and a test holds it to that.
- ``announce``: what a screen reader hears when the other side does it
  (``{who}`` is the actor's name); empty for events not worth interrupting for.
- ``replay``: the review's one-sentence telling of it. ``{who}`` is the actor;
  the other fields (``{trade}``, ``{issue}``, ``{about}``…) are filled by
  ``review.analysis.narrative`` from shared facts only.
- ``changes_access``: whether it can change who may see the room, or the deal
  row an access carries (stage, status, purpose). A socket renders the other
  events with the access it already checked.

A test walks every kind the code can emit and fails when one has no entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class EventKind(models.TextChoices):
    DEAL_CREATED = "deal.created", "Deal created"
    DEAL_UPDATED = "deal.updated", "Deal facts updated"
    DEAL_NO_DEAL = "deal.no_deal", "Ended without agreement"
    ISSUE_ADDED = "issue.added", "Issue added"
    ISSUE_UPDATED = "issue.updated", "Issue edited"
    ISSUE_REMOVED = "issue.removed", "Issue removed"
    ISSUE_REORDERED = "issue.reordered", "Agenda reordered"
    SETUP_UPDATED = "setup.updated", "Purpose or ground rules updated"
    PARTICIPANT_JOINED = "participant.joined", "Participant joined"
    INVITE_REVOKED = "invite.revoked", "Share link revoked"
    STAGE_PROPOSED = "stage.proposed", "Stage change proposed"
    STAGE_ACCEPTED = "stage.accepted", "Stage change accepted"
    STAGE_DECLINED = "stage.declined", "Stage change declined"
    STAGE_WITHDRAWN = "stage.withdrawn", "Stage change withdrawn"
    CADENCE_PROPOSED = "cadence.proposed", "Review cadence proposed"
    CADENCE_ACCEPTED = "cadence.accepted", "Review cadence agreed"
    CADENCE_DECLINED = "cadence.declined", "Review cadence declined"
    CADENCE_WITHDRAWN = "cadence.withdrawn", "Review cadence withdrawn"
    PAUSE_PROPOSED = "pause.proposed", "Pause proposed"
    PAUSE_ACCEPTED = "pause.accepted", "Pause agreed"
    PAUSE_COUNTERED = "pause.countered", "Another resume date proposed"
    POSITION_UPDATED = "position.updated", "Shared position updated"
    TRADE_PROPOSED = "trade.proposed", "Trade proposed"
    TRADE_COUNTERED = "trade.countered", "Trade countered"
    TRADE_ACCEPTED = "trade.accepted", "Trade accepted"
    TRADE_DECLINED = "trade.declined", "Trade declined"
    TRADE_WITHDRAWN = "trade.withdrawn", "Trade withdrawn"
    MESO_PRESENTED = "meso.presented", "Packages presented"
    MESO_ANSWERED = "meso.answered", "Packages answered"
    CONCESSION_ADDED = "concession.added", "Concession logged"
    CONCESSION_WITHDRAWN = "concession.withdrawn", "Concession withdrawn"
    CONCESSION_VALUED = "concession.valued", "Concession valued"
    TERM_UPDATED = "term.updated", "Term set"
    COMMITMENT_ADDED = "commitment.added", "Commitment added"
    COMMITMENT_UPDATED = "commitment.updated", "Commitment edited"
    COMMITMENT_REMOVED = "commitment.removed", "Commitment removed"
    COMMITMENT_CONFIRMED = "commitment.confirmed", "Commitment confirmed"
    AGREEMENT_CONFIRMED = "agreement.confirmed", "Agreement confirmed"
    CHECKIN_ADDED = "checkin.added", "Check-in recorded"
    MESSAGE_POSTED = "message.posted", "Message posted"
    JOINTCHECK_ALLOWED = "jointcheck.allowed", "Joint check allowed"
    JOINTCHECK_WITHDRAWN = "jointcheck.withdrawn", "Joint check consent withdrawn"
    JOINTCHECK_RAN = "jointcheck.ran", "Joint check run"
    JOINTCHECK_ACCEPTED = "jointcheck.accepted", "Suggested package accepted"


@dataclass(frozen=True)
class EventSpec:
    touches: tuple[str, ...]
    announce: str
    replay: str
    changes_access: bool = False


K = EventKind

EVENTS: dict[EventKind, EventSpec] = {
    K.DEAL_CREATED: EventSpec(("room",), "", "{who} created the deal.", True),
    K.DEAL_UPDATED: EventSpec(
        ("status", "setup"), "", "{who} updated the deal's facts.", True
    ),
    K.DEAL_NO_DEAL: EventSpec(
        ("room",),
        "{who} ended the negotiation without agreement.",
        "{who} ended the negotiation without agreement.",
        True,
    ),
    # The agenda appears in most tools (trade forms, terms, packages): an
    # agenda change, made in Setup, renders the room afresh.
    K.ISSUE_ADDED: EventSpec(
        ("room",),
        "{who} added an issue to the agenda.",
        "{who} put {issue} on the agenda.",
    ),
    K.ISSUE_UPDATED: EventSpec(("room",), "", "{who} edited the issue {issue}."),
    K.ISSUE_REMOVED: EventSpec(("room",), "", "{who} took an issue off the agenda."),
    K.ISSUE_REORDERED: EventSpec(("room",), "", "{who} reordered the agenda."),
    K.SETUP_UPDATED: EventSpec(
        ("setup",),
        "{who} updated the shared purpose or ground rules.",
        "{who} updated the shared purpose or ground rules.",
        True,
    ),
    K.PARTICIPANT_JOINED: EventSpec(
        ("presence",), "{who} joined the room.", "{who} joined the room.", True
    ),
    K.INVITE_REVOKED: EventSpec(("presence",), "", "{who} revoked a share link.", True),
    K.STAGE_PROPOSED: EventSpec(
        ("stagebar",),
        "{who} proposed a stage change.",
        "{who} proposed a stage change.",
    ),
    # Each stage foregrounds other tools: the whole room changes.
    K.STAGE_ACCEPTED: EventSpec(
        ("room",),
        "{who} accepted the stage change.",
        "{who} accepted the move: the deal is now in {stage}.",
        True,
    ),
    K.STAGE_DECLINED: EventSpec(
        ("stagebar",),
        "{who} declined the stage change.",
        "{who} declined the stage change.",
    ),
    K.STAGE_WITHDRAWN: EventSpec(("stagebar",), "", "{who} withdrew the stage change."),
    # The review cadence and first check-in, agreed like a stage change; the
    # agreement's fingerprint includes the agreed one.
    K.CADENCE_PROPOSED: EventSpec(
        ("cadence",),
        "{who} proposed a review cadence.",
        "{who} proposed {cadence}.",
    ),
    # The agreed cadence is written on the deal row an access carries.
    K.CADENCE_ACCEPTED: EventSpec(
        ("cadence", "agreement", "checkins"),
        "{who} agreed the review cadence.",
        "{who} agreed {cadence}.",
        True,
    ),
    K.CADENCE_DECLINED: EventSpec(
        ("cadence",),
        "{who} declined the proposed review cadence.",
        "{who} declined {cadence}.",
    ),
    K.CADENCE_WITHDRAWN: EventSpec(
        ("cadence",), "", "{who} withdrew the proposed review cadence."
    ),
    # "Pause and revisit": a date to resume, accepted or answered with another.
    K.PAUSE_PROPOSED: EventSpec(
        ("pause",),
        "{who} proposed a pause.",
        "{who} proposed to pause and resume {resume}.",
    ),
    K.PAUSE_ACCEPTED: EventSpec(
        ("pause",),
        "{who} agreed the pause.",
        "{who} agreed to pause and resume {resume}.",
    ),
    K.PAUSE_COUNTERED: EventSpec(
        ("pause",),
        "{who} proposed another date to resume.",
        "{who} proposed to resume {resume} instead.",
    ),
    K.POSITION_UPDATED: EventSpec(
        ("positions",),
        "{who} updated their shared interests and ranking.",
        "{who} updated their shared interests and ranking.",
    ),
    K.TRADE_PROPOSED: EventSpec(
        ("trade",), "{who} proposed a conditional trade.", "{who} proposed {trade}."
    ),
    K.TRADE_COUNTERED: EventSpec(
        ("trade", "trade.original"),
        "{who} countered a trade.",
        "{who} countered with {trade}.",
    ),
    K.TRADE_ACCEPTED: EventSpec(
        ("trade", "trade.terms", "trade.concessions", "agreement"),
        "{who} accepted a trade.",
        "{who} accepted {trade}.",
    ),
    K.TRADE_DECLINED: EventSpec(
        ("trade",), "{who} declined a trade.", "{who} declined {trade}."
    ),
    K.TRADE_WITHDRAWN: EventSpec(
        ("trade",), "{who} withdrew a trade.", "{who} withdrew {trade}."
    ),
    K.MESO_PRESENTED: EventSpec(
        ("meso",),
        "{who} presented a set of packages.",
        "{who} presented a set of equivalent packages.",
    ),
    K.MESO_ANSWERED: EventSpec(
        ("meso", "meso.terms", "agreement"),
        "{who} answered a set of packages.",
        "{who} {answer}.",
    ),
    K.CONCESSION_ADDED: EventSpec(
        ("concession",), "", "{who} logged the concession{about}."
    ),
    K.CONCESSION_VALUED: EventSpec(
        ("concession",), "", "{who} valued their concession{about}."
    ),
    # The object is gone: its list is rendered again.
    K.CONCESSION_WITHDRAWN: EventSpec(
        ("concessions",),
        "{who} withdrew a concession.",
        "{who} withdrew the concession{about}.",
    ),
    K.TERM_UPDATED: EventSpec(
        ("term", "agreement"),
        "{who} changed the term sheet.",
        "{who} set {issue}{to_value} on the term sheet.",
    ),
    K.COMMITMENT_ADDED: EventSpec(
        ("commitment", "agreement"),
        "{who} added a commitment.",
        "{who} added the commitment{about}.",
    ),
    K.COMMITMENT_UPDATED: EventSpec(
        ("commitment", "agreement"), "", "{who} edited the commitment{about}."
    ),
    K.COMMITMENT_REMOVED: EventSpec(
        ("commitments", "agreement"),
        "{who} removed a commitment.",
        "{who} removed the commitment{about}.",
    ),
    K.COMMITMENT_CONFIRMED: EventSpec(
        ("commitment", "agreement"),
        "{who} confirmed a commitment.",
        "{who} confirmed the commitment{about}.",
    ),
    # Both confirmations agree the deal: its status changes.
    K.AGREEMENT_CONFIRMED: EventSpec(
        ("room",),
        "{who} confirmed the agreement.",
        "{who} confirmed the agreement.",
        True,
    ),
    K.CHECKIN_ADDED: EventSpec(
        ("checkin", "checkin.commitments"),
        "{who} recorded a check-in.",
        "{who} recorded a check-in.",
    ),
    K.MESSAGE_POSTED: EventSpec(
        ("message",), "{who} wrote in the discussion.", "{who} wrote{quote}"
    ),
    # The blind joint check: consent, the verdict (the same for both sides)
    # and the acceptance of a suggested package, which once both sides
    # accept the same one becomes the draft term sheet.
    K.JOINTCHECK_ALLOWED: EventSpec(
        ("jointcheck",),
        "{who} allowed a joint check.",
        "{who} allowed a joint check of both sides' private scorings.",
    ),
    K.JOINTCHECK_WITHDRAWN: EventSpec(
        ("jointcheck",),
        "{who} withdrew their consent to a joint check.",
        "{who} withdrew their consent to a joint check.",
    ),
    K.JOINTCHECK_RAN: EventSpec(
        ("jointcheck",),
        "{who} ran the joint check.",
        "{who} ran the joint check.",
    ),
    K.JOINTCHECK_ACCEPTED: EventSpec(
        ("jointcheck", "terms", "agreement"),
        "{who} accepted a suggested package.",
        "{who} accepted a package the joint check suggested.",
    ),
}


def spec_of(kind: str) -> EventSpec:
    """The entry of a kind read back from the log or a group message.

    An unknown kind (a row written by a newer release, say) renders the room
    afresh and is told plainly, rather than failing.
    """
    try:
        return EVENTS[EventKind(kind)]
    except ValueError:
        return EventSpec(("room",), "", "{who}: " + kind.replace(".", " ") + ".", True)
