"""What every handler uses: replies, keyboards built from declared payloads, and the one refusal path.

A handler is thin: it reads the update, calls a service, and answers. Anything a person caused that cannot be
done is raised as a `bot.errors.UserError` (NotAllowed, NoConsent, StaleButton …) and answered here, once,
translated: a popup for a button, a message for a command or a typed line. `register` wraps every handler's
callback with `answering_refusals`, so no handler catches refusals itself."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ApplicationHandlerStop, CallbackQueryHandler

from bot.errors import UserError
from bot.payloads import SEPARATOR, Payload, payload
from bot.runtime.context import CHANNEL, BotContext
from bot.runtime.telegram import POPUP_LIMIT, inline_keyboard

log = logging.getLogger(__name__)

__all__ = ["CHANNEL", "ListPage", "Paged", "answering_refusals", "button", "child_keyboard", "child_page", "keyboard",
           "on_button", "on_page", "paged", "refuse", "replace_or_reply", "reply"]

# Telegram shows up to 100 buttons; thirty names fit a phone's screen without scrolling past the message.
PAGE_SIZE = 30


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


@payload("pg")
class ListPage:
    """◀ ▶ under a long list of buttons: which list (named by the feature that draws it, see `on_page`) and which
    page of it to show."""

    list: Annotated[str, 16]
    page: int


@dataclass(frozen=True)
class Paged:
    """One page of a list of buttons: its rows (with ◀ ▶ under them when there is more than one page)."""

    rows: list[list]
    page: int
    pages: int
    total: int

    def note(self, _) -> str:
        """A line to add under the question when the list does not fit on one page."""
        if self.pages <= 1:
            return ""
        return _("\n(Page {page} of {pages}, {total} in all: ◀ ▶ below.)").format(
            page=self.page + 1, pages=self.pages, total=self.total)


def paged(_, items: Sequence[tuple[str, Payload]], page: int, nav: Callable[[int], Payload], per_row: int = 1,
          size: int = PAGE_SIZE, group: Callable[[int], object] | None = None) -> Paged:
    """The one way to show a list of buttons of any length: page `page` (kept within the list) of `items`
    ((label, payload) pairs), `per_row` to a row, and ◀ ▶ buttons carrying `nav(page)` for the pages before and
    after. `group(i)`, if given, names the group of item i: a new group starts a new row (a school's classes)."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    start = page * size
    rows: list[list] = []
    for i in range(start, min(start + size, len(items))):
        if not rows or len(rows[-1]) >= per_row or (group is not None and i > start and group(i) != group(i - 1)):
            rows.append([])
        rows[-1].append(items[i])
    arrows = []
    if page > 0:
        arrows.append((_("◀ Previous page"), nav(page - 1)))
    if page + 1 < pages:
        arrows.append((_("Next page ▶"), nav(page + 1)))
    if arrows:
        rows.append(arrows)
    return Paged(rows, page, pages, len(items))


def child_page(_, kids: Sequence, page: int, make_payload: Callable[[object], Payload], nav: Callable[[int], Payload],
               per_row: int = 3, size: int = PAGE_SIZE) -> Paged:
    """A page of buttons, one per child (a `storage.children.ChildRow`), in the order they come (the roster's);
    children of several classes (an admin's school) are grouped a class to a row block, each labelled."""
    several = len({k.class_id for k in kids}) > 1
    items = [((f"{k.name or '?'} · {k.class_name}" if several else k.name or "?"), make_payload(k)) for k in kids]
    return paged(_, items, page, nav, per_row=2 if several else per_row, size=size,
                 group=(lambda i: kids[i].class_id) if several else None)


def on_page(name: str, draw) -> CallbackQueryHandler:
    """The handler of ◀ ▶ under the list called `name`: `draw(update, context, page)` redraws it in place."""
    async def turned(update: Update, context: BotContext) -> None:
        await draw(update, context, ListPage.unpack(update.callback_query.data).page)
        await update.callback_query.answer()
    turned.__name__ = turned.__qualname__ = f"on_pg_{name}_button"
    wanted = f"{ListPage.prefix}{SEPARATOR}{name}{SEPARATOR}"
    return CallbackQueryHandler(turned, pattern=lambda data: isinstance(data, str) and data.startswith(wanted))


def child_keyboard(children, make_payload: Callable[[object], Payload], per_row: int = 3) -> InlineKeyboardMarkup:
    """One button per child (by name); `make_payload(child)` is what the button carries."""
    return keyboard(rows_of([(c.name or "?", make_payload(c)) for c in children], per_row))


async def refuse(update: Update, context: BotContext, refusal: UserError) -> None:
    """The one answer to a refusal: translated, nothing changed. A button gets a popup (a quiet one for a stale
    button), unless the text is too long for a popup; a command or a typed line gets a message."""
    text = refusal.text(context.gettext)
    query = update.callback_query
    if query is not None:
        # False: the press was answered already, or is too old (bot.runtime.telegram): the chat hears why.
        if len(text) <= POPUP_LIMIT:
            if await query.answer(text, show_alert=not refusal.quiet):
                return
        else:
            await query.answer()
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

