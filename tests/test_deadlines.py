"""When reminders are handed to the outbox (bot.deadlines): at their own time when there is room, earlier at a
busy minute so that every one arrives inside its window, never before its window opens; checked by sending
what was handed over, soonest deadline first, at the rate."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta, timezone

from hypothesis import assume, given, settings, strategies as st

from bot.deadlines import MARGIN, Timed, due_now, hand_over_at, reminder_rate

T = datetime(2026, 11, 22, 11, 0, tzinfo=timezone.utc)  # a Sunday 19:00 call in Shanghai


def soon(key, call=T, cost=2) -> Timed:
    """'30 minutes before': may arrive from 40 to 25 minutes before the call."""
    return Timed(key, call - timedelta(minutes=40), call - timedelta(minutes=30), call - timedelta(minutes=25), cost)


def deliver(items: list[Timed], rate: float, step: timedelta = timedelta(seconds=30)) -> dict:
    """What the dispatcher and the outbox do together: every `step` the dispatcher hands over what `due_now`
    says; the outbox sends soonest deadline first at `rate`. Returns each item's arrival (its last message)."""
    start = min(i.earliest for i in items) - step
    now, pending, queue, arrived, budget = start, list(items), [], {}, 0.0
    while pending or queue:
        ready = set(due_now(pending, now, rate, queued=[(latest, cost) for latest, _, cost in queue]))  # count=1
        for item in [i for i in pending if i.key in ready]:
            heapq.heappush(queue, (item.latest, item.key, item.cost))
        pending = [i for i in pending if i.key not in ready]
        budget += rate * step.total_seconds()
        while queue and budget >= queue[0][2]:
            _latest, key, cost = heapq.heappop(queue)
            budget -= cost
            arrived[key] = now + step  # at the latest by the end of this step
        now += step
        if not queue:
            budget = 0.0  # unused capacity is not saved up
            if pending:  # nothing to send until the next hand-over: skip to the step it falls in
                upcoming = min(hand_over_at(pending, rate, now=now).values())
                now = max(now, now + (upcoming - now) // step * step)
        assert now < start + timedelta(days=3), "the simulation never finished"
    return arrived


def test_a_quiet_minute_hands_each_reminder_over_at_its_own_time():
    plan = hand_over_at([soon(1), soon(2, call=T + timedelta(hours=1))], rate=20, now=T - timedelta(hours=1))
    assert plan == {1: T - timedelta(minutes=30), 2: T + timedelta(minutes=30)}


def test_a_busy_minute_hands_some_over_early_but_none_before_the_window_opens():
    busy = [soon(n) for n in range(6_000)]  # 12,000 messages for Sunday 19:00
    plan = hand_over_at(busy, rate=20, now=T - timedelta(hours=1))
    assert min(plan.values()) >= T - timedelta(minutes=40)
    assert min(plan.values()) < T - timedelta(minutes=30) <= max(plan.values())
    arrived = deliver(busy, rate=20)
    assert all(T - timedelta(minutes=40) <= arrived[i.key] <= T - timedelta(minutes=25) for i in busy)


def test_the_same_minute_at_the_nominal_time_only_would_arrive_late():
    """What the windows are for: handing all 12,000 over at 18:30 at 20 a second ends ten minutes later."""
    busy = [soon(n) for n in range(6_000)]
    nominal_only = [Timed(i.key, i.nominal, i.nominal, i.latest, i.cost) for i in busy]
    arrived = deliver(nominal_only, rate=20)
    assert max(arrived.values()) > T - timedelta(minutes=25)


def test_messages_already_waiting_take_their_place_in_the_schedule():
    """600 messages for a call five minutes later, already handed over, are counted as if they went as late as
    their own deadline allows (ten minutes at 1 a second, up to 19:39): the reminder must be handed over before
    them. A backlog of higher lanes that the outbox clears before it matters changes nothing; one that it
    cannot clear in time sends the reminder at once (here, at the opening of its window)."""
    now = T - timedelta(minutes=50)
    alone = hand_over_at([soon(1, cost=1)], rate=1, now=now)[1]
    assert alone == T - timedelta(minutes=30)
    behind = hand_over_at([soon(1, cost=1)], rate=1, now=now, queued=[(T - timedelta(minutes=20), 600)])[1]
    assert behind == T - timedelta(minutes=20) - MARGIN - timedelta(seconds=601)
    assert hand_over_at([soon(1, cost=1)], rate=1, now=now, backlog=600)[1] == alone
    assert hand_over_at([soon(1, cost=1)], rate=1, now=now, backlog=3000)[1] == T - timedelta(minutes=40)


def test_what_cannot_make_its_window_is_handed_over_at_once_not_dropped():
    downtime = soon(1, call=T)
    now = T - timedelta(minutes=10)  # after its window: the bot was down
    assert due_now([downtime], now, rate=20) == {1: 1}


def test_the_rate_left_to_reminders_keeps_a_share_for_people():
    assert reminder_rate(25) == 20


windows = st.sampled_from([(timedelta(minutes=30), timedelta(minutes=10), timedelta(minutes=5)),
                           (timedelta(days=1), timedelta(hours=2), timedelta(hours=1))])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), windows, st.integers(1, 3), st.integers(1, 300)), min_size=1,
                max_size=8))
def test_any_load_the_rate_can_carry_arrives_inside_every_window(groups):
    """Groups of reminders for calls on the half hour: whenever each window could hold everything due in it
    at the rate (a load the outbox can carry), every reminder arrives inside its window."""
    rate = 2.0  # low, so that a few hundred reminders make a busy minute
    items, n = [], 0
    for half_hours, (offset, early, late), cost, count in groups:
        call = T + timedelta(minutes=30 * half_hours)
        for _ in range(count):
            n += 1
            items.append(Timed(n, call - offset - early, call - offset, call - offset + late, cost))
    # Carriable: for every window, what must go inside it fits in it with the margin and a step to spare.
    for a in items:
        inside = sum(i.cost for i in items if i.earliest >= a.earliest and i.latest <= a.latest)
        span = (a.latest - a.earliest - MARGIN - timedelta(seconds=60)).total_seconds()
        assume(inside <= rate * span * 0.9)
    arrived = deliver(items, rate)
    late = [i for i in items if arrived[i.key] > i.latest]
    early = [i for i in items if arrived[i.key] < i.earliest]
    assert not late and not early


def test_a_busy_minute_as_one_group_hands_over_as_many_as_its_reminders_one_by_one():
    """The dispatcher plans a window's reminders as one group; it must hand over as many at each moment as
    planning them one by one would."""
    one_by_one = [soon(n) for n in range(6_000)]
    group = Timed("19:00", one_by_one[0].earliest, one_by_one[0].nominal, one_by_one[0].latest, cost=12_000,
                  count=6_000)
    for minutes in (41, 39, 36, 34, 32, 30):
        now = T - timedelta(minutes=minutes)
        singly = len(due_now(one_by_one, now, rate=20))
        assert abs(due_now([group], now, rate=20).get("19:00", 0) - singly) <= 1, minutes
    assert due_now([group], T - timedelta(minutes=34), rate=20)["19:00"] > 0
