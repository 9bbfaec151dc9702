"""Which row goes next (lanes, quiet hours decided when sending) and which rows never go (undeliverable rows
that expired), with a recording transport and a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock, stamp
from bot.delivery import DeliveryNotices
from bot.notices import BULK, INTERACTIVE, REMINDERS, Outbox
from bot.runtime.sender import SENT, Limits, Rates, Sender
from storage.children import ChildrenRepository
from storage.outbox import OutboxRepository, OutboxRow, Outgoing
from storage.people import PeopleRepository
from storage.preferences import PreferencesRepository, QuietHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNLIMITED = Rates(overall_per_second=100_000, chat_per_second=100_000, chat_burst=100_000,
                  group_per_minute=100_000)


class Recorder:
    def __init__(self) -> None:
        self.delivered: list[tuple[str, str]] = []

    async def send(self, row: OutboxRow) -> str | None:
        self.delivered.append((row.recipient, row.payload["text"]))
        return str(len(self.delivered))

    def texts(self) -> list[str]:
        return [text for _, text in self.delivered]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=SHANGHAI))


@pytest.fixture
def outbox(db, clock) -> Outbox:
    return Outbox(OutboxRepository(db), PreferencesRepository(db), clock, "Asia/Shanghai")


@pytest.fixture
def transport() -> Recorder:
    return Recorder()


@pytest.fixture
def sender(outbox, transport, clock) -> Sender:
    return Sender(outbox.repo, transport, clock, Limits(UNLIMITED), held_until=outbox.held_until)


def text(body: str, recipient: str, **options) -> Outgoing:
    return Outgoing(body, "telegram", recipient, "text", {"text": body}, **options)


async def add(db, outbox: Outbox, *items: Outgoing) -> None:
    async with db.transaction() as conn:
        await outbox.add(conn, list(items))


async def drain(sender: Sender) -> None:
    for _ in range(10_000):
        if await sender.step() != SENT:
            return
    raise AssertionError("the sender never ran out of work")


async def test_a_relay_enqueued_behind_200_bulk_rows_is_sent_before_them(db, outbox, sender, transport):
    await add(db, outbox, *[text(f"digest {n}", str(2000 + n), lane=BULK) for n in range(200)])
    await add(db, outbox, text("relay", "1001", lane=INTERACTIVE))

    await drain(sender)
    assert transport.texts()[0] == "relay"
    assert len(transport.texts()) == 201


async def test_within_a_lane_each_recipients_rows_stay_in_order_and_lanes_overtake(db, outbox, sender, transport):
    await add(db, outbox, *[text(f"bulk {n}", "1001", lane=BULK) for n in range(3)])
    await add(db, outbox, text("relay 1", "1001"), text("relay 2", "1001"))

    await drain(sender)
    assert transport.texts() == ["relay 1", "relay 2", "bulk 0", "bulk 1", "bulk 2"]


async def test_changing_or_switching_off_quiet_hours_releases_held_rows_at_once(db, outbox, sender, clock,
                                                                              transport):
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI))
    prefs = PreferencesRepository(db)
    await add(db, outbox, text("good night", "1001"), text("see you", "1002"))
    await drain(sender)
    assert transport.texts() == []  # both held until 07:00

    clock.set(clock.now() + timedelta(minutes=1))
    await prefs.set_quiet_hours(QuietHours(1001, None, None, True, None, stamp(clock.now())))  # off
    await prefs.set_quiet_hours(QuietHours(1002, "23:30", "06:00", False, None, stamp(clock.now())))  # later
    await drain(sender)
    assert transport.texts() == ["good night", "see you"]


async def test_a_safety_row_and_an_urgent_row_are_never_held(db, outbox, sender, clock, transport):
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=SHANGHAI))
    await add(db, outbox, text("bulk", "1001", lane=BULK), text("fire drill", "1001", lane=0),
              text("reminder", "1001", lane=2, urgent=True))
    await drain(sender)
    assert transport.texts() == ["fire drill", "reminder"]


async def test_an_undeliverable_row_older_than_the_expiry_is_not_requeued_on_unblock(db, outbox, clock, transport):
    notices = DeliveryNotices(db, outbox, PeopleRepository(db), ChildrenRepository(db), None, clock)
    await add(db, outbox, text("old", "1001"))
    await outbox.repo.finish(1, "undeliverable", "Unreachable:blocked", stamp(clock.now()))
    clock.set(clock.now() + timedelta(days=6))
    await add(db, outbox, text("recent", "1001"))
    await outbox.repo.finish(2, "undeliverable", "Unreachable:blocked", stamp(clock.now()))
    clock.set(clock.now() + timedelta(days=2))

    await notices.set_reachable("telegram", "1001", True, "member")
    sender = Sender(outbox.repo, transport, clock, Limits(UNLIMITED))
    await drain(sender)
    assert transport.texts() == ["recent"]
    assert (await outbox.repo.counts()) == {"sent": 1, "undeliverable": 1}



async def test_the_reminders_lane_goes_soonest_deadline_first_and_a_late_one_is_recorded(db, outbox, sender, clock,
                                                                                        transport):
    """A day-before reminder handed over early waits behind the "in 30 minutes" ones handed over after it."""
    now = clock.now()
    await add(db, outbox, text("tomorrow", "1001", lane=REMINDERS, due_by=stamp(now + timedelta(hours=23))))
    await add(db, outbox, text("soon A", "1002", lane=REMINDERS, due_by=stamp(now + timedelta(minutes=5))),
              text("soon B", "1003", lane=REMINDERS, due_by=stamp(now - timedelta(minutes=1))))
    await drain(sender)
    assert transport.texts() == ["soon B", "soon A", "tomorrow"]
    late = await db.fetch_all("SELECT payload FROM outbox WHERE late = 1")
    assert [r["payload"] for r in late] == ['{"text": "soon B"}']
    assert await outbox.repo.late(stamp(now - timedelta(days=7))) == 1
