"""Children's records (一人一档): /children and /child list and open the records a person may see; a record is
edited field by field and its change history shown to teachers and admins; /newchild adds a record one question
at a time. The edit and /newchild are dialogues (handlers.dialogue): rows, so a restart or a crash continues
them where they were, and the next answer or button press goes on with the form. /audit is handlers.audit."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.access.people import Actor
from bot.access.policy import ADMIN, CREATE_CHILD, READ_HISTORY, SET_VILLAGE, TEACHER, can, can_in_school, roles_for
from bot.clock import unstamp
from bot.dialogues import Dialogue
from bot.errors import NotAllowed, StaleButton
from bot.i18n import N_
from bot.records.buttons import (ChildVillage, EditChoice, EditField, EditGroup, NewChildAnswer, NewChildClass,
                                 NewChildDone, OpenRecord, RecordHistory, RecordsPage)
from bot.records.fields import BY_KEY, CHOICE, FIELDS, GROUP_LABELS, GROUPS, LIST_SEPARATOR, MULTI, FieldError, display
from bot.records.service import ChildSummary
from bot.safety.buttons import ReportAbout, report_label
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import child_page, keyboard, on_button, reply, rows_of
from handlers.dialogue import Kind

PAGE_SIZE = 10
# An edit waits for its value for an hour; a new record's questions for a day (a teacher is called away).
EDIT_TTL = timedelta(hours=1)
NEWCHILD_TTL = timedelta(days=1)
# The questions /newchild asks; everything else is added later from the record's Edit button.
STEPS = ("name", "sex", "birth_date", "father_name", "father_phone", "father_city", "mother_name", "mother_phone",
         "mother_city", "guardian_name", "guardian_relation", "guardian_phone", "guardianship")


def consent_label(state: str, _) -> str:
    labels = {
        "given": _("consent given"),
        "awaiting": _("awaiting a parent's or guardian's consent"),
        "withdrawn": _("consent withdrawn: nothing is shared"),
    }
    icons = {"given": "✅", "awaiting": "⏳", "withdrawn": "⛔"}
    return f"{icons.get(state, '')} {labels.get(state, state)}"


def moment(stored: str, context: BotContext) -> str:
    """A stored moment as the school reads it, to the minute (history and audit lines)."""
    zone = ZoneInfo(context.services.settings.timezone)
    return unstamp(stored).astimezone(zone).strftime("%Y-%m-%d %H:%M")


async def person_names(context: BotContext, person_ids) -> dict[int, str]:
    found = {}
    for person_id in person_ids:
        if person_id is not None:
            person = await context.services.people.person(person_id)
            if person:
                found[person_id] = person.display_name
    return found


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


# -- listing and opening ----------------------------------------------------------------------------------------

def names_keyboard(_, summaries, page: int) -> InlineKeyboardMarkup | None:
    return keyboard(child_page(_, [s.child for s in summaries], page, lambda k: OpenRecord(k.id), RecordsPage,
                               per_row=2, size=PAGE_SIZE).rows)


async def children(update: Update, context: BotContext) -> None:
    _ = context.gettext
    summaries = await context.services.children.visible(await context.actor())
    if not summaries:
        await reply(update, _("There are no children's records for you to see."))
        return
    lines = [_("Children you care for ({count}):").format(count=len(summaries))]
    lines += [f"• {s.child.name} · {s.child.class_name} · {consent_label(s.consent, _)}" for s in summaries]
    lines += ["", _("Press a name to open the record.")]
    await reply(update, "\n".join(lines), reply_markup=names_keyboard(_, summaries, 0))


async def on_kids_button(update: Update, context: BotContext, payload: RecordsPage) -> None:
    summaries = await context.services.children.visible(await context.actor())
    if payload.page * PAGE_SIZE >= len(summaries):
        raise StaleButton()
    await update.callback_query.answer()
    await update.callback_query.edit_message_reply_markup(names_keyboard(context.gettext, summaries, payload.page))


async def named(context: BotContext, actor: Actor) -> list[ChildSummary]:
    """The children this person may see whose name holds the command's words (all of them, without words)."""
    wanted = " ".join(context.args or []).strip()
    return [s for s in await context.services.children.visible(actor) if wanted in s.child.name]


async def child(update: Update, context: BotContext) -> None:
    """/child [name]: one record; with several children and no name, a button for each."""
    _ = context.gettext
    summaries = await named(context, await context.actor())
    if len(summaries) == 1:
        await _send_view(update, context, summaries[0].child.id)
        return
    if not summaries:
        await reply(update, _("There are no children's records for you to see."))
        return
    await reply(update, _("Whose record?"), reply_markup=names_keyboard(_, summaries, 0))


