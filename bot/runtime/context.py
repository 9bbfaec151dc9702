"""The typed context every handler receives (python-telegram-bot's `contexttypesbot.py` pattern).

python-telegram-bot builds one context per update and awaits `refresh_data` once before the first handler
runs, so what every handler needs is resolved there, once: the person's language and its `gettext` /
`ngettext`. The acting person and their roles are read on first use (`await context.actor()`) and kept for
the rest of the update; a removed role still ends at the next update."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.access.people import Actor
from bot.i18n import DEFAULT_LOCALE, translator
from bot.services import Services

# The channel this runtime speaks for: people's identities on it are Telegram user ids.
CHANNEL = "telegram"


class BotData:
    def __init__(self) -> None:
        self.services: Services | None = None
        self.limits = None  # bot.runtime.sender.Limits, shared by replies and the outbox's sender
        self.keyboards = None  # bot.runtime.keyboards.Keyboards: the buttons each chat was shown last


class BotContext(CallbackContext[ExtBot, dict, dict, BotData]):
    def __init__(self, application: Application, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._incoming: Update | None = None
        self.locale: str = DEFAULT_LOCALE
        self._translations = translator(DEFAULT_LOCALE)
        self._actor: Actor | None = None

    @classmethod
    def from_update(cls, update: object, application: Application) -> BotContext:
        context = super().from_update(update, application)
        context._incoming = update if isinstance(update, Update) else None
        return context

    async def refresh_data(self) -> None:
        await super().refresh_data()
        await self.resolve()

    async def resolve(self) -> None:
        """Read the person's language. The error handler's context is built without refresh_data, so
        it calls this itself."""
        user = self._incoming.effective_user if self._incoming is not None else None
        if self.bot_data.services is not None:
            self.locale = await self.services.preferences.locale_for(
                user.id if user else None, user.language_code if user else None)
            self._translations = translator(self.locale)

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:
            raise RuntimeError("services are created in post_init; the application is not initialised")
        return services

    @property
    def gettext(self):
        return self._translations.gettext

    @property
    def ngettext(self):
        return self._translations.ngettext

    async def actor(self) -> Actor:
        """The person behind this update and their active roles, read once per update."""
        if self._actor is None:
            user = self._incoming.effective_user if self._incoming is not None else None
            self._actor = (Actor(None) if user is None
                           else await self.services.directory.actor(CHANNEL, str(user.id)))
        return self._actor

    def forget_actor(self) -> None:
        """After this update changed the person's roles (joined, left), read them afresh."""
        self._actor = None
