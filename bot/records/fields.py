"""The child's record (一人一档, 联系卡): which fields it has, how each is checked, and its field groups.

Field groups are what the access policy speaks of (who may view or edit what); the values are stored
as text, already normalised (phones in E.164, dates in ISO form). Labels are message ids, translated
where shown. Nothing here knows of Telegram or of the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import phonenumbers

from bot.errors import UserError
from bot.i18n import N_
from bot.names import has_unseen


# Field groups, from least to most sensitive.
IDENTITY = "identity"          # name, sex, birth date, ethnicity, boarding
CARE = "care"                  # personality, interests, health as it matters for care
FAMILY = "family"              # parents' and guardian's names, relation, where the parents work
CONTACTS = "contacts"          # phones, addresses, employers: reached through the bot, not shared
GUARDIANSHIP = "guardianship"  # how well the child is looked after
ID_NUMBER = "id_number"        # the mainland resident ID number
SUPPORT = "support"            # support received (低保, aid)
GROUPS = (IDENTITY, CARE, FAMILY, CONTACTS, GUARDIANSHIP, ID_NUMBER, SUPPORT)

GROUP_LABELS = {
    IDENTITY: N_("Basic information"),
    CARE: N_("Personality, interests and health"),
    FAMILY: N_("Family"),
    CONTACTS: N_("Contact details"),
    GUARDIANSHIP: N_("Guardianship"),
    ID_NUMBER: N_("ID number"),
    SUPPORT: N_("Support received"),
}

TEXT, PHONE, DATE, CHOICE, NUMBER, ID_CARD = "text", "phone", "date", "choice", "number", "id_card"


@dataclass(frozen=True)
class Field:
    key: str
    group: str
    label: str          # message id
    kind: str = TEXT
    required: bool = False
    # For CHOICE: stored value → label (message id); the words people type are in CHOICE_WORDS.
    choices: dict[str, str] = field(default_factory=dict)
    max_length: int = 200


SEX = {"male": N_("boy"), "female": N_("girl")}
YES_NO = {"yes": N_("yes"), "no": N_("no")}
GUARDIANSHIP_LEVELS = {
    "good": N_("good"),
    "adequate": N_("adequate"),
    "unable": N_("guardian unable to care"),
    "unsupervised": N_("unsupervised"),
}

FIELDS: tuple[Field, ...] = (
    Field("name", IDENTITY, N_("Name"), required=True, max_length=40),
    Field("sex", IDENTITY, N_("Sex"), CHOICE, choices=SEX),
    Field("birth_date", IDENTITY, N_("Date of birth"), DATE),
    Field("ethnicity", IDENTITY, N_("Ethnicity"), max_length=20),
    Field("boarding", IDENTITY, N_("Boarding at school"), CHOICE, choices=YES_NO),
    Field("id_number", ID_NUMBER, N_("ID number"), ID_CARD),
    Field("personality", CARE, N_("Personality")),
    Field("interests", CARE, N_("Interests")),
    Field("health", CARE, N_("Health (what matters for care and emergencies)")),
    Field("father_name", FAMILY, N_("Father's name"), max_length=40),
    Field("father_city", FAMILY, N_("Father works in (city)"), max_length=40),
    Field("father_phone", CONTACTS, N_("Father's phone"), PHONE),
    Field("father_address", CONTACTS, N_("Father's address")),
    Field("father_employer", CONTACTS, N_("Father's employer")),
    Field("mother_name", FAMILY, N_("Mother's name"), max_length=40),
    Field("mother_city", FAMILY, N_("Mother works in (city)"), max_length=40),
    Field("mother_phone", CONTACTS, N_("Mother's phone"), PHONE),
    Field("mother_address", CONTACTS, N_("Mother's address")),
    Field("mother_employer", CONTACTS, N_("Mother's employer")),
    Field("guardian_name", FAMILY, N_("Guardian's name"), max_length=40),
    Field("guardian_relation", FAMILY, N_("Guardian's relation to the child"), max_length=20),
    Field("guardian_age", FAMILY, N_("Guardian's age"), NUMBER),
    Field("guardian_health", FAMILY, N_("Guardian's health")),
    Field("guardian_occupation", FAMILY, N_("Guardian's occupation"), max_length=40),
    Field("guardian_phone", CONTACTS, N_("Guardian's phone"), PHONE),
    Field("guardian_address", CONTACTS, N_("Guardian's address")),
    Field("guardianship", GUARDIANSHIP, N_("Guardianship situation"), CHOICE, choices=GUARDIANSHIP_LEVELS),
    Field("support", SUPPORT, N_("Support received (低保, aid)")),
)
BY_KEY = {f.key: f for f in FIELDS}
# People's names: kept in NFC as every text is, and refused with a character nobody sees (bot.names).
NAME_KEYS = frozenset({"name", "father_name", "mother_name", "guardian_name"})

# What people type or what a roster holds, mapped to stored choice values (both languages).
CHOICE_WORDS: dict[str, dict[str, str]] = {
    "sex": {"男": "male", "男孩": "male", "男生": "male", "m": "male", "male": "male", "boy": "male",
            "女": "female", "女孩": "female", "女生": "female", "f": "female", "female": "female", "girl": "female"},
    "boarding": {"是": "yes", "住校": "yes", "寄宿": "yes", "yes": "yes", "y": "yes",
                 "否": "no", "不住校": "no", "走读": "no", "no": "no", "n": "no"},
    "guardianship": {"良好": "good", "好": "good", "good": "good", "一般": "adequate", "adequate": "adequate",
                     "监护人无力": "unable", "监护人无监护能力": "unable", "无力监护": "unable", "unable": "unable",
                     "无人监护": "unsupervised", "unsupervised": "unsupervised"},
}

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID = re.compile(r"^\d{17}[\dX]$")
_DATE_FORMS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


class FieldError(UserError):
    """A value a person gave does not fit the field. `code` picks the reason (ERROR_MESSAGES), which is the
    refusal's text; where a dialogue asks again, the handler puts the field's label around it."""

    def __init__(self, key: str, code: str, **params: object) -> None:
        super().__init__(ERROR_MESSAGES.get(code, ERROR_MESSAGES["unknown_field"]), **params)
        self.key = key
        self.code = code


def id_number_is_valid(value: str) -> bool:
    """GB 11643: 17 digits, a weighted check character, and a real date of birth inside."""
    if not _ID.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], ID_WEIGHTS))
    if ID_CHECK[total % 11] != value[17]:
        return False
    try:
        datetime.strptime(value[6:14], "%Y%m%d")
    except ValueError:
        return False
    return True


def parse_date(raw: object) -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    for form in _DATE_FORMS:
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            continue
    raise ValueError(text)


def normalise(key: str, raw: object, *, today: date, region: str = "CN") -> str:
    """The stored form of a value, or FieldError. Empty input clears an optional field ('')."""
    spec = BY_KEY.get(key)
    if spec is None:
        raise FieldError(key, "unknown_field")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # spreadsheets store phone numbers and ages as floats
    text = "" if raw is None else (raw if isinstance(raw, (date, datetime)) else str(raw).strip())
    if text == "":
        if spec.required:
            raise FieldError(key, "required")
        return ""
    if spec.kind == PHONE:
        try:
            number = phonenumbers.parse(str(text), region)
        except phonenumbers.NumberParseException:
            raise FieldError(key, "phone") from None
        if not phonenumbers.is_valid_number(number):
            raise FieldError(key, "phone")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if spec.kind == DATE:
        try:
            value = parse_date(text)
        except ValueError:
            raise FieldError(key, "date") from None
        if value > today or value.year < today.year - 25:
            raise FieldError(key, "date_range")
        return value.isoformat()
    if spec.kind == ID_CARD:
        value = str(text).upper().replace(" ", "")
        if not id_number_is_valid(value):
            raise FieldError(key, "id_number")
        return value
    if spec.kind == NUMBER:
        if not str(text).isdigit() or not 10 <= int(text) <= 120:
            raise FieldError(key, "age")
        return str(int(text))
    if spec.kind == CHOICE:
        word = str(text).strip().lower()
        value = CHOICE_WORDS.get(key, {}).get(word) or (word if word in spec.choices else None)
        if value is None:
            raise FieldError(key, "choice")
        return value
    value = " ".join(unicodedata.normalize("NFC", str(text)).split())
    if key in NAME_KEYS and has_unseen(value):
        raise FieldError(key, "invisible")
    if len(value) > spec.max_length:
        raise FieldError(key, "too_long", limit=spec.max_length)
    return value


def display(key: str, value: str, gettext) -> str:
    """A stored value as a person reads it (choices translated; the rest as stored)."""
    spec = BY_KEY[key]
    if spec.kind == CHOICE and value in spec.choices:
        return gettext(spec.choices[value])
    if spec.kind == PHONE and value:
        return phonenumbers.format_number(phonenumbers.parse(value), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return value


# Why a value was refused, per FieldError code: shown to the person who typed it, in their language.
ERROR_MESSAGES = {
    "required": N_("this is required"),
    "phone": N_("not a valid phone number (for example 13800138000)"),
    "date": N_("not a date (write it like 2016-05-01)"),
    "date_range": N_("the date is in the future or too long ago"),
    "id_number": N_("not a valid ID number (18 characters; the last one is a check digit)"),
    "age": N_("not an age (a whole number)"),
    "choice": N_("not one of the choices"),
    "too_long": N_("too long (at most {limit} characters)"),
    "duplicate": N_("a child with this name and date of birth is already on the roll"),
    "unknown_field": N_("no such field"),
    "invisible": N_("a name cannot hold invisible characters (control, zero-width or text-direction marks)"),
}
