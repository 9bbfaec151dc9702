"""/audit: who saw or changed a child's record, and when, for the school's admins. The log itself is written by
every service in the transaction of what it records (storage.audit); this only reads it."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.policy import ADMIN
from bot.errors import NotAllowed
from bot.i18n import N_
from bot.records.buttons import AuditLog
from bot.records.fields import BY_KEY
from bot.runtime.context import BotContext
from handlers.common import ListPage, child_page, keyboard, on_button, on_page, replace_or_reply, reply
from handlers.records import moment, named, person_names

ACTION_LABELS = {
    "view": N_("viewed the record"), "create": N_("created the record"), "edit": N_("changed"),
    "import": N_("imported"), "export": N_("exported a copy"), "invite": N_("invited"), "join": N_("joined"),
    "view_history": N_("viewed the history"), "view_audit": N_("viewed the audit log"),
    "consent_given": N_("gave consent"), "consent_refused": N_("refused consent"),
    "consent_withdrawn": N_("withdrew consent"), "request_deletion": N_("asked for erasure"),
    "erase": N_("erased the record"), "decline_deletion": N_("declined erasure"),
    "revoke_invitation": N_("revoked an invitation"), "remove_role": N_("removed a role"),
    "set_village": N_("recorded the home village"),
    "entrusted_view": N_("viewed the notice of entrusted care"),
    "entrusted_confirm": N_("confirmed the notice of entrusted care"),
    "entrusted_copy": N_("opened the confirmed notice of entrusted care"),
    "erasure_held": N_("erasure held: a safety case is open"),
    # Mandatory reporting (bot.safety.service): the detail names the report by its id, never what it says.
    "safety_report": N_("filed a safety report or asked for help"), "safety_ack": N_("acknowledged a safety report"),
    "safety_view": N_("viewed a safety case"), "safety_state": N_("changed a safety case's state"),
    "safety_feedback": N_("recorded the police feedback"), "safety_note": N_("added a note to a safety case"),
    "safety_close_request": N_("asked to close a safety case"), "safety_close": N_("confirmed closing a safety case"),
    "safety_add_person": N_("added someone to a safety case"),
    "safety_retell": N_("told again: nobody had acknowledged the report"),
    "safety_escalate": N_("told the township: nobody had acknowledged the report"),
    "safety_feedback_reminder": N_("reminded to ask the police for feedback"),
    "safety_ledger": N_("exported the mandatory reporting ledger"),
    "safety_ledger_row": N_("exported in the mandatory reporting ledger"),
    "object_deletion": N_("objected to the erasure"), "add_class": N_("added a class"),
    "care_update": N_("sent an update"), "care_score": N_("recorded scores"), "care_goodnews": N_("sent good news"),
    "care_summary": N_("wrote the monthly summary"), "care_talk": N_("recorded a talk"),
    "care_letter": N_("sent a family letter"),
    "video_proposed": N_("proposed a video-call time"), "video_countered": N_("answered with another time"),
    "video_agreed": N_("agreed the video-call time"), "video_moved": N_("moved a video call"),
    "view_videos": N_("viewed the class's video calls"),
    "calendar_add": N_("added a care task"), "calendar_done": N_("marked a care task done"),
    "calendar_remove": N_("removed a care task"),
}
# A detail made only of "key=id" parts names rows by their ids (proposal=2, call=5): of no use to the reader, and
# ids are not words; a safety case keeps its number. Field keys ("health,boarding") are shown by their labels.
_BRACKET = re.compile(r"\s*[（(]")
_IDS = re.compile(r"^([a-z_]+=\S+)( [a-z_]+=\S+)*$")


async def audit(update: Update, context: BotContext) -> None:
    """/audit [name]: one child's log; without a name (or with several matches), a button for each child."""
    _ = context.gettext
    actor = await context.actor()
    if not actor.has_role(ADMIN):
        raise NotAllowed("audit", N_("Only a school admin can read the audit log."))
    summaries = await named(context, actor)
    if len(summaries) == 1:
        await _send_audit(update, context, summaries[0].child.id)
        return
    await _picker(update, context, [s.child for s in summaries], 0)


async def _picker(update: Update, context: BotContext, kids: list, page: int) -> None:
    _ = context.gettext
    shown = child_page(_, kids, page, lambda k: AuditLog(k.id), lambda p: ListPage("audit", p))
    await replace_or_reply(update, _("Whose audit log?") + shown.note(_), reply_markup=keyboard(shown.rows))


async def _pages(update: Update, context: BotContext, page: int) -> None:
    actor = await context.actor()
    if not actor.has_role(ADMIN):
        raise NotAllowed("audit", N_("Only a school admin can read the audit log."))
    await _picker(update, context, [s.child for s in await context.services.children.visible(actor)], page)


async def on_audit_button(update: Update, context: BotContext, payload: AuditLog) -> None:
    await _send_audit(update, context, payload.child)


async def _send_audit(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    entries = await context.services.children.audit(await context.actor(), child_id)
    if update.callback_query is not None:
        await update.callback_query.answer()
    names = await person_names(context, {e.actor_id for e in entries})
    lines = [_("Audit log, newest first:")]
    # The same person doing the same thing again and again (opening a record four times) is one line.
    runs: list[list] = []
    for e in entries:
        who = names.get(e.actor_id, _("system")) if e.actor_id else _("system")
        said = f"{who} · {_what(context, e.action, e.detail)}"
        if runs and runs[-1][0] == said:
            runs[-1][2] = e.at
            runs[-1][3] += 1
        else:
            runs.append([said, e.at, e.at, 1])
    for said, newest, oldest, count in runs:
        when = moment(newest, context)
        if count > 1:
            when = _("{newest} (×{count}, since {oldest})").format(newest=when, count=count,
                                                                  oldest=moment(oldest, context))
        lines.append(f"{when} · {said}")
    await reply(update, "\n".join(lines), protect_content=True)


def _what(context: BotContext, action: str, detail: str) -> str:
    """An audit entry in words: the action's label, and the fields it concerned by their labels."""
    _ = context.gettext
    label = _(ACTION_LABELS[action]) if action in ACTION_LABELS else _("did something ({code})").format(code=action)
    detail = (detail or "").strip()
    if not detail:
        return label
    if _IDS.match(detail):
        # A safety case is known to its handlers by its number (/reports shows "#3"); other ids mean nothing.
        case = re.search(r"\breport=(\d+)", detail)
        return f"{label} #{case.group(1)}" if case else label
    keys = [part.strip() for part in detail.split(",")]
    if all(key in BY_KEY for key in keys):
        # A field's label without its explanation in brackets: "Health", not "Health (what matters for care …)".
        order = list(BY_KEY)
        names = [_BRACKET.split(_(BY_KEY[key].label))[0] for key in sorted(keys, key=order.index)]
        return label + " " + _(", ").join(names)
    return f"{label} {detail}"


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("audit", audit, filters=filters.ChatType.PRIVATE),
        on_button(AuditLog, on_audit_button),
        on_page("audit", _pages),
    ]
