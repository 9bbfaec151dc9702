"""The database refusing calls (locked by another process past the busy timeout, a full disk, an I/O error), as
one component of the process sees it. The intake and the sender each keep one: every call is tried again after
a capped pause with jitter until it works, and the outage is logged once when it starts and once when it ends,
with the error's class and SQLite's error name only (the message may not be ours to log)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from storage.db import OperationalError

T = TypeVar("T")


class Outage:
    def __init__(self, what: str, log: logging.Logger, *, first_pause: float, cap: float, stopping: asyncio.Event,
                 stopped: type[Exception], meanwhile: str, pending: Callable[[], int] = lambda: 0) -> None:
        self._what = what  # "the inbox", "the outbox"
        self._log = log
        self._first_pause = first_pause
        self._cap = cap
        self._stopping = stopping
        self._stopped = stopped  # raised when the component is stopped while a call waits to be tried again
        self._meanwhile = meanwhile  # what the log line promises while it lasts
        self._pending = pending  # other work still waiting on the database (the sender's refused leases)
        self._since: float | None = None  # monotonic time of the first fault of this outage
        self._retrying = 0  # calls waiting to be tried again

    async def call(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call()`, repeated after a storage fault until it works; the component's stop exception if it is
        stopped first."""
        failures = 0
        try:
            while True:
                try:
                    result = await call()
                except OperationalError as exc:
                    failures += 1
                    if failures == 1:
                        self._retrying += 1
                    self.fault(exc)
                    await self.pause(failures)
                    continue
                if failures:
                    self._retrying -= 1
                    failures = 0
                self.works()
                return result
        finally:
            if failures:
                self._retrying -= 1

    def fault(self, exc: Exception) -> None:
        if self._since is None:
            self._since = time.monotonic()
            self._log.error("%s cannot be used (%s); retrying with backoff, %s", self._what,
                            " ".join(filter(None, (type(exc).__name__, getattr(exc, "sqlite_errorname", None)))),
                            self._meanwhile)

    def works(self) -> None:
        """A call worked: the outage is over once nothing caught in it waits to be tried again."""
        if self._since is not None and not self._retrying and not self._pending():
            self._log.warning("%s works again, after %.1f s", self._what, time.monotonic() - self._since)
            self._since = None

    def seconds(self, failures: int) -> float:
        """The pause before the next try: doubling from the first, capped, with jitter."""
        return min(self._cap, self._first_pause * 2 ** min(failures - 1, 5)) * random.uniform(0.5, 1.0)

    async def pause(self, failures: int) -> None:
        if not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.seconds(failures))
            except asyncio.TimeoutError:
                pass
        if self._stopping.is_set():
            raise self._stopped() from None
