"""Durable intake: every update is stored before its offset is confirmed, then handled from the store.

Telegram (like other channels) forgets an update as soon as a later poll passes a higher offset,
whether or not the bot handled it. So the order is: fetch → store in the inbox (one transaction) →
only then ask for the next offset → handle each stored update → mark it finished. After a crash,
what was stored and not finished is handled on start-up; an update_id seen before is never handled twice.
The loop knows nothing of Telegram: fetching and handling are functions passed in.

A storage fault (another process holding the write lock, a full disk) stops nothing: the write is retried
with backoff, the offset is not confirmed meanwhile, the outage is logged once and its end once. Anything
else that ends the fetch task ends `run()` with an error, so the process exits and a supervisor restarts it,
rather than staying up deaf.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

from bot.clock import Clock
from bot.runtime.outage import Outage
from storage.inbox import InboxRepository

log = logging.getLogger(__name__)

Fetch = Callable[[int | None], Awaitable[list[dict]]]
Handle = Callable[[dict], Awaitable[None]]
T = TypeVar("T")

# What the update in hand still owes its sender (see `answer_owed`); None outside the intake.
_owed: ContextVar[list[str] | None] = ContextVar("intake_answer_owed", default=None)


def answer_owed(what: str) -> None:
    """Called while handling an update whose changes are stored but whose answer could not be sent (the network
    failed): the intake handles the update again after a pause, and the services recognise what was already
    done (a relay is stored once per source message), so the second time only the answer goes out. `what`
    names the answer for the log. Outside the intake (a test handing updates to the application) nothing."""
    owed = _owed.get()
    if owed is not None:
        owed.append(what)


class RetryLater(Exception):
    """The channel asked us to wait (rate limit, conflict, outage) before fetching again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class FatalIntakeError(Exception):
    """Fetching cannot succeed by waiting (e.g. the token was revoked)."""


class MalformedUpdate(Exception):
    """The stored payload cannot be read as an update; retrying will not change that."""


class IntakeEnded(Exception):
    """The fetch task ended while the intake was running; args[0] says how (an exception's class name)."""


class _Stopping(Exception):
    """A storage fault outlasted the run: what was not written stays for the next start."""


