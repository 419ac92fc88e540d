"""First Move: what a side chooses to share of its interests, ranking and matrix."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from negotiation.access import DealAccess
from negotiation.services.base import (
    applied_once,
    check_version,
    save_versioned,
    validate,
)
from room.models import SharedPosition
from room.services.rules import require_tool, room_event


@applied_once
def position_update(
    *,
    access: DealAccess,
    version: int | None,
    interests: str,
    ranking: list[int],
    shared_matrix: dict[str, list[str]] | None = None,
    client_msg_id=None,
) -> SharedPosition:
    """Save what this side shows the other: interests, ranking, matrix columns.

    Only columns in ``SharedPosition.SHAREABLE_MATRIX_FIELDS`` can be shared;
    walk-away points and importance scores cannot be shared at all.
    """
    deal = require_tool(access, "position")
    issue_ids = set(deal.issues.values_list("pk", flat=True))
    try:
        ranking = [int(pk) for pk in ranking]
    except (TypeError, ValueError):
        raise ValidationError({"ranking": "The ranking lists issues."}) from None
    if len(set(ranking)) != len(ranking) or not set(ranking) <= issue_ids:
        raise ValidationError({"ranking": "Rank each issue of this deal at most once."})
    matrix: dict[str, list[str]] = {}
    for key, columns in (shared_matrix or {}).items():
        if not str(key).isdigit() or int(key) not in issue_ids:
            raise ValidationError("That issue is not on this deal's agenda.")
        bad = set(columns) - set(SharedPosition.SHAREABLE_MATRIX_FIELDS)
        if bad:
            raise ValidationError(
                "Only what you can give, what you want and the ideal outcome "
                "can be shared. Walk-away points never leave your side."
            )
        if columns:
            matrix[str(int(key))] = sorted(set(columns))
    position, created = SharedPosition.objects.select_for_update().get_or_create(
        party=access.party
    )
    if not created:
        check_version(position, version)
    position.interests = interests.strip()
    position.ranking = ranking
    position.shared_matrix = matrix
    if created:
        validate(position)
        position.save()
    else:
        save_versioned(position, fields=["interests", "ranking", "shared_matrix"])
    room_event(access, deal, "position.updated", client_msg_id, party=access.side)
    return position
