"""The sender: drains the outbox within the channel's rate limits by construction.

Several messages are in flight at once (`concurrency`, SEND_CONCURRENCY): Telegram answers in 100-300 ms, so
one at a time would cap the rate at one per round trip. Never two of one chat, so each chat's messages arrive
in order; a crash can repeat at most the messages that were in flight (Telegram has no idempotent send). Rows
are chosen, not waited for: the oldest due message whose chat has room goes next, so one busy chat holds up no
other. Each row takes its tokens (overall and its chat's) before it is sent. The limits are aiolimiter leaky
buckets: overall, per private chat (with a short burst), per group. Knows nothing of Telegram: the transport is
passed in and raises the failures below.

A storage fault (another process holding the write lock past the busy timeout, a full disk, an I/O error) stops
nothing: the outbox call is retried with a capped backoff, the outage is logged once and its end once. A row
whose lease failed is not sent now (it is chosen again once the outbox works); a row sent whose marking failed is
marked again, not sent again. Anything else a delivery raises stops the sender with that error.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time as monotonic_time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from aiolimiter import AsyncLimiter

from bot.clock import Clock, stamp, unstamp
from bot.runtime.outage import Outage
from storage.db import OperationalError
from storage.outbox import OutboxRepository, OutboxRow

log = logging.getLogger(__name__)
T = TypeVar("T")


class Throttled(Exception):
    """The channel asks us to wait (Telegram's 429 with retry_after)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class Unreachable(Exception):
    """The recipient cannot receive: blocked the bot, never started it, deactivated."""


class Rejected(Exception):
    """The channel refuses this message for good (too long, bad entities, chat not found)."""


class Transient(Exception):
    """A network failure, a time-out or a server error: worth trying again later."""


class _Stopping(Exception):
    """A storage fault outlasted the run: what was not written stays as it is for the next start (a leased row
    goes back to pending then, as after a crash)."""


class Transport(Protocol):
    async def send(self, row: OutboxRow) -> str | None:
        """Deliver one row; return the channel's id of what was delivered."""


@dataclass(frozen=True)
class Rates:
    overall_per_second: float = 25.0
    chat_per_second: float = 1.0
    chat_burst: int = 2
    group_per_minute: int = 18  # Telegram allows 20; a margin keeps clock skew from tipping it over


class _Bucket(AsyncLimiter):
    """An aiolimiter bucket that an album may overdraw (see Limits)."""

    def replay(self, moment: float, amount: int) -> None:
        """A send made at `moment` (monotonic time, not before the last one replayed): leak until then, add it."""
        if self._last_check and moment > self._last_check:
            self._level = max(0.0, self._level - self._rate_per_sec * (moment - self._last_check))
        self._level = min(self._level + amount, float(self.max_rate) + amount)
        self._last_check = max(self._last_check, moment)

    def overdraw(self, amount: float) -> None:
        # aiolimiter has no public way to go past max_rate; its level is what has_capacity and acquire
        # read, so raising it makes both wait until the debt has leaked away. tests/test_sender.py checks it.
        self._leak()
        self._level += amount


class Limits:
    """An album of N items is N messages for Telegram's limits, but a private chat's bucket holds only 2 (the
    overall one SEND_RATE, which may be under 10), and aiolimiter refuses to acquire more than a bucket holds.
    Telegram (and the sandbox, which models it) lets an album through when the chat has been quiet and counts
    all of it: so an album waits for a full bucket (its cost capped at the bucket's size), then takes its full
    cost, leaving the bucket in debt that holds the chat's next messages back. Splitting it into several
    acquires would block the sender, and every other chat with it, while one chat's bucket refills; capping
    alone would let the chat's next message run into a 429, which pauses all sending.

    A restarted bot calls `restore` with what it sent in the last minute (the outbox knows), so its buckets
    start as full as Telegram's are: a process killed mid-burst does not send a full burst into a chat, a group
    or the overall limit that is still spent (a 429 after every restart), and a chat nobody wrote to lately is
    not held back."""

    def __init__(self, rates: Rates) -> None:
        self.rates = rates
        self._overall = self._bucket(rates.overall_per_second, 1.0)
        self._chats: dict[str, _Bucket] = {}

    def _bucket(self, max_rate: float, period: float) -> _Bucket:
        return _Bucket(max_rate, period)

    def restore(self, sends: Iterable[tuple[str, float, int]]) -> None:
        """Fill the buckets as the sends of the last minute left them: (recipient, seconds ago, cost), in any
        order. Replayed through each bucket's own leak, as if this process had made them."""
        now = monotonic_time.monotonic()
        for recipient, ago, amount in sorted(sends, key=lambda send: -send[1]):
            for bucket in (self._overall, self._chat(recipient)):
                bucket.replay(now - max(0.0, ago), amount)

    def _chat(self, recipient: str) -> _Bucket:
        limiter = self._chats.get(recipient)
        if limiter is None:
            if recipient.startswith("-"):  # groups and channels have negative ids
                limiter = self._bucket(self.rates.group_per_minute, 60.0)
            else:
                burst = self.rates.chat_burst
                limiter = self._bucket(burst, burst / self.rates.chat_per_second)
            if len(self._chats) > 10_000:
                self._chats.clear()  # idle buckets are full anyway; forgetting them loses nothing
            self._chats[recipient] = limiter
        return limiter

    def ready(self, recipient: str, amount: int = 1) -> bool:
        return all(bucket.has_capacity(min(amount, bucket.max_rate))
                   for bucket in (self._overall, self._chat(recipient)))

    async def take(self, recipient: str, amount: int = 1) -> None:
        await _take(self._overall, amount)
        await _take(self._chat(recipient), amount)

    async def take_chat(self, recipient: str, amount: int = 1) -> None:
        """Only the chat's bucket: for replies, which are as many as the messages people send."""
        await _take(self._chat(recipient), amount)


async def _take(bucket: _Bucket, amount: int) -> None:
    """Wait for room for `amount` (at most a full bucket), then take all of it."""
    fits = min(amount, bucket.max_rate)
    await bucket.acquire(fits)
    if amount > fits:
        bucket.overdraw(amount - fits)


def cost(row: OutboxRow) -> int:
    """How many messages a row is for Telegram's limits: an album counts each of its items."""
    return cost_of(row.kind, row.payload)


def cost_of(kind: str, payload: dict) -> int:
    if kind == "media_group":
        return max(1, len(payload.get("media") or ()))
    return 1


# Called inside the transaction that ends a row as undeliverable or parked, to write what must follow (tell
# the author, mark the recipient unreachable): both happen or neither, so a crash between them cannot leave a
# failure nobody hears of. (connection, row, error)
UndeliverableHook = Callable[[Any, OutboxRow, str], Awaitable[None]]
# Asked just before a row is sent: may its recipient still have it (bot.delivery: entitlement)? If not, the row
# ends as withdrawn and nobody is told. (row) -> bool
EntitledCheck = Callable[[OutboxRow], Awaitable[bool]]
# Asked when rows are chosen: until when the recipient's quiet hours, as set now, hold this row (None: it may go).
# (row, now) -> moment or None (bot.notices: Outbox.held_until)
QuietCheck = Callable[[OutboxRow, datetime], Awaitable[datetime | None]]
SENT, LIMITED, IDLE = "sent", "limited", "idle"


class Sender:
    MAX_ATTEMPTS = 8
    BACKOFF_CAP = 600.0
    IDLE_POLL = 1.0  # how often to look for rows that became due (quiet hours end, backoff over)
    REREAD = 0.5
    STORAGE_BACKOFF_CAP = 5.0  # the longest pause between two tries of an outbox call after a storage fault

    def __init__(self, repo: OutboxRepository, transport: Transport, clock: Clock, limits: Limits,
                 on_undeliverable: UndeliverableHook | None = None, *, concurrency: int = 1,
                 entitled: EntitledCheck | None = None, held_until: QuietCheck | None = None,
                 as_sent: Callable[[OutboxRow, datetime], Awaitable[OutboxRow]] | None = None,
                 storage_backoff: float = 0.5) -> None:
        self._repo = repo
        self._entitled = entitled
        self._held_until = held_until
        self._as_sent = as_sent
        self._transport = transport
        self._clock = clock
        self._limits = limits
        self._on_undeliverable = on_undeliverable
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._paused_until = 0.0  # monotonic: after a flood wait, nothing is sent until then
        self._due: list[OutboxRow] = []
        self._due_read_at = 0.0
        self._concurrency = max(1, concurrency)
        self._in_flight: dict[str, asyncio.Task] = {}  # recipient -> the delivery of its row now in flight
        self._freed = asyncio.Event()  # a delivery ended: there is room for another
        self._failure: BaseException | None = None  # what a delivery raised: the sender stops with it
        self._lease_failures = 0  # leases refused by a storage fault since the last one that worked
        self._outage = Outage("the outbox", log, first_pause=storage_backoff, cap=self.STORAGE_BACKOFF_CAP,
                              stopping=self._stopping, stopped=_Stopping, meanwhile="nothing is sent twice meanwhile",
                              pending=lambda: self._lease_failures)
        self.sent = 0

    def wake(self) -> None:
        """Something was enqueued: look now rather than at the next poll."""
        self._wake.set()

    async def _restore_limits(self) -> None:
        """What the last process sent in the last minute (and what it had in flight) still counts against the
        channel's limits: the buckets start as it left them, so a restart after a kill meets no 429."""
        now = self._clock.now()
        sends = [(recipient, (now - unstamp(sent_at)).total_seconds() if sent_at else 0.0, cost_of(kind, payload))
                 for recipient, sent_at, kind, payload
                 in await self._stored(lambda: self._repo.recent_sends(stamp(now - timedelta(minutes=1))))]
        self._limits.restore(sends)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Send until stopped, up to `concurrency` rows at once; a stop lets the rows in flight finish, a
        cancellation (like a crash) leaves them leased, to be sent again at the next start."""
        try:
            await self._restore_limits()
            recovered = await self._stored(self._repo.recover)
        except _Stopping:
            return
        if recovered:
            log.info("%s outbox rows were in flight at the last stop; sending them again", recovered)
        try:
            await self._run()
        except asyncio.CancelledError:
            for task in self._in_flight.values():
                task.cancel()
            raise
        finally:
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()))
        if self._failure is not None:
            raise self._failure

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if len(self._in_flight) >= self._concurrency:
                self._freed.clear()
                await self._sleep(self.IDLE_POLL, wakeable=False, freed=True)
                continue
            try:
                outcome, row = await self._choose()
            except _Stopping:
                return
            if row is not None:
                self._start(row)
                continue
            pause = self._paused_until - monotonic_time.monotonic()
            if pause > 0:
                await self._sleep(pause, wakeable=False)
            elif outcome == LIMITED:
                await self._sleep(0.5 / self._limits.rates.overall_per_second, wakeable=False)
            else:
                await self._sleep(self.IDLE_POLL, wakeable=True)

    async def _sleep(self, seconds: float, *, wakeable: bool, freed: bool = False) -> None:
        """Wait; a stop always ends the wait, new mail only when nothing else is holding us back, the end of a
        delivery when we wait for room. The wake flag is cleared where the due list is read, so mail that came
        in just before this wait is not missed."""
        waiters = [asyncio.ensure_future(self._wake.wait() if wakeable else self._stopping.wait())]
        if freed:
            waiters.append(asyncio.ensure_future(self._freed.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _start(self, row: OutboxRow) -> None:
        """Deliver `row` beside the others in flight; its chat gets no other row until it ends."""
        task = asyncio.create_task(self._deliver(row), name=f"outbox-row-{row.id}")
        self._in_flight[row.recipient] = task
        task.add_done_callback(lambda done: self._ended(row.recipient, done))

    def _ended(self, recipient: str, task: asyncio.Task) -> None:
        self._in_flight.pop(recipient, None)
        self._freed.set()
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            # As with one message in flight: the sender stops with the error (the row stays leased).
            self._failure = task.exception()
            self.stop()

    async def step(self) -> str:
        """Send the next message that may go now, and wait for its answer: SENT, LIMITED (due, but every such
        chat is at its limit) or IDLE (nothing due). `run` does the same with several rows in flight."""
        try:
            outcome, row = await self._choose()
        except _Stopping:
            return IDLE
        if row is not None:
            await self._deliver(row)
        return outcome

    async def _choose(self) -> tuple[str, OutboxRow | None]:
        """The next row that may go now, leased, its tokens taken; or (LIMITED or IDLE, None)."""
        if monotonic_time.monotonic() < self._paused_until:
            return LIMITED, None
        if self._refresh_due():
            self._wake.clear()
            busy = set(self._in_flight)
            due = await self._stored(lambda: self._repo.due(stamp(self._clock.now())))
            if not due:
                self._lease_failures = 0  # no row waits for a lease: nothing is left to be tried again
            # A chat's row read while another of its rows was in flight may be stale (that one may come back to
            # pending, ahead of it): it waits for the next reading.
            self._due = [row for row in due if row.recipient not in busy]
            self._due_read_at = monotonic_time.monotonic()
            if due and not self._due:
                return LIMITED, None
        for row in list(self._due):
            amount = cost(row)
            if row.recipient in self._in_flight or not self._limits.ready(row.recipient, amount):
                continue
            self._due.remove(row)
            if self._held_until is not None:
                now = self._clock.now()
                until = await self._stored(lambda: self._held_until(row, now))
                if until is not None:  # quiet hours, as the recipient has them set now: it waits, others go
                    await self._stored(lambda: self._repo.hold(row.id, stamp(until), stamp(now)))
                    continue
            try:
                leased = await self._repo.lease(row.id)
            except OperationalError as exc:
                # Not leased, so not sent now: it is chosen again from the next reading, after a pause.
                self._lease_failures += 1
                self._outage.fault(exc)
                self._due = []
                await self._outage.pause(self._lease_failures)
                return LIMITED, None
            if self._lease_failures:
                self._lease_failures = 0
                self._outage.works()
            if not leased:
                continue
            # The chat's other rows as read may now be behind one that became its next (a later row in a
            # higher lane): they are chosen from the next reading.
            self._due = [other for other in self._due if other.recipient != row.recipient]
            await self._limits.take(row.recipient, amount)
            return SENT, row
        return (LIMITED if self._due else IDLE), None

    def _refresh_due(self) -> bool:
        """The due list is read again when used up, when new mail arrived, or every REREAD seconds: each
        recipient's next message shows up then, and a chat may send only about once a second anyway."""
        if not self._due or self._wake.is_set():
            return True
        return monotonic_time.monotonic() - self._due_read_at > self.REREAD

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            await self._deliver_leased(row)
        except _Stopping:
            log.info("outbox row %s stays leased: the sender stopped while the outbox could not be used", row.id)

    async def _deliver_leased(self, row: OutboxRow) -> None:
        now = self._clock.now()
        if self._entitled is not None and not await self._stored(lambda: self._entitled(row)):
            log.info("outbox row %s withdrawn: the recipient is no longer entitled to it", row.id)
            await self._stored(lambda: self._repo.withdraw(row.id, "Withdrawn", stamp(now)))
            return
        pause = self._paused_until - monotonic_time.monotonic()
        if pause > 0:  # a flood wait began while this row was being chosen: it waits for the wait's end
            await self._stored(lambda: self._repo.retry_at(row.id, stamp(now + timedelta(seconds=pause)), "Throttled",
                                                           count_attempt=False))
            return
        if self._as_sent is not None:
            row = await self._stored(lambda: self._as_sent(row, now))
        try:
            external_id = await self._transport.send(row)
        except Throttled as exc:
            self._paused_until = monotonic_time.monotonic() + exc.seconds
            log.warning("flood control: pausing all sends for %.1f s", exc.seconds)
            resume = stamp(now + timedelta(seconds=exc.seconds))
            await self._stored(lambda: self._repo.retry_at(row.id, resume, "Throttled", count_attempt=False))
        except Unreachable as exc:
            await self._give_up(row, "undeliverable", f"Unreachable:{exc}", now)
        except Rejected as exc:
            await self._give_up(row, "undeliverable", f"Rejected:{exc}", now)
        except Transient as exc:
            if row.attempts + 1 >= self.MAX_ATTEMPTS:
                await self._give_up(row, "parked", f"Transient:{exc}", now)
            else:
                delay = min(self.BACKOFF_CAP, 2.0 ** (row.attempts + 1)) * random.uniform(0.5, 1.5)
                log.info("outbox row %s: %s; retry in %.1f s", row.id, exc, delay)
                error = f"Transient:{exc}"
                await self._stored(lambda: self._repo.retry_at(row.id, stamp(now + timedelta(seconds=delay)), error))
        else:
            # Delivered: only the marking is tried again after a storage fault, never the send.
            sent_at = stamp(self._clock.now())
            await self._stored(lambda: self._repo.mark_sent(row.id, external_id, sent_at))
            self.sent += 1
            if row.due_by is not None and row.due_by < sent_at:  # recorded by mark_sent; counted in /outbox
                log.warning("outbox row %s went out %.0f s after the end of its window", row.id,
                            (unstamp(sent_at) - unstamp(row.due_by)).total_seconds())

    async def _give_up(self, row: OutboxRow, state: str, error: str, now: datetime) -> None:
        log.warning("outbox row %s ends %s (%s)", row.id, state, error)
        if self._on_undeliverable is not None:
            try:
                await self._stored(lambda: self._finish_reported(row, state, error, now))
                return
            except _Stopping:
                raise
            except Exception:
                log.exception("could not report undeliverable outbox row %s; ending it unreported", row.id)
        await self._stored(lambda: self._repo.finish(row.id, state, error, stamp(now)))

    async def _finish_reported(self, row: OutboxRow, state: str, error: str, now: datetime) -> None:
        """One transaction: after a storage fault it is rolled back whole, and tried again whole."""
        async with self._repo.transaction() as conn:
            await OutboxRepository.finish_in(conn, row.id, state, error, stamp(now))
            await self._on_undeliverable(conn, row, error)

    # -- storage faults ------------------------------------------------------------------------------------

    async def _stored(self, call: Callable[[], Awaitable[T]]) -> T:
        """An outbox call, repeated after a storage fault until it works; _Stopping if the sender is stopped."""
        return await self._outage.call(call)
