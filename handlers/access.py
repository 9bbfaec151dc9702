"""/invite (guided with buttons, or one line), /invitations (list and revoke), /newclass, /people (remove
a role). Every step re-checks the inviter's rights; the invitation itself is checked again by the service.
A township's supervisor invites its schools' admins and its villages' child directors: a school or village is
chosen with a button, or named (typed) when it is not listed yet, and created in the township."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.buttons import (InviteClass, InviteForChild, InviteForClass, InviteNewPlace, InviteRelation,
                                InviteRole, InviteToSchool, InviteToVillage, RemoveRole, RevokeInvitation, ShowFamilies)
from bot.access.invitations import PLACE_NAME_LIMIT, RELATIONS, Issued, invitation_link
from bot.access.people import Actor
from bot.access.policy import (ADMIN, DIRECTOR, GUARDIAN, INVITE_ADMIN, INVITE_DIRECTOR, INVITE_FAMILY, INVITE_PROXY,
                               INVITE_TEACHER, PARENT, PROXY, REMOVE_ROLE, ROLE_LABELS, SUPERVISOR, TEACHER, can,
                               can_in_school, can_in_township)
from bot.access.qr import qr_png
from bot.dialogues import Dialogue
from bot.errors import NotAllowed, StaleButton
from bot.i18n import N_
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import ListPage, child_page, keyboard, on_button, on_page, paged, replace_or_reply, reply
from handlers.dialogue import Kind

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
    "admin": (ADMIN, None), "校长": (ADMIN, None), "管理员": (ADMIN, None),
    "director": (DIRECTOR, None), "儿童主任": (DIRECTOR, None),
}
# A supervisor names a school or village not listed yet: the next line typed is its name.
NAMING_PLACE = "invite-place"
NAMING_CLASS = "class-name"
CLASS_NAME_LIMIT = 40
NAMING_TTL = timedelta(hours=1)
# A supervisor's choice of schools or villages: more than this, and the name is typed instead.
PLACE_BUTTONS = 40
_CAPABILITY = {ADMIN: INVITE_ADMIN, DIRECTOR: INVITE_DIRECTOR}


def _townships(actor: Actor, role: str) -> list[int]:
    """The townships in which this person may invite a school's admin (role ADMIN) or a village's director."""
    return sorted(t for t in actor.townships(SUPERVISOR) if can_in_township(actor.grants, _CAPABILITY[role], t))


def _roles_offered(actor: Actor) -> list[str]:
    offered = [role for role in (ADMIN, DIRECTOR) if _townships(actor, role)]
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
        await reply(update, _("Only school admins, class teachers and township supervisors can invite people."))
        return
    if context.args:
        await _one_line(update, context, actor, offered)
        return
    rows = [[(_("Invite a {role}").format(role=_(ROLE_LABELS[r])), InviteRole(r))] for r in offered]
    # A teacher's whole class at once, and who of it has come in (handlers.onboarding).
    for class_id in context.services.onboarding.classes(actor):
        klass = await context.services.people.school_class(class_id)
        if klass is not None:
            rows += [[(_("✉️ Invite all the families of {klass}").format(klass=klass.name), InviteClass(klass.id))],
                     [(_("📋 Who of {klass} has joined").format(klass=klass.name), ShowFamilies(klass.id))]]
    await reply(update, _("Whom do you want to invite?"), reply_markup=keyboard(rows))


async def _one_line(update: Update, context: BotContext, actor: Actor, offered: list[str]) -> None:
    _ = context.gettext
    word, rest = context.args[0].lower(), " ".join(context.args[1:]).strip()
    role, relation = ROLE_WORDS.get(word, (None, None))
    if role not in offered:
        await reply(update, _("I did not understand whom to invite. Send /invite and choose with the buttons."))
        return
    if role in (ADMIN, DIRECTOR):
        if not rest:
            await _place_menu(update, context, actor, role)
            return
        # As if the name had been typed after pressing "not listed": a name refused can be sent again.
        naming = await dialogue.begin(context, NAMING_PLACE, {"role": role, "township": _townships(actor, role)[0]},
                                      ttl=NAMING_TTL)
        await _name_place(update, context, naming, rest)
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
    if payload.role in (ADMIN, DIRECTOR):
        await _place_menu(update, context, actor, payload.role)
        return
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
    await _child_choice(update, context, payload.role, 0)


async def _child_choice(update: Update, context: BotContext, role: str, page: int) -> None:
    """For which child an invitation is (a parent's, a guardian's, a proxy's), a page of the roster at a time."""
    _ = context.gettext
    actor = await context.actor()
    if role not in _roles_offered(actor):
        raise StaleButton()
    summaries = await context.services.children.visible(actor)
    if not summaries:
        await reply(update, _("There are no children's records yet. Add them with /newchild or /import."))
        return
    shown = child_page(_, [s.child for s in summaries], page, lambda k: InviteForChild(role, k.id),
                       lambda p: ListPage(f"inv.{role}", p))
    answer = replace_or_reply if update.callback_query is not None and page else reply
    await answer(update, _("For which child?") + shown.note(_), reply_markup=keyboard(shown.rows))


def _child_pages(role: str):
    async def turn(update: Update, context: BotContext, page: int) -> None:
        await _child_choice(update, context, role, page)
    return turn


async def _place_menu(update: Update, context: BotContext, actor: Actor, role: str) -> None:
    """A supervisor's schools (for an admin) or villages (for a child director) as buttons, and one to name a place
    that is not listed yet: nothing to type while the place exists."""
    _ = context.gettext
    people = context.services.people
    townships = _townships(actor, role)
    rows, new = [], []
    for township_id in townships:
        if role == ADMIN:
            rows += [[(s.name, InviteToSchool(s.id))] for s in await people.schools_in_township(township_id)]
        else:
            rows += [[(v.name, InviteToVillage(v.id))] for v in await people.villages(township_id)]
        label = _("➕ A school not listed") if role == ADMIN else _("➕ A village not listed")
        if len(townships) > 1:
            township = await people.township(township_id)
            label = f"{label} · {township.name if township else ''}"
        new.append([(label, InviteNewPlace(role, township_id))])
    if role == ADMIN:
        text = _("For which school? Its admin is invited. A school not listed is added to your township.")
    else:
        text = _("For which village? Its child director is invited. A village not listed is added to your township.")
    if len(rows) > PLACE_BUTTONS:
        rows = []
        text += "\n" + _("There are too many to list: press the button below and send the name.")
    if len(townships) == 1:
        # Someone who types the name instead of pressing "➕" means that place: the name is taken from here on,
        # as if "➕" had been pressed (a listed place's button still works, and ends it).
        await dialogue.begin(context, NAMING_PLACE, {"role": role, "township": townships[0]}, ttl=NAMING_TTL)
        text += "\n" + (_("Or send the school's name.") if role == ADMIN else _("Or send the village's name."))
    await reply(update, text, reply_markup=keyboard(rows + new))


async def on_invs_button(update: Update, context: BotContext, payload: InviteToSchool) -> None:
    await _issue(update, context, ADMIN, school_id=payload.school)
    await dialogue.end(context, NAMING_PLACE)  # the menu's typed-name offer, taken up by a press instead


async def on_invv_button(update: Update, context: BotContext, payload: InviteToVillage) -> None:
    await _issue(update, context, DIRECTOR, village_id=payload.village)
    await dialogue.end(context, NAMING_PLACE)


async def on_invn_button(update: Update, context: BotContext, payload: InviteNewPlace) -> None:
    """The place is not listed: its name is typed next."""
    _ = context.gettext
    if payload.township not in _townships(await context.actor(), payload.role):
        raise StaleButton()
    await dialogue.begin(context, NAMING_PLACE, {"role": payload.role, "township": payload.township},
                         ttl=NAMING_TTL)
    await update.callback_query.answer()
    if payload.role == ADMIN:
        text = _("Send the school's name (at most {limit} characters), for example 希望小学. Or /cancel.")
    else:
        text = _("Send the village's name (at most {limit} characters), for example 青山村. Or /cancel.")
    await reply(update, text.format(limit=PLACE_NAME_LIMIT))


async def on_place_input(update: Update, context: BotContext, naming: Dialogue) -> bool:
    """The name of the school or village a supervisor is inviting for. A name refused (too long, a school of
    another township) leaves the dialogue open for another; a supervisor who lost the role is told once."""
    text = update.effective_message.text
    if text is None:
        return False
    await _name_place(update, context, naming, text)
    return True


async def _name_place(update: Update, context: BotContext, naming: Dialogue, name: str) -> None:
    try:
        issued = await context.services.invitations.create_in_township(
            await context.actor(), naming.state["role"], naming.state["township"], name)
    except NotAllowed:
        await dialogue.end(context, NAMING_PLACE)
        raise
    await dialogue.end(context, NAMING_PLACE)
    await send_invitation(update, context, issued)


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
                 class_id: int | None = None, child_id: int | None = None, relation: str | None = None,
                 village_id: int | None = None) -> None:
    issued = await context.services.invitations.create(await context.actor(), role, school_id=school_id,
                                                       class_id=class_id, child_id=child_id, relation=relation,
                                                       village_id=village_id)
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
    target = (preview.child_name or preview.class_name or preview.village_name or preview.school_name
              or preview.township_name)
    text = _(
        "Invitation for the {who} of {target}. Single use, valid for 7 days.\n\n"
        "Forward this message or the QR code to them, or let them scan it:\n{link}\n\n"
        "Or they can send this to the bot: /start {code}"
    ).format(who=who, target=target, link=link, code=issued.code)
    # Not protected: the teacher forwards it to the family, or saves the QR code to print.
    await update.get_bot().send_photo(update.effective_chat.id, qr_png(link), caption=_("Scan to join Qinqing Bridge"))
    await reply(update, text)


