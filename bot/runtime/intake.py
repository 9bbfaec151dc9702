"""Durable intake: every update is stored before its offset is confirmed, then handled from the store.

Telegram (like other channels) forgets an update as soon as a later poll passes a higher offset,
whether or not the bot handled it. So the order is: fetch → store in the inbox (one transaction) →
only then ask for the next offset → handle each stored update → mark it finished. After a crash,
what was stored and not finished is handled on start-up; an update_id seen before is never handled twice.
The loop knows nothing of Telegram: fetching and handling are functions passed in.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from bot.clock import Clock
from storage.inbox import InboxRepository

log = logging.getLogger(__name__)

Fetch = Callable[[int | None], Awaitable[list[dict]]]
Handle = Callable[[dict], Awaitable[None]]


class RetryLater(Exception):
    """The channel asked us to wait (rate limit, conflict, outage) before fetching again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class FatalIntakeError(Exception):
    """Fetching cannot succeed by waiting (e.g. the token was revoked)."""


class MalformedUpdate(Exception):
    """The stored payload cannot be read as an update; retrying will not change that."""


class Intake:
    MAX_ATTEMPTS = 3
    BACKOFF_CAP = 30.0
    # Updates from different chats are handled side by side, so one person's slow send (a flood-control
    # wait, a large upload) does not hold up everyone else; updates from one chat keep their order.
    MAX_IN_HAND = 8

    def __init__(self, inbox: InboxRepository, fetch: Fetch, handle: Handle, clock: Clock,
                 key_of: Callable[[dict], object] | None = None, max_in_hand: int = MAX_IN_HAND) -> None:
        self._inbox = inbox
        self._fetch = fetch
        self._handle = handle
        self._clock = clock
        self._key_of = key_of or (lambda payload: payload.get("update_id"))
        self._slots = asyncio.Semaphore(max_in_hand)
        self._in_hand: dict[int, asyncio.Task] = {}
        self._last_of_key: dict[object, asyncio.Task] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the updates in hand, start no other, then return from run()."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        fetcher = asyncio.create_task(self._fetch_loop(), name="intake-fetch")
        self._wake.set()  # handle whatever a previous run stored and did not finish
        try:
            while not self._stopping.is_set():
                await self._wake.wait()
                self._wake.clear()
                await self._dispatch_pending()
                if fetcher.done():
                    fetcher.result()  # a fatal fetch error ends the run
        finally:
            fetcher.cancel()
            try:
                await fetcher
            except (asyncio.CancelledError, FatalIntakeError):
                pass
            await self.wait_in_hand()

    async def wait_in_hand(self) -> None:
        while self._in_hand:
            await asyncio.wait(list(self._in_hand.values()))

    async def _dispatch_pending(self) -> None:
        """Start every stored update not yet in hand, oldest first, within the limit of updates in hand."""
        while not self._stopping.is_set():
            batch = [i for i in await self._inbox.pending(limit=200) if i.update_id not in self._in_hand]
            if not batch:
                return
            for item in batch:
                await self._slots.acquire()
                if self._stopping.is_set():
                    self._slots.release()
                    return
                key = self._key_of(item.payload)
                before = self._last_of_key.get(key)
                task = asyncio.create_task(self._in_turn(before, key, item.update_id, item.payload))
                self._in_hand[item.update_id] = task
                self._last_of_key[key] = task

    async def _in_turn(self, before: asyncio.Task | None, key: object, update_id: int, payload: dict) -> None:
        try:
            if before is not None:
                await asyncio.wait([before])  # the same chat's earlier update goes first
            if not self._stopping.is_set():
                await self._handle_one(update_id, payload)
        except Exception:
            log.exception("update %s: the inbox could not be updated", update_id)
        finally:
            self._slots.release()
            del self._in_hand[update_id]
            if self._last_of_key.get(key) is asyncio.current_task():
                del self._last_of_key[key]

    async def _handle_one(self, update_id: int, payload: dict) -> None:
        attempts = await self._inbox.begin_attempt(update_id)
        if attempts is None:
            return  # finished while this copy of it waited: the store, not our memory, says what is done
        if attempts > self.MAX_ATTEMPTS:
            # It was in hand when the process died, more than once: set it aside rather than crash-loop.
            log.error("update %s was interrupted %s times; set aside as failed", update_id, attempts - 1)
            await self._inbox.finish(update_id, self._clock.now(), failed=True)
            return
        try:
            await self._handle(payload)
        except MalformedUpdate:
            log.warning("update %s is malformed; set aside as failed", update_id)
            await self._inbox.finish(update_id, self._clock.now(), failed=True)
            return
        except Exception:
            log.exception("update %s could not be handled (attempt %s)", update_id, attempts)
            if attempts >= self.MAX_ATTEMPTS:
                await self._inbox.finish(update_id, self._clock.now(), failed=True)
            else:
                self._wake.set()
            return
        await self._inbox.finish(update_id, self._clock.now())
        log.debug("handled update %s", update_id)

    async def _fetch_loop(self) -> None:
        offset = await self._inbox.next_offset()
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(offset)
            except FatalIntakeError:
                self._wake.set()
                raise
            except RetryLater as exc:
                await self._sleep(exc.seconds)
                continue
            except Exception as exc:
                failures += 1
                delay = min(self.BACKOFF_CAP, 2 ** min(failures, 5)) * random.uniform(0.5, 1.0)
                log.warning("fetching updates failed (%s); retrying in %.1f s", type(exc).__name__, delay)
                await self._sleep(delay)
                continue
            failures = 0
            updates = [u for u in updates if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
            if not updates:
                continue
            # Stored durably before the next fetch confirms them with a higher offset.
            await self._inbox.store(updates, self._clock.now())
            offset = max(u["update_id"] for u in updates) + 1
            self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
