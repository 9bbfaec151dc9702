"""The seven kinds of care entry and their forms: which fields, which buttons, what a typed answer may be.

A form is filled from a phone in a few presses: most fields offer buttons, and a typed answer is accepted where
buttons cannot say it. Choice values are stored as their keys ("happy"), so every reader sees them in their own
language; typed answers are stored as typed. Knows nothing of Telegram: the handlers draw the buttons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.access.policy import PROXY, TEACHER
from bot.errors import UserError
from bot.i18n import N_

UPDATE, SCORE, GOODNEWS, SUMMARY, TALK = "update", "score", "goodnews", "summary", "talk"
LETTER = "letter"  # 亲情书信: the child's own letter to the parents
VISIT = "visit"    # 家访: a home visit, for the staff unless shared with the family
KINDS = (UPDATE, SCORE, GOODNEWS, SUMMARY, TALK, LETTER, VISIT)

CHOICE, MULTI, TEXT, DATE, GRADE, MONTH = "choice", "multi", "text", "date", "grade", "month"
TEXT_LIMIT = 1000  # a note longer than a phone screen or two is better as a voice note
MAX_PHOTOS = 10    # one album
MAX_VOICES = 3


class BadValue(UserError):
    """A typed answer or a button's value the field cannot take: the msgid says why, the params fill its
    {placeholders}. Nothing was stored."""

    def text(self, gettext) -> str:
        return "⚠️ " + super().text(gettext)


@dataclass(frozen=True)
class Choice:
    key: str
    label: str  # N_


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str                       # N_
    icon: str
    type: str                        # CHOICE | MULTI | TEXT | DATE | GRADE | MONTH
    prompt: str                      # N_: what the person is asked
    choices: tuple[Choice, ...] = ()
    required: bool = False
    typed: bool = True               # may a typed answer stand in for the buttons?

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


@dataclass(frozen=True)
class FormSpec:
    kind: str
    name: str                        # N_: "update", "test score"…
    icon: str
    fields: tuple[FieldSpec, ...]
    media: bool                      # takes photos and voice notes
    # Asked one after another (a score needs all its parts); otherwise the person picks what to fill.
    sequential: bool
    # Where a typed text goes when no field is awaited, and a photo's caption.
    note: str | None
    writers: frozenset[str] = frozenset({PROXY, TEACHER})

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)


MOODS = (Choice("happy", N_("😊 happy")), Choice("calm", N_("🙂 calm")), Choice("sad", N_("😢 sad")),
         Choice("worried", N_("😟 worried")), Choice("angry", N_("😠 angry")))
_DAYS = (Choice("today", N_("Today")), Choice("yesterday", N_("Yesterday")))
_NONE = (Choice("none", N_("Nothing")),)

SHARED, NOT_SHARED = "yes", "no"  # a home visit's "shared" field

_NOTE = FieldSpec("note", N_("Note"), "📝", TEXT, N_("Write a few words, or send a voice note."))

FORMS: dict[str, FormSpec] = {
    UPDATE: FormSpec(UPDATE, N_("update"), "📒", (
        FieldSpec("study", N_("Study"), "📚", CHOICE, N_("How is the study going? Choose, or type a few words."),
                  (Choice("well", N_("Doing well")), Choice("progress", N_("Making progress")),
                   Choice("help", N_("Needs encouragement")))),
        FieldSpec("life", N_("Daily life"), "🏠", CHOICE,
                  N_("How is daily life (meals, sleep, chores)? Choose, or type a few words."),
                  (Choice("good", N_("Eats and sleeps well")), Choice("usual", N_("As usual")),
                   Choice("trouble", N_("Some trouble")))),
        FieldSpec("mood", N_("Mood"), "🙂", CHOICE, N_("How is the child feeling?"), MOODS, typed=False),
        FieldSpec("health", N_("Health"), "🩺", CHOICE, N_("How is the child's health? Choose, or type."),
                  (Choice("well", N_("Healthy")), Choice("cold", N_("Has a cold")), Choice("ill", N_("Unwell")))),
        _NOTE,
    ), media=True, sequential=False, note="note"),
    SCORE: FormSpec(SCORE, N_("test score"), "📝", (
        FieldSpec("subject", N_("Subject"), "📘", CHOICE, N_("Which subject? Choose, or type its name."),
                  (Choice("chinese", N_("Chinese")), Choice("maths", N_("Maths")), Choice("english", N_("English")),
                   Choice("science", N_("Science"))), required=True),
        FieldSpec("score", N_("Score"), "💯", GRADE,
                  N_("Type the score (for example 92, or 92/100) or the grade (A, 优, 良, 合格)."), required=True),
        FieldSpec("test", N_("Test"), "🗒", CHOICE, N_("Which test? Choose, or type its name."),
                  (Choice("unit", N_("Unit test")), Choice("monthly", N_("Monthly test")),
                   Choice("midterm", N_("Midterm exam")), Choice("final", N_("Final exam"))), required=True),
        FieldSpec("date", N_("Date"), "📅", DATE, N_("When was the test? Choose, or type the date (11-20)."), _DAYS,
                  required=True),
        FieldSpec("evaluation", N_("Teacher's comment"), "💬", TEXT,
                  N_("The class evaluation or the teacher's comment, if any."), _NONE),
    ), media=False, sequential=True, note=None),
    GOODNEWS: FormSpec(GOODNEWS, N_("good news"), "🎉", (
        FieldSpec("note", N_("Good news"), "🎉", TEXT,
                  N_("What is the good news? Write it, or send a voice note or photos.")),
    ), media=True, sequential=False, note="note"),
    SUMMARY: FormSpec(SUMMARY, N_("monthly summary"), "🗓", (
        FieldSpec("month", N_("Month"), "🗓", MONTH, N_("Which month?"),
                  (Choice("this", N_("This month")), Choice("last", N_("Last month"))), required=True, typed=False),
        FieldSpec("note", N_("Summary"), "📝", TEXT,
                  N_("How was the month? The updates, photos and scores above are included; add your words "
                     "(or a voice note)."), required=True),
    ), media=True, sequential=True, note="note"),
    TALK: FormSpec(TALK, N_("talk record"), "💬", (
        FieldSpec("date", N_("Date"), "📅", DATE, N_("When was the talk? Choose, or type the date (11-20)."), _DAYS,
                  required=True),
        FieldSpec("topics", N_("Topics"), "🗂", MULTI, N_("What did you talk about? Choose one or more "
                                                         "(then a Done button appears); or type."),
                  (Choice("study", N_("Study")), Choice("friends", N_("Friends")), Choice("family", N_("Family")),
                   Choice("feelings", N_("Feelings")), Choice("safety", N_("Safety")),
                   Choice("health", N_("Health"))), required=True),
        FieldSpec("mood", N_("Mood"), "🙂", CHOICE, N_("How did the child seem?"), MOODS, required=True, typed=False),
        FieldSpec("concerns", N_("Concerns"), "⚠️", TEXT, N_("Anything that worries you? Type it, or choose."), _NONE),
        FieldSpec("followup", N_("Follow-up"), "➡️", TEXT, N_("What will you do next? Type it, or choose."), _NONE),
    ), media=False, sequential=True, note=None),
    # The letter is the photos of the child's handwritten pages (and perhaps the child reading it aloud); the
    # note is only the carer's few words around it.
    LETTER: FormSpec(LETTER, N_("letter"), "✉️", (
        FieldSpec("note", N_("Note"), "✉️", TEXT,
                  N_("Send photos of the child's handwritten letter, and a voice note of the child reading it "
                     "aloud if you like. You may add a few words.")),
    ), media=True, sequential=False, note="note"),
    # A home visit: who went (the author unless typed otherwise), whom they met, what they found (typed, or the
    # voice notes), what was agreed, photos of the home. Staff only unless "shared" is set (bot.access.policy).
    VISIT: FormSpec(VISIT, N_("home visit"), "🏡", (
        FieldSpec("date", N_("Date"), "📅", DATE, N_("When was the visit? Choose, or type the date (11-20)."), _DAYS),
        FieldSpec("visitors", N_("Who went"), "🚶", TEXT, N_("Who went on the visit? Type the names.")),
        FieldSpec("met", N_("Met"), "👥", MULTI, N_("Whom did you meet? Choose one or more (then a Done button "
                                                  "appears); or type."),
                  (Choice("grandparents", N_("Grandparents")), Choice("parents", N_("Parents")),
                   Choice("relatives", N_("Other relatives")), Choice("child", N_("The child"))), required=True),
        FieldSpec("found", N_("Found"), "🔎", TEXT, N_("What did you find (the home, the child, the guardian's "
                                                     "care)? Type it, or send a voice note.")),
        FieldSpec("agreed", N_("Agreed"), "🤝", TEXT, N_("What was agreed with the family? Type it.")),
        FieldSpec("shared", N_("Who reads it"), "🔐", CHOICE, N_("Share this record with the family? Only the "
                                                               "staff see it unless you choose to share it."),
                  (Choice(NOT_SHARED, N_("🔒 Staff only")), Choice(SHARED, N_("👪 Staff and family"))),
                  typed=False),
    ), media=True, sequential=False, note="found"),
}

_GRADES = ("A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D", "E", "F",
           "优", "优秀", "良", "良好", "中", "中等", "及格", "合格", "不及格", "不合格", "差", "待提高")
_NUMBER = re.compile(r"^(\d{1,3}(?:\.\d)?)\s*(?:分)?(?:\s*/\s*(\d{1,3}))?\s*(?:分)?$")
_DATE_FORMS = (
    re.compile(r"^(?P<y>\d{4})[-./年](?P<m>\d{1,2})[-./月](?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<m>\d{1,2})[-./月](?P<d>\d{1,2})日?$"),
)


def typed_value(spec: FieldSpec, raw: str, today: date) -> str | list[str]:
    """A typed answer, checked and normalised; raises BadValue with a message for the person."""
    text = raw.strip()
    if not text:
        raise BadValue(N_("That was empty. Type an answer or use the buttons."))
    if not spec.typed:
        raise BadValue(N_("Please choose one of the buttons."))
    if spec.type == DATE:
        return parse_date(text, today).isoformat()
    if spec.type == GRADE:
        return parse_grade(text)
    if len(text) > TEXT_LIMIT:
        raise BadValue(N_("That is too long ({length} characters; at most {limit}). A voice note can say more."),
                       length=len(text), limit=TEXT_LIMIT)
    if spec.type == MULTI:
        return [text]
    return text


def chosen_value(spec: FieldSpec, key: str, today: date) -> str:
    """The value a button stands for: a choice's key, or the date or month it names."""
    if spec.choice(key) is None:
        raise BadValue(N_("That button is no longer valid."))
    if spec.type == DATE:
        return (today if key == "today" else today - timedelta(days=1)).isoformat()
    if spec.type == MONTH:
        first = today.replace(day=1)
        return (first if key == "this" else (first - timedelta(days=1)).replace(day=1)).strftime("%Y-%m")
    return key


