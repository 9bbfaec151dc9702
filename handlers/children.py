"""/children, /child: the records a person may see, opened with a button, edited field by field;
the change history for teachers and admins, and /audit for admins."""

from __future__ import annotations

import warnings

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot.runtime.context import BotContext
from bot.i18n import N_
from bot.access.people import NotAllowed
from bot.records.fields import BY_KEY, CHOICE, FIELDS, GROUP_LABELS, GROUPS, FieldError, display, explain
from handlers.common import current_actor, reply, user_translator

# Conversations here start from buttons; per_message=False is what we want (the state is per chat).
warnings.filterwarnings("ignore", message=".*per_message=False.*", category=PTBUserWarning)

OPEN, GROUP, FIELD, VALUE, HISTORY, AUDIT = "child", "editg", "editf", "editv", "hist", "audit"
PAGE = "kids"
PAGE_SIZE = 10
AWAIT_VALUE = 0

def consent_label(state: str, _) -> str:
    labels = {
        "given": _("consent given"),
        "awaiting": _("awaiting a parent's or guardian's consent"),
        "withdrawn": _("consent withdrawn: nothing is shared"),
    }
    icons = {"given": "✅", "awaiting": "⏳", "withdrawn": "⛔"}
    return f"{icons.get(state, '')} {labels.get(state, state)}"


def _parse_id(data: str | None, prefix: str) -> list[str]:
    parts = (data or "").split(":")
    return parts[1:] if parts and parts[0] == prefix else []


async def _no_longer_valid(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    if update.callback_query:
        await update.callback_query.answer(_("This button is no longer valid."), show_alert=False)
    else:
        await reply(update, _("You cannot see this child's record."))


def child_buttons(summaries, page: int) -> list[list[InlineKeyboardButton]]:
    chunk = summaries[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    rows = [[InlineKeyboardButton(s.child.name or "?", callback_data=f"{OPEN}:{s.child.id}") for s in chunk[i:i + 2]]
            for i in range(0, len(chunk), 2)]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀", callback_data=f"{PAGE}:{page - 1}"))
    if (page + 1) * PAGE_SIZE < len(summaries):
        nav.append(InlineKeyboardButton("▶", callback_data=f"{PAGE}:{page + 1}"))
    return rows + ([nav] if nav else [])


async def children(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    summaries = await context.services.children.visible(actor)
    if not summaries:
        await reply(update, _("There are no children's records for you to see."))
        return
    lines = [_("Children you care for ({count}):").format(count=len(summaries))]
    lines += [f"• {s.child.name} · {s.child.class_name} · {consent_label(s.consent, _)}" for s in summaries]
    lines += ["", _("Press a name to open the record.")]
    await reply(update, "\n".join(lines),
                                              reply_markup=InlineKeyboardMarkup(child_buttons(summaries, 0)))


async def on_kids_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    parts = _parse_id(query.data, PAGE)
    actor = await current_actor(update, context)
    summaries = await context.services.children.visible(actor)
    if not parts or not parts[0].isdigit() or not summaries:
        await _no_longer_valid(update, context)
        return
    await query.answer()
    await query.edit_message_reply_markup(InlineKeyboardMarkup(child_buttons(summaries, int(parts[0]))))


async def child(update: Update, context: BotContext) -> None:
    """/child [name]: one record; with several children and no name, a button for each."""
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    summaries = await context.services.children.visible(actor)
    wanted = " ".join(context.args or []).strip()
    if wanted:
        summaries = [s for s in summaries if wanted in s.child.name]
    if len(summaries) == 1:
        await _send_view(update, context, summaries[0].child.id)
        return
    if not summaries:
        await reply(update, _("There are no children's records for you to see."))
        return
    await reply(update, _("Whose record?"),
                                              reply_markup=InlineKeyboardMarkup(child_buttons(summaries, 0)))


def render_view(view, _) -> str:
    lines = [f"📋 {view.child.name} · {view.child.class_name}", consent_label(view.consent, _)]
    for group in GROUPS:
        shown = [f for f in FIELDS if f.group == group and f.key in view.fields and f.key != "name"]
        if not shown:
            continue
        lines += ["", f"【{_(GROUP_LABELS[group])}】"]
        lines += [f"{_(f.label)}：{display(f.key, view.fields[f.key], _)}" for f in shown]
    return "\n".join(lines)


def view_buttons(view, _, can_history: bool) -> InlineKeyboardMarkup | None:
    row = []
    if view.editable:
        row.append(InlineKeyboardButton(_("Edit"), callback_data=f"{GROUP}:{view.child.id}"))
    if can_history:
        row.append(InlineKeyboardButton(_("History"), callback_data=f"{HISTORY}:{view.child.id}"))
    return InlineKeyboardMarkup([row]) if row else None


async def _send_view(update: Update, context: BotContext, child_id: int) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    try:
        view = await context.services.children.view(actor, child_id)
    except NotAllowed:
        await _no_longer_valid(update, context)
        return
    staff = actor.has_role("admin", "teacher")
    markup = view_buttons(view, _, staff)
    await reply(update, render_view(view, _), reply_markup=markup, protect_content=True)


async def on_child_button(update: Update, context: BotContext) -> None:
    parts = _parse_id(update.callback_query.data, OPEN)
    if not parts or not parts[0].isdigit():
        await _no_longer_valid(update, context)
        return
    await update.callback_query.answer()
    await _send_view(update, context, int(parts[0]))


async def _editable(update: Update, context: BotContext, child_id: int) -> frozenset[str] | None:
    actor = await current_actor(update, context)
    try:
        return (await context.services.children.view(actor, child_id)).editable
    except NotAllowed:
        return None


async def on_editg_button(update: Update, context: BotContext) -> None:
    """Which part of the record: groups first, so no screen has thirty buttons."""
    _ = (await user_translator(update, context)).gettext
    parts = _parse_id(update.callback_query.data, GROUP)
    editable = await _editable(update, context, int(parts[0])) if parts and parts[0].isdigit() else None
    if not editable:
        await _no_longer_valid(update, context)
        return
    child_id = int(parts[0])
    if len(parts) == 1:
        groups = [g for g in GROUPS if any(f.group == g and f.key in editable for f in FIELDS)]
        rows = [[InlineKeyboardButton(_(GROUP_LABELS[g]), callback_data=f"{GROUP}:{child_id}:{g}")] for g in groups]
        text = _("Which part of the record?")
    else:
        fields = [f for f in FIELDS if f.group == parts[1] and f.key in editable]
        rows = [[InlineKeyboardButton(_(f.label), callback_data=f"{FIELD}:{child_id}:{f.key}")
                 for f in fields[i:i + 2]] for i in range(0, len(fields), 2)]
        text = _("Which field?")
    await update.callback_query.answer()
    await reply(update, text, reply_markup=InlineKeyboardMarkup(rows))


async def on_editf_button(update: Update, context: BotContext) -> int | None:
    _ = (await user_translator(update, context)).gettext
    parts = _parse_id(update.callback_query.data, FIELD)
    if len(parts) != 2 or not parts[0].isdigit() or parts[1] not in BY_KEY:
        await _no_longer_valid(update, context)
        return ConversationHandler.END
    child_id, key = int(parts[0]), parts[1]
    editable = await _editable(update, context, child_id)
    if not editable or key not in editable:
        await _no_longer_valid(update, context)
        return ConversationHandler.END
    spec = BY_KEY[key]
    context.user_data["editing"] = (child_id, key)
    await update.callback_query.answer()
    markup = None
    if spec.kind == CHOICE:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(_(label), callback_data=f"{VALUE}:{child_id}:{key}:{v}")]
                                       for v, label in spec.choices.items()])
        prompt = _("Choose the new value for “{field}”, or send /cancel.").format(field=_(spec.label))
    else:
        prompt = _("Send the new value for “{field}”, or /cancel to keep it. Send a single - to clear it.").format(
            field=_(spec.label))
    await reply(update, prompt, reply_markup=markup)
    return AWAIT_VALUE


