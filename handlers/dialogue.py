"""One durable "in the middle of" per person, and the one /cancel.

A feature declares its dialogues as `DIALOGUES = [Kind("newchild", on_input, …)]`: `on_input(update, context,
dialogue)` gets every private message (text, photo, voice, document …; not commands) the person sends while
the dialogue is open, and returns False to let the message go on to the other handlers. The dialogue itself
is a row (`bot.dialogues`), so a restart continues it; a button press carries its own payload and reads the
dialogue with `current`. `/cancel` ends whatever is open, with the kind's own word, and a care form's draft."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, MessageHandler, filters

from bot.dialogues import DEFAULT_TTL, Dialogue
from bot.i18n import N_
from bot.runtime.context import BotContext
from handlers.common import reply


@dataclass(frozen=True)
class Kind:
    name: str
    on_input: Callable[[Update, BotContext, Dialogue], Awaitable[bool | None]]
    # What /cancel says when it ends this kind of dialogue.
    cancelled: str = N_("Cancelled. Nothing was saved.")
    # Called when /cancel ends it (a draft to throw away, a file to forget).
    on_cancel: Callable[[BotContext, Dialogue], Awaitable[None]] | None = None


async def current(context: BotContext, kind: str | None = None) -> Dialogue | None:
    """The acting person's open dialogue (of `kind`, when given), or None."""
    found = await context.services.dialogues.current((await context.actor()).person_id)
    return found if found is not None and (kind is None or found.kind == kind) else None


async def begin(context: BotContext, kind: str, state: dict | None = None, *, child_id: int | None = None,
                ttl: timedelta = DEFAULT_TTL) -> Dialogue:
    person_id = (await context.actor()).person_id
    if person_id is None:
        raise ValueError("a dialogue needs a known person")
    return await context.services.dialogues.begin(person_id, kind, state, child_id=child_id, ttl=ttl)


async def save(context: BotContext, dialogue: Dialogue, state: dict, *, child_id: int | None = None) -> Dialogue:
    return await context.services.dialogues.save(dialogue, state, child_id=child_id)


async def end(context: BotContext, kind: str | None = None) -> bool:
    return await context.services.dialogues.end((await context.actor()).person_id, kind)


def build(kinds: Iterable[Kind]) -> tuple[list, list]:
    """The dispatcher (its own group, before the features) and the /cancel command, for one application."""
    by_name: dict[str, Kind] = {}
    for kind in kinds:
        if kind.name in by_name:
            raise ValueError(f"dialogue kind {kind.name!r} is declared twice")
        by_name[kind.name] = kind

    async def on_dialogue_input(update: Update, context: BotContext) -> None:
        dialogue = await context.services.dialogues.current((await context.actor()).person_id)
        kind = by_name.get(dialogue.kind) if dialogue is not None else None
        if kind is None:
            return
        if await kind.on_input(update, context, dialogue) is not False:
            raise ApplicationHandlerStop  # taken: the features and the fallback do not see it

    async def cancel(update: Update, context: BotContext) -> None:
        _ = context.gettext
        actor = await context.actor()
        dialogue = await context.services.dialogues.current(actor.person_id)
        kind = by_name.get(dialogue.kind) if dialogue is not None else None
        if dialogue is not None:
            await context.services.dialogues.end(actor.person_id, dialogue.kind)
            if kind is not None and kind.on_cancel is not None:
                await kind.on_cancel(context, dialogue)
        # A care form's draft is kept apart from the dialogue row; /cancel throws it away too.
        draft = await context.services.musts.discard(actor) if actor.person_id is not None else None
        if kind is not None:
            text = _(kind.cancelled)
        elif draft is not None:
            text = _("Cancelled. Nothing was sent.")
        else:
            text = _("There is nothing to cancel. Send /help to see what you can do.")
        await reply(update, text, reply_markup=ReplyKeyboardRemove())

    dispatcher = MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND,
                                on_dialogue_input)
    return [dispatcher], [CommandHandler("cancel", cancel, filters=filters.ChatType.PRIVATE)]