def parse_date(text: str, today: date) -> date:
    """"2026-11-20", "11-20", "11月20日", "11/20"; a date without a year is the latest one not after today."""
    for form in _DATE_FORMS:
        found = form.match(text.replace(" ", ""))
        if found is None:
            continue
        parts = found.groupdict()
        year = int(parts["y"]) if parts.get("y") else today.year
        try:
            day = date(year, int(parts["m"]), int(parts["d"]))
        except ValueError:
            raise BadValue(N_("There is no such date: {text}."), text=text) from None
        if not parts.get("y") and day > today:
            try:
                day = day.replace(year=year - 1)
            except ValueError:  # 29 February typed in a year after a leap year
                raise BadValue(N_("There is no such date: {text}."), text=text) from None
        if day > today:
            raise BadValue(N_("That date is in the future."))
        if day < today - timedelta(days=366):
            raise BadValue(N_("That date is more than a year ago."))
        return day
    raise BadValue(N_("Type the date as month-day, for example 11-20 or 11月20日."))


def parse_grade(text: str) -> str:
    """A score ("92", "92.5", "92/100", "92分") or a grade ("A", "优"); returned as it should be shown."""
    compact = text.replace(" ", "")
    upper = compact.upper()
    if upper in _GRADES or compact in _GRADES:
        return upper if upper in _GRADES else compact
    found = _NUMBER.match(compact)
    if found is None:
        raise BadValue(N_("Type a score such as 92 or 92/100, or a grade such as A or 优."))
    score, total = float(found.group(1)), found.group(2)
    limit = int(total) if total else 150  # Chinese and maths papers often have 120 or 150 points
    if total and not 0 < limit <= 200:
        raise BadValue(N_("Type a score such as 92 or 92/100, or a grade such as A or 优."))
    if score > limit:
        raise BadValue(N_("{score} is more than the full mark {full}."), score=found.group(1), full=limit)
    shown = found.group(1)
    return f"{shown}/{total}" if total else shown


def for_family(kind: str, fields: dict) -> bool:
    """May the child's family read this entry? Every kind but a home visit not marked shared."""
    return kind != VISIT or fields.get("shared") == SHARED


def missing(spec: FormSpec, fields: dict) -> list[FieldSpec]:
    return [f for f in spec.fields if f.required and not fields.get(f.key)]


def next_field(spec: FormSpec, fields: dict) -> FieldSpec | None:
    """In a sequential form, the next field to ask: the first not yet answered (optional fields offer a
    "Nothing" button, so every field gets an answer)."""
    if not spec.sequential:
        return None
    return next((f for f in spec.fields if not fields.get(f.key)), None)
