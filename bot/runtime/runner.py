"""Runs the bot: the application built by the factory, fed by the durable intake from Telegram."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBUserWarning
from telegram.ext import Application

from bot.runtime.app import build_application, initialized
from bot.clock import Clock, SystemClock
from bot.runtime.context import BotContext
from bot.runtime.intake import FatalIntakeError, Intake, IntakeEnded, MalformedUpdate, RetryLater
from bot.musts.media import fetch_pending
from bot.runtime.sender import Sender
from bot.runtime.telegram import TelegramFetcher, TelegramTransport
from bot.settings import Settings

log = logging.getLogger(__name__)

# The intake calls getUpdates through do_api_request on purpose: it needs the raw JSON to store.
warnings.filterwarnings("ignore", message="Please use 'Bot.getUpdates'", category=PTBUserWarning)

# The update types the handlers use; anything else is not fetched at all.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
# Seconds between looks at what is due; reminders are planned to the minute.
SCHEDULE_INTERVAL = 30


def telegram_fetch(app: Application, poll_timeout: int):
    async def fetch(offset: int | None) -> list[dict]:
        params: dict = {"timeout": poll_timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            params["offset"] = offset
        try:
            # do_api_request returns the raw JSON, which is what the inbox stores.
            result = await app.bot.do_api_request(
                "getUpdates", api_kwargs=params, read_timeout=poll_timeout + 10
            )
        except RetryAfter as exc:
            raise RetryLater(exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta)
                             else float(exc.retry_after)) from None
        except Conflict:
            log.warning("another process is polling with this token; waiting")
            raise RetryLater(5.0) from None
        except (InvalidToken, Forbidden) as exc:
            raise FatalIntakeError(type(exc).__name__) from None
        return result if isinstance(result, list) else []

    return fetch


def telegram_handle(app: Application):
    async def handle(payload: dict) -> None:
        try:
            update = Update.de_json(payload, app.bot)
        except Exception as exc:
            raise MalformedUpdate(type(exc).__name__) from None
        await app.process_update(update)

    return handle


def chat_key(payload: dict) -> object:
    """Which conversation an update belongs to, so that one chat's updates are handled in order."""
    for kind in ("message", "edited_message", "my_chat_member"):
        chat = payload.get(kind, {}).get("chat") if isinstance(payload.get(kind), dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return chat["id"]
    query = payload.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("from"), dict) and isinstance(query["from"].get("id"), int):
        return query["from"]["id"]  # a button in a private chat: the chat id is the user id
    return ("update", payload.get("update_id"))


async def maintenance_job(context: BotContext) -> None:
    """Forget old inbox rows, and fold the WAL into the database so nothing erased lingers in it."""
    services = context.services
    await services.inbox.prune(services.clock.now())
    if not await services.db.checkpoint():
        log.info("WAL checkpoint busy; will try again at the next maintenance")


async def fetch_media_job(context: BotContext) -> None:
    """Copy the photos and voice notes of care entries under the data directory (job data: the fetcher)."""
    services = context.services
    stored = await fetch_pending(services.db, services.media, context.job.data, now=services.clock.now())
    if stored:
        log.info("stored %s care media files", stored)


async def schedule_job(context: BotContext) -> None:
    """Everything the database says is due: safety reports nobody has acknowledged (told again, or the township
    told), video-call reminders and questions, then the care calendar, and the daily backup (started on a thread of
    its own). The database is the schedule, so this one job replaces a timer per reminder, and a restart resumes
    it."""
    services = context.services
    for name, due in (("safety", services.safety.escalate), ("video", services.video.run_due),
                      ("calendar", services.calendar.run_due), ("roll", services.attendance.run_due),
                      ("dropouts", services.dropouts.run_due), ("stats", services.stats.take_snapshots),
                      ("backup", services.backups.run_due)):
        try:
            sent = await due()
        except Exception:  # one part failing must not hold up the other
            log.exception("the %s schedule failed; it is tried again at the next run", name)
            continue
        if sent:
            log.info("%s schedule: %s items done (messages handed to the outbox, or a backup started)", name, sent)


class TokenRefused(Exception):
    """Telegram refused the token: nothing will work until the operator fixes it."""


class ChannelUnreachable(Exception):
    """The Bot API could not be reached at start-up; args[0] is the error's class name."""


class BotFailed(Exception):
    """Something the running bot cannot do without ended (the intake's fetch task, the outbox's sender); it is
    logged, and the process must exit non-zero so that a supervisor starts it again. args[0] names what ended."""


