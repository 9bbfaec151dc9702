"""/start: the first thing anyone sees. Without a code: the bot is by invitation, and how to get one.
With a code (the deep link t.me/<bot>?start=<code>): who invites them, to which role, for which child,
and a button to accept. A parent or guardian is then shown the children's data rules and asked to consent."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.buttons import Join, NotNow
from bot.access.invitations import RELATIONS, InvitationInvalid
from bot.access.policy import (ADMIN, DIRECTOR, FAMILY_ROLES, GUARDIAN, PARENT, PROXY, ROLE_LABELS, SUPERVISOR,
                               TEACHER)
from bot.runtime.context import BotContext
from handlers import privacy
from handlers.commands import set_chat_commands
from handlers.common import CHANNEL, keyboard, on_button, replace_or_reply, reply


# What each role mostly does, shown to a member who sends /start again (the full list is /help).
MAIN_COMMANDS = {
    ADMIN: "/newclass /invite /people /reports",
    TEACHER: "/families /children /talk /due",
    PROXY: "/update /talk /due /video",
    PARENT: "/child /timeline /relay /video",
    GUARDIAN: "/child /timeline /relay /video",
    SUPERVISOR: "/children /invite /reports",
    DIRECTOR: "/children /reports",
}


async def start(update: Update, context: BotContext) -> None:
    _ = context.gettext
    if context.args:
        await _offer(update, context, context.args[0])
        return
    actor = await context.actor()
    if actor.known:
        await _welcome_back(update, context, actor)
        return
    await reply(update,
        _(
            "Hello! This is Qinqing Bridge. It connects parents working away from home with the family, "
            "proxy parents and teachers who look after their child.\n\n"
            "Qinqing Bridge is by invitation only: ask the child's class teacher for an invitation link "
            "or QR code, and open it to join.\n\n"
            "/help shows what you can do here. /language changes the language."
        )
    )


async def _welcome_back(update: Update, context: BotContext, actor) -> None:
    """A member who sends /start again: who they are here and what they mostly do, not the newcomer's welcome."""
    _ = context.gettext
    services = context.services
    person = await services.people.person(actor.person_id)
    lines = [_("Welcome back, {name}!").format(name=person.display_name if person else ""), _("You are here as:")]
    commands = []
    # A proxy parent's child is named once the family agreed (bot.access.policy); a family's own child always.
    names = {s.child.id: s.child.name for s in await services.children.visible(actor)} \
        if any(g.child_id for g in actor.grants) else {}
    for grant in actor.grants:
        role = _(ROLE_LABELS[grant.role])
        if grant.relation in RELATIONS.get(grant.role, {}):
            role = _(RELATIONS[grant.role][grant.relation])
        child = names.get(grant.child_id) if grant.child_id else None
        klass = await services.people.school_class(grant.class_id) if grant.class_id else None
        place = child or (klass.name if klass else None)
        if place is None:
            place = (await _place(services, grant)) or ""
        lines.append(_("• the {role} of {place}").format(role=role, place=place) if place else f"• {role}")
        commands += [c for c in MAIN_COMMANDS[grant.role].split() if c not in commands]
    lines += ["", _("What you mostly do: {commands}").format(commands=" ".join(commands)),
              _("/help shows everything you can do here.")]
    await reply(update, "\n".join(lines))


async def _place(services, grant) -> str | None:
    people = services.people
    found = ((await people.village(grant.village_id)) if grant.village_id else None) or \
        ((await people.school(grant.school_id)) if grant.school_id else None) or \
        ((await people.township(grant.township_id)) if grant.township_id else None)
    return found.name if found else None


