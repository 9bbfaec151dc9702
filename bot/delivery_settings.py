"""A person's delivery settings: quiet hours and time zone. Plain rules, checked here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.clock import Clock
from bot.notices import DEFAULT_QUIET
from storage.preferences import PreferencesRepository

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]?([0-5]\d)$")

# Offered as buttons: where the families of these schools live and work.
COMMON_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Tashkent", "Asia/Almaty", "Europe/Moscow",
                "Asia/Dubai", "Asia/Tokyo")


class SettingError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # time, zone


@dataclass(frozen=True)
class DeliverySettings:
    quiet_start: str
    quiet_end: str
    quiet_off: bool
    timezone: str


def parse_time(text: str) -> str:
    match = _HHMM.match(text.strip())
    if not match:
        raise SettingError("time")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def check_zone(name: str) -> str:
    name = name.strip()
    if name not in available_timezones():
        raise SettingError("zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError("zone") from None
    return name


class SettingsService:
    def __init__(self, preferences: PreferencesRepository, clock: Clock, default_timezone: str) -> None:
        self._preferences = preferences
        self._clock = clock
        self._default_tz = default_timezone

    async def current(self, user_id: int) -> DeliverySettings:
        prefs = await self._preferences.get(user_id)
        start, end = DEFAULT_QUIET
        return DeliverySettings(
            (prefs.quiet_start if prefs and prefs.quiet_start else start.strftime("%H:%M")),
            (prefs.quiet_end if prefs and prefs.quiet_end else end.strftime("%H:%M")),
            bool(prefs and prefs.quiet_off),
            (prefs.timezone if prefs and prefs.timezone else self._default_tz),
        )

    async def set_quiet_hours(self, user_id: int, start: str | None, end: str | None) -> DeliverySettings:
        """Both times, or neither (quiet hours off). Equal times are refused: a window of nothing or of all."""
        current = await self.current(user_id)
        if start is None or end is None:
            await self._preferences.set_quiet_hours(user_id, current.quiet_start, current.quiet_end, True, None,
                                                    self._clock.now())
        else:
            start, end = parse_time(start), parse_time(end)
            if start == end:
                raise SettingError("time")
            await self._preferences.set_quiet_hours(user_id, start, end, False, None, self._clock.now())
        return await self.current(user_id)

    async def set_timezone(self, user_id: int, zone: str) -> DeliverySettings:
        current = await self.current(user_id)
        await self._preferences.set_quiet_hours(user_id, current.quiet_start, current.quiet_end, current.quiet_off,
                                                check_zone(zone), self._clock.now())
        return await self.current(user_id)
