"""The demo's clock: what an action wrote lands at that action's made-up time."""

import datetime

from django.utils import timezone

from review.management.demo_clock import ACTION_SPAN, DemoClock

START = datetime.datetime(2026, 1, 5, 9, tzinfo=datetime.UTC)


def test_each_write_lands_within_its_own_actions_made_up_time():
    clock = DemoClock(START)
    written = []
    clock.wait(days=3)
    clock.quiet(lambda: written.append(timezone.now()))
    clock.wait(days=2)
    clock.quiet(lambda: written.append(timezone.now()))

    first, second = (clock.warp(moment) for moment in written)

    assert START + datetime.timedelta(days=3) <= first
    assert first <= START + datetime.timedelta(days=3) + ACTION_SPAN
    second_start = START + datetime.timedelta(days=5) + ACTION_SPAN
    assert second_start <= second <= second_start + ACTION_SPAN


def test_before_the_first_action_is_the_start_and_order_is_kept():
    clock = DemoClock(START)
    before = timezone.now() - datetime.timedelta(seconds=1)
    moments = []
    for _ in range(5):
        clock.wait(hours=7)
        clock.quiet(lambda: moments.append(timezone.now()))
    after = timezone.now() + datetime.timedelta(seconds=1)

    assert clock.warp(before) == START
    warped = [clock.warp(moment) for moment in moments]
    assert warped == sorted(warped)
    assert warped[-1] - warped[0] >= datetime.timedelta(hours=28)
    # Past the last action, real time runs on from the clock's end.
    assert clock.warp(after) >= clock.now
