"""The figures as an Excel table (bot.ledgers.workbook, the one writer of the bot's workbooks): the same texts as
the chat and the chart, so a hidden count is "<5" here too, never the number behind it."""

from __future__ import annotations

from bot.ledgers.workbook import Workbook
from bot.stats.figures import LABELS, Figures, count_text, is_hidden, rate_text, scope_label


def _cell(count: int, hidden: bool) -> int | str:
    """A number stays a number (it sums in a spreadsheet); a hidden one is the text "<5"."""
    return count_text(count, hidden) if is_hidden(count, hidden) else count


def workbook(figures: Figures, _) -> Workbook:
    hidden = figures.hidden
    book = Workbook()
    book.sheet(_("Figures"), [_("Figure"), _("Count"), _("Of"), _("Share")],
               [[_(LABELS[r.key]), _cell(r.count, hidden), "" if r.base is None else _cell(r.base, hidden),
                 "" if r.base is None else rate_text(r.count, r.base, hidden)] for r in figures.rows])
    book.sheet(_("Five musts by proxy parent"),
               [_("Proxy parent"), _("Children"), _("Musts done"), _("Musts owed"), _("Share"), _("Overdue")],
               [[c.name, _cell(c.children, hidden), _cell(c.done, hidden), _cell(c.owed, hidden),
                 rate_text(c.done, c.owed, hidden), _cell(c.overdue, hidden)] for c in figures.carers])
    book.sheet(_("About"), [_("Place"), _("Period"), _("From"), _("To"), _("As of (UTC)")],
               [[scope_label(_, figures), figures.period, figures.first_day, figures.last_day, figures.as_of[:16]]])
    return book