def render_view(view, _) -> str:
    # The village, like the class, is where the child belongs: shown to whoever reaches the child.
    place = " · ".join(p for p in (view.child.class_name, view.child.village_name) if p)
    lines = [f"📋 {view.child.name} · {place}", consent_label(view.consent, _)]
    for group in GROUPS:
        shown = [f for f in FIELDS if f.group == group and f.key in view.fields and f.key != "name"]
        if not shown:
            continue
        lines += ["", f"【{_(GROUP_LABELS[group])}】"]
        # The colon is the reader's: "：" in Chinese, ": " in English.
        lines += [_("{label}: {value}").format(label=_(f.label), value=display(f.key, view.fields[f.key], _))
                  for f in shown]
    return "\n".join(lines)


def view_keyboard(view, _, can_history: bool, can_village: bool = False,
                  can_report: str | None = None) -> InlineKeyboardMarkup | None:
    """`can_report`: the label of the 🆘 button (a report, or 求助 for the family), None without one."""
    row = []
    if view.editable:
        row.append((_("Edit"), EditGroup(view.child.id)))
    if can_history:
        row.append((_("History"), RecordHistory(view.child.id)))
    rows = [row] if row else []
    if can_village:
        rows.append([(_("🏠 Village"), ChildVillage(view.child.id))])
    if can_report:
        rows.append([(can_report, ReportAbout(view.child.id))])
    return keyboard(rows)


async def _send_view(update: Update, context: BotContext, child_id: int) -> None:
    _ = context.gettext
    actor = await context.actor()
    view = await context.services.children.view(actor, child_id)
    await _answer(update)
    place = view.child.place
    # A school under no township has no villages to choose from: no button that leads nowhere.
    markup = view_keyboard(view, _, can(actor.grants, READ_HISTORY, place),
                           place.township_id is not None and can(actor.grants, SET_VILLAGE, place),
                           report_label(_, roles_for(actor.grants, place)))
    await reply(update, render_view(view, _), reply_markup=markup, protect_content=True)


async def on_child_button(update: Update, context: BotContext, payload: OpenRecord) -> None:
    await _send_view(update, context, payload.child)


# -- editing: a group, a field, then the edit dialogue waits for the value ---------------------------------------

async def on_editg_button(update: Update, context: BotContext, payload: EditGroup) -> None:
    """Which part of the record: groups first, so no screen has thirty buttons."""
    _ = context.gettext
    editable = await context.services.children.editable(await context.actor(), payload.child)
    if payload.group is None:
        groups = [g for g in GROUPS if any(f.group == g and f.key in editable for f in FIELDS)]
        rows = [[(_(GROUP_LABELS[g]), EditGroup(payload.child, g))] for g in groups]
        text = _("Which part of the record?")
    else:
        fields = [f for f in FIELDS if f.group == payload.group and f.key in editable]
        rows = rows_of([(_(f.label), EditField(payload.child, f.key)) for f in fields], 2)
        text = _("Which field?")
    if not rows:
        raise NotAllowed("field")
    await update.callback_query.answer()
    await reply(update, text, reply_markup=keyboard(rows))


async def on_editf_button(update: Update, context: BotContext, payload: EditField) -> None:
    _ = context.gettext
    if payload.field not in await context.services.children.editable(await context.actor(), payload.child):
        raise NotAllowed("field")
    spec = BY_KEY[payload.field]
    await dialogue.begin(context, "edit", {"field": payload.field}, child_id=payload.child, ttl=EDIT_TTL)
    await update.callback_query.answer()
    markup = None
    if spec.kind == CHOICE:
        markup = keyboard([[(_(label), EditChoice(payload.child, payload.field, value))]
                           for value, label in spec.choices.items()])
        prompt = _("Choose the new value for “{field}”, or send /cancel.").format(field=_(spec.label))
    elif spec.kind == MULTI:
        prompt = _("Send the values for “{field}”, one or more of: {choices} (separated by commas), or /cancel to "
                   "keep it. Send a single - to clear it.").format(
            field=_(spec.label), choices=_(LIST_SEPARATOR).join(_(label) for label in spec.choices.values()))
    else:
        prompt = _("Send the new value for “{field}”, or /cancel to keep it. Send a single - to clear it.").format(
            field=_(spec.label))
    await reply(update, prompt, reply_markup=markup)


async def on_edit_input(update: Update, context: BotContext, edit: Dialogue) -> bool:
    text = update.effective_message.text
    if text is None:
        return False
    await _save_edit(update, context, edit, text)
    return True


async def on_editv_button(update: Update, context: BotContext, payload: EditChoice) -> None:
    edit = await dialogue.current(context, "edit")
    if edit is None or edit.child_id != payload.child or edit.state.get("field") != payload.field:
        raise StaleButton()
    await _save_edit(update, context, edit, payload.value)


