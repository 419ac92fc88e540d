"""Private coaching per side: the pitfall detectors (``detectors``) and the
over-sharing guard (``guard``). Only the side concerned ever sees a nudge."""

from room.coaching.detectors import run_detectors
from room.coaching.guard import figure_variants, oversharing_in, record_oversharing

__all__ = [
    "figure_variants",
    "oversharing_in",
    "record_oversharing",
    "run_detectors",
]
