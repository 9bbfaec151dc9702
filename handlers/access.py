"""/invite (guided with buttons, or one line), /invitations (list and revoke), /newclass, /people (remove
a role). Every step re-checks the inviter's rights; the invitation itself is checked again by the service."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.buttons import (InviteForChild, InviteForClass, InviteRelation, InviteRole, RemoveRole,
                                RevokeInvitation)
from bot.access.invitations import RELATIONS, Issued, invitation_link
from bot.access.people import Actor
from bot.access.policy import (ADMIN, GUARDIAN, INVITE_FAMILY, INVITE_PROXY, INVITE_TEACHER, PARENT, PROXY,
                               ROLE_LABELS, TEACHER, can, can_in_school)
from bot.access.qr import qr_png
from bot.errors import StaleButton
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, reply

log = logging.getLogger(__name__)

# Words people use in the one-line form: /invite 母亲 小明, /invite teacher 三年级一班 …
ROLE_WORDS = {
    "teacher": (TEACHER, None), "班主任": (TEACHER, None), "老师": (TEACHER, None),
    "proxy": (PROXY, None), "代理家长": (PROXY, None),
    "parent": (PARENT, None), "家长": (PARENT, None),
    "father": (PARENT, "father"), "父亲": (PARENT, "father"), "爸爸": (PARENT, "father"),
    "mother": (PARENT, "mother"), "母亲": (PARENT, "mother"), "妈妈": (PARENT, "mother"),
    "guardian": (GUARDIAN, None), "监护人": (GUARDIAN, None),
    "爷爷": (GUARDIAN, "grandfather_p"), "奶奶": (GUARDIAN, "grandmother_p"),
    "外公": (GUARDIAN, "grandfather_m"), "姥爷": (GUARDIAN, "grandfather_m"),
    "外婆": (GUARDIAN, "grandmother_m"), "姥姥": (GUARDIAN, "grandmother_m"),
}


def _roles_offered(actor: Actor) -> list[str]:
    offered = []
    if any(can_in_school(actor.grants, INVITE_TEACHER, s) for s in actor.schools()):
        offered.append(TEACHER)
    if can(actor.grants, INVITE_FAMILY):
        offered += [PARENT, GUARDIAN]
    if can(actor.grants, INVITE_PROXY):
        offered.append(PROXY)
    return offered


async def invite(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    offered = _roles_offered(actor)
    if not offered:
        await reply(update, _("Only school admins and class teachers can invite people."))
        return
    if context.args:
        await _one_line(update, context, actor, offered)
        return
    rows = [[(_("Invite a {role}").format(role=_(ROLE_LABELS[r])), InviteRole(r))] for r in offered]
    await reply(update, _("Whom do you want to invite?"), reply_markup=keyboard(rows))


async def _one_line(update: Update, context: BotContext, actor: Actor, offered: list[str]) -> None:
    _ = context.gettext
    word, rest = context.args[0].lower(), " ".join(context.args[1:]).strip()
    role, relation = ROLE_WORDS.get(word, (None, None))
    if role not in offered:
        await reply(update, _("I did not understand whom to invite. Send /invite and choose with the buttons."))
        return
    if role == TEACHER:
        school_id = next(s for s in actor.schools() if can_in_school(actor.grants, INVITE_TEACHER, s))
        klass = next((k for k in await context.services.people.classes(school_id) if k.name == rest), None)
        if klass is None:
            await reply(update, _("There is no class called “{name}”. Add it with /newclass first.").format(name=rest))
            return
        await _issue(update, context, TEACHER, class_id=klass.id, school_id=school_id)
        return
    summaries = [s for s in await context.services.children.visible(actor) if rest and rest in s.child.name]
    if len(summaries) != 1:
        await reply(update,
            _("Name one child of yours exactly, e.g. /invite mother Xiaoming, or send /invite for buttons."))
        return
    child_id = summaries[0].child.id
    if role in (PARENT, GUARDIAN) and relation is None:
        await _ask_relation(update, context, role, child_id)
        return
    await _issue(update, context, role, child_id=child_id, relation=relation)


async def on_inv_button(update: Update, context: BotContext, payload: InviteRole) -> None:
    _ = context.gettext
    actor = await context.actor()
    if payload.role not in _roles_offered(actor):
        raise StaleButton()
    await update.callback_query.answer()
    if payload.role == TEACHER:
        classes = []
        for school_id in sorted(actor.schools()):
            if can_in_school(actor.grants, INVITE_TEACHER, school_id):
                classes += await context.services.people.classes(school_id)
        if not classes:
            await reply(update, _("Your school has no classes yet. Add one with /newclass."))
            return
        await reply(update, _("For which class?"), reply_markup=keyboard([[(k.name, InviteForClass(k.id))]
                                                                          for k in classes]))
        return
    summaries = await context.services.children.visible(actor)
    if not summaries:
        await reply(update, _("There are no children's records yet. Add them with /newchild or /import."))
        return
    rows = [[(s.child.name or "?", InviteForChild(payload.role, s.child.id))] for s in summaries[:40]]
    await reply(update, _("For which child?"), reply_markup=keyboard(rows))


async def on_invc_button(update: Update, context: BotContext, payload: InviteForClass) -> None:
    klass = await context.services.people.school_class(payload.klass)
    if klass is None:
        raise StaleButton()
    await _issue(update, context, TEACHER, class_id=klass.id, school_id=klass.school_id)


async def on_invk_button(update: Update, context: BotContext, payload: InviteForChild) -> None:
    if payload.role == PROXY:
        await _issue(update, context, PROXY, child_id=payload.child)
        return
    # Refused before the relation is asked, so the press is answered once: by the refusal, or here.
    await context.services.invitations.check(await context.actor(), payload.role, child_id=payload.child,
                                             relation_chosen=False)
    await update.callback_query.answer()
    await _ask_relation(update, context, payload.role, payload.child)


async def _ask_relation(update: Update, context: BotContext, role: str, child_id: int) -> None:
    _ = context.gettext
    rows = [[(_(label), InviteRelation(role, child_id, key))] for key, label in RELATIONS[role].items()]
    await reply(update, _("How are they related to the child?"), reply_markup=keyboard(rows))


async def on_invr_button(update: Update, context: BotContext, payload: InviteRelation) -> None:
    if payload.relation not in RELATIONS[payload.role]:
        raise StaleButton()
    await _issue(update, context, payload.role, child_id=payload.child, relation=payload.relation)


async def _issue(update: Update, context: BotContext, role: str, *, school_id: int | None = None,
                 class_id: int | None = None, child_id: int | None = None, relation: str | None = None) -> None:
    issued = await context.services.invitations.create(await context.actor(), role, school_id=school_id,
                                                       class_id=class_id, child_id=child_id, relation=relation)
    if update.callback_query is not None:  # answered after the service, so a refusal is the only answer
        await update.callback_query.answer()
    await send_invitation(update, context, issued)


async def send_invitation(update: Update, context: BotContext, issued: Issued) -> None:
    _ = context.gettext
    link = invitation_link(context.bot.username, issued.code)
    preview = await context.services.invitations.preview(issued.code)
    who = _(ROLE_LABELS[issued.invitation.role])
    if issued.invitation.relation:
        who = _(RELATIONS[issued.invitation.role][issued.invitation.relation])
    target = preview.child_name or preview.class_name or preview.school_name
    text = _(
        "Invitation for the {who} of {target}. Single use, valid for 7 days.\n\n"
        "Give them this link or let them scan the QR code:\n{link}\n\n"
        "Or they can send this to the bot: /start {code}"
    ).format(who=who, target=target, link=link, code=issued.code)
    await update.get_bot().send_photo(update.effective_chat.id, qr_png(link),
                                      caption=_("Scan to join Qinqing Bridge"), protect_content=True)
    await reply(update, text, protect_content=True)


async def invitations(update: Update, context: BotContext) -> None:
    """/invitations: the open invitations of the admin's school, each with a Revoke button."""
    _ = context.gettext
    actor = await context.actor()
    if not actor.has_role(ADMIN):
        await reply(update, _("Only a school admin can list invitations."))
        return
    found = await context.services.invitations.open_invitations(actor)
    if not found:
        await reply(update, _("There are no open invitations."))
        return
    names = {s.child.id: s.child.name for s in await context.services.children.visible(actor)}
    lines, rows = [_("Open invitations:")], []
    for inv in found:
        target = ""
        if inv.child_id:
            target = names.get(inv.child_id, "")
        elif inv.class_id:
            klass = await context.services.people.school_class(inv.class_id)
            target = klass.name if klass else ""
        until = _("valid until {date}").format(date=inv.expires_at[:10])
        lines.append(f"#{inv.id} {_(ROLE_LABELS[inv.role])} {target} · {until}")
        rows.append([(_("Revoke #{id}").format(id=inv.id), RevokeInvitation(inv.id))])
    await reply(update, "\n".join(lines), reply_markup=keyboard(rows))


