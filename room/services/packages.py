"""MESO: equivalent packages presented at once; the other side ranks or picks."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.models import Deal
from negotiation.services.base import (
    applied_once,
    check_version,
    save_versioned,
)
from room.models import MesoSet, Package
from room.services.rules import deal_object, require_tool, room_event, set_term


def _package_values(deal: Deal, values: dict) -> dict[str, str]:
    issue_ids = {str(pk) for pk in deal.issues.values_list("pk", flat=True)}
    cleaned = {str(k): str(v).strip() for k, v in (values or {}).items()}
    if set(cleaned) - issue_ids:
        raise ValidationError("A package can only hold this deal's issues.")
    missing = issue_ids - {k for k, v in cleaned.items() if v}
    if missing:
        raise ValidationError("A package needs a value for every issue.")
    return cleaned


@applied_once
def meso_present(
    *,
    access: DealAccess,
    packages: list[dict[str, Any]],
    note: str = "",
    counter_of_id: int | None = None,
    client_msg_id=None,
) -> MesoSet:
    """Present several equivalent packages at once (MESO): usually three.

    ``packages`` are ``{"name": str, "values": {issue_id: value}}``. A single
    package is allowed too, as a counter to one of the other side's packages.
    """
    deal = require_tool(access, "packages")
    if not 1 <= len(packages) <= 5:
        raise ValidationError("Present between one and five packages.")
    counter_of = None
    if counter_of_id is not None:
        counter_of = Package.objects.filter(pk=counter_of_id, deal=deal).first()
        if counter_of is None or counter_of.party_id == access.party.pk:
            raise ValidationError("You can only counter the other side's package.")
    names = [str(p.get("name", "")).strip() for p in packages]
    if any(not name for name in names) or len(set(names)) != len(names):
        raise ValidationError("Give each package its own name.")
    meso = MesoSet.objects.create(
        deal=deal, party=access.party, created_by=access.participant, note=note.strip()
    )
    Package.objects.bulk_create(
        [
            Package(
                deal=deal,
                party=access.party,
                created_by=access.participant,
                name=name,
                values=_package_values(deal, spec.get("values", {})),
                meso_set=meso,
                counter_of=counter_of,
            )
            for name, spec in zip(names, packages, strict=True)
        ]
    )
    room_event(access, deal, "meso.presented", client_msg_id, meso_id=meso.pk)
    return meso


@applied_once
def meso_respond(
    *,
    access: DealAccess,
    meso_id: int,
    version: int,
    preference: list[int] | None = None,
    picked_id: int | None = None,
    client_msg_id=None,
) -> MesoSet:
    """The other side ranks the packages, and may pick one (binding: its values
    become the draft term sheet)."""
    deal = require_tool(access, "packages")
    meso = deal_object(MesoSet, deal, meso_id, access.party, own=False)
    if meso.status == MesoSet.Status.WITHDRAWN:
        raise ValidationError("That set was withdrawn.")
    check_version(meso, version)
    package_ids = set(meso.packages.values_list("pk", flat=True))
    try:
        preference = [int(pk) for pk in (preference or [])]
        picked_id = int(picked_id) if picked_id not in (None, "") else None
    except (TypeError, ValueError):
        raise ValidationError("Rank or pick packages of this set.") from None
    if not set(preference) <= package_ids or len(set(preference)) != len(preference):
        raise ValidationError("Rank each package of this set once.")
    if picked_id is not None and picked_id not in package_ids:
        raise ValidationError("Pick one of this set's packages.")
    if not preference and picked_id is None:
        raise ValidationError("Rank the packages or pick one.")
    meso.preference = preference
    meso.status = MesoSet.Status.ANSWERED
    meso.answered_by = access.participant
    fields = ["preference", "status", "answered_by"]
    if picked_id is not None:
        meso.picked_id = picked_id
        fields.append("picked")
        picked = meso.packages.get(pk=picked_id)
        # An issue added after the packages were presented has no value in
        # them: it stays open on the term sheet.
        for issue in deal.issues.filter(pk__in=[int(k) for k in picked.values]):
            set_term(deal, issue, picked.values[str(issue.pk)], access)
    save_versioned(meso, fields=fields)
    room_event(access, deal, "meso.answered", client_msg_id, meso_id=meso.pk)
    return meso
