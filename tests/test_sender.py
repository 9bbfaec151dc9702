"""The outbox and its sender, without Telegram: a fake transport records every try (and fails as scripted),
a FixedClock stands for the wall clock, and the database is a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FixedClock, stamp
from bot.notices import TEXT_LIMIT, Outbox, split_text
from bot.runtime.sender import (
    IDLE, LIMITED, SENT, Limits, Rates, Rejected, Sender, Throttled, Transient, Unreachable, cost,
)
from storage.db import Database
from storage.outbox import OutboxRepository, OutboxRow, Outgoing
from storage.preferences import PreferencesRepository, QuietHours

UTC = timezone.utc
SHANGHAI, MOSCOW = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Moscow")
NOON_IN_SHANGHAI = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
# High enough that no bucket ever fills in a test that is not about the limits.
UNLIMITED = Rates(overall_per_second=100_000, chat_per_second=100_000, chat_burst=100_000,
                  group_per_minute=100_000)
MS = timedelta(milliseconds=1)


class FakeTransport:
    """Delivers every row unless `failures[text]` still holds exceptions for it; each try raises the next."""

    def __init__(self) -> None:
        self.tries: list[str] = []
        self.delivered: list[tuple[str, str]] = []  # (recipient, text)
        self.failures: dict[str, list[Exception]] = {}

    async def send(self, row: OutboxRow) -> str | None:
        text = row.payload["text"]
        self.tries.append(text)
        script = self.failures.get(text)
        if script:
            raise script.pop(0)
        self.delivered.append((row.recipient, text))
        return str(len(self.delivered))

    def texts(self, recipient: str | None = None) -> list[str]:
        return [text for to, text in self.delivered if recipient is None or to == recipient]


class Hook:
    """The undeliverable hook: remembers each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (text, error)

    async def __call__(self, conn, row: OutboxRow, error: str) -> None:
        self.calls.append((row.payload["text"], error))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOON_IN_SHANGHAI)


@pytest.fixture
def repo(db) -> OutboxRepository:
    return OutboxRepository(db)


@pytest.fixture
def outbox(db, repo, clock) -> Outbox:
    return Outbox(repo, PreferencesRepository(db), clock, "Asia/Shanghai")


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def sender(repo, outbox, transport, clock, hook) -> Sender:
    return Sender(repo, transport, clock, Limits(UNLIMITED), hook, held_until=outbox.held_until)


def text(body: str, recipient: str, **options) -> Outgoing:
    """A text row whose text is its dedupe key, so each row is recognisable in what was sent."""
    return Outgoing(body, "telegram", recipient, "text", {"text": body}, **options)


def album(body: str, recipient: str, items: int) -> Outgoing:
    """An album row of `items` photos; its "text" names it for the fake transport."""
    media = [{"type": "photo", "file_id": f"{body}-{n}"} for n in range(items)]
    return Outgoing(body, "telegram", recipient, "media_group", {"text": body, "media": media})


async def add(db: Database, outbox: Outbox, *items: Outgoing) -> list[int]:
    async with db.transaction() as conn:
        return await outbox.add(conn, list(items))


async def drain(sender: Sender) -> None:
    """Send whatever may go now, without moving the clock."""
    for _ in range(10_000):
        if await sender.step() != SENT:
            return
    raise AssertionError("the sender never ran out of work")


async def settle(sender: Sender, db: Database, clock: FixedClock) -> None:
    """Send everything, moving the clock on to the next time a row at the head of its queue falls due."""
    for _ in range(10_000):
        await drain(sender)
        row = await db.fetch_one(
            "SELECT MIN(not_before) FROM outbox o WHERE state = 'pending' AND id = (SELECT MIN(id) FROM outbox q "
            "WHERE q.recipient = o.recipient AND q.urgent = o.urgent AND q.state = 'pending')")
        if row[0] is None:
            return
        clock.set(max(clock.now(), datetime.fromisoformat(row[0])))
    raise AssertionError("the outbox never emptied")


