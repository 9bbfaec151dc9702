"""The safety report's buttons, declared once (bot.payloads). Every id is checked again by bot.safety.service
on every press: a forged or old report id gets a clear answer and discloses nothing.

  sfa:<report>                 "✅ 收到": a person told acknowledges the report
  sfo:<report>                 open the case
  sfs:<step>:<choice>          a step of the reporting flow (/report); the step it was shown for, so a button
                               left on an earlier screen is refused rather than answering another question
  sfc:<child>                  "🆘" on a child's record, the talk form, relay mode: /report with the child chosen
  sfk:<source>:<item>          "这是安全问题" under a worry written elsewhere: /report with the child and the text
  sfx:<report>:<act>[:<choice>] a handler's action on the case
  sfl                          /reports again (the list of open cases)
  sfe                          "📊 导出台账": the ledger as an Excel file
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from bot.access.policy import FAMILY_ROLES, REPORTER_ROLES
from bot.i18n import N_
from bot.payloads import payload

REPORT_LABEL = N_("🆘 Report a danger")
HELP_LABEL = N_("🆘 Ask for help")
CONCERN_LABEL = N_("🆘 This is a safety problem")


@payload("sfa")
class Acknowledge:
    report: int


@payload("sfo")
class OpenCase:
    report: int


# The steps of /report, in order: d danger now?, p "call 110" (called or not yet), c the child, s the situations,
# f when it was found, fh at what hour, fd on which day (typed), l where, w what happened, m photos, q the police
# report, qh at what hour, t the police station, r the receipt number, y why not yet, x the summary.
Step = Literal["d", "p", "c", "s", "f", "fh", "fd", "l", "w", "m", "q", "qh", "t", "r", "y", "x"]


@payload("sfs")
class ReportStep:
    """A press in the reporting flow: the step it belongs to and what was chosen (a word, a child's id, a
    situation's code, an hour). "back" and "cancel" are choices of every step."""

    at: Step
    choice: Annotated[str, 16]


@payload("sfc")
class ReportAbout:
    child: int


def report_label(_, roles: Iterable[str]) -> str | None:
    """The 🆘 button's label for someone with these roles for a child: a report (staff, proxy parents), 求助 (the
    family), or None (nobody else reports about the child)."""
    roles = set(roles)
    if roles & set(REPORTER_ROLES):
        return _(REPORT_LABEL)
    if roles & set(FAMILY_ROLES):
        return _(HELP_LABEL)
    return None


@payload("sfk")
class ReportConcern:
    """A worry written in a talk record (t: the entry), an update's health or mood note (u: the entry) or a
    relayed message (r: the relay) becomes the start of a report about its child, the text filled in."""

    source: Literal["t", "u", "r"]
    item: int


# What a handler does with a case: acc police accepted, help help under way, fb police feedback, note a note,
# visit a follow-up visit, close ask to close, confirm confirm the closing (a second person), stop leave the
# question unanswered, media the report's photos and voice notes sent again, add the township's supervisor
# bringing someone into the case (choice: their person id).
Act = Literal["acc", "help", "fb", "note", "visit", "close", "confirm", "stop", "media", "add"]


@payload("sfx")
class CaseAction:
    report: int
    act: Act
    choice: Annotated[str, 16] | None = None


@payload("sfl")
class CaseList:
    pass


@payload("sfe")
class ExportLedger:
    pass
