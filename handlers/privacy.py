"""/privacy, consent, withdrawal, /mydata and erasure requests.

Parents and guardians read the children's data rules, agree or say no with big buttons, take their yes
back, get a copy of everything stored (/mydata) and ask for erasure, which a school admin confirms
(/deletions); the person who asked is told through the outbox. Every button carries only ids and is checked
again against the presser's current roles: a button of a child or request that is not theirs is stale.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date

from babel.dates import format_date
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.buttons import AskErasure, Decide, DecideErasure, FullRules, ObjectErasure, SendCopy, Withdraw
from bot.access.consent import AWAITING, GIVEN, REFUSED, RULE, RULES_VERSION, WITHDRAWN
from bot.access.people import Actor
from bot.access.policy import DECIDE_DELETION, can
from bot.access.privacy import OwnChild, everything_about, own_answer, sharing
from bot.clock import unstamp
from bot.errors import StaleButton
from bot.i18n import N_, format_datetime
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, replace_or_reply, reply
from storage.children import ChildRow
from storage.deletions import DeletionRequest

log = logging.getLogger(__name__)


async def _own_children(context: BotContext, actor: Actor) -> dict[int, OwnChild]:
    own = await context.services.consent.mine(actor)
    if not own:
        return {}
    return {s.child.id: OwnChild(s.child, s.consent, own[s.child.id])
            for s in await context.services.children.visible(actor) if s.child.id in own}


async def _own(context: BotContext, child_id: int) -> tuple[Actor, OwnChild]:
    """The presser and their child of a family button; a child not (or no longer) theirs makes it stale."""
    actor = await context.actor()
    mine = (await _own_children(context, actor)).get(child_id)
    if mine is None:
        raise StaleButton()
    return actor, mine


def _chat_id(update: Update) -> int:
    # Everything here happens in private chats, where the chat is the person (a button's message may be gone).
    return update.effective_chat.id if update.effective_chat else update.effective_user.id


def _rules_date(locale: str) -> str:
    return format_date(date.fromisoformat(RULES_VERSION), "long", locale=locale)


def rules_text(_, locale: str) -> str:
    """The children's data rules, short paragraphs a grandparent can read on a phone."""
    return "\n\n".join([
        "📋 " + _("Qinqing Bridge: rules for children's information (version of {date})").format(
            date=_rules_date(locale)),
        "📝 " + _("What we keep: the child's name, sex, date of birth, school and class; personality, interests "
                 "and health (only what matters for care); the names, phones, workplaces and addresses of the "
                 "parents and the guardian; the ID number and any support received; and the news and photos "
                 "shared here."),
        "🎯 " + _("Why: only to look after the child, so that you, the teachers and the proxy parent can share "
                 "news, and the right person is reached in an emergency. If a child is in danger, the school "
                 "must report it to the police by law."),
        "👀 " + _("Who sees it: you and the child's other parents or guardian; the class teacher and the "
                 "school's care leaders; the proxy parent sees only what care needs (no phone numbers, "
                 "addresses, ID number or support). Nobody else. Every look and every change is recorded."),
        "✋ " + _("Until a parent or guardian agrees, nothing about the child is shared with anyone. You can say "
                 "no, or take back your yes, at any time with /privacy: then all sharing stops."),
        "⚖️ " + _(RULE),
        "⏳ " + _("How long: while the child is looked after through Qinqing Bridge, or until you ask for it "
                 "to be deleted."),
        "🗂 " + _("Your rights: /mydata sends you a file with everything stored about your child. In /privacy "
                 "you can ask for all of it to be deleted: a school admin confirms, then it is erased for good."),
    ])


async def ask_consent(update: Update, context: BotContext, child_id: int) -> None:
    """Show the children's data rules to a parent or guardian who just joined, with consent buttons."""
    _ = context.gettext
    actor = await context.actor()
    mine = (await _own_children(context, actor)).get(child_id)
    if mine is None:
        # Not (or no longer) this child's parent or guardian: the rules, but nothing to answer.
        log.warning("consent asked of person %s for child %s without a family role", actor.person_id, child_id)
        await reply(update, rules_text(_, context.locale))
        return
    name = mine.child.name
    # Three short lines first; the full rules are one press away, with the same answers under them.
    text = "\n".join([
        "📋 " + _("{name}'s teachers and carers will share news and photos of {name} with you here.").format(
            name=name),
        "🔒 " + _("Only the family, the class teacher, the proxy parent and the school see it. You can stop it "
                 "at any time.").format(name=name),
        "❓ " + _("Do you agree?"),
    ])
    await reply(update, text, reply_markup=_consent_keyboard(child_id, _, full=True))


