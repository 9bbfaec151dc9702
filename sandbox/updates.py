"""The bot's update queue and getUpdates long polling, with Telegram's semantics."""

from __future__ import annotations

import asyncio
import bisect
import itertools

from sandbox.models import ApiError

# What a bot receives when it never asked for anything specific (or passed an empty list).
DEFAULT_UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
})
MAX_LIMIT = 100


def update_type(update: dict) -> str | None:
    return next((key for key in update if key != "update_id"), None)


def _update_id(update: dict) -> int:
    return update["update_id"]


class _Poll:
    """A getUpdates request holding its connection open."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.superseded = False


class UpdateQueue:
    """Pending updates, confirmed away by getUpdates' ``offset``.

    Only one getUpdates may wait at a time: a new call terminates the waiting one with 409, which
    is how Telegram tells two running copies of a bot apart.
    """

    def __init__(self, first_update_id: int = 1):
        self._ids = itertools.count(first_update_id)
        self._updates: list[dict] = []  # ascending update_id
        self._allowed = DEFAULT_UPDATE_TYPES
        self._waiting: _Poll | None = None
        self._closing = False  # the server is stopping: polls answer at once

    def __len__(self) -> int:
        return len(self._updates)

    def push(self, fields: dict) -> int:
        update_id = next(self._ids)
        self._updates.append({"update_id": update_id, **fields})
        if self._waiting is not None:
            self._waiting.wake.set()
        return update_id

    def drop_all(self) -> None:
        self._updates.clear()

    def close(self) -> None:
        """Release a waiting poll at once (server shutdown) instead of letting it run out."""
        self._closing = True
        if self._waiting is not None:
            self._waiting.wake.set()

    def reopen(self) -> None:
        self._closing = False

    async def get(self, offset: int | None, limit: int | None, timeout: float,
                  allowed_updates: list[str] | None) -> list[dict]:
        if self._waiting is not None:
            self._waiting.superseded = True
            self._waiting.wake.set()
            self._waiting = None
        if allowed_updates is not None:  # remembered until a later call sets it again
            self._allowed = frozenset(allowed_updates) or DEFAULT_UPDATE_TYPES
        self._confirm(offset)
        limit = min(max(limit or MAX_LIMIT, 1), MAX_LIMIT)

        batch = self._select(limit)
        if batch or timeout <= 0 or self._closing:
            return batch
        poll = self._waiting = _Poll()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await poll.wake.wait()
                    poll.wake.clear()
                    if poll.superseded:
                        raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                            "make sure that only one bot instance is running")
                    batch = self._select(limit)
                    if batch or self._closing:
                        return batch
        except TimeoutError:
            return []
        finally:
            if self._waiting is poll:
                self._waiting = None

    def _confirm(self, offset: int | None) -> None:
        """Forget confirmed updates: ids below a positive offset, or all but the last -offset."""
        if not offset:
            return
        if offset > 0:
            del self._updates[:bisect.bisect_left(self._updates, offset, key=_update_id)]
        else:
            del self._updates[:offset]

    def _select(self, limit: int) -> list[dict]:
        # Filtering on delivery rather than on arrival means a changed allowed_updates applies
        # to what is already queued; an update the bot did not ask for is never shown to it and
        # disappears with the next offset that confirms a later update.
        wanted = (u for u in self._updates if update_type(u) in self._allowed)
        return list(itertools.islice(wanted, limit))
