"""The error handler: log with ids only, then a short apology to the person, if there is one to tell."""

from __future__ import annotations

import logging

from telegram import Update

from bot.runtime.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    # Ids only: the exception's own text may quote a message, so the log has its class and frames
    # (bot.runtime.logs drops the text), never the update.
    log.error("update %s raised %s", update_id, type(context.error).__name__, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None or update.effective_chat.type != "private":
        return
    try:
        await context.resolve()
        _ = context.gettext
        await context.bot.send_message(
            update.effective_chat.id, _("Sorry, something went wrong on our side. Please try again in a moment.")
        )
    except Exception:  # the apology is best effort; its failure must not hide the first error
        log.warning("could not apologise in chat %s", update.effective_chat.id)
