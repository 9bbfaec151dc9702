"""The official ledger of left-behind children (留守儿童台账): the child's record laid out as the 2016 registration
form (《农村留守儿童基本情况登记表》) lays it out, and the summary with its cross-checks.

Decisions a reader needs:
- A `Record` is a child's row (storage.children.ChildRow) with the fields the reader may export and the school's
  name. Whoever builds it filters the fields by the access policy first: a field that is absent is an empty cell,
  so ID numbers reach only those the policy lets see them.
- Values come out in the reader's words (`gettext`); without it, in the message ids (English).
- The summary counts only the form's categories; a child whose value is missing or outside them is not counted in
  that breakdown, so the breakdown no longer adds up to the total, and that is listed as a violation with the rows
  concerned (the 序号 of `official_rows`). Other rules of the form (a disability with its category and grade, an
  entrusted guardian behind "entrusted guardian not able enough") are listed the same way.
Nothing here knows of Telegram or of the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from bot.i18n import N_
from bot.records.fields import (ASSESSMENT, BY_KEY, GUARDIANSHIP_LEVELS, LIST_SEPARATOR, SCHOOLING, display,
                                parse_date)
from storage.children import ChildRow

Gettext = Callable[[str], str]

# Columns that are not record fields: where the child is, the row's number.
SEQ, SCHOOL, CLASS, VILLAGE = "seq", "school", "class", "village"


@dataclass(frozen=True)
class Record:
    child: ChildRow
    fields: dict[str, str]   # field key → stored value, only what the reader may export
    school: str = ""         # the school's name (a ChildRow names its class, not its school)


def _label(key: str) -> str:
    return BY_KEY[key].label


# (key, label) in the form's order: the child; where the child lives and studies; health; each parent; the actual
# guardianship and the entrusted guardian; the guardianship type and its assessment; income and support.
OFFICIAL_COLUMNS: list[tuple[str, str]] = [
    (SEQ, N_("No.")),
    *((k, _label(k)) for k in ("name", "sex", "ethnicity", "birth_date", "id_number", "hukou_registered",
                               "hukou_place", "residence")),
    (VILLAGE, N_("Village")),
    *((k, _label(k)) for k in ("health_status", "disability_category", "disability_grade", "illness")),
    (SCHOOL, N_("School")),
    (CLASS, N_("Class")),
    *((k, _label(k)) for k in ("boarding", "schooling")),
    *((f"{parent}_{k}", _label(f"{parent}_{k}")) for parent in ("father", "mother")
      for k in ("name", "birth_date", "id_number", "province", "city", "phone")),
    *((k, _label(k)) for k in ("guardianship_situation", "entrusted", "guardian_name", "guardian_phone",
                               "guardian_id_number", "guardian_relation", "guardian_address", "guardianship",
                               "guardianship_assessment", "income_sources", "support_received")),
]


def _same(text: str) -> str:
    return text


def official_rows(records: Sequence[Record], gettext: Gettext = _same) -> list[list[str]]:
    """One row per child, in the order given, cells as OFFICIAL_COLUMNS; row i's 序号 is i + 1."""
    rows = []
    for number, record in enumerate(records, start=1):
        computed = {SEQ: str(number), SCHOOL: record.school, CLASS: record.child.class_name,
                    VILLAGE: record.child.village_name}
        row = []
        for key, _label_id in OFFICIAL_COLUMNS:
            if key in computed:
                row.append(computed[key])
                continue
            value = record.fields.get(key, "")
            row.append(display(key, value, gettext) if value else "")
        rows.append(row)
    return rows


def age_on(birth: str, today: date) -> int | None:
    """Full years on `today`; None when the date of birth is missing or unreadable."""
    try:
        born = parse_date(birth)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# The summary's age bands, as the national survey reports them; a left-behind child is under 16.
AGE_BANDS: list[tuple[str, int, int]] = [
    ("0-5", 0, 5),
    ("6-13", 6, 13),
    ("14-15", 14, 15),
]
AGE_LABELS = {"0-5": N_("0–5 years"), "6-13": N_("6–13 years"), "14-15": N_("14–15 years")}