async def _save_edit(update: Update, context: BotContext, edit: Dialogue, raw: str) -> None:
    _ = context.gettext
    key = edit.state["field"]
    label = _(BY_KEY[key].label)
    try:
        value = await context.services.children.edit(await context.actor(), edit.child_id, key,
                                                     "" if raw.strip() == "-" else raw)
    except FieldError as error:  # the dialogue goes on waiting, for a value that fits
        await dialogue.save(context, edit, edit.state)
        await _answer(update)
        await reply(update, _("“{field}” was not changed: {reason}. Try again, or send /cancel.").format(
            field=label, reason=error.text(_)))
        return
    except NotAllowed:
        await dialogue.end(context, "edit")
        raise
    await dialogue.end(context, "edit")
    await _answer(update)
    shown = display(key, value, _) if value else _("(empty)")
    await reply(update, _("Saved. {field}: {value}").format(field=label, value=shown),
                reply_markup=keyboard([[(_("Back to the record"), OpenRecord(edit.child_id))]]))


async def on_hist_button(update: Update, context: BotContext, payload: RecordHistory) -> None:
    _ = context.gettext
    changes = await context.services.children.history(await context.actor(), payload.child)
    await update.callback_query.answer()
    if not changes:
        await reply(update, _("No changes recorded yet."))
        return
    names = await person_names(context, {c.changed_by for c in changes})
    lines = [_("Latest changes:")]
    for c in changes:
        spec = BY_KEY.get(c.field)
        old = display(c.field, c.old_value, _) if c.old_value and spec else "—"
        new = display(c.field, c.new_value, _) if c.new_value and spec else "—"
        lines.append(f"{moment(c.changed_at, context)} · {_(spec.label) if spec else c.field}: {old} → {new}"
                     f" · {names.get(c.changed_by, _('import'))}")
    await reply(update, "\n".join(lines), protect_content=True)


# -- the village of the child's home: its child director then reaches the child ----------------------------------

async def on_vill_button(update: Update, context: BotContext, payload: ChildVillage) -> None:
    _ = context.gettext
    actor = await context.actor()
    back = [(_("Back to the record"), OpenRecord(payload.child))]
    if payload.village is None:
        child, villages = await context.services.children.village_choices(actor, payload.child)
        await update.callback_query.answer()
        if not villages:
            await reply(update, _("No villages are registered in your township yet: the township's supervisor adds "
                                  "one when inviting its child director."), reply_markup=keyboard([back]))
            return
        rows = rows_of([(("✅ " if v.id == child.village_id else "") + v.name, ChildVillage(child.id, v.id))
                        for v in villages[:60]], 3)
        rows += [[(_("No village recorded"), ChildVillage(child.id, 0))], back]
        await reply(update, _("Where is {child}'s home? The village's child director will reach the child.").format(
            child=child.name), reply_markup=keyboard(rows))
        return
    child = await context.services.children.set_village(actor, payload.child, payload.village or None)
    await update.callback_query.answer()
    text = _("Saved. Village: {village}").format(village=child.village_name) if child.village_name else \
        _("Saved. No village is recorded for {child}.").format(child=child.name)
    await reply(update, text, reply_markup=keyboard([back]))


# -- /newchild: the newchild dialogue, state {class_id, step, values} ----------------------------------------------

async def _classes(context: BotContext):
    """The classes this person may add a child to: a teacher's own class, an admin's whole school."""
    actor = await context.actor()
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


async def newchild(update: Update, context: BotContext) -> None:
    _ = context.gettext
    classes = await _classes(context)
    if not classes:
        raise NotAllowed("class", N_("Only class teachers and school admins can add children."))
    state = {"class_id": classes[0].id if len(classes) == 1 else None, "step": 0, "values": {}}
    await dialogue.begin(context, "newchild", state, ttl=NEWCHILD_TTL)
    if state["class_id"] is None:
        await reply(update, _("Which class is the child in?"),
                    reply_markup=keyboard([[(k.name, NewChildClass(k.id))] for k in classes]))
        return
    await _ask(update, context, state)


async def _form(context: BotContext) -> Dialogue:
    """The open newchild dialogue, for a button of it; a button whose form is gone is stale."""
    form = await dialogue.current(context, "newchild")
    if form is None:
        raise StaleButton()
    return form


async def on_ncc_button(update: Update, context: BotContext, payload: NewChildClass) -> None:
    form = await _form(context)
    if form.state["class_id"] is not None or payload.klass not in {k.id for k in await _classes(context)}:
        raise StaleButton()
    state = {**form.state, "class_id": payload.klass}
    await dialogue.save(context, form, state)
    await update.callback_query.answer()
    await _ask(update, context, state)


