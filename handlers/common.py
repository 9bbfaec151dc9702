"""What every handler uses: replies, keyboards built from declared payloads, and the one refusal path.

A handler is thin: it reads the update, calls a service, and answers. Anything a person caused that cannot be
done is raised as a `bot.errors.UserError` (NotAllowed, NoConsent, StaleButton …) and answered here, once,
translated: a popup for a button, a message for a command or a typed line. `register` wraps every handler's
callback with `answering_refusals`, so no handler catches refusals itself."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot.errors import UserError
from bot.payloads import Payload
from bot.runtime.context import CHANNEL, BotContext
from bot.runtime.telegram import POPUP_LIMIT, inline_keyboard

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "answering_refusals", "button", "child_keyboard", "keyboard", "more_children", "on_button", "refuse",
           "replace_or_reply", "reply"]


async def reply(update: Update, text: str, **kwargs) -> Message:
    """Answer in the chat the update came from. Unlike effective_message.reply_text this also works for a
    button whose message Telegram no longer hands over (deleted, or too old)."""
    return await update.get_bot().send_message(update.effective_chat.id, text, **kwargs)


async def replace_or_reply(update: Update, text: str, **kwargs) -> None:
    """Answer a button in place (edit the message it sits on); if that message is too old for Telegram to
    hand over, or gone, say it in a new message instead. A command is answered with a new message."""
    query = update.callback_query
    if query is not None and isinstance(query.message, Message) and query.message.is_accessible:
        await query.edit_message_text(text, **kwargs)
    elif update.effective_chat is not None:
        await reply(update, text, **kwargs)


def button(label: str, payload: Payload) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=payload.pack())


def keyboard(rows: Iterable[Sequence[tuple[str, Payload]]]) -> InlineKeyboardMarkup | None:
    """Rows of (label, payload) as an inline keyboard; None when there are no buttons."""
    return inline_keyboard([[{"label": label, "data": payload.pack()} for label, payload in row] for row in rows])


def rows_of(items: Sequence, per_row: int) -> list[list]:
    return [list(items[i:i + per_row]) for i in range(0, len(items), per_row)]


def more_children(_, shown: list, kids: list) -> str:
    """Under a child picker that shows only some (a teacher with forty children): how to reach the rest."""
    if len(kids) <= len(shown):
        return ""
    return _("\n(Showing {shown} of {total}: add part of the name after the command.)").format(
        shown=len(shown), total=len(kids))


def child_keyboard(children, make_payload: Callable[[object], Payload], per_row: int = 3) -> InlineKeyboardMarkup:
    """One button per child (by name); `make_payload(child)` is what the button carries."""
    return keyboard(rows_of([(c.name or "?", make_payload(c)) for c in children], per_row))


async def refuse(update: Update, context: BotContext, refusal: UserError) -> None:
    """The one answer to a refusal: translated, nothing changed. A button gets a popup (a quiet one for a stale
    button), unless the text is too long for a popup; a command or a typed line gets a message."""
    text = refusal.text(context.gettext)
    query = update.callback_query
    if query is not None:
        try:
            if len(text) <= POPUP_LIMIT:
                await query.answer(text, show_alert=not refusal.quiet)
                return
            await query.answer()
        except BadRequest:  # the press was answered already, or is too old: the chat still hears why
            pass
    if update.effective_chat is not None and update.effective_chat.type == "private":
        await reply(update, text)


def answering_refusals(callback):
    """Wrap a handler callback so that a refusal it raises is answered by `refuse` instead of reaching the
    error handler (which is for our faults, not the person's)."""
    @functools.wraps(callback)
    async def answered(update, context: BotContext, *args):
        try:
            return await callback(update, context, *args)
        except UserError as refusal:
            log.info("refused %s (%s)", type(refusal).__name__, getattr(refusal, "what", ""))
            if isinstance(update, Update):
                await refuse(update, context, refusal)
            # Answered: no later group (a dialogue, the fallback) answers the same update again.
            raise ApplicationHandlerStop from None
    return answered


def on_button(payload_cls: type[Payload], callback, **kwargs) -> CallbackQueryHandler:
    """A handler for presses of `payload_cls` buttons: `callback(update, context, payload)` gets the parsed
    payload; data with the prefix that does not parse is refused as a stale button, before the callback."""
    async def pressed(update: Update, context: BotContext) -> None:
        return await callback(update, context, payload_cls.unpack(update.callback_query.data))
    pressed.__name__ = pressed.__qualname__ = getattr(callback, "__name__", "pressed")
    return CallbackQueryHandler(pressed, pattern=payload_cls.matches, **kwargs)