async def _save(update: Update, context: BotContext, child_id: int, key: str, raw: str) -> int | None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    try:
        value = await context.services.children.edit(actor, child_id, key, "" if raw.strip() == "-" else raw)
    except FieldError as error:
        await reply(update, 
            _("“{field}” was not changed: {reason}. Try again, or send /cancel.").format(
                field=_(BY_KEY[key].label), reason=explain(error, _)))
        return AWAIT_VALUE
    except NotAllowed:
        await _no_longer_valid(update, context)
        return ConversationHandler.END
    context.user_data.pop("editing", None)
    shown = display(key, value, _) if value else _("(empty)")
    await reply(update, 
        _("Saved. {field}: {value}").format(field=_(BY_KEY[key].label), value=shown),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(_("Back to the record"),
                                                                 callback_data=f"{OPEN}:{child_id}")]]))
    return ConversationHandler.END


async def on_typed_value(update: Update, context: BotContext) -> int | None:
    editing = context.user_data.get("editing")
    if not editing:
        return ConversationHandler.END
    return await _save(update, context, editing[0], editing[1], update.effective_message.text or "")


async def on_editv_button(update: Update, context: BotContext) -> int | None:
    parts = _parse_id(update.callback_query.data, VALUE)
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in BY_KEY:
        await _no_longer_valid(update, context)
        return ConversationHandler.END
    await update.callback_query.answer()
    return await _save(update, context, int(parts[0]), parts[1], parts[2])


