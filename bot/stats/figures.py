"""The figures of /stats for one place and one period, as plain data, and how each is shown. Pure.

A period is a quarter ('2026-Q3') or a year ('2026'); the current view is the quarter so far. Counts of activity
(video calls, absences) are those of the period; states (records, consent, open cases) are as of its end; the
weekly contact is the share of children whose parents were in touch in the 7 days before the period's end
(《未成年人保护法》 Art. 23: parents away for work contact the child at least once a week).

Above the school (a township, the county), a count from 1 to 4 is shown as "<5", and a rate built on it as "—",
in the chat, on the chart and in the Excel table alike (`count_text`, `rate_text`): a small number in a large
place can point at one child. 0 is shown: it points at nobody, and "no open safety case" is worth saying.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from bot.i18n import N_

CLASS, SCHOOL, VILLAGE, TOWNSHIP, COUNTY = "class", "school", "village", "township", "county"
HIDDEN_ABOVE_SCHOOL = frozenset({TOWNSHIP, COUNTY})
SMALL = 5
SMALL_TEXT = "<5"
NO_RATE = "—"

RECORDS, COMPLETE, CONSENTED, CONTACT = "records", "complete", "consented", "contact"
CALLS_HELD, CALLS_MISSED = "calls_held", "calls_missed"
ABSENCES, UNEXPLAINED, CASES, SUSPECTED, SAFETY = "absences", "unexplained", "cases", "suspected", "safety"
MUSTS_DONE, MUSTS_OVERDUE = "musts_done", "musts_overdue"
LABELS = {
    RECORDS: N_("Children on record"),
    COMPLETE: N_("Records complete (建档率)"),
    CONSENTED: N_("Families who consented"),
    CONTACT: N_("Parents in touch in the last 7 days"),
    CALLS_HELD: N_("Video calls held"),
    CALLS_MISSED: N_("Video calls missed"),
    ABSENCES: N_("Absences"),
    UNEXPLAINED: N_("Absences without a reason"),
    CASES: N_("Open absence cases (控辍保学)"),
    SUSPECTED: N_("Suspected dropouts"),
    SAFETY: N_("Open safety cases"),
    MUSTS_DONE: N_("Five musts done (proxy parents)"),
    MUSTS_OVERDUE: N_("Five musts overdue"),
}
SCOPE_LABELS = {CLASS: N_("Class {name}"), SCHOOL: N_("School {name}"), VILLAGE: N_("Village {name}"),
                TOWNSHIP: N_("Township {name}"), COUNTY: N_("The county")}
# The figures drawn as shares (the first chart), the others as counts (the second).
RATES = (COMPLETE, CONSENTED, CONTACT, MUSTS_DONE)
# What a complete record (建档) holds: the official form's identity, schooling and guardianship entries.
REQUIRED = ("name", "sex", "birth_date", "ethnicity", "hukou_place", "schooling", "guardianship_situation",
            "guardianship", "guardianship_assessment")


@dataclass(frozen=True)
class Row:
    key: str                # one of LABELS
    count: int
    base: int | None = None  # the whole a share is of; None: a plain count


@dataclass(frozen=True)
class CarerRow:
    """One proxy parent's five musts over their children, at the period's end."""

    name: str
    children: int
    done: int
    owed: int
    overdue: int


@dataclass(frozen=True)
class Figures:
    scope: str
    place: int
    name: str
    period: str             # '2026-Q3' or '2026'
    first_day: str          # the period's local dates, inclusive
    last_day: str
    as_of: str              # bot.clock.stamp: the end of the period, or now for the quarter so far
    rows: tuple[Row, ...] = ()
    carers: tuple[CarerRow, ...] = field(default_factory=tuple)

    @property
    def hidden(self) -> bool:
        return self.scope in HIDDEN_ABOVE_SCHOOL

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Figures:
        data = json.loads(text)
        data["rows"] = tuple(Row(**r) for r in data["rows"])
        data["carers"] = tuple(CarerRow(**c) for c in data["carers"])
        return cls(**data)


def scope_label(_, figures: Figures) -> str:
    return _(SCOPE_LABELS[figures.scope]).format(name=figures.name)


def count_text(count: int, hidden: bool) -> str:
    return SMALL_TEXT if hidden and 0 < count < SMALL else str(count)


def is_hidden(count: int, hidden: bool) -> bool:
    return hidden and 0 < count < SMALL


def rate(count: int, base: int | None) -> float | None:
    return None if not base else 100.0 * count / base


def rate_text(count: int, base: int | None, hidden: bool) -> str:
    share = rate(count, base)
    if share is None or is_hidden(count, hidden) or is_hidden(base or 0, hidden):
        return NO_RATE
    return f"{share:.1f}%"


# -- periods ---------------------------------------------------------------------------------------------------

def quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def bounds(period: str) -> tuple[date, date]:
    """The first and last local day of '2026-Q3' or '2026'; ValueError for anything else."""
    if len(period) == 4 and period.isdigit():
        year = int(period)
        return date(year, 1, 1), date(year, 12, 31)
    year, q = period.split("-Q")
    number = int(q)
    if not 1 <= number <= 4:
        raise ValueError(period)
    first = date(int(year), 3 * number - 2, 1)
    after = date(int(year) + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return first, after - timedelta(days=1)


def ended_before(today: date) -> list[str]:
    """The periods that ended most recently before `today`: the last quarter, and the last year when that
    quarter was its fourth."""
    first, _ = bounds(quarter(today))
    last = quarter(first - timedelta(days=1))
    return [last, last[:4]] if last.endswith("Q4") else [last]