def _consent_keyboard(child_id: int, _, full: bool):
    # One plain word a row: big targets for thumbs, and nothing to read but the answer.
    rows = [[(_("I agree"), Decide(child_id, GIVEN))], [(_("I do not agree"), Decide(child_id, REFUSED))]]
    if full:
        rows.append([("📖 " + _("Read the full rules"), FullRules(child_id))])
    return keyboard(rows)


async def on_rules_button(update: Update, context: BotContext, payload: FullRules) -> None:
    """The full rules, under the short consent question, with the same answers."""
    _ = context.gettext
    await _own(context, payload.child)
    await update.callback_query.answer()
    await reply(update, rules_text(_, context.locale) + "\n\n❓ " + _("Do you agree?"),
                reply_markup=_consent_keyboard(payload.child, _, full=False))


async def on_object_button(update: Update, context: BotContext, payload: ObjectErasure) -> None:
    """Another parent or guardian does not want the record deleted: the admins hear it before they decide."""
    _ = context.gettext
    await context.services.privacy.object_to(await context.actor(), payload.request)
    await update.callback_query.answer()
    await replace_or_reply(update, _("Thank you. The school admins are told that you do not want it deleted, before "
                                     "they decide."))


async def on_consent_button(update: Update, context: BotContext, payload: Decide) -> None:
    _ = context.gettext
    actor, _mine = await _own(context, payload.child)
    await context.services.consent.decide(actor, payload.child, payload.decision)
    log.info("person %s decided %s for child %s", actor.person_id, payload.decision, payload.child)
    mine = (await _own_children(context, actor)).get(payload.child)
    name = mine.child.name if mine else ""
    if payload.decision == GIVEN:
        text = _("Thank you. Your agreement for {name} is recorded (rules of {date}).").format(
            name=name, date=_rules_date(context.locale))
        if mine is None or mine.state == GIVEN:
            text += "\n" + _("The teachers and carers can now see {name}'s record and send you news. You can take "
                             "it back at any time with /privacy.").format(name=name)
        else:
            text += "\n" + sharing(mine, _)
    else:
        text = _("Your answer is recorded: you do not agree. Nothing about {name} is shared. If you change your "
                 "mind, send /privacy.").format(name=name)
    await update.callback_query.answer()
    await replace_or_reply(update, text)


def _family_keyboard(children: list[OwnChild], _):
    def label(text: str, child: OwnChild) -> str:
        # With one child the buttons need no name; with several, each row says whose it is.
        return text if len(children) == 1 else f"{child.child.name} · {text}"

    rows = []
    for mine in children:
        cid = mine.child.id
        buttons = []
        if mine.own != GIVEN:
            buttons.append((label("✅ " + _("Agree"), mine), Decide(cid, GIVEN)))
        # Anyone of the family may stop sharing that is going on, even if another of them agreed.
        if mine.own == GIVEN or mine.state == GIVEN:
            buttons.append((label("⛔ " + _("Stop sharing"), mine), Withdraw(cid)))
        buttons += [(label("📄 " + _("Send me a copy"), mine), SendCopy(cid)),
                    (label("🗑 " + _("Ask to delete"), mine), AskErasure(cid))]
        rows += [[b] for b in buttons] if len(children) == 1 else [buttons]
    return keyboard(rows)