def describe(preview, _) -> str:
    """“as the mother of Xiaoming (Class 3, Hope Primary)” in the reader's language."""
    inv = preview.invitation
    role = _(ROLE_LABELS[inv.role])
    if inv.relation and inv.relation in RELATIONS.get(inv.role, {}):
        role = _(RELATIONS[inv.role][inv.relation])
    if inv.role in (PROXY, *FAMILY_ROLES):
        return _("as the {role} of {child} ({school})").format(role=role, child=preview.child_name,
                                                               school=preview.school_name)
    if inv.role == TEACHER:
        return _("as the class teacher of {klass} ({school})").format(klass=preview.class_name,
                                                                      school=preview.school_name)
    if inv.role == SUPERVISOR:
        return _("as the child-welfare supervisor of {township}").format(township=preview.township_name)
    if inv.role == DIRECTOR:
        return _("as the child director of {village} ({township})").format(village=preview.village_name,
                                                                          township=preview.township_name)
    return _("as an admin of {school}").format(school=preview.school_name)


async def _offer(update: Update, context: BotContext, code: str) -> None:
    _ = context.gettext
    preview = await context.services.invitations.preview(code)
    if preview.inviter_name:
        text = _("{inviter} invites you to join Qinqing Bridge {what}.").format(inviter=preview.inviter_name,
                                                                              what=describe(preview, _))
    else:  # the first admin, invited from the command line
        text = _("You are invited to join Qinqing Bridge {what}.").format(what=describe(preview, _))
    await reply(update, text, reply_markup=keyboard([[(_("Accept"), Join(code)), (_("Not now"), NotNow())]]))


async def on_join_button(update: Update, context: BotContext, payload: Join) -> None:
    _ = context.gettext
    query = update.callback_query
    user = update.effective_user
    name = " ".join(p for p in (user.first_name, user.last_name) if p) or str(user.id)
    try:
        preview = await context.services.invitations.preview(payload.code)
        grant = await context.services.invitations.accept(payload.code, CHANNEL, str(user.id), name)
    except InvitationInvalid as invalid:
        # Said where the offer was, so its Accept button goes with it.
        await query.answer()
        await replace_or_reply(update, invalid.text(_))
        return
    await query.answer()
    await context.services.preferences.remember(user.id, user.language_code)
    await replace_or_reply(update, _("Welcome! You have joined {what}.").format(what=describe(preview, _)))
    context.forget_actor()  # they hold a role now
    actor = await context.actor()
    await set_chat_commands(context.bot, update.effective_chat.id, context.locale, {g.role for g in actor.grants})
    if grant.role in FAMILY_ROLES:
        await privacy.ask_consent(update, context, grant.child_id)
    elif grant.role == TEACHER:
        await reply(update,
            _("Next: send /import with your class roster (/template gives an empty one), or add a child with "
              "/newchild. Then /invite the families."))
    elif grant.role == ADMIN:
        await reply(update,
            _("Next: add classes with /newclass, then /invite their teachers."))
    elif grant.role == SUPERVISOR:
        await reply(update,
            _("Next: /invite the admin of each school of your township and the child director of each village. "
              "/children shows the township's children."))
    elif grant.role == DIRECTOR:
        await reply(update,
            _("The children whose home is in your village reach you here once their school records the village; "
              "their records once their families have agreed. /children shows them."))
    elif await context.services.consent.consented(grant.child_id):
        # The family agreed before the proxy parent came in: nothing to wait for.
        await reply(update,
            _("The family has already agreed to the rules, so you can start now: /update sends them news and "
              "photos, /talk records a heart-to-heart talk, /due shows what is due, /video sets the weekly call."))
    else:
        await reply(update,
            _("The child's records and news will reach you here once the family has agreed. /children shows them."))


async def on_nojoin_button(update: Update, context: BotContext, payload: NotNow) -> None:
    _ = context.gettext
    await update.callback_query.answer()
    await replace_or_reply(
        update, _("All right. The invitation stays valid until it expires; open the link again when you are ready."))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("start", start, filters=filters.ChatType.PRIVATE),
        on_button(Join, on_join_button),
        on_button(NotNow, on_nojoin_button),
    ]
