"""Telegram's flood limits as token buckets.

Telegram documents them only roughly: about 30 messages per second overall, about one message
per second to a single private chat (short bursts are tolerated), and 20 messages per minute to
a group. Exceeding them earns a 429 with ``retry_after``. The buckets here reproduce that shape
so that a bot's pacing and retry code is exercised offline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Float arithmetic on refills must not turn "exactly enough tokens" into a spurious 429.
_EPSILON = 1e-9


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate`` tokens per second."""

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self._updated = now

    def wait_time(self, n: int, now: float) -> float:
        """Seconds until ``n`` tokens may be taken (0 if they may be taken now).

        A request larger than the whole bucket (a 10-item media group into a private chat with a
        burst of 3) is allowed once the bucket is full and then leaves it in debt, so it delays
        the following messages instead of being impossible forever.
        """
        self._refill(now)
        needed = min(n, self.capacity)
        if self.tokens + _EPSILON >= needed:
            return 0.0
        return (needed - self.tokens) / self.rate

    def take(self, n: int, now: float) -> None:
        self._refill(now)
        self.tokens -= n

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now


class RateLimiter:
    """The global bucket plus one bucket per chat (private chats and groups differ)."""

    def __init__(self, global_rate: float, chat_rate: float, chat_burst: int, group_per_minute: int,
                 clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._chat_rate = chat_rate
        self._chat_burst = chat_burst
        self._group_per_minute = group_per_minute
        self._global = TokenBucket(global_rate, global_rate, clock())
        self._chats: dict[int, TokenBucket] = {}

    def acquire(self, chat_id: int, n: int = 1) -> float:
        """Take ``n`` message tokens for ``chat_id``.

        Returns 0.0 when granted; otherwise the seconds to wait, and nothing is taken, because a
        rejected request does not count against the limits.
        """
        now = self._clock()
        buckets = (self._global, self._chat_bucket(chat_id, now))
        wait = max(bucket.wait_time(n, now) for bucket in buckets)
        if wait > 0:
            return wait
        for bucket in buckets:
            bucket.take(n, now)
        return 0.0

    def _chat_bucket(self, chat_id: int, now: float) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if chat_id < 0:  # groups and supergroups have negative ids
                bucket = TokenBucket(self._group_per_minute / 60, self._group_per_minute, now)
            else:
                bucket = TokenBucket(self._chat_rate, self._chat_burst, now)
            self._chats[chat_id] = bucket
        return bucket
