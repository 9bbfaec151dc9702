"""/import and /template: rosters as Excel or CSV files.

/import opens a short dialogue that waits for the file; a document whose caption is /import starts and
ends it at once. Documents sent outside the dialogue are not this feature's: the ConversationHandler
does not match them, so they fall through to whatever handler comes after. After a file with problems
the dialogue keeps waiting, so the corrected file can simply be sent again; it ends after a successful
import, with /cancel, or after 30 minutes.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CommandHandler, ConversationHandler, MessageHandler, filters

from bot.runtime.context import BotContext
from bot.i18n import Translator
from bot.access.people import NotAllowed
from bot.records.roster import (FILE_PROBLEMS, MAX_MEGABYTES, ROW_PROBLEM_LINE, ROW_PROBLEMS, ImportRejected, ImportResult,
                        RosterError, RosterService, RowProblem, check_file, template_xlsx)
from handlers.common import current_actor, user_translator

AWAITING_FILE, = range(1)
TEMPLATE_FILENAME = "花名册模板.xlsx"
SHOWN_PROBLEMS = 50
# Telegram refuses messages over 4096 characters; long problem lists go out in parts.
MESSAGE_LIMIT = 3500
TIMEOUT = timedelta(minutes=30)


def _not_allowed(tr: Translator) -> str:
    return tr.gettext("Only class teachers and school admins can import a roster.")


def explain_file_problem(error: RosterError, tr: Translator) -> str:
    return tr.gettext(FILE_PROBLEMS[error.code]).format(**error.params)


def explain_row_problem(problem: RowProblem, tr: Translator) -> str:
    text = tr.gettext(ROW_PROBLEMS[problem.code]).format(**problem.params)
    return tr.gettext(ROW_PROBLEM_LINE).format(row=problem.row, column=problem.column, problem=text)


def problem_report(problems: list[RowProblem], tr: Translator) -> list[str]:
    """The messages that list a rejected file's problems, one line each, the first SHOWN_PROBLEMS of them."""
    count = len(problems)
    lines = [tr.ngettext(
        "The roster was not imported and nothing was changed: I found {count} problem. Please correct it and "
        "send the file again.",
        "The roster was not imported and nothing was changed: I found {count} problems. Please correct them and "
        "send the file again.", count).format(count=count), ""]
    lines += [explain_row_problem(p, tr) for p in problems[:SHOWN_PROBLEMS]]
    hidden = count - SHOWN_PROBLEMS
    if hidden > 0:
        lines.append(tr.ngettext("…and {count} more problem.", "…and {count} more problems.",
                                 hidden).format(count=hidden))
    messages = [""]
    for line in lines:
        if messages[-1] and len(messages[-1]) + len(line) + 1 > MESSAGE_LIMIT:
            messages.append("")
        messages[-1] = f"{messages[-1]}\n{line}" if messages[-1] else line
    return messages


def import_summary(result: ImportResult, tr: Translator) -> str:
    return tr.ngettext(
        "Roster imported for {count} child: {created} new, {updated} updated, {unchanged} unchanged.",
        "Roster imported for {count} children: {created} new, {updated} updated, {unchanged} unchanged.",
        result.total).format(count=result.total, created=result.created, updated=result.updated,
                             unchanged=result.unchanged)


async def template(update: Update, context: BotContext) -> None:
    tr = await user_translator(update, context)
    if not RosterService.schools(await current_actor(update, context)):
        await update.effective_message.reply_text(_not_allowed(tr))
        return
    await update.effective_message.reply_document(
        template_xlsx(), filename=TEMPLATE_FILENAME,
        caption=tr.gettext("The roster template: one child per row; the second sheet explains each column. "
                           "When it is filled in, send /import and then the file."))


async def import_command(update: Update, context: BotContext) -> int:
    tr = await user_translator(update, context)
    if not RosterService.schools(await current_actor(update, context)):
        await update.effective_message.reply_text(_not_allowed(tr))
        return ConversationHandler.END
    await update.effective_message.reply_text(tr.gettext(
        "Send me the roster now as a document: an Excel file (.xlsx) or a CSV file (.csv) of at most {limit} MB, "
        "one child per row. Send /template to get an empty template.").format(limit=MAX_MEGABYTES))
    return AWAITING_FILE


async def on_roster_document(update: Update, context: BotContext) -> int:
    """Check who sends and what before downloading anything; then import or list what is wrong."""
    tr = await user_translator(update, context)
    message = update.effective_message
    actor = await current_actor(update, context)
    schools = RosterService.schools(actor)
    if not schools:
        await message.reply_text(_not_allowed(tr))
        return ConversationHandler.END
    document = message.document
    try:
        check_file(document.file_name, document.file_size)
        file = await context.bot.get_file(document.file_id)
        data = bytes(await file.download_as_bytearray())
        # A person with this right in several schools imports into the first; none has that today.
        outcome = await context.services.roster.import_rows(actor, schools[0], document.file_name, data)
    except RosterError as error:
        await message.reply_text(explain_file_problem(error, tr))
        return AWAITING_FILE
    except NotAllowed:
        await message.reply_text(_not_allowed(tr))
        return ConversationHandler.END
    if isinstance(outcome, ImportRejected):
        for text in problem_report(outcome.problems, tr):
            await message.reply_text(text)
        return AWAITING_FILE
    await message.reply_text(import_summary(outcome, tr))
    return ConversationHandler.END


async def cancel(update: Update, context: BotContext) -> int:
    tr = await user_translator(update, context)
    await update.effective_message.reply_text(tr.gettext("Cancelled. Nothing was saved."))
    return ConversationHandler.END


_PRIVATE_DOCUMENT = filters.ChatType.PRIVATE & filters.Document.ALL

HANDLERS = [
    CommandHandler("template", template, filters=filters.ChatType.PRIVATE),
    ConversationHandler(
        name="roster_import",
        entry_points=[
            CommandHandler("import", import_command, filters=filters.ChatType.PRIVATE),
            MessageHandler(_PRIVATE_DOCUMENT & filters.CaptionRegex(r"^/import(@\w+)?(\s|$)"), on_roster_document),
        ],
        states={AWAITING_FILE: [MessageHandler(_PRIVATE_DOCUMENT, on_roster_document)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,
        conversation_timeout=TIMEOUT,
    ),
]
