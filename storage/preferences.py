"""What each person chose for themselves (language, time zone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database


@dataclass(frozen=True)
class Preferences:
    user_id: int
    locale: str | None
    timezone: str | None
    quiet_start: str | None = None
    quiet_end: str | None = None
    quiet_off: bool = False


class PreferencesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> Preferences | None:
        row = await self._db.fetch_one(
            "SELECT user_id, locale, timezone, quiet_start, quiet_end, quiet_off FROM user_preferences "
            "WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return Preferences(row["user_id"], row["locale"], row["timezone"], row["quiet_start"], row["quiet_end"],
                           bool(row["quiet_off"]))

    async def set_quiet_hours(self, user_id: int, start: str | None, end: str | None, off: bool, zone: str | None,
                              now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO user_preferences (user_id, quiet_start, quiet_end, quiet_off, timezone, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET quiet_start = excluded.quiet_start, "
                "quiet_end = excluded.quiet_end, quiet_off = excluded.quiet_off, "
                "timezone = COALESCE(excluded.timezone, user_preferences.timezone), updated_at = excluded.updated_at",
                (user_id, start, end, int(off), zone, now.isoformat(timespec="seconds")))

    async def set_locale(self, user_id: int, locale: str, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO user_preferences (user_id, locale, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
                (user_id, locale, now.isoformat(timespec="seconds")),
            )