async def on_invx_button(update: Update, context: BotContext, payload: RevokeInvitation) -> None:
    _ = context.gettext
    await context.services.invitations.revoke(await context.actor(), payload.invitation)
    await update.callback_query.answer()
    await reply(update, _("Invitation #{id} revoked: its link no longer works.").format(id=payload.invitation))


async def newclass(update: Update, context: BotContext) -> None:
    """/newclass <name>: an admin adds a class to the school."""
    _ = context.gettext
    actor = await context.actor()
    schools = [s for s in actor.schools() if can_in_school(actor.grants, INVITE_TEACHER, s)]
    name = " ".join(context.args or []).strip()
    if not schools:
        await reply(update, _("Only a school admin can add classes."))
        return
    if not name or len(name) > 40:
        await reply(update, _("Write the class name after the command, e.g. /newclass 三年级一班"))
        return
    class_id = await context.services.children.add_class(actor, schools[0], name)
    log.info("class %s added by person %s", class_id, actor.person_id)
    await reply(update, _("Class “{name}” is ready. Invite its teacher with /invite.").format(name=name))


async def people(update: Update, context: BotContext) -> None:
    """/people: who holds which role in the admin's school, each with a Remove button."""
    _ = context.gettext
    actor = await context.actor()
    if not actor.has_role(ADMIN):
        await reply(update, _("Only a school admin can manage people."))
        return
    lines, rows = [_("People and their roles:")], []
    for school_id in sorted(actor.schools()):
        for grant in await context.services.people.grants_in_school(school_id):
            person = await context.services.people.person(grant.person_id)
            role = _(RELATIONS[grant.role][grant.relation]) if grant.relation in RELATIONS.get(grant.role, {}) \
                else _(ROLE_LABELS[grant.role])
            lines.append(f"#{grant.id} {person.display_name if person else '?'} · {role}")
            if grant.person_id != actor.person_id:
                rows.append([(_("Remove #{id}").format(id=grant.id), RemoveRole(grant.id))])
    await reply(update, "\n".join(lines), reply_markup=keyboard(rows[:40]))


async def on_rmrole_button(update: Update, context: BotContext, payload: RemoveRole) -> None:
    _ = context.gettext
    await context.services.invitations.remove_role(await context.actor(), payload.grant)
    await update.callback_query.answer()
    await reply(update, _("Role #{id} removed: their access ended now.").format(id=payload.grant))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("invite", invite, filters=private),
        CommandHandler("invitations", invitations, filters=private),
        CommandHandler("newclass", newclass, filters=private),
        CommandHandler("people", people, filters=private),
        on_button(InviteRole, on_inv_button),
        on_button(InviteForClass, on_invc_button),
        on_button(InviteForChild, on_invk_button),
        on_button(InviteRelation, on_invr_button),
        on_button(RevokeInvitation, on_invx_button),
        on_button(RemoveRole, on_rmrole_button),
    ]
