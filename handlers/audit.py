"""/audit: who saw or changed a child's record, and when, for the school's admins. The log itself is written by
every service in the transaction of what it records (storage.audit); this only reads it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.policy import ADMIN
from bot.errors import NotAllowed
from bot.i18n import N_
from bot.records.buttons import AuditLog
from bot.runtime.context import BotContext
from handlers.common import keyboard, on_button, reply
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
}
LISTED = 30


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
    rows = [[(s.child.name or "?", AuditLog(s.child.id))] for s in summaries[:LISTED]]
    await reply(update, _("Whose audit log?"), reply_markup=keyboard(rows))


async def on_audit_button(update: Update, context: BotContext, payload: AuditLog) -> None:
    await _send_audit(update, context, payload.child)


async def _send_audit(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    entries = await context.services.children.audit(await context.actor(), child_id)
    if update.callback_query is not None:
        await update.callback_query.answer()
    names = await person_names(context, {e.actor_id for e in entries})
    lines = [_("Audit log, newest first:")]
    for e in entries:
        who = names.get(e.actor_id, _("system")) if e.actor_id else _("system")
        action = _(ACTION_LABELS[e.action]) if e.action in ACTION_LABELS else e.action
        lines.append(f"{moment(e.at, context)} · {who} · {action} {e.detail}".rstrip())
    await reply(update, "\n".join(lines), protect_content=True)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("audit", audit, filters=filters.ChatType.PRIVATE),
        on_button(AuditLog, on_audit_button),
    ]