@dataclass(frozen=True)
class _Breakdown:
    title: str                     # message id
    labels: dict[str, str]         # category → message id, in the form's order
    category: Callable[[Record, date], str | None]
    counts: dict[str, int] = field(default_factory=dict)


def _age_band(record: Record, today: date) -> str | None:
    age = age_on(record.fields.get("birth_date", ""), today)
    if age is None:
        return None
    return next((band for band, low, high in AGE_BANDS if low <= age <= high), None)


def _field(key: str) -> Callable[[Record, date], str | None]:
    return lambda record, today: record.fields.get(key) or None


TOTAL = N_("Left-behind children in all")
SUMMARY_LINE = N_("{section}: {category}")
BREAKDOWN_SHORT = N_("{section}: the breakdown adds up to {counted}, not to the total {total}; not counted (row "
                     "{rows})")
OVER_AGE = N_("Aged 16 or over, so not a left-behind child by the form's definition (row {rows})")
DISABILITY_INCOMPLETE = N_("Disabled without the disability's category and grade (row {rows})")
DISABILITY_NOT_DISABLED = N_("A disability category or grade for a child not recorded as disabled (row {rows})")
ENTRUSTED_MISSING = N_("Guardianship type “entrusted guardian not able enough” without an entrusted guardian (row "
                       "{rows})")


def rows_text(numbers: list[int], gettext: Gettext) -> str:
    """"1–40, 43": runs of consecutive rows as ranges, so forty rows read as one."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return gettext(LIST_SEPARATOR).join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def official_summary(records: Sequence[Record], today: date,
                     gettext: Gettext = _same) -> tuple[list[tuple[str, int]], list[str]]:
    """The summary sheet's counts (the total, then age bands, guardianship type, schooling status and assessment,
    each in the form's order) and the cross-check violations, empty when the summary is consistent. Rows named in
    a violation are the 序号 of `official_rows` for the same records in the same order."""
    breakdowns = [
        _Breakdown(N_("Age"), AGE_LABELS, _age_band),
        _Breakdown(BY_KEY["guardianship"].label, GUARDIANSHIP_LEVELS, _field("guardianship")),
        _Breakdown(BY_KEY["schooling"].label, SCHOOLING, _field("schooling")),
        _Breakdown(BY_KEY["guardianship_assessment"].label, ASSESSMENT, _field("guardianship_assessment")),
    ]
    total = len(records)
    missing: dict[str, list[int]] = {b.title: [] for b in breakdowns}
    over_age, incomplete, not_disabled, entrusted_missing = [], [], [], []
    for number, record in enumerate(records, start=1):
        for b in breakdowns:
            category = b.category(record, today)
            if category in b.labels:
                b.counts[category] = b.counts.get(category, 0) + 1
            else:
                missing[b.title].append(number)
        values = record.fields
        age = age_on(values.get("birth_date", ""), today)
        if age is not None and age >= 16:
            over_age.append(number)
        disabled = values.get("health_status") == "disabled"
        details = [values.get("disability_category"), values.get("disability_grade")]
        if disabled and not all(details):
            incomplete.append(number)
        if not disabled and any(details):
            not_disabled.append(number)
        if values.get("guardianship") == "unable" and values.get("entrusted") == "no":
            entrusted_missing.append(number)

    counts = [(gettext(TOTAL), total)]
    violations = []
    for b in breakdowns:
        section = gettext(b.title)
        counts += [(gettext(SUMMARY_LINE).format(section=section, category=gettext(label)), b.counts.get(key, 0))
                   for key, label in b.labels.items()]
        counted = sum(b.counts.values())
        if counted != total:
            violations.append(gettext(BREAKDOWN_SHORT).format(section=section, counted=counted, total=total,
                                                              rows=rows_text(missing[b.title], gettext)))
    for message, numbers in ((OVER_AGE, over_age), (DISABILITY_INCOMPLETE, incomplete),
                             (DISABILITY_NOT_DISABLED, not_disabled), (ENTRUSTED_MISSING, entrusted_missing)):
        if numbers:
            violations.append(gettext(message).format(rows=rows_text(numbers, gettext)))
    return counts, violations
