"""How a care entry reads: the card a parent receives, the form being filled, a line of the timeline. Plain
text in the reader's language; values chosen from buttons are translated, typed ones shown as typed."""

from __future__ import annotations

from datetime import date

from babel import Locale
from babel.dates import format_skeleton

from bot.musts import tracker as musts
from bot.musts.forms import DATE, FORMS, GRADE, MONTH, MULTI, SCORE, SUMMARY, TALK, FieldSpec, FormSpec
from bot.i18n import N_
from bot.access.policy import FACT, FULL, ROLE_LABELS

SUBJECT_LABELS = {c.key: c.label for c in FORMS[SCORE].field("subject").choices}
TEST_LABELS = {c.key: c.label for c in FORMS[SCORE].field("test").choices}
# In a timeline several entries share a message: long words are cut there (the full card was delivered).
TIMELINE_VALUE = 160


def day_text(day: str | date, locale: str) -> str:
    """"11月20日" / "Nov 20"."""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return format_skeleton("MMMd", value, locale=Locale.parse(locale))


def month_text(period: str, locale: str) -> str:
    """"2026年11月" / "Nov 2026"."""
    return format_skeleton("yMMM", date.fromisoformat(f"{period}-01"), locale=Locale.parse(locale))


def value_text(_, spec: FieldSpec, value, locale: str) -> str:
    if spec.type == DATE:
        return day_text(value, locale)
    if spec.type == MONTH:
        return month_text(value, locale)
    if spec.type == GRADE:
        return str(value)
    values = value if isinstance(value, list) else [value]
    shown = []
    for item in values:
        choice = spec.choice(item)
        shown.append(_(choice.label) if choice else str(item))
    return (_(", ") if spec.type == MULTI else "").join(shown)


def field_lines(_, spec: FormSpec, fields: dict, locale: str, limit: int | None = None) -> list[str]:
    lines = []
    for field in spec.fields:
        value = fields.get(field.key)
        if not value or field.type == MONTH:
            continue
        text = value_text(_, field, value, locale)
        if limit is not None and len(text) > limit:
            text = text[:limit] + "…"
        lines.append(_("{icon} {label}: {value}").format(icon=field.icon, label=_(field.label), value=text))
    return lines


def title(_, kind: str, child: str, when: str, locale: str, period: str | None = None) -> str:
    spec = FORMS[kind]
    what = _("{child}'s {what}").format(child=child, what=_(spec.name))
    shown = month_text(period, locale) if kind == SUMMARY and period else day_text(when, locale)
    return f"{spec.icon} {what} · {shown}"


def author_line(_, role: str, name: str) -> str:
    return _("{role} {name}").format(role=_(ROLE_LABELS.get(role, role)), name=name)


def media_line(_, photos: int, voices: int) -> str | None:
    parts = []
    if photos:
        parts.append(_("📷 {n} photo").format(n=photos) if photos == 1 else _("📷 {n} photos").format(n=photos))
    if voices:
        parts.append(_("🎤 {n} voice note").format(n=voices) if voices == 1
                     else _("🎤 {n} voice notes").format(n=voices))
    return " · ".join(parts) or None


def facts_lines(_, facts: dict, locale: str, period: str | None = None) -> list[str]:
    """A summary's month in numbers, gathered when it was written, labelled with the month it is about (last
    month's summary is not "this month")."""
    lines = [_("{month}: updates {updates} · photos {photos} · good news {goodnews}").format(
        month=month_text(period, locale) if period else _("This month"),
        updates=facts.get("updates", 0), photos=facts.get("photos", 0), goodnews=facts.get("goodnews", 0))]
    for score in facts.get("scores", []):
        subject = SUBJECT_LABELS.get(score["subject"])
        test = TEST_LABELS.get(score["test"])
        lines.append(_("💯 {subject} {score} ({test}, {day})").format(
            subject=_(subject) if subject else score["subject"], score=score["score"],
            test=_(test) if test else score["test"], day=day_text(score["date"], locale)))
    return lines


def card(_, kind: str, child: str, occurred_on: str, period: str | None, body: dict, author_role: str,
         author_name: str, locale: str, photos: int = 0, voices: int = 0, *, access: str = FULL,
         limit: int | None = None) -> str:
    """The whole entry as one text. With FACT access (a parent and a talk record) only that it took place."""
    if kind == TALK and access == FACT:
        return _("💬 {author} had a talk with {child} on {day}.").format(
            author=author_line(_, author_role, author_name), child=child, day=day_text(occurred_on, locale))
    spec = FORMS[kind]
    lines = [title(_, kind, child, occurred_on, locale, period), author_line(_, author_role, author_name)]
    if kind == SUMMARY and body.get("facts"):
        lines += facts_lines(_, body["facts"], locale, period)
    lines += field_lines(_, spec, body.get("fields", {}), locale, limit)
    extra = media_line(_, photos, voices)
    if extra:
        lines.append(extra)
    return "\n".join(lines)



# -- the five musts (/due, and the weekly digest of the care calendar) ---------------------------------------

DONE_MARK, DUE_MARK, OVERDUE_MARK, NOT_YET_MARK = "✅", "⏰", "❗", "➖"
# The teacher's table has a column each; the words are short for a phone's width.
MUST_LABELS = {musts.UPDATE: N_("Update"), musts.PHOTOS: N_("Photos"), musts.SUMMARY: N_("Summary"),
               musts.TALK: N_("Talk"), musts.LETTER: N_("Letter"), musts.VISIT: N_("Visit")}
_MARKS = {musts.DONE: DONE_MARK, musts.DUE: DUE_MARK, musts.OVERDUE: OVERDUE_MARK}


def must_line(_, must: musts.Must, locale: str, days: int) -> str:
    label = {musts.UPDATE: _("Update (every {days} days)").format(days=days),
             musts.PHOTOS: _("Photos this month"), musts.SUMMARY: _("Monthly summary"),
             musts.TALK: _("Talk this month"), musts.LETTER: _("Child's letter this semester"),
             musts.VISIT: _("Home visit this semester")}[must.key]
    if must.flagged:
        label = _("⚠️ Needs a home visit this month (guardianship assessed poor)")
    progress = f" {must.done}/{must.needed}" if must.key in (musts.PHOTOS, musts.TALK, musts.LETTER,
                                                             musts.VISIT) else ""
    if must.state == musts.DONE:
        detail = _("last {day}").format(day=day_text(must.last, locale)) if must.last else ""
    elif must.state == musts.DUE:
        detail = _("by {day}").format(day=day_text(must.deadline, locale))
    else:
        detail = _("was due {day}").format(day=day_text(must.deadline, locale))
    return f"{must_mark(must)} {label}{progress}" + (f" · {detail}" if detail else "")


def must_mark(must: musts.Must) -> str:
    """Nothing owed yet and nothing done (a new pairing's first update) is not "done"."""
    if must.state == musts.DONE and must.last is None and must.done < must.needed:
        return NOT_YET_MARK
    return _MARKS[must.state]
