"""The application factory: production, the demo and the tests all build the bot here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

from bot.clock import Clock, SystemClock
from bot.runtime.context import BotContext, BotData, Services
from bot.calendar import CalendarService
from bot.musts.service import CareService
from bot.records.service import ChildrenService
from bot.access.consent import ConsentService
from bot.delivery import DeliveryNotices
from bot.delivery_settings import SettingsService
from bot.access.invitations import InvitationService
from bot.musts.media import MediaStore
from bot.notices import Outbox
from bot.access.people import Directory
from bot.preferences import PreferencesService
from bot.access.privacy import PrivacyService
from bot.relay import RelayService
from bot.records.roster import RosterService
from bot.runtime.sender import Limits, Rates
from bot.settings import Settings
from bot.runtime.telegram import SharedRateLimiter
from bot.video.service import VideoService
from storage.audit import AuditRepository
from storage.children import ChildrenRepository
from storage.consents import ConsentsRepository
from storage.db import Database
from storage.deletions import DeletionsRepository
from storage.inbox import InboxRepository
from storage.invitations import InvitationsRepository
from storage.outbox import OutboxRepository
from storage.people import PeopleRepository
from storage.preferences import PreferencesRepository
from storage.relays import RelaysRepository

log = logging.getLogger(__name__)


async def open_services(settings: Settings, clock: Clock) -> Services:
    db = await Database.open(settings.database_path)
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    people = PeopleRepository(db)
    children = ChildrenRepository(db)
    consent = ConsentService(db, children, ConsentsRepository(db), clock)
    preferences = PreferencesService(PreferencesRepository(db), clock, settings.default_locale)
    outbox = Outbox(OutboxRepository(db), PreferencesRepository(db), clock, settings.timezone)
    media = MediaStore(settings.media_dir)
    care = CareService(db, people, children, consent, outbox, preferences, clock, settings.timezone)
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        inbox=InboxRepository(db),
        preferences=preferences,
        people=people,
        directory=Directory(people),
        invitations=InvitationService(db, people, children, InvitationsRepository(db), clock),
        consent=consent,
        children=ChildrenService(db, people, children, AuditRepository(db), consent, clock),
        privacy=PrivacyService(db, children, DeletionsRepository(db), clock, media),
        roster=RosterService(db, people, clock, children),
        outbox=outbox,
        notices=DeliveryNotices(db, outbox, people, children, preferences, clock),
        delivery_settings=SettingsService(PreferencesRepository(db), clock, settings.timezone),
        relay=RelayService(db, people, children, consent, outbox, RelaysRepository(db), preferences, clock),
        care=care,
        media=media,
        video=VideoService(db, people, children, consent, outbox, preferences, clock, settings),
        calendar=CalendarService(db, people, children, care, outbox, preferences, clock, settings.timezone),
    )


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
        .rate_limiter(SharedRateLimiter(limits))
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
