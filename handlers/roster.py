"""/import and /template: rosters as Excel or CSV files.

/import opens the import dialogue (handlers.dialogue), which takes the next document the person sends; a document
whose caption is /import is taken at once. Other documents are not this feature's: they go on to whatever handler
comes after. After a file with problems the dialogue keeps waiting, so the corrected file can simply be sent again;
it ends after a successful import, with /cancel, or 30 minutes after the last file.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.dialogues import Dialogue
from bot.errors import NotAllowed
from bot.records.roster import (MAX_MEGABYTES, ROW_PROBLEM_LINE, ROW_PROBLEMS, ImportRejected, ImportResult,
                                RosterService, RowProblem, check_file, template_xlsx)
from bot.runtime.context import BotContext
from handlers import dialogue
from handlers.common import reply
from handlers.dialogue import Kind

TEMPLATE_FILENAME = "花名册模板.xlsx"
SHOWN_PROBLEMS = 50
# Telegram refuses messages over 4096 characters; long problem lists go out in parts.
MESSAGE_LIMIT = 3500
TIMEOUT = timedelta(minutes=30)


def explain_row_problem(problem: RowProblem, gettext) -> str:
    text = gettext(ROW_PROBLEMS[problem.code]).format(**problem.params)
    return gettext(ROW_PROBLEM_LINE).format(row=problem.row, column=problem.column, problem=text)


def problem_report(problems: list[RowProblem], gettext, ngettext) -> list[str]:
    """The messages that list a rejected file's problems, one line each, the first SHOWN_PROBLEMS of them."""
    count = len(problems)
    lines = [ngettext(
        "The roster was not imported and nothing was changed: I found {count} problem. Please correct it and "
        "send the file again.",
        "The roster was not imported and nothing was changed: I found {count} problems. Please correct them and "
        "send the file again.", count).format(count=count), ""]
    lines += [explain_row_problem(p, gettext) for p in problems[:SHOWN_PROBLEMS]]
    hidden = count - SHOWN_PROBLEMS
    if hidden > 0:
        lines.append(ngettext("…and {count} more problem.", "…and {count} more problems.",
                              hidden).format(count=hidden))
    messages = [""]
    for line in lines:
        if messages[-1] and len(messages[-1]) + len(line) + 1 > MESSAGE_LIMIT:
            messages.append("")
        messages[-1] = f"{messages[-1]}\n{line}" if messages[-1] else line
    return messages


def import_summary(result: ImportResult, ngettext) -> str:
    return ngettext(
        "Roster imported for {count} child: {created} new, {updated} updated, {unchanged} unchanged.",
        "Roster imported for {count} children: {created} new, {updated} updated, {unchanged} unchanged.",
        result.total).format(count=result.total, created=result.created, updated=result.updated,
                             unchanged=result.unchanged)


async def template(update: Update, context: BotContext) -> None:
    _ = context.gettext
    RosterService.school(await context.actor())
    await update.effective_message.reply_document(
        template_xlsx(), filename=TEMPLATE_FILENAME,
        caption=_("The roster template: one child per row; the second sheet explains each column. "
                  "When it is filled in, send /import and then the file."))


async def import_command(update: Update, context: BotContext) -> None:
    _ = context.gettext
    RosterService.school(await context.actor())
    await dialogue.begin(context, "import", ttl=TIMEOUT)
    await reply(update, _(
        "Send me the roster now as a document: an Excel file (.xlsx) or a CSV file (.csv) of at most {limit} MB, "
        "one child per row. Send /template to get an empty template.").format(limit=MAX_MEGABYTES))


async def on_import_input(update: Update, context: BotContext, waiting: Dialogue) -> bool:
    if update.effective_message.document is None:
        return False  # text, photos …: not a roster, for the other features
    await on_roster_document(update, context)
    return True


async def on_roster_document(update: Update, context: BotContext) -> None:
    """Check who sends and what before downloading anything; then import, or list what is wrong. A file that
    cannot be imported (RosterError, answered as a refusal) leaves the dialogue waiting for the corrected one."""
    actor = await context.actor()
    try:
        school_id = RosterService.school(actor)
    except NotAllowed:
        await dialogue.end(context, "import")
        raise
    await dialogue.begin(context, "import", ttl=TIMEOUT)
    document = update.effective_message.document
    check_file(document.file_name, document.file_size)
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    outcome = await context.services.roster.import_rows(actor, school_id, document.file_name, data)
    if isinstance(outcome, ImportRejected):
        for text in problem_report(outcome.problems, context.gettext, context.ngettext):
            await reply(update, text)
        return
    await dialogue.end(context, "import")
    await reply(update, import_summary(outcome, context.ngettext))


DIALOGUES = [Kind("import", on_import_input)]


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("template", template, filters=private),
        CommandHandler("import", import_command, filters=private),
        MessageHandler(private & filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?(\s|$)"),
                       on_roster_document),
    ]
