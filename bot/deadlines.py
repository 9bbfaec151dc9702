"""When to hand time-bound messages to the outbox so that each arrives inside its window.

A reminder may arrive between its earliest and latest moment, and should arrive at its nominal one when the
outbox has room. At a busy minute (thousands of families choose Sunday 19:00) the outbox cannot send them all
at that minute: at the rate left to reminders, the last would arrive well after its window. So the dispatcher
asks, every run, which reminders must go now: scheduling backwards from the latest deadline (the classic
latest-start schedule for earliest-deadline-first), each reminder's latest start is when it must be handed over
for it and every reminder due after it to be sent in time at `rate`; it is handed over at that moment or at
its nominal one, whichever is first, never before its earliest. The outbox then serves its reminders lane in
deadline order, so what was handed over early does not hold up what is due sooner.

Plain data in and out: nothing here knows of video calls, the outbox or Telegram.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Aim this much before the latest moment: a schedule run (every 30 s), the outbox's reading and the sender's
# own pace all come between the hand-over and the arrival.
MARGIN = timedelta(minutes=1)
# The share of the send rate kept for people's own messages (relays, answers), which go ahead of reminders.
INTERACTIVE_SHARE = 0.2


@dataclass(frozen=True)
class Timed:
    """`count` messages, or reminders of several messages each, that share one window [earliest, latest] and
    are handed over one by one (a thousand families' "in 30 minutes" for Sunday 19:00 are one Timed)."""

    key: Hashable
    earliest: datetime
    nominal: datetime
    latest: datetime
    cost: int = 1   # messages in all (one per reader)
    count: int = 1  # reminders in the group


def reminder_rate(send_rate: float) -> float:
    """Messages a second left to reminders at the configured rate, once people's own messages have their share."""
    return send_rate * (1 - INTERACTIVE_SHARE)


def _backwards(items: Iterable[Timed], rate: float, queued: Iterable[tuple[datetime, int]],
               margin: timedelta) -> list[tuple[Timed, datetime, datetime]]:
    """Each item with the moments its sending must finish and start by, latest deadline placed last.

    `queued` (deadline, messages) already in the outbox take their place in the schedule as if sent as late as
    their deadline allows, so what was handed over early does not push the rest earlier again."""
    if rate <= 0:
        raise ValueError("the rate must be positive")
    work = [(item.latest, item.cost, item) for item in items] + [(deadline, count, None) for deadline, count in queued]
    placed = []
    free_until: datetime | None = None  # the latest start of everything due after the entry being looked at
    for latest, cost, item in sorted(work, key=lambda entry: entry[0], reverse=True):
        finish = latest - margin if free_until is None else min(latest - margin, free_until)
        free_until = finish - timedelta(seconds=cost / rate)
        if item is not None:
            placed.append((item, finish, free_until))
    return placed


def hand_over_at(items: Iterable[Timed], rate: float, *, now: datetime,
                 queued: Iterable[tuple[datetime, int]] = (), backlog: int = 0,
                 margin: timedelta = MARGIN) -> dict[Hashable, datetime]:
    """For each item, when (the first of) it is to be handed to the outbox: its nominal moment, or earlier if
    the load after it needs that, never before its earliest. `backlog`: messages that go ahead of all of these
    (higher lanes). An item whose latest start falls before the outbox can get to it is handed over at once (at
    `now`, or its earliest if later) and may arrive late, which the outbox records; nothing is dropped."""
    clear = now + timedelta(seconds=backlog / rate)  # when the outbox can begin on this lane
    return {item.key: max(item.earliest, min(item.nominal, start) if start >= clear else now)
            for item, _finish, start in _backwards(items, rate, queued, margin)}


def due_now(items: Iterable[Timed], now: datetime, rate: float, *, queued: Iterable[tuple[datetime, int]] = (),
            backlog: int = 0, margin: timedelta = MARGIN) -> dict[Hashable, int]:
    """How many of each item to hand over at `now` (keys with none are left out): all once its nominal moment
    has come; before that, those whose latest start the outbox reaches no later than now; none before its
    earliest."""
    clear = now + timedelta(seconds=backlog / rate)
    handed: dict[Hashable, int] = {}
    for item, finish, _start in _backwards(items, rate, queued, margin):
        if now < item.earliest:
            continue
        if now >= item.nominal:
            handed[item.key] = item.count
            continue
        # The group's members go one after another, each taking `each` seconds; counted from the back, the k-th
        # must start by finish - k * each. Those the outbox cannot wait for (their start is at or before it can
        # get to them) go now.
        each = item.cost / item.count / rate
        waiting = int((finish - clear).total_seconds() // each) if finish > clear else 0
        if waiting < item.count:
            handed[item.key] = item.count - waiting
    return handed