async def invitations(update: Update, context: BotContext) -> None:
    """/invitations: the open invitations of the admin's school (a supervisor's township), each with a Revoke
    button."""
    _ = context.gettext
    actor = await context.actor()
    if not actor.has_role(ADMIN, SUPERVISOR):
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
        else:
            target = await _place_name(context, inv.school_id, inv.village_id, inv.township_id)
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
    if not name:
        # The name is asked for, and the next line typed is taken: nobody has to retype the command.
        await dialogue.begin(context, NAMING_CLASS, {"school": schools[0]}, ttl=NAMING_TTL)
        await reply(update, _("What is the new class called? Send its name, for example 三年级一班. Or /cancel."))
        return
    await _add_class(update, context, schools[0], name)


async def on_class_name(update: Update, context: BotContext, naming: Dialogue) -> bool:
    """The name of the class an admin is adding (after /newclass without one). A name refused leaves the
    dialogue open for another."""
    text = (update.effective_message.text or "").strip()
    if not text or text.startswith("/"):
        return False
    if await _add_class(update, context, naming.state["school"], text):
        await dialogue.end(context, NAMING_CLASS)
    return True


async def _add_class(update: Update, context: BotContext, school_id: int, name: str) -> bool:
    _ = context.gettext
    if len(name) > CLASS_NAME_LIMIT:
        await reply(update, _("A class name has at most {limit} characters. Send a shorter one, or /cancel.").format(
            limit=CLASS_NAME_LIMIT))
        return False
    actor = await context.actor()
    class_id = await context.services.children.add_class(actor, school_id, name)
    klass = await context.services.people.school_class(class_id)
    log.info("class %s added by person %s", class_id, actor.person_id)
    await reply(update, _("Class “{name}” is ready. Invite its teacher with /invite.").format(
        name=klass.name if klass else name))
    return True


