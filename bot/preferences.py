"""A person's own choices: the language they read, and when messages may wait for them (quiet hours, counted
in their time zone). Plain rules, checked here; the buttons that set them are declared here too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.clock import Clock, stamp
from bot.errors import StaleButton, UserError
from bot.i18n import N_, SUPPORTED_LOCALES, locale_from_language_code
from bot.notices import DEFAULT_QUIET
from bot.payloads import payload
from storage.preferences import PreferencesRepository, QuietHours

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]?([0-5]\d)$")

# Offered as buttons: where the families of these schools live and work.
COMMON_ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Tashkent", "Asia/Almaty", "Europe/Moscow",
                "Asia/Dubai", "Asia/Tokyo")
# Quiet hours offered as buttons, each carried as its four digits twice ("22000700"); "off": no quiet hours.
PRESETS = (("21:00", "07:00"), ("22:00", "07:00"), ("23:00", "06:00"))
QUIET_PRESETS = {f"{start}{end}".replace(":", ""): (start, end) for start, end in PRESETS}
QUIET_CHOICES = ("off", *QUIET_PRESETS)


@payload("lang")
class ChooseLanguage:
    locale: Literal[SUPPORTED_LOCALES]


@payload("qh")
class ChooseQuietHours:
    window: Literal[QUIET_CHOICES]


@payload("tz")
class ChooseZone:
    zone: int  # an index into COMMON_ZONES


class UnsupportedLocale(UserError):
    msgid = N_("That language is not available. Choose one with /language.")


class SettingError(UserError):
    msgid = N_("Write /settings quiet 22:30 6:30, /settings zone Europe/Moscow, or just /settings.")


class UnknownTimeZone(SettingError):
    msgid = N_("I do not know that time zone. Write it like Asia/Shanghai or Europe/Moscow.")


class UnreadableTimes(SettingError):
    msgid = N_("I could not read those times. Write two different times like 22:30 6:30.")


@dataclass(frozen=True)
class DeliverySettings:
    quiet_start: str
    quiet_end: str
    quiet_off: bool
    timezone: str


def parse_time(text: str) -> str:
    match = _HHMM.match(text.strip())
    if not match:
        raise UnreadableTimes()
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def check_zone(name: str) -> str:
    name = name.strip()
    if name not in available_timezones():
        raise UnknownTimeZone()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone() from None
    return name


class PreferencesService:
    CACHE_LIMIT = 100_000

    def __init__(self, repo: PreferencesRepository, clock: Clock, default_locale: str,
                 default_timezone: str) -> None:
        self._repo = repo
        self._clock = clock
        self._default = default_locale
        self._default_tz = default_timezone
        # Every update asks for the sender's language; this process is the only writer, so a cache of
        # what is stored (None: nothing chosen) stays true without a database read each time.
        self._chosen: dict[int, str | None] = {}

    # language

    async def locale_for(self, user_id: int | None, language_code: str | None) -> str:
        # Nothing is stored for a person until they choose: strangers leave no trace but the inbox.
        if user_id is not None:
            if user_id not in self._chosen:
                if len(self._chosen) >= self.CACHE_LIMIT:
                    self._chosen.clear()  # a flood of strangers must not grow memory without end
                prefs = await self._repo.get(user_id)
                self._chosen[user_id] = prefs.locale if prefs is not None else None
            if self._chosen[user_id] in SUPPORTED_LOCALES:
                return self._chosen[user_id]
        return locale_from_language_code(language_code, self._default)

    async def locale_of(self, person_id: int) -> str:
        """The language to write in to a person who is not the one acting: theirs, else the default."""
        return await self.locale_for(await self._repo.user_of(person_id), None)

    async def set_locale(self, user_id: int, locale: str) -> None:
        if locale not in SUPPORTED_LOCALES:
            raise UnsupportedLocale()
        await self._repo.set_locale(user_id, locale, stamp(self._clock.now()))
        self._chosen[user_id] = locale

    async def remember(self, user_id: int, language_code: str | None) -> None:
        """On joining, keep the language the person reads now, so what is sent to them later (by the outbox,
        when they are not the one acting) is in it too. A choice made with /language is not overwritten."""
        prefs = await self._repo.get(user_id)
        if prefs is None or prefs.locale is None:
            await self.set_locale(user_id, locale_from_language_code(language_code, self._default))

    # quiet hours and time zone

    async def delivery(self, user_id: int) -> DeliverySettings:
        prefs = await self._repo.get(user_id)
        start, end = DEFAULT_QUIET
        return DeliverySettings(
            (prefs.quiet_start if prefs and prefs.quiet_start else start.strftime("%H:%M")),
            (prefs.quiet_end if prefs and prefs.quiet_end else end.strftime("%H:%M")),
            bool(prefs and prefs.quiet_off),
            (prefs.timezone if prefs and prefs.timezone else self._default_tz),
        )

    async def set_quiet_hours(self, user_id: int, start: str | None, end: str | None) -> DeliverySettings:
        """Both times, or neither (quiet hours off). Equal times are refused: a window of nothing or of all."""
        current = await self.delivery(user_id)
        if start is None or end is None:
            quiet = QuietHours(user_id, current.quiet_start, current.quiet_end, True, None, stamp(self._clock.now()))
        else:
            start, end = parse_time(start), parse_time(end)
            if start == end:
                raise UnreadableTimes()
            quiet = QuietHours(user_id, start, end, False, None, stamp(self._clock.now()))
        await self._repo.set_quiet_hours(quiet)
        return await self.delivery(user_id)

    async def choose_quiet_hours(self, user_id: int, choice: ChooseQuietHours) -> DeliverySettings:
        return await self.set_quiet_hours(user_id, *QUIET_PRESETS.get(choice.window, (None, None)))

    async def choose_zone(self, user_id: int, choice: ChooseZone) -> DeliverySettings:
        if choice.zone >= len(COMMON_ZONES):
            raise StaleButton()
        return await self.set_timezone(user_id, COMMON_ZONES[choice.zone])

    async def set_timezone(self, user_id: int, zone: str) -> DeliverySettings:
        current = await self.delivery(user_id)
        await self._repo.set_quiet_hours(QuietHours(user_id, current.quiet_start, current.quiet_end, current.quiet_off,
                                                    check_zone(zone), stamp(self._clock.now())))
        return await self.delivery(user_id)