async def bot_username(settings: Settings) -> str | None:
    """Ask Telegram (or the configured Bot API server) who the bot is; None if it cannot be reached."""
    try:
        async with Bot(settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url) as bot:
            return bot.username
    except TelegramError:
        return None


async def run_bot(settings: Settings, *, clock: Clock | None = None, stop: asyncio.Event | None = None,
                  install_signal_handlers: bool = True, schedule_interval: float = SCHEDULE_INTERVAL,
                  **factory_kwargs) -> None:
    """Run until SIGINT/SIGTERM (or `stop` is set): the update in hand is finished, then the bot exits.
    A refused token (at start-up or later) or an unreachable Bot API at start-up raise TokenRefused or
    ChannelUnreachable; the intake or the sender ending while the bot runs raises BotFailed."""
    try:
        await _run_bot(settings, clock=clock, stop=stop, install_signal_handlers=install_signal_handlers,
                       schedule_interval=schedule_interval, **factory_kwargs)
    except (InvalidToken, FatalIntakeError):
        raise TokenRefused() from None
    except IntakeEnded as exc:
        raise BotFailed("intake", exc.args[0]) from None
    except NetworkError as exc:
        raise ChannelUnreachable(type(exc).__name__) from None


async def _run_bot(settings: Settings, *, clock: Clock | None, stop: asyncio.Event | None,
                   install_signal_handlers: bool, schedule_interval: float, **factory_kwargs) -> None:
    clock = clock or SystemClock()
    app = build_application(settings, clock=clock, **factory_kwargs)
    async with initialized(app):  # opens the database and closes it at the end
        services = app.bot_data.services
        intake = Intake(services.inbox, telegram_fetch(app, settings.poll_timeout), telegram_handle(app), clock,
                        key_of=chat_key)
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, intake.stop)
        if stop is not None:
            asyncio.create_task(_stop_when(stop, intake))
        # The sender's Bot shares the application's connection pool (and a test's recording request).
        sender_bot = Bot(settings.token, base_url=settings.base_url, base_file_url=settings.base_file_url,
                         request=app.bot.request)
        sender = Sender(services.outbox.repo, TelegramTransport(sender_bot, app.bot_data.keyboards), clock, app.bot_data.limits,
                        services.notices.undeliverable, concurrency=settings.send_concurrency,
                        entitled=services.notices.entitled, held_until=services.outbox.held_until,
                        as_sent=services.outbox.as_sent)
        services.outbox.wake = sender.wake
        await app.start()
        sending = asyncio.create_task(sender.run(), name="outbox-sender")
        sender_ended: list[str] = []
        sending.add_done_callback(lambda task: _sender_ended(task, intake, sender_ended))
        try:
            app.job_queue.run_repeating(maintenance_job, interval=timedelta(hours=1), first=timedelta(seconds=30))
            # The sender's plain Bot: a failed download is counted on its row and tried again at the next run,
            # not retried on the spot by the application's rate limiter.
            app.job_queue.run_repeating(fetch_media_job, interval=timedelta(seconds=30), first=timedelta(seconds=5),
                                        data=TelegramFetcher(sender_bot), name="fetch-media")
            app.job_queue.run_repeating(schedule_job, interval=timedelta(seconds=schedule_interval),
                                        first=timedelta(seconds=min(2, schedule_interval)), name="schedule")
            log.info("bot %s is running", app.bot.id)
            await intake.run()
        finally:
            sender.stop()  # the message in flight is finished; the rest waits in the outbox for the next start
            try:
                await sending
            except Exception:
                pass  # logged by _sender_ended
            await app.stop()
            if install_signal_handlers:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        if sender_ended:
            raise BotFailed("sender", sender_ended[0])
    log.info("bot stopped")


def _sender_ended(task: asyncio.Task, intake: Intake, ended: list[str]) -> None:
    """The sender ends only when stopped; if it ends by itself, nothing queued would go out any more: the bot
    stops, so that a supervisor starts it again, rather than run on silent."""
    exc = None if task.cancelled() else task.exception()
    if exc is None and intake.stopping:
        return
    how = "cancelled" if task.cancelled() else type(exc).__name__ if exc else "returned"
    log.critical("the outbox's sender ended (%s); stopping the bot", how, exc_info=exc)
    ended.append(how)
    intake.stop()


async def _stop_when(event: asyncio.Event, intake: Intake) -> None:
    await event.wait()
    intake.stop()
