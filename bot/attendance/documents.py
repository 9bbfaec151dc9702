"""The papers of keeping children in school (控辍保学): the written report on a child who dropped out
(辍学学生情况报告表) as a Word document to print and sign, and the ledgers as Excel workbooks (one row per case).

Pure functions from dataclasses to bytes: the service (bot.attendance.dropouts) decides what goes in (only the
fields the person may export) and audits the export. The labels are gettext msgids, rendered in Chinese by the
caller: the papers go to the Chinese education authority whatever language the person reads the bot in."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from bot.i18n import N_
from bot.ledgers.workbook import Workbook

METHOD_LABELS = {"visit": N_("Home visit"), "call": N_("Phone call"), "video": N_("Video call with the parents")}
ATTITUDE_LABELS = {"supportive": N_("Supportive"), "hesitant": N_("Hesitant"), "refusing": N_("Refusing"),
                   "unreachable": N_("Could not be reached")}
REASON_LABELS = {"none": N_("Absent without a reason"), "unknown": N_("Whereabouts unknown"),
                 "sick": N_("Sick leave"), "personal": N_("Personal leave")}
STATE_LABELS = {"open": N_("Absent, being followed up"), "suspected": N_("Suspected dropout"),
                "returned": N_("Back at school (watched)"), "closed": N_("Closed"),
                "reported": N_("Dropout, reported in writing")}


@dataclass(frozen=True)
class AttemptLine:
    on_day: date
    people: str
    method: str          # a key of METHOD_LABELS
    attitude: str        # a key of ATTITUDE_LABELS
    result: str
    next_step: str
    next_on: date | None


@dataclass(frozen=True)
class Person:
    name: str = ""
    phone: str = ""
    relation: str = ""


@dataclass(frozen=True)
class WrittenReport:
    """辍学学生情况报告表: what the form holds. Empty strings are left as lines to fill in by hand (a field the
    person may not export, or that the record does not hold, such as the household registration)."""

    school: str
    klass: str
    name: str
    sex: str
    birth_date: str
    id_number: str
    household: str
    address: str
    guardian: Person
    father: Person
    mother: Person
    left_behind: bool
    first_absent_on: date
    days: int
    reason: str          # a key of REASON_LABELS
    whereabouts: str
    teacher: str
    township: str
    made_on: date
    attempts: Sequence[AttemptLine] = ()
    measures: Sequence[str] = ()


@dataclass(frozen=True)
class LedgerRow:
    """One case as a row of a ledger."""

    case_id: int
    school: str
    klass: str
    name: str
    sex: str
    birth_date: str
    first_absent_on: date
    days: int
    reason: str          # a key of REASON_LABELS
    state: str           # a key of STATE_LABELS
    suspected_on: date | None
    returned_on: date | None
    attempts: int
    last_attempt: str
    reported_on: date | None
    closed_on: date | None
    township: str = ""
    extra: dict = field(default_factory=dict)


def _day(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def written_report_docx(report: WrittenReport, _) -> bytes:
    """The form as a .docx: a title, the child's table, the absence, every persuasion attempt, the measures taken,
    and signature lines for the class teacher, the principal and the township's leader."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.size = Pt(11)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(_("Report on a student who dropped out of school"))
    run.bold = True
    run.font.size = Pt(16)
    doc.add_paragraph(_("School (stamp): {school}    Township: {township}    Date: {day}").format(
        school=report.school, township=report.township, day=_day(report.made_on)))

    def person(p: Person) -> str:
        parts = [p.name or "", p.relation, p.phone and _("Phone: {phone}").format(phone=p.phone)]
        return "  ".join(part for part in parts if part)

    rows = [
        (_("Name"), report.name, _("Sex"), report.sex),
        (_("Date of birth"), report.birth_date, _("Student or ID number"), report.id_number),
        (_("School"), report.school, _("Class"), report.klass),
        (_("Household registration"), report.household, _("Left-behind child"),
         _("Yes") if report.left_behind else _("No")),
        (_("Home address"), report.address, "", ""),
        (_("Guardian"), person(report.guardian), "", ""),
        (_("Father"), person(report.father), "", ""),
        (_("Mother"), person(report.mother), "", ""),
        (_("First absence"), _day(report.first_absent_on), _("Consecutive school days absent"), str(report.days)),
        (_("Reason for leaving"), _(REASON_LABELS.get(report.reason, report.reason)), _("Whereabouts"),
         report.whereabouts),
        (_("Responsible teacher"), report.teacher, "", ""),
    ]
    table = doc.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for a, b, c, d in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = a, b
        if c:
            cells[2].text, cells[3].text = c, d
        else:
            cells[1].merge(cells[3]).text = b

    doc.add_paragraph()
    doc.add_paragraph().add_run(_("Persuasion to return to school (劝返)")).bold = True
    attempts = doc.add_table(rows=1, cols=7)
    attempts.style = "Table Grid"
    for cell, label in zip(attempts.rows[0].cells, (_("Date"), _("People"), _("Method"), _("Parents' attitude"),
                                                   _("Result"), _("Next step"), _("Next date"))):
        cell.text = label
    for line in report.attempts:
        cells = attempts.add_row().cells
        values = (_day(line.on_day), line.people, _(METHOD_LABELS.get(line.method, line.method)),
                  _(ATTITUDE_LABELS.get(line.attitude, line.attitude)), line.result, line.next_step,
                  _day(line.next_on))
        for cell, value in zip(cells, values):
            cell.text = value
    if not report.attempts:
        attempts.add_row().cells[0].text = _("(none recorded)")

    doc.add_paragraph()
    doc.add_paragraph().add_run(_("Measures taken")).bold = True
    for measure in report.measures:
        doc.add_paragraph(measure, style="List Bullet")
    doc.add_paragraph()
    for who in (_("Class teacher (signature)"), _("Principal (signature)"), _("Township leader (signature)")):
        doc.add_paragraph(_("{who}: ____________________    Date: ________").format(who=who))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