class Intake:
    MAX_ATTEMPTS = 3
    BACKOFF_CAP = 30.0
    # Updates from different chats are handled side by side, so one person's slow send (a flood-control
    # wait, a large upload) does not hold up everyone else; updates from one chat keep their order.
    MAX_IN_HAND = 8

    def __init__(self, inbox: InboxRepository, fetch: Fetch, handle: Handle, clock: Clock,
                 key_of: Callable[[dict], object] | None = None, max_in_hand: int = MAX_IN_HAND,
                 backoff: float = 1.0) -> None:
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
        self._outage = Outage("the inbox", log, first_pause=backoff, cap=self.BACKOFF_CAP, stopping=self._stopping,
                              stopped=_Stopping, meanwhile="no update is confirmed meanwhile")

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Finish the updates in hand, start no other, then return from run()."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Until stop(). Raises FatalIntakeError (fetching cannot succeed) or IntakeEnded (the fetch task ended
        for any other reason): the caller must not go on without it."""
        fetcher = asyncio.create_task(self._fetch_loop(), name="intake-fetch")
        fetcher.add_done_callback(lambda _task: self._wake.set())
        self._wake.set()  # handle whatever a previous run stored and did not finish
        try:
            while not self._stopping.is_set():
                await self._wake.wait()
                self._wake.clear()
                if fetcher.done() and not self._stopping.is_set():
                    self._ended(fetcher)
                try:
                    await self._dispatch_pending()
                except _Stopping:
                    break
        finally:
            fetcher.cancel()
            try:
                await fetcher
            except (asyncio.CancelledError, FatalIntakeError):
                pass
            except Exception:
                pass  # reported by _ended when it happened while running
            await self.wait_in_hand()

    @staticmethod
    def _ended(fetcher: asyncio.Task) -> None:
        exc = None if fetcher.cancelled() else fetcher.exception()
        if isinstance(exc, FatalIntakeError):
            raise exc
        how = "cancelled" if fetcher.cancelled() else type(exc).__name__ if exc else "returned"
        log.critical("the fetch task ended (%s): no update can arrive any more", how,
                     exc_info=exc if exc is not None else None)
        raise IntakeEnded(how) from exc

    async def wait_in_hand(self) -> None:
        while self._in_hand:
            await asyncio.wait(list(self._in_hand.values()))

    async def _dispatch_pending(self) -> None:
        """Start every stored update not yet in hand, oldest first, within the limit of updates in hand."""
        while not self._stopping.is_set():
            pending = await self._stored(lambda: self._inbox.pending(limit=200))
            batch = [i for i in pending if i.update_id not in self._in_hand]
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
        except _Stopping:
            pass  # still pending in the inbox: the next start handles it
        except Exception:
            log.exception("update %s: the inbox could not be updated", update_id)
        finally:
            self._slots.release()
            del self._in_hand[update_id]
            if self._last_of_key.get(key) is asyncio.current_task():
                del self._last_of_key[key]

    async def _handle_one(self, update_id: int, payload: dict) -> None:
        """Handle it, and again after a pause if it failed or owes an answer, at most MAX_ATTEMPTS times in all
        (crashes included). Its chat's later updates wait meanwhile, so they stay in order."""
        while True:
            attempts = await self._stored(lambda: self._inbox.begin_attempt(update_id))
            if attempts is None:
                return  # finished while this copy of it waited: the store, not our memory, says what is done
            if attempts > self.MAX_ATTEMPTS:
                # It was in hand when the process died, more than once: set it aside rather than crash-loop.
                log.error("update %s was interrupted %s times; set aside as failed", update_id, attempts - 1)
                await self._finish(update_id, failed=True)
                return
            owed: list[str] = []
            token = _owed.set(owed)
            try:
                await self._handle(payload)
            except MalformedUpdate:
                log.warning("update %s is malformed; set aside as failed", update_id)
                await self._finish(update_id, failed=True)
                return
            except Exception:
                log.exception("update %s could not be handled (attempt %s)", update_id, attempts)
                owed.append("handling")
            finally:
                _owed.reset(token)
            if not owed:
                await self._finish(update_id)
                log.debug("handled update %s", update_id)
                return
            if attempts >= self.MAX_ATTEMPTS:
                log.warning("update %s still owes %s after %s attempts; set aside", update_id, owed[0], attempts)
                await self._finish(update_id, failed=True)
                return
            delay = self._outage.seconds(attempts)
            log.info("update %s owes %s; handled again in %.1f s", update_id, owed[0], delay)
            await self._sleep(delay)
            if self._stopping.is_set():
                return  # still pending: the next start handles it

    async def _finish(self, update_id: int, *, failed: bool = False) -> None:
        await self._stored(lambda: self._inbox.finish(update_id, self._clock.now(), failed=failed))

    async def _fetch_loop(self) -> None:
        try:
            offset = await self._stored(self._inbox.next_offset)
        except _Stopping:
            return
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch(offset)
            except FatalIntakeError:
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
            # Stored durably before the next fetch confirms them with a higher offset; until the store works
            # again nothing is fetched, so nothing is confirmed.
            try:
                await self._stored(lambda: self._inbox.store(updates, self._clock.now()))
            except _Stopping:
                return  # not confirmed: Telegram hands them over again at the next start
            offset = max(u["update_id"] for u in updates) + 1
            self._wake.set()

    # -- storage faults ------------------------------------------------------------------------------------

    async def _stored(self, write: Callable[[], Awaitable[T]]) -> T:
        """An inbox call, repeated after a storage fault until it works; _Stopping if the run ends first."""
        return await self._outage.call(write)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass
