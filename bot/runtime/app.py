"""The application factory: production, the demo and the tests all build the bot here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.runtime.context import BotContext, BotData
from bot.services import open_services
from bot.runtime.sender import Limits, Rates
from bot.settings import Settings
from bot.runtime.keyboards import Keyboards
from bot.runtime.telegram import SharedRateLimiter

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    register_commands: bool = True,
    limits: Limits | None = None,
) -> Application:
    """Build the bot. Updates are not fetched by python-telegram-bot's Updater (it confirms an update
    before it is handled); the durable intake in `bot.runtime.intake` feeds `process_update` instead."""
    from handlers import register, set_commands

    clock = clock or SystemClock()
    limits = limits or Limits(Rates(overall_per_second=settings.send_rate))
    keyboards = Keyboards()

    async def post_init(app: Application) -> None:
        app.bot_data.services = await open_services(settings, clock)
        # The command line prints invitation links without asking Telegram who the bot is.
        await app.bot_data.services.people.set_meta("bot_username", app.bot.username)
        if register_commands:
            await set_commands(app.bot)

    async def post_shutdown(app: Application) -> None:
        services = app.bot_data.services
        if services is not None:
            await services.db.close()
            app.bot_data.services = None

    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .updater(None)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        # Replies to the person acting go straight out, but through the same buckets as the outbox's sender.
        .rate_limiter(SharedRateLimiter(limits, keyboards))
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None or request is not None:
        builder = builder.get_updates_request(get_updates_request or request)
    else:
        # The long poll holds the connection open for poll_timeout seconds; give the read room for it.
        builder = builder.get_updates_read_timeout(settings.poll_timeout + 10)
    app = builder.build()
    app.bot_data.limits = limits
    app.bot_data.keyboards = keyboards
    register(app)
    return app


@asynccontextmanager
async def initialized(app: Application) -> AsyncIterator[Application]:
    """initialize → post_init … shutdown → post_shutdown, in python-telegram-bot's own order. Its
    run_polling would call the hooks; the durable intake replaces run_polling, so they are called here."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        yield app
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