async def cancel_edit(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    context.user_data.pop("editing", None)
    await reply(update, _("Cancelled. Nothing was changed."))
    return ConversationHandler.END


async def on_hist_button(update: Update, context: BotContext) -> None:
    _ = (await user_translator(update, context)).gettext
    parts = _parse_id(update.callback_query.data, HISTORY)
    actor = await current_actor(update, context)
    try:
        changes = await context.services.children.history(actor, int(parts[0])) if parts and parts[0].isdigit() else None
    except NotAllowed:
        changes = None
    if changes is None:
        await _no_longer_valid(update, context)
        return
    await update.callback_query.answer()
    if not changes:
        await reply(update, _("No changes recorded yet."))
        return
    names = await _names(context, {c.changed_by for c in changes})
    lines = [_("Latest changes:")]
    for c in changes:
        spec = BY_KEY.get(c.field)
        old = display(c.field, c.old_value, _) if c.old_value and spec else "—"
        new = display(c.field, c.new_value, _) if c.new_value and spec else "—"
        lines.append(f"{c.changed_at[:16].replace('T', ' ')} · {_(spec.label) if spec else c.field}: {old} → {new}"
                     f" · {names.get(c.changed_by, _('import'))}")
    await reply(update, "\n".join(lines), protect_content=True)


async def _names(context: BotContext, person_ids) -> dict[int, str]:
    found = {}
    for person_id in person_ids:
        if person_id is not None:
            person = await context.services.people.person(person_id)
            if person:
                found[person_id] = person.display_name
    return found


ACTION_LABELS = {
    "view": N_("viewed the record"), "create": N_("created the record"), "edit": N_("changed"),
    "import": N_("imported"), "export": N_("exported a copy"), "invite": N_("invited"), "join": N_("joined"),
    "view_history": N_("viewed the history"), "view_audit": N_("viewed the audit log"),
    "consent_given": N_("gave consent"), "consent_refused": N_("refused consent"),
    "consent_withdrawn": N_("withdrew consent"), "request_deletion": N_("asked for erasure"),
    "erase": N_("erased the record"), "decline_deletion": N_("declined erasure"),
    "revoke_invitation": N_("revoked an invitation"), "remove_role": N_("removed a role"),
}


async def audit(update: Update, context: BotContext) -> None:
    """/audit: who saw or changed a child's record, for the school's admins."""
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    if not actor.has_role("admin"):
        await reply(update, _("Only a school admin can read the audit log."))
        return
    summaries = await context.services.children.visible(actor)
    wanted = " ".join(context.args or []).strip()
    if wanted:
        summaries = [s for s in summaries if wanted in s.child.name]
    if len(summaries) == 1:
        await _send_audit(update, context, summaries[0].child.id)
        return
    rows = [[InlineKeyboardButton(s.child.name or "?", callback_data=f"{AUDIT}:{s.child.id}")] for s in summaries[:30]]
    await reply(update, _("Whose audit log?"), reply_markup=InlineKeyboardMarkup(rows))


async def on_audit_button(update: Update, context: BotContext) -> None:
    parts = _parse_id(update.callback_query.data, AUDIT)
    if not parts or not parts[0].isdigit():
        await _no_longer_valid(update, context)
        return
    await update.callback_query.answer()
    await _send_audit(update, context, int(parts[0]))


async def _send_audit(update: Update, context: BotContext, child_id: int) -> None:
    _ = (await user_translator(update, context)).gettext
    actor = await current_actor(update, context)
    try:
        entries = await context.services.children.audit(actor, child_id)
    except NotAllowed:
        await _no_longer_valid(update, context)
        return
    names = await _names(context, {e.actor_id for e in entries})
    lines = [_("Audit log, newest first:")]
    for e in entries:
        who = names.get(e.actor_id, _("system")) if e.actor_id else _("system")
        action = _(ACTION_LABELS[e.action]) if e.action in ACTION_LABELS else e.action
        lines.append(f"{e.at[:16].replace('T', ' ')} · {who} · {action} {e.detail}".rstrip())
    await reply(update, "\n".join(lines), protect_content=True)


edit_conversation = ConversationHandler(
    entry_points=[CallbackQueryHandler(on_editf_button, pattern=rf"^{FIELD}:")],
    states={
        AWAIT_VALUE: [
            MessageHandler(filters.TEXT & ~filters.COMMAND, on_typed_value),
            CallbackQueryHandler(on_editv_button, pattern=rf"^{VALUE}:"),
        ],
    },
    fallbacks=[CommandHandler("cancel", cancel_edit)],
    name="edit_child_field",
    per_message=False,
)

PRIVATE = filters.ChatType.PRIVATE
HANDLERS = [
    edit_conversation,
    CommandHandler("children", children, filters=PRIVATE),
    CommandHandler("child", child, filters=PRIVATE),
    CommandHandler("audit", audit, filters=PRIVATE),
    CallbackQueryHandler(on_kids_button, pattern=rf"^{PAGE}:"),
    CallbackQueryHandler(on_child_button, pattern=rf"^{OPEN}:"),
    CallbackQueryHandler(on_editg_button, pattern=rf"^{GROUP}:"),
    CallbackQueryHandler(on_hist_button, pattern=rf"^{HISTORY}:"),
    CallbackQueryHandler(on_audit_button, pattern=rf"^{AUDIT}:"),
]
