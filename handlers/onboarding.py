"""A class's families coming in (a teacher's): "invite all the families" makes an invitation for each parent and
guardian on the roster and a printable sheet of slips (PDF) for the parents' meeting; /families shows, child by
child, who is not invited, invited, joined, has agreed or refused, with buttons to invite again or withdraw."""

from __future__ import annotations

import logging

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.buttons import ChildFamilies, InviteClass, InviteMember, ShowFamilies, WithdrawMember
from bot.access.invitations import RELATIONS, invitation_link
from bot.access.onboarding import INVITED, NOT_INVITED, STATE_LABELS, STATE_MARKS, STATES, Member
from bot.access.policy import ADMIN, ROLE_LABELS
from bot.access.sheet import SheetSlip, invitation_sheet
from bot.errors import StaleButton
from bot.runtime.context import BotContext
from handlers.access import send_invitation
from handlers.common import keyboard, on_button, paged, replace_or_reply, reply

log = logging.getLogger(__name__)

# Children a page of the class view: forty buttons would bury the page's own.
PAGE = 20


def who(member: Member, _) -> str:
    """母亲, 奶奶 …: the relation the invitation names, else the role."""
    if member.relation in RELATIONS.get(member.role, {}):
        return _(RELATIONS[member.role][member.relation])
    return _(ROLE_LABELS[member.role])


async def _classes(context: BotContext) -> list:
    """The classes this person follows: a teacher's own; an admin's, every class of the school."""
    actor = await context.actor()
    ids = context.services.onboarding.classes(actor)
    found = [await context.services.people.school_class(k) for k in ids]
    for school_id in sorted({g.school_id for g in actor.grants if g.role == ADMIN and g.school_id is not None}):
        found += [k for k in await context.services.people.classes(school_id) if k.id not in ids]
    return [k for k in found if k is not None]


async def families(update: Update, context: BotContext) -> None:
    """/families: the class's onboarding view (a button per class when there are several)."""
    _ = context.gettext
    classes = await _classes(context)
    if not classes:
        await reply(update, _("Only class teachers and school admins follow how a class's families join."))
        return
    if len(classes) == 1:
        await _show_class(update, context, classes[0].id, 0)
        return
    await reply(update, _("Which class?"), reply_markup=keyboard([[(k.name, ShowFamilies(k.id))] for k in classes]))


async def _show_class(update: Update, context: BotContext, class_id: int, page: int, *, edit: bool = False) -> None:
    _ = context.gettext
    klass = await context.services.people.school_class(class_id)
    view = await context.services.onboarding.class_view(await context.actor(), class_id)
    if klass is None or (page and page * PAGE >= len(view)):
        raise StaleButton()
    counts = {state: sum(1 for c in view for m in c.members if m.state == state) for state in STATES}
    lines = [_("How the families of {klass} are joining ({count} children):").format(klass=klass.name,
                                                                                   count=len(view)),
             " · ".join(f"{STATE_MARKS[s]} {_(STATE_LABELS[s])} {counts[s]}" for s in STATES), ""]
    shown = view[page * PAGE:(page + 1) * PAGE]
    nobody = _("no parent or guardian on the record")
    for families in shown:
        members = " · ".join(f"{who(m, _)} {STATE_MARKS[m.state]}" for m in families.members)
        lines.append("• " + _("{child}: {who}").format(child=families.child.name, who=members or nobody))
    lines += ["", _("Press a child's name to invite again or withdraw an invitation.")]
    rows = paged(_, [(f.child.name or "?", ChildFamilies(f.child.id)) for f in view], page,
                 lambda p: ShowFamilies(class_id, p), per_row=2, size=PAGE).rows
    rows.append([(_("✉️ Invite all the families not yet invited"), InviteClass(class_id))])
    if edit:
        await replace_or_reply(update, "\n".join(lines), reply_markup=keyboard(rows))
    else:
        await reply(update, "\n".join(lines), reply_markup=keyboard(rows))


async def on_onb_button(update: Update, context: BotContext, payload: ShowFamilies) -> None:
    await _show_class(update, context, payload.klass, payload.page, edit=payload.page > 0)
    await update.callback_query.answer()


