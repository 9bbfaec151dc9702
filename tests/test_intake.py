"""The durable intake: stored before confirmed, handled once, recovered after a crash."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from bot.runtime.intake import FatalIntakeError, Intake, MalformedUpdate, RetryLater
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
