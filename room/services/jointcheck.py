"""The blind joint check: consent, the check itself, and accepting a package
it suggests.

The check reads both sides' private scorings on the server and tells both
sides the same words (``negotiation.scoring.joint``): never a score. It runs
only while both sides consent; either side may withdraw consent before it
runs. Every step is logged, so consent is on the record.

A suggested package becomes the draft term sheet only when both sides accept
the same one: a binding action each, like accepting a trade. After the
agreement (Implementation) the same check proposes post-settlement
improvements: a package both accept replaces the agreed terms, the two
acceptances being both sides' confirmations of the new agreement.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiation.access import DealAccess
from negotiation.models import Deal, Issue, Party
from negotiation.scoring.joint import joint_verdict
from negotiation.selectors import analysis_agenda, side_scoring
from negotiation.services.base import applied_once, check_version, save_versioned
from room.models import (
    AgreementConfirmation,
    JointCheck,
    JointCheckConsent,
    TermSheetEntry,
)
from room.services.closing import agreement_digest
from room.services.rules import require_tool, room_event, set_term

NEEDS_BOTH = "Both sides must allow the joint check before it can run."
NEEDS_SCORING = (
    "The joint check needs a scoring of every issue from both sides. Each side "
    "sets it in its private preparation (Scoring); nothing of it is shown to "
    "the other side."
)


@applied_once
def joint_check_allow(*, access: DealAccess, client_msg_id=None) -> JointCheckConsent:
    """This side lets the joint check read its private scoring."""
    deal = require_tool(access, "jointcheck")
    consent, created = JointCheckConsent.objects.get_or_create(
        party=access.party,
        defaults={"deal": deal, "allowed_by": access.participant},
    )
    if not created:
        raise ValidationError("Your side has already allowed the joint check.")
    room_event(access, deal, "jointcheck.allowed", client_msg_id, party=access.side)
    return consent


@applied_once
def joint_check_withdraw(*, access: DealAccess, client_msg_id=None) -> None:
    """This side takes its consent back: no later check may run on it."""
    deal = require_tool(access, "jointcheck")
    deleted, _ = JointCheckConsent.objects.filter(party=access.party).delete()
    if not deleted:
        raise ValidationError("Your side has not allowed the joint check.")
    room_event(access, deal, "jointcheck.withdrawn", client_msg_id, party=access.side)


@applied_once
def joint_check_run(*, access: DealAccess, client_msg_id=None) -> JointCheck:
    """Run the check on both scorings and the term sheet as they are now."""
    deal = require_tool(access, "jointcheck")
    if JointCheckConsent.objects.filter(deal=deal).count() != 2:
        raise ValidationError(NEEDS_BOTH)
    agenda = list(Issue.objects.filter(deal=deal))
    if not agenda:
        raise ValidationError("There are no issues on the agenda to check.")
    parties = {p.side: p for p in deal.parties.all()}
    host = side_scoring(parties[Party.Side.HOST], agenda)
    counterpart = side_scoring(parties[Party.Side.COUNTERPART], agenda)
    if host is None or counterpart is None:
        raise ValidationError(NEEDS_SCORING)
    terms = dict(
        TermSheetEntry.objects.filter(deal=deal).values_list("issue_id", "value")
    )
    verdict = joint_verdict(analysis_agenda(agenda), host, counterpart, terms)
    check = JointCheck.objects.create(
        deal=deal,
        requested_by=access.participant,
        agreement_possible=verdict.agreement_possible,
        terms_complete=verdict.terms_complete,
        terms_efficient=verdict.terms_efficient,
        suggestions=[
            {str(pk): value for pk, value in package.items()}
            for package in verdict.suggestions
        ],
    )
    room_event(access, deal, "jointcheck.ran", client_msg_id, check_id=check.pk)
    return check


@applied_once
def joint_check_accept(
    *,
    access: DealAccess,
    check_id: int,
    index: int,
    version: int,
    client_msg_id=None,
) -> JointCheck:
    """Binding: this side accepts suggestion ``index`` of a check. When the
    other side accepted the same one, its values become the draft terms."""
    deal = require_tool(access, "jointcheck")
    check = _latest_check(deal, check_id)
    check_version(check, version)
    if check.applied:
        raise ValidationError("A package of this check was already applied.")
    if not 0 <= index < len(check.suggestions):
        raise ValidationError("That check suggested no such package.")
    check.accepted = {**check.accepted, access.side: index}
    fields = ["accepted"]
    other = (
        Party.Side.COUNTERPART if access.side == Party.Side.HOST else Party.Side.HOST
    )
    if check.accepted.get(other) == index:
        package = check.suggestions[index]
        issues = {str(i.pk): i for i in Issue.objects.filter(deal=deal)}
        if set(package) != set(issues):
            raise ValidationError(
                "The agenda changed since the check ran: run it again."
            )
        for pk, value in package.items():
            set_term(deal, issues[pk], value, access)
        check.applied = True
        fields.append("applied")
        if deal.status == Deal.Status.AGREED:
            _reconfirm(deal)
    save_versioned(check, fields=fields)
    room_event(
        access, deal, "jointcheck.accepted", client_msg_id,
        check_id=check.pk, index=index, applied=check.applied,
    )  # fmt: skip
    return check


def _reconfirm(deal: Deal) -> None:
    """A post-settlement improvement: both sides' binding acceptances of the
    same package are their confirmations of the agreement it makes, so each
    side's confirmation moves to the new terms' digest (the deal stays
    agreed, on the improved terms)."""
    digest = agreement_digest(deal)
    AgreementConfirmation.objects.filter(deal=deal).update(
        digest=digest, confirmed_at=timezone.now()
    )


def _latest_check(deal: Deal, check_id: int) -> JointCheck:
    """The deal's newest check, locked: only its suggestions can be taken
    (an older one was made on terms that have changed since)."""
    check = (
        JointCheck.objects.select_for_update().filter(deal=deal).order_by("-pk").first()
    )
    if check is None or check.pk != check_id:
        raise ValidationError(
            "A newer joint check replaced that one: answer its suggestions.",
            code="stale_version",
        )
    return check