async def _show_child(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    families = await context.services.onboarding.child_view(await context.actor(), child_id)
    lines = [_("The family of {child}:").format(child=families.child.name)]
    rows = []
    for m in families.members:
        line = f"{STATE_MARKS[m.state]} {who(m, _)}: {_(STATE_LABELS[m.state])}"
        lines.append(line + (f" ({m.person_name})" if m.person_name else ""))
        if m.state == NOT_INVITED:
            rows.append([(_("✉️ Invite the {who}").format(who=who(m, _)), InviteMember(child_id, m.role, m.relation))])
        elif m.state == INVITED and m.relation:
            rows.append([(_("🔁 New invitation for the {who}").format(who=who(m, _)),
                          InviteMember(child_id, m.role, m.relation)),
                         (_("✖️ Withdraw"), WithdrawMember(m.invitation_id))])
        elif m.state == INVITED:
            rows.append([(_("✖️ Withdraw the invitation of the {who}").format(who=who(m, _)),
                          WithdrawMember(m.invitation_id))])
    if not families.members:
        lines.append(_("The record names no parent or guardian: add them with /child, or /invite them by hand."))
    rows.append([(_("◀ The class"), ShowFamilies(families.child.class_id))])
    await reply(update, "\n".join(lines), reply_markup=keyboard(rows))


async def on_onbk_button(update: Update, context: BotContext, payload: ChildFamilies) -> None:
    await _show_child(update, context, payload.child)
    await update.callback_query.answer()


async def on_onbi_button(update: Update, context: BotContext, payload: InviteMember) -> None:
    issued = await context.services.onboarding.invite_again(await context.actor(), payload.child, payload.role,
                                                            payload.relation)
    await update.callback_query.answer()
    await send_invitation(update, context, issued)


async def on_onbx_button(update: Update, context: BotContext, payload: WithdrawMember) -> None:
    _ = context.gettext
    actor = await context.actor()
    invitation = await context.services.onboarding.open_invitation(actor, payload.invitation)
    await context.services.invitations.revoke(actor, invitation.id)
    await update.callback_query.answer(_("Withdrawn: its link and code no longer work."))
    await _show_child(update, context, invitation.child_id)


async def on_inva_button(update: Update, context: BotContext, payload: InviteClass) -> None:
    """Every family member on the class's roster not invited yet gets an invitation; the teacher gets the sheet of
    slips to print, as a document that can be saved, printed and forwarded."""
    _ = context.gettext
    actor = await context.actor()
    klass = await context.services.people.school_class(payload.klass)
    if klass is None:
        raise StaleButton()
    done = await context.services.onboarding.invite_class(actor, klass.id)
    await update.callback_query.answer()
    school = await context.services.people.school(klass.school_id)
    if done.slips:
        username = context.bot.username
        slips = [SheetSlip(s.child.name, _("Invitation for the {who} of {child}").format(
            who=_(RELATIONS[s.role][s.relation]) if s.relation in RELATIONS.get(s.role, {}) else _(ROLE_LABELS[s.role]),
            child=s.child.name), invitation_link(username, s.issued.code), s.issued.code,
            (_("Scan with the phone's camera to join Qinqing Bridge,"),
             _("or send the line below to @{bot}.").format(bot=username),
             _("Single use, valid for 7 days."))) for s in done.slips]
        heading = f"{school.name if school else ''} · {klass.name}"
        pdf = invitation_sheet(slips, _("Invitations for the families of {klass}").format(klass=klass.name), heading)
        await update.get_bot().send_document(
            update.effective_chat.id, InputFile(pdf, filename=f"invitations-{klass.id}.pdf"),
            caption=_("Print this sheet for the parents' meeting: one slip for each parent or guardian."))
        log.info("class %s: %s invitations by person %s", klass.id, len(done.slips), actor.person_id)
    lines = [_("{count} new invitations for the families of {klass}.").format(count=len(done.slips),
                                                                            klass=klass.name)]
    if done.already:
        lines.append(_("{count} family members were invited before and have not joined yet: their invitations stay "
                       "valid (/families to invite them again).").format(count=done.already))
    if done.without_family:
        lines.append(_("No parent or guardian is on the record of: {names}. Add them with /child, or /invite them "
                       "by hand.").format(names=("、" if context.locale.startswith("zh") else ", ").join(
                           c.name for c in done.without_family)))
    lines.append(_("You are told here when each one joins and decides. /families shows who has."))
    await reply(update, "\n".join(lines))


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("families", families, filters=filters.ChatType.PRIVATE),
        on_button(InviteClass, on_inva_button),
        on_button(ShowFamilies, on_onb_button),
        on_button(ChildFamilies, on_onbk_button),
        on_button(InviteMember, on_onbi_button),
        on_button(WithdrawMember, on_onbx_button),
    ]
