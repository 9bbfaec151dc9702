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


class PreferencesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> Preferences | None:
        row = await self._db.fetch_one(
            "SELECT user_id, locale, timezone FROM user_preferences WHERE user_id = ?", (user_id,)
        )
        return None if row is None else Preferences(row["user_id"], row["locale"], row["timezone"])

    async def set_locale(self, user_id: int, locale: str, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO user_preferences (user_id, locale, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
                (user_id, locale, now.isoformat(timespec="seconds")),
            )
