"""What each person chose for themselves: language, quiet hours, time zone. Kept under the id they write from
(their Telegram user id), so a stranger's language is known before they are anybody."""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.db import Repository

_NUMBER = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class Preferences:
    user_id: int
    locale: str | None
    timezone: str | None
    quiet_start: str | None = None
    quiet_end: str | None = None
    quiet_off: bool = False


@dataclass(frozen=True)
class QuietHours:
    """When messages wait: start and end 'HH:MM' (None: the default), or off; the zone they are counted in
    (None keeps the one chosen before). `updated_at` is stamped."""

    user_id: int
    start: str | None
    end: str | None
    off: bool
    timezone: str | None
    updated_at: str


class PreferencesRepository(Repository):
    async def get(self, user_id: int) -> Preferences | None:
        row = await self._one(
            "SELECT user_id, locale, timezone, quiet_start, quiet_end, quiet_off FROM user_preferences "
            "WHERE user_id = ?", (user_id,)
        )
        if row is None:
            return None
        return Preferences(row["user_id"], row["locale"], row["timezone"], row["quiet_start"], row["quiet_end"],
                           bool(row["quiet_off"]))

    async def user_of(self, person_id: int) -> int | None:
        """The id a person's preferences are kept under: the id of their first identity, where it is one."""
        row = await self._one("SELECT external_id FROM identities WHERE person_id = ? ORDER BY rowid LIMIT 1",
                              (person_id,))
        return int(row[0]) if row is not None and _NUMBER.fullmatch(row[0]) else None

    async def set_quiet_hours(self, quiet: QuietHours) -> None:
        await self._write(
            "INSERT INTO user_preferences (user_id, quiet_start, quiet_end, quiet_off, timezone, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET quiet_start = excluded.quiet_start, "
            "quiet_end = excluded.quiet_end, quiet_off = excluded.quiet_off, "
            "timezone = COALESCE(excluded.timezone, user_preferences.timezone), updated_at = excluded.updated_at",
            (quiet.user_id, quiet.start, quiet.end, int(quiet.off), quiet.timezone, quiet.updated_at))

    async def set_locale(self, user_id: int, locale: str, updated_at: str) -> None:
        await self._write(
            "INSERT INTO user_preferences (user_id, locale, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET locale = excluded.locale, updated_at = excluded.updated_at",
            (user_id, locale, updated_at))