LEDGER_HEADER = (N_("Case"), N_("Township"), N_("School"), N_("Class"), N_("Name"), N_("Sex"), N_("Date of birth"),
                 N_("First absence"), N_("Consecutive school days absent"), N_("Reason"), N_("State"),
                 N_("Suspected since"), N_("Back at school on"), N_("Persuasion attempts"), N_("Latest attempt"),
                 N_("Reported in writing on"), N_("Closed on"))


LEDGER_WIDTHS = (6, 12, 16, 12, 10, 6, 12, 12, 10, 14, 16, 12, 12, 8, 40, 12, 12)


def _ledger_lines(rows: Sequence[LedgerRow], _) -> list[list]:
    return [[row.case_id, row.township, row.school, row.klass, row.name, row.sex, row.birth_date, row.first_absent_on,
             row.days, _(REASON_LABELS.get(row.reason, row.reason)), _(STATE_LABELS.get(row.state, row.state)),
             row.suspected_on, row.returned_on, row.attempts, row.last_attempt, row.reported_on, row.closed_on]
            for row in rows]


def ledger_xlsx(rows: Sequence[LedgerRow], _, title: str) -> bytes:
    """A ledger (台账): one row per case under a bold, frozen header (bot.ledgers.workbook: a name typed as a formula
    stays text)."""
    book = Workbook()
    book.sheet(title, [_(h) for h in LEDGER_HEADER], _ledger_lines(rows, _), widths=LEDGER_WIDTHS)
    return book.bytes()


def monthly_xlsx(rows: Sequence[LedgerRow], summary: Sequence[tuple[str, int]], _, title: str) -> bytes:
    """The school's monthly report: a summary sheet (label, number) first, then one row per case."""
    book = Workbook()
    book.sheet(_("Summary"), [title, ""], [[label, number] for label, number in summary], widths=[40])
    book.sheet(_("Cases"), [_(h) for h in LEDGER_HEADER], _ledger_lines(rows, _), widths=LEDGER_WIDTHS)
    return book.bytes()
