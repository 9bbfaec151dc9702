"""Each person's interface language: what they chose, or else what their app says they speak."""

from __future__ import annotations

from bot.clock import Clock
from bot.i18n import SUPPORTED_LOCALES, locale_from_language_code
from storage.preferences import PreferencesRepository


class UnsupportedLocale(ValueError):
    pass


class PreferencesService:
    CACHE_LIMIT = 100_000

    def __init__(self, repo: PreferencesRepository, clock: Clock, default_locale: str) -> None:
        self._repo = repo
        self._clock = clock
        self._default = default_locale
        # Every update asks for the sender's language; this process is the only writer, so a cache of
        # what is stored (None: nothing chosen) stays true without a database read each time.
        self._chosen: dict[int, str | None] = {}

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

    async def set_locale(self, user_id: int, locale: str) -> None:
        if locale not in SUPPORTED_LOCALES:
            raise UnsupportedLocale(locale)
        await self._repo.set_locale(user_id, locale, self._clock.now())
        self._chosen[user_id] = locale

    async def remember(self, user_id: int, language_code: str | None) -> None:
        """On joining, keep the language the person reads now, so what is sent to them later (by the outbox,
        when they are not the one acting) is in it too. A choice made with /language is not overwritten."""
        prefs = await self._repo.get(user_id)
        if prefs is None or prefs.locale is None:
            await self.set_locale(user_id, locale_from_language_code(language_code, self._default))
