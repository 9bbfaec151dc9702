"""The durable intake: stored before confirmed, handled once, recovered after a crash."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from datetime import timedelta

import pytest

from bot.runtime.intake import FatalIntakeError, Intake, IntakeEnded, MalformedUpdate, RetryLater, answer_owed
from storage.db import Database
from storage.inbox import InboxRepository


@pytest.fixture
async def inbox(tmp_path):
    db = await Database.open(tmp_path / "inbox.sqlite3")
    await db.migrate()
    yield InboxRepository(db)
    await db.close()


class FakeChannel:
    """Serves batches like getUpdates: an update is gone once a later call passes a higher offset."""

    def __init__(self, updates: list[dict], batch: int = 2) -> None:
        self.queue = list(updates)
        self.batch = batch
        self.offsets: list[int | None] = []
        self.idle = asyncio.Event()

    async def fetch(self, offset: int | None) -> list[dict]:
        self.offsets.append(offset)
        if offset is not None:
            self.queue = [u for u in self.queue if u["update_id"] >= offset]
        if not self.queue:
            self.idle.set()
            await asyncio.sleep(0.01)
            return []
        return self.queue[: self.batch]


def updates(*ids: int) -> list[dict]:
    return [{"update_id": i, "message": {"text": f"m{i}"}} for i in ids]


async def run_until_idle(intake: Intake, channel: FakeChannel) -> None:
    task = asyncio.create_task(intake.run())
    await asyncio.wait_for(channel.idle.wait(), 5)
    for _ in range(500):
        if not (await intake._inbox.pending()):
            break
        await asyncio.sleep(0.01)
    intake.stop()
    await asyncio.wait_for(task, 5)


async def test_every_update_is_handled_once_in_order(inbox, clock):
    channel = FakeChannel(updates(1, 2, 3, 4, 5))
    handled: list[int] = []

    async def handle(payload: dict) -> None:
        handled.append(payload["update_id"])

    intake = Intake(inbox, channel.fetch, handle, clock)
    await run_until_idle(intake, channel)
    assert handled == [1, 2, 3, 4, 5]
    assert (await inbox.counts()).done == 5


async def test_offset_is_confirmed_only_after_the_batch_is_stored(inbox, clock):
    stored_before_confirm: list[bool] = []
    channel = FakeChannel(updates(1, 2, 3))

    async def fetch(offset):
        if offset is not None:
            stored = {r["update_id"] for r in await inbox._db.fetch_all("SELECT update_id FROM inbox")}
            stored_before_confirm.append(all(i in stored for i in range(1, offset)))
        return await channel.fetch(offset)

    async def handle(payload):
        pass

    await run_until_idle(Intake(inbox, fetch, handle, clock), channel)
    assert stored_before_confirm and all(stored_before_confirm)


async def test_stored_but_unfinished_updates_are_handled_after_a_restart(inbox, clock):
    await inbox.store(updates(7, 8), clock.now())
    await inbox.finish(7, clock.now())  # 7 finished before the crash, 8 did not
    channel = FakeChannel([])
    handled: list[int] = []

    async def handle(payload):
        handled.append(payload["update_id"])

    await run_until_idle(Intake(inbox, channel.fetch, handle, clock), channel)
    assert handled == [8]
    assert channel.offsets[0] == 9  # the restart confirms what was stored, not only what was finished


async def test_a_redelivered_update_is_not_handled_again(inbox, clock):
    await inbox.store(updates(3), clock.now())
    await inbox.finish(3, clock.now())
    channel = FakeChannel(updates(3, 4))
    handled: list[int] = []

    async def handle(payload):
        handled.append(payload["update_id"])

    await run_until_idle(Intake(inbox, channel.fetch, handle, clock), channel)
    assert handled == [4]


async def test_an_update_that_keeps_crashing_the_process_is_set_aside(inbox, clock):
    await inbox.store(updates(1), clock.now())
    for _ in range(Intake.MAX_ATTEMPTS):
        await inbox.begin_attempt(1)  # three runs died while handling it
    handled: list[int] = []

    async def handle(payload):
        handled.append(payload["update_id"])

    channel = FakeChannel([])
    await run_until_idle(Intake(inbox, channel.fetch, handle, clock), channel)
    assert handled == []
    assert (await inbox.counts()).failed == 1


async def test_malformed_updates_fail_at_once_and_others_go_on(inbox, clock):
    channel = FakeChannel(updates(1, 2))
    handled: list[int] = []

    async def handle(payload):
        if payload["update_id"] == 1:
            raise MalformedUpdate("bad")
        handled.append(payload["update_id"])

    await run_until_idle(Intake(inbox, channel.fetch, handle, clock), channel)
    assert handled == [2]
    counts = await inbox.counts()
    assert (counts.failed, counts.done) == (1, 1)


async def test_handled_payloads_are_not_kept(inbox, clock):
    channel = FakeChannel(updates(1))

    async def handle(payload):
        pass

    await run_until_idle(Intake(inbox, channel.fetch, handle, clock), channel)
    row = await inbox._db.fetch_one("SELECT payload, state FROM inbox WHERE update_id = 1")
    assert (row["payload"], row["state"]) == (None, "done")


async def test_stop_finishes_the_update_in_hand_and_starts_no_other(inbox, clock):
    channel = FakeChannel(updates(1, 2))
    started = asyncio.Event()
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(payload):
        started.set()
        await release.wait()
        handled.append(payload["update_id"])

    intake = Intake(inbox, channel.fetch, handle, clock, key_of=lambda payload: "one chat")
    task = asyncio.create_task(intake.run())
    await asyncio.wait_for(started.wait(), 5)
    intake.stop()
    release.set()
    await asyncio.wait_for(task, 5)
    assert handled == [1]
    assert [i.update_id for i in await inbox.pending()] == [2]  # kept for the next start


async def test_fetch_errors_back_off_and_fatal_ones_end_the_run(inbox, clock):
    calls = 0

    async def fetch(offset):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RetryLater(0.01)
        if calls == 2:
            return updates(1)
        raise FatalIntakeError("InvalidToken")

    handled: list[int] = []

    async def handle(payload):
        handled.append(payload["update_id"])

    with pytest.raises(FatalIntakeError):
        await asyncio.wait_for(Intake(inbox, fetch, handle, clock).run(), 5)
    assert calls == 3


async def test_many_chats_at_once_each_update_is_handled_exactly_once(inbox, clock):
    """Handling runs side by side; a finished update must never be picked up again from a stale read."""
    channel = FakeChannel([{"update_id": i, "message": {"chat": {"id": i % 37}}} for i in range(1, 601)], batch=100)
    handled: list[int] = []

    async def handle(payload):
        await asyncio.sleep(random.uniform(0, 0.002))
        handled.append(payload["update_id"])

    intake = Intake(inbox, channel.fetch, handle, clock, key_of=lambda p: p["message"]["chat"]["id"])
    await run_until_idle(intake, channel)
    assert sorted(handled) == list(range(1, 601))
    by_chat: dict[int, list[int]] = {}
    for update_id in handled:
        by_chat.setdefault(update_id % 37, []).append(update_id)
    assert all(ids == sorted(ids) for ids in by_chat.values()), "one chat's updates were handled out of order"


async def test_a_finished_update_is_not_attempted_again(inbox, clock):
    await inbox.store(updates(1), clock.now())
    assert await inbox.begin_attempt(1) == 1
    await inbox.finish(1, clock.now())
    assert await inbox.begin_attempt(1) is None


async def test_prune_forgets_old_finished_rows_but_keeps_the_newest_offset(inbox, clock):
    await inbox.store(updates(1, 2, 3), clock.now())
    for update_id in (1, 2, 3):
        await inbox.finish(update_id, clock.now())
    await inbox.store(updates(4), clock.now())  # still pending: never pruned
    clock.advance(timedelta(days=3))
    assert await inbox.prune(clock.now()) == 3
    assert await inbox.next_offset() == 5
    await inbox.finish(4, clock.now())
    clock.advance(timedelta(days=3))
    assert await inbox.prune(clock.now()) == 0  # the newest row stays, or the next poll would start over
    assert await inbox.next_offset() == 5


class LockedInbox:
    """The inbox while another process holds the write lock past the busy timeout: the calls named in `methods`
    raise "database is locked" until `times` of them have, then everything works again."""

    def __init__(self, inbox: InboxRepository, methods: tuple[str, ...], times: int) -> None:
        self._inbox = inbox
        self.methods = methods
        self.times = times
        self.raised = 0

    def __getattr__(self, name):
        method = getattr(self._inbox, name)

        async def call(*args, **kwargs):
            if name in self.methods and self.raised < self.times:
                self.raised += 1
                raise sqlite3.OperationalError("database is locked")
            return await method(*args, **kwargs)

        return call


@pytest.mark.parametrize(("methods", "one_chat"), [
    (("store",), False), (("begin_attempt",), False), (("finish",), False), (("finish",), True),
    (("next_offset",), False), (("store", "begin_attempt", "finish", "pending"), False)])
async def test_a_locked_inbox_is_retried_and_every_update_is_handled_once(inbox, clock, caplog, methods, one_chat):
    locked = LockedInbox(inbox, methods, times=4)
    channel = FakeChannel(updates(1, 2, 3, 4, 5))
    unstored_offsets: list[int] = []

    async def fetch(offset):
        if offset is not None:
            stored = {r["update_id"] for r in await inbox._db.fetch_all("SELECT update_id FROM inbox")}
            unstored_offsets.extend(i for i in range(1, offset) if i not in stored)
        return await channel.fetch(offset)

    handled: list[int] = []

    async def handle(payload):
        handled.append(payload["update_id"])

    key_of = (lambda payload: "one chat") if one_chat else None
    with caplog.at_level(logging.INFO, logger="bot.runtime.intake"):
        await run_until_idle(Intake(locked, fetch, handle, clock, key_of=key_of, backoff=0.001), channel)
    assert locked.raised == 4
    assert sorted(handled) == [1, 2, 3, 4, 5]
    assert unstored_offsets == [], "an offset confirmed an update that was not stored"
    assert (await inbox.counts()).done == 5
    faults = [r.getMessage() for r in caplog.records if "the inbox cannot be used" in r.getMessage()]
    assert len(faults) == 1 and "OperationalError" in faults[0]
    assert len([r for r in caplog.records if r.getMessage().startswith("the inbox works again")]) == 1


async def test_an_update_that_owes_its_answer_is_handled_again(inbox, clock):
    channel = FakeChannel(updates(1, 2), batch=2)
    calls: list[int] = []

    async def handle(payload):
        calls.append(payload["update_id"])
        if payload["update_id"] == 1 and calls.count(1) == 1:
            answer_owed("a confirmation")

    intake = Intake(inbox, channel.fetch, handle, clock, key_of=lambda payload: "one chat", backoff=0.001)
    await run_until_idle(intake, channel)
    assert calls == [1, 1, 2]  # the chat's next update waited for it
    assert (await inbox.counts()).done == 2


async def test_an_update_that_always_owes_its_answer_is_set_aside(inbox, clock):
    channel = FakeChannel(updates(1))
    calls = 0

    async def handle(payload):
        nonlocal calls
        calls += 1
        answer_owed("a confirmation")

    await run_until_idle(Intake(inbox, channel.fetch, handle, clock, backoff=0.001), channel)
    assert calls == Intake.MAX_ATTEMPTS
    assert (await inbox.counts()).failed == 1


async def test_a_fetch_task_that_dies_ends_the_run(inbox, clock, caplog):
    """Anything but a storage fault that ends the fetch task (here a fault of another kind in the store) ends
    the run with an error and a log line: the process exits rather than stay up deaf."""
    calls = 0

    async def fetch(offset):
        nonlocal calls
        calls += 1
        return updates(calls)

    async def store(batch, now):
        raise sqlite3.IntegrityError("constraint failed")

    inbox.store = store
    with pytest.raises(IntakeEnded) as ended:
        await asyncio.wait_for(Intake(inbox, fetch, lambda payload: asyncio.sleep(0), clock).run(), 5)
    assert ended.value.args == ("IntegrityError",)
    assert calls == 1  # nothing was confirmed
    assert [r for r in caplog.records if r.levelno == logging.CRITICAL and "fetch task ended" in r.getMessage()]