async def privacy(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    await reply(update, rules_text(_, context.locale))
    children = list((await _own_children(context, actor)).values())
    if children:
        icons = {GIVEN: "✅", AWAITING: "⏳", WITHDRAWN: "⛔"}
        lines = [context.ngettext("Your child:", "Your children:", len(children))]
        for mine in children:
            lines += ["", f"{icons.get(mine.state, '')} {mine.child.name}", own_answer(mine, _), sharing(mine, _)]
        await reply(update, "\n".join(lines), reply_markup=_family_keyboard(children, _))
    if can(actor.grants, DECIDE_DELETION):
        await reply(update, _("As a school admin: /deletions shows the deletion requests waiting for you."))


async def _two_step(update: Update, context: BotContext, payload: Withdraw | AskErasure, question,
                    yes: tuple[str, str], act) -> None:
    """A family member's serious step, asked once more: the first press shows `question(_, name)` with a yes
    and a no (`yes`: its icon and msgid); yes runs `act(actor, mine, _)`, which returns the answer to show."""
    actor, mine = await _own(context, payload.child)
    query = update.callback_query
    _ = context.gettext
    if payload.step is None:
        await query.answer()
        icon, label = yes
        await replace_or_reply(update, question(_, mine.child.name), reply_markup=keyboard([
            [(f"{icon} " + _(label), dataclasses.replace(payload, step="yes"))],
            [(_("No, keep it as it is"), dataclasses.replace(payload, step="no"))]]))
        return
    if payload.step == "no":
        await query.answer()
        await replace_or_reply(update, _("Nothing was changed."))
        return
    answer = await act(actor, mine, _)
    await query.answer()
    await replace_or_reply(update, answer)


async def on_withdraw_button(update: Update, context: BotContext, payload: Withdraw) -> None:
    async def withdraw(actor: Actor, mine: OwnChild, _) -> str:
        await context.services.consent.decide(actor, mine.child.id, WITHDRAWN)
        log.info("person %s withdrew consent for child %s", actor.person_id, mine.child.id)
        return _("Done: you took back your agreement. Sharing about {name} has stopped. You can agree again at "
                 "any time with /privacy.").format(name=mine.child.name)

    await _two_step(
        update, context, payload,
        lambda _, name: _("Stop sharing {name}'s information? The teachers and carers will no longer see "
                          "{name}'s record or send you news.").format(name=name),
        ("⛔", N_("Yes, stop sharing")), withdraw)


async def on_delete_button(update: Update, context: BotContext, payload: AskErasure) -> None:
    async def request(actor: Actor, mine: OwnChild, _) -> str:
        request_id = await context.services.privacy.request_deletion(actor, mine.child.id)
        log.info("person %s asked for erasure of child %s (request %s)", actor.person_id, mine.child.id,
                 request_id)
        return _("Your request is sent. A school admin will confirm it, and I will tell you when it is done.")

    await _two_step(
        update, context, payload,
        lambda _, name: _("Ask for everything about {name} to be deleted? A school admin must confirm the "
                          "request. Then {name}'s record, its history and photos are erased for good, and you "
                          "and the carers can no longer reach each other about {name} here. This cannot be "
                          "undone.").format(name=name),
        ("🗑", N_("Yes, ask to delete")), request)


async def _send_copy(update: Update, context: BotContext, actor: Actor, mine: OwnChild) -> bool:
    _ = context.gettext
    services = context.services
    data = await everything_about(actor, mine.child.id, services.children, services.musts, services.video)
    if data is None:
        return False
    now = format_datetime(services.clock.now(), context.locale, services.settings.timezone, "short")
    # A PDF she can read on her phone, keep and print: her own copy, so not protected (issue 14, item 10).
    document = await services.mydata.pdf(actor, data, mine, _, context.locale, now)
    await context.bot.send_document(
        _chat_id(update), document, filename=f"mydata-{mine.child.id}.pdf",
        caption=_("Everything stored about {name}, as a file for you to keep.").format(name=mine.child.name),
        protect_content=False)
    log.info("person %s exported child %s", actor.person_id, mine.child.id)
    return True


async def mydata(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    sent = 0
    for mine in (await _own_children(context, actor)).values():
        sent += await _send_copy(update, context, actor, mine)
    if not sent:
        await reply(update, _("There is nothing to export for you. /mydata sends a parent or guardian everything "
                              "stored about their child."))


async def on_mydata_button(update: Update, context: BotContext, payload: SendCopy) -> None:
    actor, mine = await _own(context, payload.child)
    if not await _send_copy(update, context, actor, mine):
        raise StaleButton()
    await update.callback_query.answer()


# Admin side: /deletions and its buttons.

async def _request_text(context: BotContext, request: DeletionRequest, child: ChildRow | None) -> str:
    _ = context.gettext
    person = await context.services.people.person(request.requested_by)
    return _("Request {id}: delete everything about {name} ({klass}). Asked by {person} on {date}.").format(
        id=request.id, name=child.name if child else "?", klass=child.class_name if child else "?",
        person=person.display_name if person else "?",
        date=format_datetime(unstamp(request.requested_at), context.locale, context.services.settings.timezone,
                             "short"))


def _request_keyboard(request_id: int, _):
    return keyboard([[("🗑 " + _("Erase"), DecideErasure(request_id, "yes")),
                      (_("Decline"), DecideErasure(request_id, "no"))]])


async def _school_children(context: BotContext, actor: Actor) -> dict[int, ChildRow]:
    return {s.child.id: s.child for s in await context.services.children.visible(actor)}


async def deletions(update: Update, context: BotContext) -> None:
    _ = context.gettext
    actor = await context.actor()
    if not can(actor.grants, DECIDE_DELETION):
        await reply(update, _("Only a school admin can confirm deletion requests."))
        return
    requests = await context.services.privacy.open_requests(actor)
    if not requests:
        await reply(update, _("No deletion requests are waiting."))
        return
    children = await _school_children(context, actor)
    await reply(update, context.ngettext("{count} deletion request is waiting for you.",
                                         "{count} deletion requests are waiting for you.",
                                         len(requests)).format(count=len(requests)))
    # One message per request, so confirming one leaves the others on screen.
    for request in requests:
        await reply(update, await _request_text(context, request, children.get(request.child_id)),
                    reply_markup=_request_keyboard(request.id, _))


async def on_erase_button(update: Update, context: BotContext, payload: DecideErasure) -> None:
    _ = context.gettext
    query = update.callback_query
    actor = await context.actor()
    request = next((r for r in await context.services.privacy.open_requests(actor) if r.id == payload.request), None)
    if request is None:
        raise StaleButton()
    child = (await _school_children(context, actor)).get(request.child_id)
    name = child.name if child else "?"
    if payload.step == "yes":
        await query.answer()
        await replace_or_reply(
            update,
            _("Erase everything about {name} for good? The record, its history, the consents and the family's "
              "access are deleted and cannot be restored. The audit log keeps only numbers.").format(name=name),
            reply_markup=keyboard([[("🗑 " + _("Yes, erase for good"), DecideErasure(request.id, "sure"))],
                                   [(_("Cancel"), DecideErasure(request.id, "back"))]]))
        return
    if payload.step == "back":
        await query.answer()
        await replace_or_reply(update, await _request_text(context, request, child),
                               reply_markup=_request_keyboard(request.id, _))
        return
    decided = await context.services.privacy.decide(actor, request.id, payload.step == "sure")
    log.info("person %s %s request %s for child %s", actor.person_id, "erased" if decided.erased else "declined",
             request.id, request.child_id)
    if decided.erased:
        # The name leaves this chat too: the message keeps only the number of the request.
        text = _("Erased (request {id}). Nothing about the child is left except numbers in the audit "
                 "log.").format(id=request.id)
    else:
        text = _("Declined (request {id}): {name}'s record is kept. Please tell the family why.").format(
            id=request.id, name=name)
    text += "\n" + (_("I have told the person who asked.") if decided.told else
                    _("I could not reach the person who asked; please tell them yourself."))
    await query.answer()
    await replace_or_reply(update, text)


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("privacy", privacy, filters=private),
        CommandHandler("mydata", mydata, filters=private),
        CommandHandler("deletions", deletions, filters=private),
        on_button(Decide, on_consent_button),
        on_button(Withdraw, on_withdraw_button),
        on_button(AskErasure, on_delete_button),
        on_button(SendCopy, on_mydata_button),
        on_button(DecideErasure, on_erase_button),
        on_button(FullRules, on_rules_button),
        on_button(ObjectErasure, on_object_button),
    ]
