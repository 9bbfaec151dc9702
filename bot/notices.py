"""Putting messages in the outbox: split to the channel's limits, held for the recipient's quiet hours
unless urgent, written in the caller's transaction. Knows nothing of Telegram."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosqlite

from bot.clock import Clock
from storage.outbox import OutboxRepository, Outgoing
from storage.preferences import PreferencesRepository

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DEFAULT_QUIET = (time(22, 0), time(7, 0))


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at a line break if there is one in the second half of the
    piece, else at a space, else (Chinese has no spaces; a very long word) anywhere. Blank pieces are
    dropped: Telegram refuses an empty message."""
    pieces = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    pieces.append(rest)
    kept = [piece for piece in pieces if piece.strip()]
    return kept or [text[:limit]]


def quiet_end(local_now: datetime, start: time, end: time) -> datetime | None:
    """If `local_now` falls in the quiet window [start, end) (which may run past midnight), when it ends,
    in the same zone; else None. The end is built from the local date, so a DST change is respected."""
    now_t = local_now.time().replace(tzinfo=None)
    if start == end:
        return None
    inside = start <= now_t < end if start < end else (now_t >= start or now_t < end)
    if not inside:
        return None
    day = local_now.date() if now_t < end else local_now.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local_now.tzinfo)


def _parse_hhmm(value: str | None, default: time) -> time:
    if not value:
        return default
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Outbox:
    def __init__(self, repo: OutboxRepository, preferences: PreferencesRepository, clock: Clock,
                 default_timezone: str) -> None:
        self.repo = repo
        self._preferences = preferences
        self._clock = clock
        self._default_tz = default_timezone
        # Set by the runner to the sender's wake(): new mail goes out now, not at the next poll.
        self.wake: Callable[[], None] = lambda: None

    async def not_before(self, item: Outgoing, now: datetime) -> datetime:
        """Now, or when the recipient's quiet hours end. Urgent messages never wait."""
        if item.urgent or item.channel != "telegram" or not item.recipient.lstrip("-").isdigit():
            return now
        prefs = await self._preferences.get(int(item.recipient))
        if prefs is not None and prefs.quiet_off:
            return now
        zone_name = (prefs.timezone if prefs else None) or self._default_tz
        try:
            zone = ZoneInfo(zone_name)
        except ZoneInfoNotFoundError:
            zone = ZoneInfo(self._default_tz)
        start = _parse_hhmm(prefs.quiet_start if prefs else None, DEFAULT_QUIET[0])
        end = _parse_hhmm(prefs.quiet_end if prefs else None, DEFAULT_QUIET[1])
        until = quiet_end(now.astimezone(zone), start, end)
        return now if until is None else until.astimezone(timezone.utc)

    async def add(self, conn: aiosqlite.Connection, items: list[Outgoing]) -> list[int]:
        """Enqueue inside the caller's transaction, so the message exists exactly if the change does."""
        now = self._clock.now()
        when = [_iso(await self.not_before(item, now)) for item in items]
        ids = await OutboxRepository.enqueue(conn, items, when, _iso(now))
        self.wake()  # the sender's lease waits for this transaction to commit; a rollback leaves it nothing
        return ids

    @staticmethod
    def texts(dedupe_key: str, channel: str, recipient: str, text: str, **options) -> list[Outgoing]:
        """A text as one or more rows within the channel's length limit, in order."""
        pieces = split_text(text)
        extra = {k: options.pop(k) for k in ("reply_markup", "reply_to", "protect") if k in options}
        rows = []
        for n, piece in enumerate(pieces):
            payload = {"text": piece}
            if n == len(pieces) - 1:
                payload.update(extra)  # buttons under the last piece
            key = dedupe_key if len(pieces) == 1 else f"{dedupe_key}#{n + 1}"
            rows.append(Outgoing(key, channel, recipient, "text", payload, **options))
        return rows


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
