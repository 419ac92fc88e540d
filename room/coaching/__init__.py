"""Private coaching per side: the pitfall detectors (``detectors``) and the
over-sharing guard (``guard``). Only the side concerned ever sees a nudge."""

from negotiation.disclosure import oversharing_in
from room.coaching.detectors import coach_safely, run_detectors
from room.coaching.guard import record_oversharing

__all__ = [
    "coach_safely",
    "oversharing_in",
    "record_oversharing",
    "run_detectors",
]