async def until(condition, timeout: float) -> None:
    """Wait for `condition()` (for a sender that runs by itself), at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


# == order ====================================================================================================

async def test_each_recipients_rows_go_out_in_the_order_they_were_written(db, outbox, sender, repo, clock,
                                                                            transport):
    await add(db, outbox, text("A1", "1"), text("B1", "2"), text("A2", "1"), text("A3", "1"), text("B2", "2"))
    transport.failures["A1"] = [Transient("TimedOut")]  # A1 backs off: A2 and A3 must wait for it

    await drain(sender)
    assert transport.texts("1") == []
    assert transport.texts("2") == ["B1", "B2"]

    await settle(sender, db, clock)
    assert transport.texts("1") == ["A1", "A2", "A3"]
    assert await repo.counts() == {"sent": 5}


async def test_a_chat_at_its_limit_holds_up_no_other_chat(db, outbox, repo, clock, transport):
    sender = Sender(repo, transport, clock, Limits(Rates(overall_per_second=100_000, chat_per_second=1,
                                                         chat_burst=2)))
    await add(db, outbox, *[text(f"A{n}", "1") for n in range(1, 5)], text("B1", "2"))

    await drain(sender)
    assert transport.texts("1") == ["A1", "A2"]  # A's burst of two...
    assert transport.texts("2") == ["B1"]  # ...and B's message, written after all of A's, did not wait for A
    assert await sender.step() == LIMITED  # A3 is due, but A's chat has no room this second


async def test_a_group_has_its_own_limit_per_minute(db, outbox, repo, clock, transport):
    sender = Sender(repo, transport, clock, Limits(Rates(overall_per_second=100_000, chat_per_second=1,
                                                         chat_burst=2, group_per_minute=5)))
    await add(db, outbox, *[text(f"G{n}", "-1001234") for n in range(1, 8)])

    await drain(sender)
    assert transport.texts() == ["G1", "G2", "G3", "G4", "G5"]
    assert await sender.step() == LIMITED


async def test_an_urgent_row_goes_before_ordinary_ones(db, outbox, sender, transport):
    await add(db, outbox, text("homework", "1"), text("picnic", "1"))
    await add(db, outbox, text("fever", "1", urgent=True))

    await drain(sender)
    assert transport.texts() == ["fever", "homework", "picnic"]


async def test_an_urgent_row_is_not_held_by_quiet_hours(db, outbox, sender, clock, transport):
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=SHANGHAI))
    await add(db, outbox, text("good night", "1"), text("fever", "1", urgent=True))

    await drain(sender)
    assert transport.texts() == ["fever"]
    assert await sender.step() == IDLE  # "good night" is not due before the morning

    await settle(sender, db, clock)
    assert transport.texts() == ["fever", "good night"]
    assert clock.now() == datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI)


# == quiet hours ==============================================================================================

@pytest.mark.parametrize(
    ("now", "shanghai_at", "moscow_at"),
    [
        # 23:00 in Shanghai, 18:00 in Moscow: Shanghai waits until 07:00 there, on the next day.
        (datetime(2026, 3, 2, 15, 0, tzinfo=UTC), datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI), None),
        # 01:00 in Shanghai (past midnight, same night), 20:00 in Moscow.
        (datetime(2026, 3, 2, 17, 0, tzinfo=UTC), datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI), None),
        # 12:00 in Shanghai, 07:00 in Moscow: the end of the window is no longer quiet.
        (datetime(2026, 3, 2, 4, 0, tzinfo=UTC), None, None),
        # 06:00 in Shanghai, 01:00 in Moscow: both asleep, each until 07:00 in their own zone.
        (datetime(2026, 3, 2, 22, 0, tzinfo=UTC), datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI),
         datetime(2026, 3, 3, 7, 0, tzinfo=MOSCOW)),
        # 04:30 in Shanghai, 23:30 in Moscow: Moscow's night has just begun and runs past its midnight.
        (datetime(2026, 3, 2, 20, 30, tzinfo=UTC), datetime(2026, 3, 3, 7, 0, tzinfo=SHANGHAI),
         datetime(2026, 3, 3, 7, 0, tzinfo=MOSCOW)),
    ],
)
async def test_quiet_hours_hold_a_row_until_they_end_in_the_recipients_zone(db, outbox, sender, clock, transport,
                                                                             now, shanghai_at, moscow_at):
    shanghai, moscow = "1001", "1002"  # 1001 has no preferences: the school's zone, Asia/Shanghai
    await PreferencesRepository(db).set_quiet_hours(
        QuietHours(int(moscow), None, None, False, "Europe/Moscow", stamp(now)))
    clock.set(now)
    await add(db, outbox, text("to Shanghai", shanghai), text("to Moscow", moscow))

    await drain(sender)
    assert transport.texts() == [t for t, at in (("to Shanghai", shanghai_at), ("to Moscow", moscow_at))
                                 if at is None]

    releases = sorted((at, t) for t, at in (("to Shanghai", shanghai_at), ("to Moscow", moscow_at)) if at)
    for at, body in releases:
        clock.set(at - MS)
        await drain(sender)
        assert body not in transport.texts(), f"{body} went out before {at}"
        clock.set(at)
        await drain(sender)
        assert transport.texts()[-1] == body
    assert len(transport.delivered) == 2


async def test_a_person_without_quiet_hours_gets_messages_at_night(db, outbox, sender, clock, transport):
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=SHANGHAI))
    await PreferencesRepository(db).set_quiet_hours(QuietHours(1001, None, None, True, None, stamp(clock.now())))
    await add(db, outbox, text("night shift", "1001"), text("held", "1002"))

    await drain(sender)
    assert transport.texts() == ["night shift"]


# == albums ===================================================================================================

def test_an_album_costs_one_message_per_item():
    row = OutboxRow(1, "telegram", "1", None, "media_group", {"media": [{"type": "photo", "file_id": "f"}] * 4},
                    False, 0, "", None, None)
    assert cost(row) == 4
    assert cost(OutboxRow(2, "telegram", "1", None, "media", {"type": "photo", "file_id": "f"}, False, 0, "", None,
                          None)) == 1
    assert cost(OutboxRow(3, "telegram", "1", None, "text", {"text": "x"}, False, 0, "", None, None)) == 1


async def test_an_album_uses_up_its_chats_burst(db, outbox, repo, clock, transport):
    sender = Sender(repo, transport, clock, Limits(Rates(overall_per_second=100_000, chat_per_second=1,
                                                         chat_burst=2)))
    await add(db, outbox, album("album", "1", 3), text("A2", "1"), text("B1", "2"))

    await drain(sender)
    # Two texts would have gone (the burst); after a three-photo album, the chat waits.
    assert transport.texts("1") == ["album"]
    assert transport.texts("2") == ["B1"]
    assert await sender.step() == LIMITED


async def test_albums_count_every_item_against_the_overall_limit(db, outbox, repo, clock, transport):
    sender = Sender(repo, transport, clock, Limits(Rates(overall_per_second=5, chat_per_second=100_000,
                                                         chat_burst=100_000)))
    await add(db, outbox, album("album1", "1", 4), album("album2", "2", 4), text("C1", "3"))

    await drain(sender)
    assert transport.texts() == ["album1", "C1"]  # 4 + 4 is over the 5 a second; 4 + 1 is not
    assert await sender.step() == LIMITED


async def test_an_album_larger_than_a_bucket_goes_when_the_bucket_is_full(db, outbox, repo, clock, transport):
    """aiolimiter refuses to acquire more than a bucket holds: a ten-photo album to a private chat (a bucket of 2)
    must neither raise nor wait forever."""
    sender = Sender(repo, transport, clock, Limits(Rates(overall_per_second=5, chat_per_second=1, chat_burst=2)))
    await add(db, outbox, album("album", "1", 10), text("A2", "1"))

    await drain(sender)
    assert transport.texts() == ["album"]
    assert await repo.counts() == {"sent": 1, "pending": 1}
    assert await sender.step() == LIMITED


async def test_an_album_larger_than_the_bucket_leaves_it_in_debt():
    """Telegram counts the whole album, so the chat's next message waits until all of it has leaked away, not
    just a bucketful. aiolimiter runs on the event loop's clock, so this waits for real; the margins are wide
    (the debt lasts about 10 s, a bucketful 10 ms) and a slow machine can only make the waits longer."""
    limits = Limits(Rates(overall_per_second=1e6, chat_per_second=100, chat_burst=2))
    assert limits.ready("1", 1000)
    await limits.take("1", 1000)  # no ValueError from aiolimiter
    await limits.take("2", 2)  # a full bucket's worth, for comparison

    await asyncio.sleep(0.05)
    assert limits.ready("2")
    assert not limits.ready("1")


# == failures =================================================================================================

async def test_a_flood_wait_pauses_all_sending_for_its_seconds(db, outbox, sender, clock, transport, hook):
    await add(db, outbox, text("A1", "1"), text("B1", "2"), text("C1", "3"))
    transport.failures["A1"] = [Throttled(0.3)]

    throttled_at = time.monotonic()
    await sender.step()
    assert transport.tries == ["A1"]
    while (outcome := await sender.step()) == LIMITED:
        await asyncio.sleep(0.02)
    assert outcome == SENT
    assert time.monotonic() - throttled_at >= 0.3, "a send went out during the flood wait"
    assert transport.tries == ["A1", "B1"]

    await drain(sender)
    assert transport.texts() == ["B1", "C1"]  # A1 is due again only when its wait is over
    clock.advance(timedelta(seconds=0.3))
    await drain(sender)
    assert transport.texts() == ["B1", "C1", "A1"]
    assert hook.calls == []


async def test_flood_waits_do_not_count_as_attempts(db, outbox, sender, clock, transport, hook):
    await add(db, outbox, text("A1", "1"))
    # More flood waits than the attempts a row has, then transient failures up to one short of parking.
    transport.failures["A1"] = [Throttled(0)] * 12 + [Transient("Bad Gateway")] * (Sender.MAX_ATTEMPTS - 1)

    await settle(sender, db, clock)
    assert transport.texts() == ["A1"]
    assert len(transport.tries) == 12 + Sender.MAX_ATTEMPTS
    assert hook.calls == []


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (Unreachable("Forbidden: bot was blocked by the user"), "Unreachable:Forbidden: bot was blocked by the user"),
        (Rejected("Message is too long"), "Rejected:Message is too long"),
    ],
)
async def test_unreachable_and_rejected_end_undeliverable_and_call_the_hook_once(db, outbox, sender, repo, clock,
                                                                                 transport, hook, failure, error):
    await add(db, outbox, text("A1", "1"), text("A2", "1"), text("B1", "2"))
    transport.failures["A1"] = [failure]

    await settle(sender, db, clock)
    clock.advance(timedelta(days=1))
    await drain(sender)

    assert transport.tries.count("A1") == 1  # final: never tried again
    assert transport.texts("1") == ["A2"]
    assert transport.texts("2") == ["B1"]
    assert hook.calls == [("A1", error)]
    assert await repo.counts() == {"sent": 2, "undeliverable": 1}


async def test_transient_failures_back_off_and_park_after_eight_attempts(db, outbox, sender, repo, clock,
                                                                        transport, hook):
    await add(db, outbox, text("A1", "1"))
    transport.failures["A1"] = [Transient("Bad Gateway")] * 100

    await drain(sender)
    for attempt in range(1, Sender.MAX_ATTEMPTS):
        assert len(transport.tries) == attempt
        # The k-th retry waits 2**k seconds, give or take half (jitter).
        earliest, latest = timedelta(seconds=0.5 * 2 ** attempt), timedelta(seconds=1.5 * 2 ** attempt)
        failed_at = clock.now()
        clock.set(failed_at + earliest - 10 * MS)
        await drain(sender)
        assert len(transport.tries) == attempt, f"retry {attempt} came before its back-off"
        clock.set(failed_at + latest)
        await drain(sender)

    assert len(transport.tries) == Sender.MAX_ATTEMPTS
    assert hook.calls == [("A1", "Transient:Bad Gateway")]
    assert await repo.counts() == {"parked": 1}
    clock.advance(timedelta(days=7))
    await drain(sender)
    assert len(transport.tries) == Sender.MAX_ATTEMPTS


# == storage faults ==========================================================================================

class LockedOutbox:
    """The outbox while another process holds the write lock past the busy timeout: the calls named in `methods`
    raise "database is locked" until `times` of them have, then everything works again; the rest pass through."""

    def __init__(self, repo: OutboxRepository, methods: tuple[str, ...], times: int) -> None:
        self._repo = repo
        self.methods = methods
        self.times = times
        self.raised = 0

    def __getattr__(self, name):
        method = getattr(self._repo, name)
        if name not in self.methods:
            return method

        async def call(*args, **kwargs):
            if self.raised < self.times:
                self.raised += 1
                raise sqlite3.OperationalError("database is locked")
            return await method(*args, **kwargs)

        return call


def outage_lines(caplog) -> tuple[list[str], list[str]]:
    messages = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.sender"]
    return ([m for m in messages if m.startswith("the outbox cannot be used")],
            [m for m in messages if m.startswith("the outbox works again")])


@pytest.mark.parametrize("methods", [("due",), ("lease",), ("mark_sent",), ("due", "lease", "mark_sent")])
async def test_a_locked_outbox_is_retried_and_every_row_is_delivered_once(db, outbox, repo, clock, transport,
                                                                          caplog, methods):
    await add(db, outbox, text("A1", "1"), text("A2", "1"), text("B1", "2"), text("C1", "3"))
    locked = LockedOutbox(repo, methods, times=4)
    sender = Sender(locked, transport, clock, Limits(UNLIMITED), concurrency=2, storage_backoff=0.001)
    with caplog.at_level(logging.INFO, logger="bot.runtime.sender"):
        running = asyncio.create_task(sender.run())
        await until(lambda: len(transport.delivered) == 4 and sender.sent == 4, timeout=5)
        sender.stop()
        await asyncio.wait_for(running, 5)

    assert locked.raised == 4
    assert sorted(transport.tries) == ["A1", "A2", "B1", "C1"], "a row was sent twice"
    assert transport.texts("1") == ["A1", "A2"]
    assert await repo.counts() == {"sent": 4}
    faults, recoveries = outage_lines(caplog)
    assert len(faults) == 1 and "OperationalError" in faults[0] and "database is locked" not in faults[0]
    assert len(recoveries) == 1


async def test_the_sender_outlives_a_storage_outage_and_stops_when_asked(db, outbox, repo, clock, transport):
    await add(db, outbox, text("A1", "1"))
    locked = LockedOutbox(repo, ("due", "lease", "mark_sent"), times=10**9)
    sender = Sender(locked, transport, clock, Limits(UNLIMITED), storage_backoff=0.001)
    running = asyncio.create_task(sender.run())
    await until(lambda: locked.raised >= 20, timeout=5)
    assert locked.raised >= 20 and not running.done(), "the sender ended on a storage fault"

    locked.times = 0  # the lock is released
    await until(lambda: sender.sent == 1, timeout=5)
    assert transport.texts() == ["A1"] and await repo.counts() == {"sent": 1}

    locked.times = 10**9  # locked again; a stop still ends the run, quietly
    await add(db, outbox, text("A2", "1"))
    sender.wake()
    before = locked.raised
    await until(lambda: locked.raised > before + 5, timeout=5)
    assert locked.raised > before + 5 and not running.done()
    sender.stop()
    assert await asyncio.wait_for(running, 5) is None
    assert transport.texts() == ["A1"]


async def test_any_other_error_from_the_outbox_still_stops_the_sender(db, outbox, repo, clock, transport):
    await add(db, outbox, text("A1", "1"))

    class Broken(LockedOutbox):
        async def mark_sent(self, *args, **kwargs):
            raise sqlite3.IntegrityError("constraint failed")

    sender = Sender(Broken(repo, (), 0), transport, clock, Limits(UNLIMITED), storage_backoff=0.001)
    with pytest.raises(sqlite3.IntegrityError):
        await asyncio.wait_for(sender.run(), 5)
    assert await repo.counts() == {"leased": 1}


# == crashes and repeats ======================================================================================

class Hanging:
    """A transport whose first send never returns: the process dies with the row in flight."""

    def __init__(self) -> None:
        self.in_flight = asyncio.Event()

    async def send(self, row: OutboxRow) -> str | None:
        self.in_flight.set()
        await asyncio.Event().wait()


async def test_a_row_left_leased_by_a_crash_is_sent_on_the_next_start(db, outbox, repo, clock, transport):
    await add(db, outbox, text("A1", "1"), text("A2", "1"), text("B1", "2"))
    hanging = Hanging()
    crashed = asyncio.create_task(Sender(repo, hanging, clock, Limits(UNLIMITED)).run())
    await asyncio.wait_for(hanging.in_flight.wait(), 5)
    crashed.cancel()  # like SIGKILL: no clean-up runs, the row stays leased
    with pytest.raises(asyncio.CancelledError):
        await crashed
    assert (await repo.counts())["leased"] == 1

    restarted = Sender(repo, transport, clock, Limits(UNLIMITED))
    running = asyncio.create_task(restarted.run())
    await until(lambda: len(transport.delivered) == 3, timeout=5)
    restarted.stop()
    await asyncio.wait_for(running, 5)

    assert sorted(transport.texts()) == ["A1", "A2", "B1"]
    assert transport.texts("1") == ["A1", "A2"]
    assert await repo.counts() == {"sent": 3}


async def test_a_crash_while_the_author_is_being_told_still_tells_them(db, outbox, repo, clock, transport):
    await add(db, outbox, text("A1", "1"))
    transport.failures["A1"] = [Unreachable("Forbidden: bot was blocked by the user")] * 2
    telling = asyncio.Event()

    async def dies_while_telling(conn, row: OutboxRow, error: str) -> None:
        telling.set()
        await asyncio.Event().wait()

    crashed = asyncio.create_task(Sender(repo, transport, clock, Limits(UNLIMITED), dies_while_telling).run())
    await asyncio.wait_for(telling.wait(), 5)
    crashed.cancel()  # like SIGKILL while the notices are being written
    with pytest.raises(asyncio.CancelledError):
        await crashed

    hook = Hook()
    restarted = Sender(repo, transport, clock, Limits(UNLIMITED), hook)
    running = asyncio.create_task(restarted.run())
    await until(lambda: hook.calls, timeout=3)
    restarted.stop()
    await asyncio.wait_for(running, 5)

    assert hook.calls == [("A1", "Unreachable:Forbidden: bot was blocked by the user")], \
        "the row ended undeliverable and nobody was ever told"


async def test_enqueueing_the_same_key_again_is_harmless(db, outbox, sender, repo, transport):
    letter = "亲爱的妈妈：\n" + "今天我们学了新的课文。" * 600  # two pieces
    rows = Outbox.texts("letter:7", "telegram", "1", letter)
    first = await add(db, outbox, *rows, text("note", "1"))
    again = await add(db, outbox, *Outbox.texts("letter:7", "telegram", "1", letter), text("note", "1"))
    await drain(sender)
    await add(db, outbox, *rows)  # even after it went out
    await drain(sender)

    assert again == first
    assert len(rows) == 2
    assert transport.texts() == [row.payload["text"] for row in rows] + ["note"]
    assert await repo.counts() == {"sent": 3}


# == splitting ================================================================================================

def test_a_short_text_is_one_piece():
    assert split_text("明天下午三点家长会。") == ["明天下午三点家长会。"]
    assert split_text("x" * TEXT_LIMIT) == ["x" * TEXT_LIMIT]


def test_a_long_text_is_cut_at_line_breaks():
    lines = [f"第{n}行：" + "孩子今天很好。" * 9 for n in range(200)]
    pieces = split_text("\n".join(lines))

    assert len(pieces) > 1
    assert all(len(piece) <= TEXT_LIMIT for piece in pieces)
    assert [line for piece in pieces for line in piece.split("\n")] == lines  # every cut fell between lines


def test_a_long_paragraph_is_cut_between_words():
    words = [f"word{n}" for n in range(2000)]
    pieces = split_text(" ".join(words))

    assert len(pieces) > 1
    assert all(len(piece) <= TEXT_LIMIT for piece in pieces)
    assert [word for piece in pieces for word in piece.split(" ")] == words


def test_a_word_longer_than_a_message_is_cut_anywhere():
    word = "啊" * (2 * TEXT_LIMIT + 10)
    assert split_text(word) == [word[:TEXT_LIMIT], word[TEXT_LIMIT:2 * TEXT_LIMIT], word[2 * TEXT_LIMIT:]]


def test_a_line_break_early_in_the_piece_does_not_make_a_tiny_piece():
    text = "标题\n" + "内容 " * 3000
    pieces = split_text(text)
    assert all(len(piece) > TEXT_LIMIT // 2 for piece in pieces[:-1])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab 中\n"), min_size=1, max_size=400), st.integers(8, 60))
def test_pieces_are_within_the_limit_and_lose_nothing(text, limit):
    pieces = split_text(text, limit)

    assert all(len(piece) <= limit for piece in pieces)
    assert "".join("".join(piece.split()) for piece in pieces) == "".join(text.split())


def test_no_piece_is_blank():
    """Telegram refuses a blank message ("message text is empty"): that piece would end undeliverable and
    its author be told that Telegram refused the message, though nothing of it was missing."""
    text = "\n" * (TEXT_LIMIT // 2 + 100) + "孩子今天发烧了，已经送去卫生院。" * 200  # Chinese has no spaces
    pieces = split_text(text)

    assert all(piece.strip() for piece in pieces)
    assert all(len(piece) <= TEXT_LIMIT for piece in pieces)


async def test_buckets_restored_from_the_last_minute_hold_back_what_telegram_would_refuse():
    # After a restart, a group that had 18 messages in the last 2 s is still spent (18/min), while a chat and a
    # group nobody wrote to lately may be written to at once.
    limits = Limits(Rates(overall_per_second=25, group_per_minute=18))
    limits.restore([("-100", 2.0 - n * 0.1, 1) for n in range(18)] + [("7", 30.0, 1), ("7", 29.5, 1)])
    assert not limits.ready("-100")
    assert limits.ready("-200") and limits.ready("7") and limits.ready("8")
    limits.restore([("9", 0.0, 1), ("9", 0.1, 1)])  # a private chat's burst of 2, just now
    assert not limits.ready("9")
