"""The roll call's buttons and the family's answer, declared once (bot.payloads). Every id is checked again by
bot.attendance.service on every press: a forged child, a class the presser does not teach, or a roll of another day
gets a clear answer and changes nothing.

  att:o:<class>:<day>[:<page>]          open (or turn to a page of) the class's roll of that day
  att:t:<class>:<day>:<child>           mark the child absent, or present again
  att:r:<class>:<day>:<child>:<reason>  the reason of a child marked absent
  att:ok:<class>:<day>                  save the roll ("✅ 全班都到了" when nobody is marked, "✔ 完成" otherwise)
  absq:<absence>:<answer>               a parent's or guardian's answer to "why is the child not at school today?"

`day` is the school's local date as YYYYMMDD (a token of 8, so the widest press fits Telegram's 64 bytes): a roll left on the screen from yesterday is refused, not applied
to today's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from bot.i18n import N_
from bot.payloads import payload

SICK, PERSONAL, NONE, UNKNOWN = "sick", "personal", "none", "unknown"
REASONS = (SICK, PERSONAL, NONE, UNKNOWN)
# Unexplained: the family is asked the same day, the class teacher gets a follow-up, and the dropout ladder counts it.
UNEXPLAINED = (NONE, UNKNOWN)
OTHER = "other"
ANSWERS = (SICK, PERSONAL, OTHER)

REASON_LABELS = {SICK: N_("🤒 Sick leave"), PERSONAL: N_("📝 Personal leave"), NONE: N_("❔ No reason"),
                 UNKNOWN: N_("🚨 Whereabouts unknown")}
ANSWER_LABELS = {SICK: N_("🤒 Ill (sick leave)"), PERSONAL: N_("📝 Something came up (personal leave)"),
                 OTHER: N_("💬 Other: tell us by voice or text")}
# The family's answer read back (to the teacher, on the roll, to a relative who presses an old button): "other"
# is said as what it is, not as the button's invitation to tell.
ANSWER_WORDS = {SICK: ANSWER_LABELS[SICK], PERSONAL: ANSWER_LABELS[PERSONAL], OTHER: N_("💬 Another reason")}


@payload("att")
class RollButton:
    """A press on the roll: `o` open a page (`n` the page), `t` toggle the child `n`, `r` set the reason of the
    child `n`, `ok` save."""

    action: Literal["o", "t", "r", "ok"]
    klass: int
    day: Annotated[str, 8]
    n: int | None = None
    reason: Literal["sick", "personal", "none", "unknown"] | None = None


@payload("absq")
class FamilyAnswer:
    """Under the question to a child's parents and guardians."""

    absence: int
    answer: Literal["sick", "personal", "other"]


@payload("absm")
class AnswerWithMessage:
    """Under "Whom should I send this to?" when the family member has an unanswered question about today's
    absence: the words or voice note they just sent (`message`) are the answer."""

    absence: int
    message: int
