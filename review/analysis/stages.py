"""Time spent in each stage, from the ``stage.accepted`` events of the log.

A deal starts in Setup when it is created. Each accepted stage change moves it
to the stage the event names. The negotiation is measured until it ended
(``closed_at``) or, for an open deal, until now; stages entered after the end
(Implementation, once the agreement is confirmed) are not part of it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

FIRST_STAGE = "setup"


def stage_durations(
    *,
    started_at: datetime.datetime,
    changes: Iterable[tuple[datetime.datetime, str]],
    ended_at: datetime.datetime,
    first_stage: str = FIRST_STAGE,
) -> dict[str, datetime.timedelta]:
    """How long the deal was in each stage between ``started_at`` and ``ended_at``.

    ``changes`` are (when, stage entered) pairs, in any order. A stage visited
    twice (a step back, then forward again) adds up both stays.
    """
    durations: dict[str, datetime.timedelta] = {}
    current, since = first_stage, started_at
    for when, stage in sorted(changes, key=lambda change: change[0]):
        if when >= ended_at:
            break
        when = max(when, since)
        durations[current] = durations.get(current, datetime.timedelta()) + (
            when - since
        )
        current, since = stage, when
    if ended_at > since:
        durations[current] = durations.get(current, datetime.timedelta()) + (
            ended_at - since
        )
    return durations


@dataclass(frozen=True)
class StageTime:
    stage: str
    label: str
    average_days: float
    deals: int


def average_stage_days(
    per_deal: Iterable[Mapping[str, datetime.timedelta]],
    stages: Sequence[tuple[str, str]],
) -> list[StageTime]:
    """The mean time in each stage, over the deals that spent time in it."""
    totals = {stage: datetime.timedelta() for stage, _ in stages}
    counts = dict.fromkeys(totals, 0)
    for durations in per_deal:
        for stage, spent in durations.items():
            if stage in totals and spent > datetime.timedelta():
                totals[stage] += spent
                counts[stage] += 1
    return [
        StageTime(
            stage=stage,
            label=label,
            average_days=(
                totals[stage].total_seconds() / 86400 / counts[stage]
                if counts[stage]
                else 0.0
            ),
            deals=counts[stage],
        )
        for stage, label in stages
    ]
