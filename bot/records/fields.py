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
IDENTITY = "identity"          # name, sex, birth date, ethnicity, household registration, boarding, schooling
CARE = "care"                  # personality, interests, health as it matters for care
FAMILY = "family"              # parents' and guardian's names, relation, where the parents work
CONTACTS = "contacts"          # phones, addresses, employers: reached through the bot, not shared
GUARDIANSHIP = "guardianship"  # how well the child is looked after
ID_NUMBER = "id_number"        # mainland resident ID numbers: the child's, the parents', the guardian's
SUPPORT = "support"            # income sources, support received (低保, aid)
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
# Several of a closed set of choices (the form's "income sources", "support received"): stored as the choice keys
# in the order they are declared, joined by commas ("dibao,medical").
MULTI = "multi"


@dataclass(frozen=True)
class Field:
    key: str
    group: str
    label: str          # message id
    kind: str = TEXT
    required: bool = False
    # For CHOICE and MULTI: stored value → label (message id); the words people type are in CHOICE_WORDS.
    choices: dict[str, str] = field(default_factory=dict)
    max_length: int = 200
    # For DATE: how many years back a date may lie (a child's birth 25, a parent's 100).
    oldest: int = 25


SEX = {"male": N_("boy"), "female": N_("girl")}
YES_NO = {"yes": N_("yes"), "no": N_("no")}
# The guardianship type of the 2016 registration form (监护类型). The keys of the first four are the ones this
# field always had ("unable" was the guardian who cannot care: the form's entrusted guardian not able enough), so
# stored values keep their meaning; "parent_unable" is the form's father or mother unable to be guardian.
GUARDIANSHIP_LEVELS = {
    "unsupervised": N_("no one supervises the child"),
    "parent_unable": N_("father or mother unable to be guardian"),
    "unable": N_("entrusted guardian not able enough to care"),
    "adequate": N_("guardianship fair"),
    "good": N_("guardianship good"),
}
# The assessment of the guardianship (较好 / 一般 / 差); a child assessed poor is flagged for visits.
ASSESSMENT = {"good": N_("good"), "fair": N_("fair"), "poor": N_("poor")}
# The actual guardianship situation: who is away, and, when one parent stays, that this parent cannot be guardian.
GUARDIANSHIP_SITUATIONS = {
    "both_away": N_("both parents work away"),
    "father_away": N_("father works away, mother unable to be guardian"),
    "mother_away": N_("mother works away, father unable to be guardian"),
}
HEALTH_STATUS = {"healthy": N_("healthy"), "disabled": N_("disabled"), "ill": N_("ill")}
# The seven categories and four grades of the disability certificate (残疾人证, GB/T 26341).
DISABILITY_CATEGORIES = {
    "visual": N_("visual"), "hearing": N_("hearing"), "speech": N_("speech"), "physical": N_("physical"),
    "intellectual": N_("intellectual"), "mental": N_("mental"), "multiple": N_("multiple"),
}
DISABILITY_GRADES = {"grade1": N_("grade 1"), "grade2": N_("grade 2"), "grade3": N_("grade 3"),
                     "grade4": N_("grade 4")}
SCHOOLING = {
    "preschool": N_("preschool"), "primary": N_("primary school"), "junior": N_("junior secondary school"),
    "dropout": N_("out of school (dropped out)"), "other": N_("other"),
}
INCOME_SOURCES = {
    "wages": N_("wages from work away"), "farming": N_("farming"), "business": N_("own business"),
    "welfare": N_("public assistance"), "other": N_("other"),
}
SUPPORT_KINDS = {
    "dibao": N_("minimum living allowance (低保)"), "temporary": N_("temporary assistance"),
    "medical": N_("medical assistance"), "housing": N_("housing assistance"), "other": N_("other"),
}
# How a MULTI field's values are joined when shown: "、" in Chinese.
LIST_SEPARATOR = N_(", ")

