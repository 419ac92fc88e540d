"""The fault bench's clients wait before reconnecting as room.js does."""

from __future__ import annotations

import random

from bench.faults import reconnect_delay


def test_the_first_reconnect_comes_within_half_a_second_spread_over_it():
    rng = random.Random(3)
    waits = [reconnect_delay(1, rng) for _ in range(2000)]

    assert 0 <= min(waits) < 0.05
    assert 0.45 < max(waits) <= 0.5
    assert 0.2 < sum(waits) / len(waits) < 0.3


def test_later_reconnects_back_off_to_at_most_15_seconds():
    rng = random.Random(3)
    for attempt, nominal in [(2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 15.0)]:
        waits = [reconnect_delay(attempt, rng) for _ in range(200)]
        assert nominal * 0.75 <= min(waits)
        assert max(waits) <= nominal * 1.25
    assert reconnect_delay(40, rng) <= 15 * 1.25
