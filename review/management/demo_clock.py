"""Demo deals played now, stamped as if they had happened over weeks.

The demo's past deals are played through the real services, so every row and
event is one the product itself would write; they are written in a second,
though, so their timestamps are then moved onto a made-up calendar. A
``DemoClock`` records, around each action, when it really ran and when it is
meant to have happened; ``backdate`` then maps every timestamp of the deal
through those pairs (piecewise linear, so the order of everything written is
kept and each row lands at its own action's made-up time).
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from negotiation.models import Deal, DealEvent
from room.coaching import run_detectors

# How long one action is taken to last on the made-up calendar.
ACTION_SPAN = datetime.timedelta(minutes=2)
# The apps whose rows belong to a deal (and so are moved with it).
DEAL_APPS = ("negotiation", "live_sessions", "review")
# How a model's rows reach their deal, tried in order.
DEAL_PATHS = ("deal", "party__deal", "participant__party__deal", "source_deal")


class DemoClock:
    """The made-up time of a deal being played, and when each action ran."""

    def __init__(self, start: datetime.datetime) -> None:
        self.now = start
        self._real: list[datetime.datetime] = [timezone.now()]
        self._fake: list[datetime.datetime] = [start]

    def wait(self, **delta: float) -> None:
        """Let made-up time pass before the next action (``days=2``, ``hours=3``)."""
        self.now += datetime.timedelta(**delta)

    def act(self, deal_id: int, service: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one action at the clock's time, then coach on what it wrote,
        as the room does after an action (``room.coaching.run_detectors``)."""
        before = Deal.objects.values_list("last_seq", flat=True).get(pk=deal_id)
        self._mark(self.now)
        result = service(**kwargs)
        run_detectors(
            DealEvent.objects.filter(deal_id=deal_id, seq__gt=before)
            .select_related("deal")
            .order_by("seq")
        )
        self._mark(self.now + ACTION_SPAN)
        self.now += ACTION_SPAN
        return result

    def quiet(self, service: Callable[..., Any], **kwargs: Any) -> Any:
        """Run a write that is no room action (preparation, a review) at the
        clock's time, without coaching."""
        self._mark(self.now)
        result = service(**kwargs)
        self._mark(self.now + ACTION_SPAN)
        self.now += ACTION_SPAN
        return result

    def _mark(self, fake: datetime.datetime) -> None:
        real = timezone.now()
        if real <= self._real[-1]:
            real = self._real[-1] + datetime.timedelta(microseconds=1)
        self._real.append(real)
        self._fake.append(fake)

    def warp(self, real: datetime.datetime) -> datetime.datetime:
        """The made-up time of something written at ``real``."""
        index = bisect.bisect_right(self._real, real)
        if index == 0:
            return self._fake[0]
        if index == len(self._real):
            return self._fake[-1] + (real - self._real[-1])
        r0, r1 = self._real[index - 1], self._real[index]
        f0, f1 = self._fake[index - 1], self._fake[index]
        return f0 + (f1 - f0) * ((real - r0) / (r1 - r0))


def _deal_path(model: type[models.Model]) -> str | None:
    if model is Deal:
        return "pk"
    names = {field.name for field in model._meta.concrete_fields}
    for path in DEAL_PATHS:
        if path.split("__")[0] in names:
            return path
    return None


def backdate(deal_id: int, clock: DemoClock) -> None:
    """Move every timestamp of the deal's rows onto the clock's calendar."""
    for app in DEAL_APPS:
        for model in apps.get_app_config(app).get_models():
            path = _deal_path(model)
            fields = [
                field.attname
                for field in model._meta.concrete_fields
                if isinstance(field, models.DateTimeField)
            ]
            if path is None or not fields:
                continue
            rows = list(model.objects.filter(**{path: deal_id}).only("pk", *fields))
            for row in rows:
                for name in fields:
                    value = getattr(row, name)
                    if value is not None:
                        setattr(row, name, clock.warp(value))
            # bulk_update writes the values as set: auto_now is not applied.
            model.objects.bulk_update(rows, fields, batch_size=200)