FIELDS: tuple[Field, ...] = (
    Field("name", IDENTITY, N_("Name"), required=True, max_length=40),
    Field("sex", IDENTITY, N_("Sex"), CHOICE, choices=SEX),
    Field("birth_date", IDENTITY, N_("Date of birth"), DATE),
    Field("ethnicity", IDENTITY, N_("Ethnicity"), max_length=20),
    Field("hukou_registered", IDENTITY, N_("Household registered (户口)"), CHOICE, choices=YES_NO),
    Field("hukou_place", IDENTITY, N_("Place of household registration"), max_length=100),
    Field("boarding", IDENTITY, N_("Boarding at school"), CHOICE, choices=YES_NO),
    Field("schooling", IDENTITY, N_("Schooling"), CHOICE, choices=SCHOOLING),
    Field("id_number", ID_NUMBER, N_("ID number"), ID_CARD),
    Field("personality", CARE, N_("Personality")),
    Field("interests", CARE, N_("Interests")),
    Field("health", CARE, N_("Health (what matters for care and emergencies)")),
    Field("health_status", CARE, N_("Health status"), CHOICE, choices=HEALTH_STATUS),
    Field("disability_category", CARE, N_("Disability category"), CHOICE, choices=DISABILITY_CATEGORIES),
    Field("disability_grade", CARE, N_("Disability grade"), CHOICE, choices=DISABILITY_GRADES),
    Field("illness", CARE, N_("Illness (type)"), max_length=60),
    Field("residence", CONTACTS, N_("Current residence")),
    Field("father_name", FAMILY, N_("Father's name"), max_length=40),
    Field("father_birth_date", FAMILY, N_("Father's date of birth"), DATE, oldest=100),
    Field("father_province", FAMILY, N_("Father works in (province)"), max_length=20),
    Field("father_city", FAMILY, N_("Father works in (city)"), max_length=40),
    Field("father_id_number", ID_NUMBER, N_("Father's ID number"), ID_CARD),
    Field("father_phone", CONTACTS, N_("Father's phone"), PHONE),
    Field("father_address", CONTACTS, N_("Father's address")),
    Field("father_employer", CONTACTS, N_("Father's employer")),
    Field("mother_name", FAMILY, N_("Mother's name"), max_length=40),
    Field("mother_birth_date", FAMILY, N_("Mother's date of birth"), DATE, oldest=100),
    Field("mother_province", FAMILY, N_("Mother works in (province)"), max_length=20),
    Field("mother_city", FAMILY, N_("Mother works in (city)"), max_length=40),
    Field("mother_id_number", ID_NUMBER, N_("Mother's ID number"), ID_CARD),
    Field("mother_phone", CONTACTS, N_("Mother's phone"), PHONE),
    Field("mother_address", CONTACTS, N_("Mother's address")),
    Field("mother_employer", CONTACTS, N_("Mother's employer")),
    Field("guardianship_situation", GUARDIANSHIP, N_("Actual guardianship situation"), CHOICE,
          choices=GUARDIANSHIP_SITUATIONS),
    Field("entrusted", GUARDIANSHIP, N_("Entrusted to a guardian"), CHOICE, choices=YES_NO),
    Field("guardian_name", FAMILY, N_("Guardian's name"), max_length=40),
    Field("guardian_relation", FAMILY, N_("Guardian's relation to the child"), max_length=20),
    Field("guardian_age", FAMILY, N_("Guardian's age"), NUMBER),
    Field("guardian_health", FAMILY, N_("Guardian's health")),
    Field("guardian_occupation", FAMILY, N_("Guardian's occupation"), max_length=40),
    Field("guardian_id_number", ID_NUMBER, N_("Guardian's ID number"), ID_CARD),
    Field("guardian_phone", CONTACTS, N_("Guardian's phone"), PHONE),
    Field("guardian_address", CONTACTS, N_("Guardian's address")),
    Field("guardianship", GUARDIANSHIP, N_("Guardianship type"), CHOICE, choices=GUARDIANSHIP_LEVELS),
    Field("guardianship_assessment", GUARDIANSHIP, N_("Guardianship assessment"), CHOICE, choices=ASSESSMENT),
    Field("income_sources", SUPPORT, N_("Family income sources"), MULTI, choices=INCOME_SOURCES),
    Field("support_received", SUPPORT, N_("Support received"), MULTI, choices=SUPPORT_KINDS),
    Field("support", SUPPORT, N_("Support received (details)")),
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
    "hukou_registered": {"是": "yes", "已登记": "yes", "已落户": "yes", "yes": "yes", "y": "yes",
                         "否": "no", "未登记": "no", "未落户": "no", "no": "no", "n": "no"},
    "entrusted": {"是": "yes", "委托": "yes", "已委托": "yes", "yes": "yes", "y": "yes",
                  "否": "no", "未委托": "no", "无": "no", "no": "no", "n": "no"},
    "schooling": {"学前": "preschool", "学龄前": "preschool", "学前教育": "preschool", "小学": "primary",
                  "初中": "junior", "失学辍学": "dropout", "辍学": "dropout", "失学": "dropout", "其他": "other"},
    "health_status": {"健康": "healthy", "残疾": "disabled", "患病": "ill", "有病": "ill"},
    "disability_category": {"视力": "visual", "视力残疾": "visual", "听力": "hearing", "听力残疾": "hearing",
                            "言语": "speech", "言语残疾": "speech", "肢体": "physical", "肢体残疾": "physical",
                            "智力": "intellectual", "智力残疾": "intellectual", "精神": "mental",
                            "精神残疾": "mental", "多重": "multiple", "多重残疾": "multiple"},
    "disability_grade": {"一级": "grade1", "二级": "grade2", "三级": "grade3", "四级": "grade4",
                         "1": "grade1", "2": "grade2", "3": "grade3", "4": "grade4"},
    "guardianship_situation": {"父母均外出务工": "both_away", "父母均外出": "both_away",
                               "父亲外出务工、母亲无监护能力": "father_away", "父亲外出": "father_away",
                               "母亲外出务工、父亲无监护能力": "mother_away", "母亲外出": "mother_away"},
    # The form's words first; the words this field accepted before it followed the form still mean the same.
    "guardianship": {"监护情况较好": "good", "较好": "good", "良好": "good", "好": "good", "good": "good",
                     "监护情况一般": "adequate", "一般": "adequate", "adequate": "adequate",
                     "受委托监护人监护能力不足": "unable", "监护人无力": "unable", "监护人无监护能力": "unable",
                     "无力监护": "unable", "unable": "unable",
                     "父或母无监护能力": "parent_unable", "父母无监护能力": "parent_unable",
                     "无人监护": "unsupervised", "unsupervised": "unsupervised"},
    "guardianship_assessment": {"较好": "good", "好": "good", "良好": "good", "一般": "fair", "差": "poor",
                                "较差": "poor"},
    "income_sources": {"务工收入": "wages", "务工": "wages", "务农收入": "farming", "务农": "farming",
                       "经营收入": "business", "个体经营": "business", "经营": "business",
                       "政府补助": "welfare", "社会救助": "welfare", "救助": "welfare", "其他": "other"},
    "support_received": {"低保": "dibao", "最低生活保障": "dibao", "临时救助": "temporary",
                         "医疗救助": "medical", "住房救助": "housing", "其他": "other"},
}
# Between the values of a MULTI field, as people write them: commas, 顿号, semicolons, slashes, spaces.
_MULTI_SPLIT = re.compile(r"[,，、;；/\s]+")

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
        if value > today or value.year < today.year - spec.oldest:
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
    if spec.kind == MULTI:
        chosen = set()
        for word in _MULTI_SPLIT.split(str(text).strip().lower()):
            value = CHOICE_WORDS.get(key, {}).get(word) or (word if word in spec.choices else None)
            if value is None:
                raise FieldError(key, "choice")
            chosen.add(value)
        return ",".join(k for k in spec.choices if k in chosen)
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
    if spec.kind == MULTI and value:
        return gettext(LIST_SEPARATOR).join(gettext(spec.choices[v]) if v in spec.choices else v
                                            for v in value.split(","))
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
