"""Time comes from a clock that is passed in, so tests can move it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(timezone.utc)


class ShiftedClock:
    """Real time moved by a fixed amount: it runs like its base clock but reads another hour. The demo uses
    it so that what it shows does not wait for quiet hours when someone runs it late in the evening."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self._base = base
        self._offset = offset

    @classmethod
    def reading(cls, base: Clock, local: time, zone: tzinfo) -> ShiftedClock:
        """A clock that reads `local` o'clock in `zone` now, on the base clock's local date."""
        now = base.now()
        wanted = datetime.combine(now.astimezone(zone).date(), local, zone)
        return cls(base, wanted - now)

    def now(self) -> datetime:
        return self._base.now() + self._offset

    def advance(self, delta: timedelta) -> None:
        """Jump ahead (the demo skips to the eve of a video call); it keeps running from there."""
        self._offset += delta


def stamp(moment: datetime) -> str:
    """The one way a moment is stored: UTC, ISO 8601, to the millisecond. One width for every column means
    text order is time order, so SQL may compare stored moments as strings."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def unstamp(stored: str) -> datetime:
    """A stored moment back as an aware datetime (rows written before `stamp` have seconds only)."""
    moment = datetime.fromisoformat(stored)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
