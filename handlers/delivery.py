"""Delivery from Telegram's side: a person blocking or unblocking the bot (my_chat_member) marks them
unreachable or reachable at once, without waiting for a failed send; /outbox shows admins what is waiting
and who cannot be reached."""

from __future__ import annotations

from datetime import timedelta

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, TypeHandler, filters

from bot.access.policy import ADMIN
from bot.clock import stamp
from bot.errors import NotAllowed
from bot.i18n import N_
from bot.runtime.context import BotContext
from handlers.common import CHANNEL, reply


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    member = update.my_chat_member
    if member is None or member.chat.type != "private":
        return
    status = member.new_chat_member.status
    reachable = status not in (ChatMember.BANNED, ChatMember.LEFT)
    services = context.services
    if await services.people.by_identity(CHANNEL, str(member.chat.id)) is None:
        return  # a stranger: nothing is kept about people the bot does not serve
    await services.notices.set_reachable(CHANNEL, str(member.chat.id), reachable, f"my_chat_member:{status}")


async def on_any_private_update(update: Update, context: BotContext) -> None:
    """Someone marked unreachable writes to the bot (they pressed Start at last, or unblocked it): they can be
    reached again, and what could not be delivered to them goes out now. Runs before every other handler."""
    chat = update.effective_chat
    if chat is None or chat.type != "private" or update.my_chat_member is not None:
        return
    if await context.services.notices.reachable(CHANNEL, str(chat.id)):
        return
    await context.services.notices.set_reachable(CHANNEL, str(chat.id), True, "wrote to the bot")


async def outbox(update: Update, context: BotContext) -> None:
    _ = context.gettext
    if not (await context.actor()).has_role(ADMIN):
        raise NotAllowed("outbox", N_("Only a school admin can see the outbox."))
    repo = context.services.outbox.repo
    counts = await repo.counts()
    labels = {"pending": _("waiting"), "leased": _("being sent"), "sent": _("sent"),
              "undeliverable": _("undeliverable"), "parked": _("given up after retries"),
              "withdrawn": _("withdrawn (no longer entitled)")}
    lines = [_("Outbox:")] + [f"• {labels[state]}: {counts.get(state, 0)}" for state in labels]
    late = await repo.late(stamp(context.services.clock.now() - timedelta(days=7)))
    lines.append("• " + _("reminders that arrived late (last 7 days): {count}").format(count=late))
    stuck = await repo.undeliverable_recipients()
    if stuck:
        lines += ["", _("Could not be reached:")]
        for person_id, _recipient, error, count in stuck:
            person = await context.services.people.person(person_id) if person_id else None
            name = person.display_name if person else _("someone outside the school")
            lines.append(f"• {name} · {count} · {error.partition(':')[0]}")
    await reply(update, "\n".join(lines))


def every_update() -> list[BaseHandler]:
    """Runs for every update in a group of its own, first, and never stops the others (python-telegram-bot runs
    one handler per group, so this catch-all must not share its group with anyone)."""
    return [TypeHandler(Update, on_any_private_update)]


def handlers() -> list[BaseHandler]:
    return [
        ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        CommandHandler("outbox", outbox, filters=filters.ChatType.PRIVATE),
    ]