async def _ask(update: Update, context: BotContext, state: dict) -> None:
    _ = context.gettext
    step = state["step"]
    if step >= len(STEPS):
        await _confirm(update, context, state)
        return
    spec = BY_KEY[STEPS[step]]
    rows = []
    if spec.kind == CHOICE:
        rows += [[(_(label), NewChildAnswer(step, "v", value))] for value, label in spec.choices.items()]
    if not spec.required:
        rows.append([(_("Skip"), NewChildAnswer(step, "skip"))])
    question = _("({n}/{total}) {field}?").format(n=step + 1, total=len(STEPS), field=_(spec.label))
    if spec.kind != CHOICE:
        question += "\n" + _("Type it, or send /cancel to stop.")
    await reply(update, question, reply_markup=keyboard(rows))


async def on_newchild_input(update: Update, context: BotContext, form: Dialogue) -> bool:
    """A typed answer to the question asked; anything else (a photo, or text before a class is chosen or at the
    confirmation) is not the form's."""
    text = update.effective_message.text
    if text is None or form.state["class_id"] is None or form.state["step"] >= len(STEPS):
        return False
    await _take(update, context, form, text)
    return True


async def on_nc_button(update: Update, context: BotContext, payload: NewChildAnswer) -> None:
    form = await _form(context)
    step = form.state["step"]
    if form.state["class_id"] is None or payload.step != step or step >= len(STEPS):
        raise StaleButton()
    spec = BY_KEY[STEPS[step]]
    if payload.answer == "skip" and spec.required:
        raise StaleButton()
    if payload.answer == "v" and (spec.kind != CHOICE or payload.value not in spec.choices):
        raise StaleButton()
    await update.callback_query.answer()
    await _take(update, context, form, payload.value if payload.answer == "v" else None)


async def _take(update: Update, context: BotContext, form: Dialogue, raw: str | None) -> None:
    """The answer to the current question (None: skipped), checked, kept, and the next question asked."""
    _ = context.gettext
    key = STEPS[form.state["step"]]
    values = dict(form.state["values"])
    if raw is not None:
        try:
            value = context.services.children.check_field(key, raw)
        except FieldError as error:  # the same question again
            await reply(update, _("{field}: {reason}. Please try again.").format(field=_(BY_KEY[key].label),
                                                                             reason=error.text(_)))
            return
        if value:
            values[key] = value
    state = {**form.state, "step": form.state["step"] + 1, "values": values}
    await dialogue.save(context, form, state)
    await _ask(update, context, state)


async def _confirm(update: Update, context: BotContext, state: dict) -> None:
    _ = context.gettext
    lines = [_("Please check:")] + [_("{label}: {value}").format(label=_(BY_KEY[k].label), value=display(k, v, _))
                                    for k, v in state["values"].items()]
    await reply(update, "\n".join(lines),
                reply_markup=keyboard([[(_("Save"), NewChildDone("save")), (_("Cancel"), NewChildDone("cancel"))]]))


async def on_ncd_button(update: Update, context: BotContext, payload: NewChildDone) -> None:
    _ = context.gettext
    form = await _form(context)
    if form.state["class_id"] is None or form.state["step"] < len(STEPS):
        raise StaleButton()
    await dialogue.end(context, "newchild")
    if payload.action == "cancel":
        await update.callback_query.answer()
        await reply(update, _("Cancelled. Nothing was saved."))
        return
    try:
        child_id = await context.services.children.create(await context.actor(), form.state["class_id"],
                                                          form.state["values"])
    except FieldError as error:  # a child of this name and birth date is on the roll already
        await update.callback_query.answer()
        await reply(update, _("Not saved: {reason}.").format(reason=error.text(_)))
        return
    await update.callback_query.answer()
    await reply(update, _("Saved. Next, invite the child's parents or guardian with /invite."),
                reply_markup=keyboard([[(_("Open the record"), OpenRecord(child_id))]]))


DIALOGUES = [
    Kind("newchild", on_newchild_input, cancelled=N_("Cancelled. Nothing was saved.")),
    Kind("edit", on_edit_input, cancelled=N_("Cancelled. Nothing was changed.")),
]


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("children", children, filters=private),
        CommandHandler("child", child, filters=private),
        CommandHandler("newchild", newchild, filters=private),
        on_button(RecordsPage, on_kids_button),
        on_button(OpenRecord, on_child_button),
        on_button(EditGroup, on_editg_button),
        on_button(EditField, on_editf_button),
        on_button(EditChoice, on_editv_button),
        on_button(RecordHistory, on_hist_button),
        on_button(ChildVillage, on_vill_button),
        on_button(NewChildClass, on_ncc_button),
        on_button(NewChildAnswer, on_nc_button),
        on_button(NewChildDone, on_ncd_button),
    ]
