"""/newchild: a teacher or admin creates a child's record in a short guided dialogue. One question at a
time, buttons for choices, "Skip" for what is not known yet, /cancel at any step; nothing is stored until
the last step is confirmed."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.runtime.context import BotContext
from bot.access.people import NotAllowed
from bot.access.policy import ADMIN, CREATE_CHILD, TEACHER, can_in_school
from bot.records.fields import BY_KEY, CHOICE, FieldError, display, explain
from handlers.children import OPEN
from handlers.common import current_actor, reply, user_translator

PREFIX = "nc"
CHOOSE_CLASS, ASK, CONFIRM = range(3)
# The questions asked here; everything else is added later from the record's Edit button.
STEPS = ("name", "sex", "birth_date", "father_name", "father_phone", "father_city", "mother_name", "mother_phone",
         "mother_city", "guardian_name", "guardian_relation", "guardian_phone", "guardianship")


async def _classes(update: Update, context: BotContext):
    """The classes this person may add a child to: a teacher's own class, an admin's whole school."""
    actor = await current_actor(update, context)
    found = {}
    for grant in actor.grants:
        if grant.role == TEACHER and grant.class_id:
            klass = await context.services.people.school_class(grant.class_id)
            if klass:
                found[klass.id] = klass
        elif grant.role == ADMIN and can_in_school(actor.grants, CREATE_CHILD, grant.school_id):
            for klass in await context.services.people.classes(grant.school_id):
                found[klass.id] = klass
    return list(found.values())


async def newchild(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    classes = await _classes(update, context)
    if not classes:
        await reply(update, _("Only class teachers and school admins can add children."))
        return ConversationHandler.END
    context.user_data["newchild"] = {"values": {}, "step": 0}
    if len(classes) == 1:
        context.user_data["newchild"]["class_id"] = classes[0].id
        return await _ask(update, context)
    rows = [[InlineKeyboardButton(k.name, callback_data=f"{PREFIX}:class:{k.id}")] for k in classes]
    await reply(update, _("Which class is the child in?"),
                                              reply_markup=InlineKeyboardMarkup(rows))
    return CHOOSE_CLASS


async def on_class_button(update: Update, context: BotContext) -> int:
    parts = (update.callback_query.data or "").split(":")
    classes = {k.id for k in await _classes(update, context)}
    state = context.user_data.get("newchild")
    if state is None or len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) not in classes:
        _ = (await user_translator(update, context)).gettext
        await update.callback_query.answer(_("This button is no longer valid."))
        return CHOOSE_CLASS if state else ConversationHandler.END
    await update.callback_query.answer()
    state["class_id"] = int(parts[2])
    return await _ask(update, context)


async def _ask(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    state = context.user_data["newchild"]
    if state["step"] >= len(STEPS):
        return await _confirm(update, context)
    spec = BY_KEY[STEPS[state["step"]]]
    rows = []
    if spec.kind == CHOICE:
        rows += [[InlineKeyboardButton(_(label), callback_data=f"{PREFIX}:v:{value}")]
                 for value, label in spec.choices.items()]
    if not spec.required:
        rows.append([InlineKeyboardButton(_("Skip"), callback_data=f"{PREFIX}:skip")])
    question = _("({n}/{total}) {field}?").format(n=state["step"] + 1, total=len(STEPS), field=_(spec.label))
    if spec.kind != CHOICE:
        question += "\n" + _("Type it, or send /cancel to stop.")
    await reply(update, question, reply_markup=InlineKeyboardMarkup(rows) if rows else None)
    return ASK


async def _take(update: Update, context: BotContext, raw: str | None) -> int:
    _ = (await user_translator(update, context)).gettext
    state = context.user_data.get("newchild")
    if state is None:
        return ConversationHandler.END
    key = STEPS[state["step"]]
    if raw is not None:
        try:
            value = context.services.children.check_field(key, raw)
        except FieldError as error:
            await reply(update, 
                _("{field}: {reason}. Please try again.").format(field=_(BY_KEY[key].label),
                                                                 reason=explain(error, _)))
            return ASK
        if value:
            state["values"][key] = value
    state["step"] += 1
    return await _ask(update, context)


async def on_text(update: Update, context: BotContext) -> int:
    return await _take(update, context, update.effective_message.text or "")


async def on_answer_button(update: Update, context: BotContext) -> int:
    data = (update.callback_query.data or "").split(":")
    await update.callback_query.answer()
    state = context.user_data.get("newchild")
    if state is None or state.get("step", 0) >= len(STEPS):
        return ConversationHandler.END
    if data[1:] == ["skip"] and not BY_KEY[STEPS[state["step"]]].required:
        return await _take(update, context, None)
    spec = BY_KEY[STEPS[state["step"]]]
    if len(data) == 3 and data[1] == "v" and spec.kind == CHOICE and data[2] in spec.choices:
        return await _take(update, context, data[2])
    return ASK


async def _confirm(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    values = context.user_data["newchild"]["values"]
    lines = [_("Please check:")] + [f"{_(BY_KEY[k].label)}：{display(k, v, _)}" for k, v in values.items()]
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(_("Save"), callback_data=f"{PREFIX}:save"),
                                    InlineKeyboardButton(_("Cancel"), callback_data=f"{PREFIX}:cancel")]])
    await reply(update, "\n".join(lines), reply_markup=markup)
    return CONFIRM


async def on_confirm_button(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    await update.callback_query.answer()
    state = context.user_data.pop("newchild", None)
    if state is None or update.callback_query.data != f"{PREFIX}:save":
        await reply(update, _("Cancelled. Nothing was saved."))
        return ConversationHandler.END
    actor = await current_actor(update, context)
    try:
        child_id = await context.services.children.create(actor, state["class_id"], state["values"])
    except FieldError as error:
        await reply(update, _("Not saved: {reason}.").format(reason=explain(error, _)))
        return ConversationHandler.END
    except NotAllowed:
        await reply(update, _("You can no longer add children to this class."))
        return ConversationHandler.END
    await reply(update, 
        _("Saved. Next, invite the child's parents or guardian with /invite."),
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(_("Open the record"),
                                                                 callback_data=f"{OPEN}:{child_id}")]]))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    _ = (await user_translator(update, context)).gettext
    context.user_data.pop("newchild", None)
    await reply(update, _("Cancelled. Nothing was saved."))
    return ConversationHandler.END


HANDLERS = [
    ConversationHandler(
        entry_points=[CommandHandler("newchild", newchild, filters=filters.ChatType.PRIVATE)],
        states={
            CHOOSE_CLASS: [CallbackQueryHandler(on_class_button, pattern=rf"^{PREFIX}:class:")],
            ASK: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
                  CallbackQueryHandler(on_answer_button, pattern=rf"^{PREFIX}:(v|skip)")],
            CONFIRM: [CallbackQueryHandler(on_confirm_button, pattern=rf"^{PREFIX}:(save|cancel)$")],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        name="newchild",
        per_message=False,
    )
]