async def _place_name(context: BotContext, school_id: int | None, village_id: int | None,
                      township_id: int | None) -> str:
    """The village, else the school, else the township a role or an invitation is for."""
    people = context.services.people
    place = (await people.village(village_id) if village_id else None) or \
        (await people.school(school_id) if school_id else None) or \
        (await people.township(township_id) if township_id else None)
    return place.name if place else ""


async def people(update: Update, context: BotContext, page: int = 0) -> None:
    """/people: who holds which role in the admin's school (in the supervisor's township: its supervisors, its
    villages' child directors and its schools' admins), each with a Remove button."""
    _ = context.gettext
    actor = await context.actor()
    if not actor.has_role(ADMIN, SUPERVISOR):
        await reply(update, _("Only a school admin can manage people."))
        return
    service = context.services.people
    found = {}
    for school_id in sorted(s for s in actor.schools() if can_in_school(actor.grants, REMOVE_ROLE, s)):
        found.update((g.id, (g, "")) for g in await service.grants_in_school(school_id))
    for township_id in sorted(t for t in actor.townships(SUPERVISOR) if can_in_township(actor.grants, REMOVE_ROLE, t)):
        township_roles = await service.township_admins(township_id) + [
            g for g in await service.grants_in_township(township_id) if g.role == DIRECTOR]
        for grant in township_roles:
            found.setdefault(grant.id, (grant, await _place_name(context, grant.school_id, grant.village_id,
                                                                   grant.township_id)))
    lines, rows = [_("People and their roles:")], []
    for grant, place in found.values():
        person = await service.person(grant.person_id)
        role = _(RELATIONS[grant.role][grant.relation]) if grant.relation in RELATIONS.get(grant.role, {}) \
            else _(ROLE_LABELS[grant.role])
        lines.append(f"#{grant.id} {person.display_name if person else '?'} · {role}" + (f" · {place}" if place else ""))
        if grant.person_id != actor.person_id:
            rows.append([(_("Remove #{id}").format(id=grant.id), RemoveRole(grant.id))])
    shown = paged(_, [button for row in rows for button in row], page, lambda p: ListPage("people", p))
    answer = replace_or_reply if update.callback_query is not None else reply
    await answer(update, "\n".join(lines) + shown.note(_), reply_markup=keyboard(shown.rows))


async def on_rmrole_button(update: Update, context: BotContext, payload: RemoveRole) -> None:
    _ = context.gettext
    await context.services.invitations.remove_role(await context.actor(), payload.grant)
    await update.callback_query.answer()
    await reply(update, _("Role #{id} removed: their access ended now.").format(id=payload.grant))


DIALOGUES = [Kind(NAMING_PLACE, on_place_input, cancelled=N_("Cancelled. Nothing was saved.")),
             Kind(NAMING_CLASS, on_class_name, cancelled=N_("Cancelled. Nothing was saved."))]


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
        on_button(InviteToSchool, on_invs_button),
        on_button(InviteToVillage, on_invv_button),
        on_button(InviteNewPlace, on_invn_button),
        on_button(RevokeInvitation, on_invx_button),
        on_button(RemoveRole, on_rmrole_button),
        on_page("people", people),
        *(on_page(f"inv.{role}", _child_pages(role)) for role in (PARENT, GUARDIAN, PROXY)),
    ]
