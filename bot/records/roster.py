"""Roster import (花名册导入): a school office's .xlsx or .csv list of children, checked in full and written in
one transaction, or not at all.

Decisions a reader needs:
- The whole file is checked and every problem reported (row as the spreadsheet numbers it, column as its
  header reads); nothing is written unless the file is clean.
- A child is known by name and date of birth within the school (as ChildrenService.create decides
  duplicates). A row matching a child already in the same class updates that child's record; a match in
  another class is a duplicate and refused: moving children between classes is not the roster's job.
- Empty cells and missing columns leave stored values alone: a roster adds and corrects, never erases.
- The header row is the first row that names the 姓名 (name) column among the first few non-empty rows,
  so a title row above it (三年级一班留守儿童花名册) is skipped.
Nothing here knows of Telegram.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bot.access.people import Actor
from bot.access.policy import IMPORT_ROSTER, can, can_in_school
from bot.clock import Clock, stamp
from bot.errors import NotAllowed, UserError
from bot.i18n import N_
from bot.records.fields import (ASSESSMENT, BY_KEY, CHOICE, DATE, DISABILITY_CATEGORIES, DISABILITY_GRADES,
                                ERROR_MESSAGES, GUARDIANSHIP_LEVELS, GUARDIANSHIP_SITUATIONS, HEALTH_STATUS, ID_CARD,
                                INCOME_SOURCES, MULTI, NUMBER, PHONE, SCHOOLING, SUPPORT_KINDS, TEXT, FieldError,
                                normalise)
from storage.audit import AuditEntry, AuditRepository
from storage.children import ChildPlace, ChildrenRepository, NewChild, RecordChange
from storage.db import Database
from storage.people import PeopleRepository

MAX_BYTES = 5 * 1024 * 1024
MAX_MEGABYTES = MAX_BYTES // (1024 * 1024)
# A zip of 5 MB can unpack to far more; refuse before the XML parser sees it.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
# A whole school's list fits; a file beyond it is refused as soon as the reader passes the cap.
MAX_ROWS = 2000
# Rows scanned in all, blank ones included (sheets formatted far below their data).
MAX_SCANNED_ROWS = 10 * MAX_ROWS
HEADER_SEARCH_ROWS = 10
TYPES = (".xlsx", ".csv")

CLASS = "class"  # the class column: not a record field, it says where the child belongs

# The template's column headers, 班级 and 姓名 first. English field keys are accepted as headers too.
HEADERS: dict[str, str] = {
    CLASS: "班级",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "ethnicity": "民族",
    "hukou_registered": "是否登记户口",
    "hukou_place": "户籍所在地",
    "boarding": "是否住校",
    "schooling": "就学情况",
    "id_number": "身份证号",
    "personality": "性格特点",
    "interests": "兴趣爱好",
    "health": "健康状况",
    "health_status": "健康类别",
    "disability_category": "残疾类别",
    "disability_grade": "残疾等级",
    "illness": "患病类型",
    "residence": "现居住地址",
    "father_name": "父亲姓名",
    "father_birth_date": "父亲出生日期",
    "father_province": "父亲务工省份",
    "father_city": "父亲务工城市",
    "father_id_number": "父亲身份证号",
    "father_phone": "父亲电话",
    "father_address": "父亲地址",
    "father_employer": "父亲工作单位",
    "mother_name": "母亲姓名",
    "mother_birth_date": "母亲出生日期",
    "mother_province": "母亲务工省份",
    "mother_city": "母亲务工城市",
    "mother_id_number": "母亲身份证号",
    "mother_phone": "母亲电话",
    "mother_address": "母亲地址",
    "mother_employer": "母亲工作单位",
    "guardianship_situation": "实际监护情况",
    "entrusted": "是否委托监护",
    "guardian_name": "监护人姓名",
    "guardian_relation": "监护人与孩子关系",
    "guardian_age": "监护人年龄",
    "guardian_health": "监护人健康状况",
    "guardian_occupation": "监护人职业",
    "guardian_id_number": "监护人身份证号",
    "guardian_phone": "监护人电话",
    "guardian_address": "监护人地址",
    "guardianship": "监护类型",
    "guardianship_assessment": "监护评估",
    "income_sources": "家庭经济来源",
    "support_received": "救助类型",
    "support": "受助情况",
}
# Headers of earlier templates, still read: a school's roster kept from last year imports as it did.
OLD_HEADERS = {"监护情况": "guardianship"}
_BY_HEADER = {**OLD_HEADERS, **{zh: key for key, zh in HEADERS.items()}, **{key: key for key in HEADERS}}

# The words a roster may hold for each choice, shown when a cell holds something else.
CHOICE_HINTS = {
    "sex": ("男", "女", "male", "female"),
    "hukou_registered": ("是", "否", "yes", "no"),
    "boarding": ("是", "否", "yes", "no"),
    "schooling": ("学前", "小学", "初中", "失学辍学", "其他", *SCHOOLING),
    "health_status": ("健康", "残疾", "患病", *HEALTH_STATUS),
    "disability_category": ("视力", "听力", "言语", "肢体", "智力", "精神", "多重", *DISABILITY_CATEGORIES),
    "disability_grade": ("一级", "二级", "三级", "四级", *DISABILITY_GRADES),
    "guardianship_situation": ("父母均外出务工", "父亲外出务工、母亲无监护能力", "母亲外出务工、父亲无监护能力",
                               *GUARDIANSHIP_SITUATIONS),
    "entrusted": ("是", "否", "yes", "no"),
    "guardianship": ("无人监护", "父或母无监护能力", "受委托监护人监护能力不足", "监护情况一般", "监护情况较好",
                     *GUARDIANSHIP_LEVELS),
    "guardianship_assessment": ("较好", "一般", "差", *ASSESSMENT),
    "income_sources": ("务工收入", "务农收入", "经营收入", "政府补助", "其他", *INCOME_SOURCES),
    "support_received": ("低保", "临时救助", "医疗救助", "住房救助", "其他", *SUPPORT_KINDS),
}

# code → message id, translated where shown. Row problems are shown as "Row {row}, {column}: {problem}".
# A field's own refusals read as anywhere else (bot.records.fields.ERROR_MESSAGES), except where a spreadsheet needs
# more: the words a choice accepts, and why a child already on the roll is not simply updated.
ROW_PROBLEMS: dict[str, str] = {
    **ERROR_MESSAGES,
    "choice": N_("write one of: {choices}"),
    "multi": N_("write one or more of, separated by 、: {choices}"),
    "duplicate": N_("this child (same name and date of birth) is already on the school's roll in another class"),
    "duplicate_in_file": N_("the same child (same name and date of birth) is already in row {other}"),
    "unknown_class": N_("there is no class called {name} in the school"),
    "other_class": N_("you can import children only into your own class"),
    "class_required": N_("write the class: it is needed when you import into more than one class"),
    "unknown_column": N_("I do not know this column; use the headers of the template (/template)"),
    "unnamed_column": N_("this column has data but no header"),
    "duplicate_column": N_("this column appears twice"),
}
ROW_PROBLEM_LINE = N_("Row {row}, {column}: {problem}")

FILE_PROBLEMS: dict[str, str] = {
    "type": N_("Please send the roster as an Excel file (.xlsx) or a CSV file (.csv). An older .xls file can be "
               "saved as .xlsx in Excel."),
    "too_large": N_("This file is too large: a roster may be at most {limit} MB."),
    "encoding": N_("I could not read the text of this file. Save it as \"CSV UTF-8\", or send the Excel file "
                   "(.xlsx) instead."),
    "unreadable": N_("I could not open this file. Check that it is an Excel (.xlsx) or CSV file and send it again."),
    "empty": N_("There are no children in this file. Send /template to get the template."),
    "too_many_rows": N_("This file has more than {limit} rows. Please split it, for example one file per class."),
    "no_name_column": N_("I could not find the name column (姓名). The header row must hold the column headers of "
                         "the template; send /template to get it."),
    "changed": N_("The school's roll changed while I was checking this file. Nothing was imported; please send it "
                  "again."),
}


# Who may import; said to anyone else, whether they ask for the template, /import, or send a roster.
NOT_ALLOWED = N_("Only class teachers and school admins can import a roster.")


class RosterError(UserError):
    """The file as a whole cannot be imported. `code` picks the explanation (FILE_PROBLEMS), the refusal's text."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(FILE_PROBLEMS[code], **params)
        self.code = code


@dataclass(frozen=True)
class RowProblem:
    row: int        # as the spreadsheet numbers it: 1-based, header included
    column: str     # the header as written in the file (or the column letter when it has none)
    code: str       # a key of ROW_PROBLEMS
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RosterChild:
    """One clean row, ready to write: a new child, or the existing one it updates."""

    row: int
    class_id: int
    values: dict[str, str]
    existing_id: int | None


@dataclass(frozen=True)
class Checked:
    problems: list[RowProblem]
    children: list[RosterChild]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int     # matched and changed
    unchanged: int   # matched, the file holds nothing new

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True)
class ImportRejected:
    problems: list[RowProblem]


ImportOutcome = ImportResult | ImportRejected


# reading

def check_file(filename: str | None, size: int | None) -> str:
    """The file's kind ("xlsx" or "csv") from its name, or RosterError; the size too when it is known."""
    name = (filename or "").lower()
    kind = next((t[1:] for t in TYPES if name.endswith(t)), None)
    if kind is None:
        raise RosterError("type")
    if size is not None and size > MAX_BYTES:
        raise RosterError("too_large", limit=MAX_MEGABYTES)
    return kind


def read_roster(filename: str, data: bytes) -> list[list[object]]:
    """The cells of the file's first sheet, row by row (row i of the list is spreadsheet row i + 1).
    Stops with RosterError("too_many_rows") as soon as the cap is passed, without reading the rest."""
    kind = check_file(filename, len(data))
    rows = _read_xlsx(data) if kind == "xlsx" else _read_csv(data)
    return rows


def _blank(row: Sequence[object]) -> bool:
    return all(_text(v) == "" for v in row)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _collect(source) -> list[list[object]]:
    rows: list[list[object]] = []
    filled = 0
    for row in source:
        rows.append(list(row))
        if not _blank(row):
            filled += 1
        # the header is one filled row; rows beyond it are children
        if filled > MAX_ROWS + 1 or len(rows) > MAX_SCANNED_ROWS:
            raise RosterError("too_many_rows", limit=MAX_ROWS)
    return rows


def _read_xlsx(data: bytes) -> list[list[object]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise RosterError("unreadable") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise RosterError("too_large", limit=MAX_MEGABYTES)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of error on a malformed workbook
        raise RosterError("unreadable") from None
    try:
        # The first sheet, not the active one: a template saved while its 说明 sheet was open stays readable.
        sheet = book.worksheets[0]
        # Some programs write a wrong sheet size; without it, every row is read whatever it claims.
        sheet.reset_dimensions()
        try:
            return _collect(sheet.iter_rows(values_only=True))
        except RosterError:
            raise
        except Exception:
            raise RosterError("unreadable") from None
    finally:
        book.close()


# What a wrong guess at the encoding leaves behind: control and private-use characters, replacement marks.
_GARBLED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]")


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)  # Excel's "Unicode text"
    else:
        # Excel in a Chinese office saves CSV in GBK (gb18030 is its superset); newer ones in UTF-8 with a BOM.
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _GARBLED.search(text):
            return text
    raise RosterError("encoding")


def _read_csv(data: bytes) -> list[list[object]]:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        return _collect(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise RosterError("unreadable") from None


# checking

@dataclass(frozen=True)
class Column:
    index: int
    header: str
    key: str


@dataclass(frozen=True)
class Header:
    row: int                      # spreadsheet row number
    columns: list[Column]         # the known ones
    problems: list[RowProblem]    # unknown and repeated headers
    unnamed: list[int]            # indexes of columns without a header


def header_key(text: str) -> str | None:
    """The field key (or CLASS) a header names, in Chinese or as the English key."""
    text = text.strip()
    return _BY_HEADER.get(text) or _BY_HEADER.get(text.lower())


def parse_header(rows: Sequence[Sequence[object]]) -> Header:
    """Find the header row and its columns, or RosterError("empty" / "no_name_column")."""
    filled = [(i, row) for i, row in enumerate(rows) if not _blank(row)]
    if not filled:
        raise RosterError("empty")
    for index, row in filled[:HEADER_SEARCH_ROWS]:
        if any(header_key(_text(v)) == "name" for v in row):
            break
    else:
        raise RosterError("no_name_column")
    number = index + 1
    columns: list[Column] = []
    problems: list[RowProblem] = []
    unnamed: list[int] = []
    seen: set[str] = set()
    for position, value in enumerate(row):
        text = _text(value)
        if text == "":
            unnamed.append(position)
            continue
        key = header_key(text)
        if key is None:
            problems.append(RowProblem(number, text, "unknown_column"))
        elif key in seen:
            problems.append(RowProblem(number, text, "duplicate_column"))
        else:
            seen.add(key)
            columns.append(Column(position, text, key))
    return Header(number, columns, problems, unnamed)


def _cell(row: Sequence[object], index: int) -> object:
    return row[index] if index < len(row) else None


def _clean_name(value: object) -> str:
    return " ".join(_text(value).split())


def roster_names(rows: Sequence[Sequence[object]]) -> set[str]:
    """The children's names in the file, as they would be stored: enough to look up who is already on the roll."""
    header = parse_header(rows)
    [name] = [c for c in header.columns if c.key == "name"]
    return {n for row in rows[header.row:] if (n := _clean_name(_cell(row, name.index)))}


def validate(rows: Sequence[Sequence[object]], *, classes: Mapping[str, int], allowed: Collection[int],
             today: date, existing: Mapping[tuple[str, str], ChildPlace]) -> Checked:
    """Check every row; every problem is reported, and the children are only worth writing when there are none.

    `classes`: the school's class names → ids; `allowed`: the class ids this person may import into (an
    empty class cell means the only one, when there is exactly one); `existing`: the school's children
    by (name, birth date) — a match in the same class is an update, in another class a duplicate."""
    header = parse_header(rows)
    problems = list(header.problems)
    default_class = next(iter(allowed)) if len(allowed) == 1 else None
    children: list[RosterChild] = []
    seen: dict[tuple[str, str], int] = {}
    unnamed_with_data: set[int] = set()
    name_header = next(c.header for c in header.columns if c.key == "name")
    data_rows = 0
    for index in range(header.row, len(rows)):
        row = rows[index]
        if _blank(row):
            continue
        data_rows += 1
        number = index + 1
        row_problems: list[RowProblem] = []
        values: dict[str, str] = {}
        class_id: int | None = None
        class_given = False
        for column in header.columns:
            raw = _cell(row, column.index)
            if column.key == CLASS:
                class_given = True
                class_id = _class_of(_text(raw), column.header, number, classes, allowed, default_class,
                                     row_problems)
                continue
            try:
                value = normalise(column.key, raw, today=today)
            except FieldError as error:
                params = dict(error.params)
                code = error.code
                if code == "choice":
                    # The words the template offers (the roster is filled in Chinese); the English ones are
                    # accepted too, but listing them put English into a Chinese screen.
                    params["choices"] = " / ".join(w for w in CHOICE_HINTS.get(column.key, ()) if not w.isascii())
                    if BY_KEY[column.key].kind == MULTI:
                        code = "multi"
                row_problems.append(RowProblem(number, column.header, code, params))
                continue
            if value:
                values[column.key] = value
        if not class_given:
            class_id = _class_of("", HEADERS[CLASS], number, classes, allowed, default_class, row_problems)
        unnamed_with_data.update(i for i in header.unnamed if _text(_cell(row, i)))
        existing_id = None
        # A child is known by name and birth date; with either unreadable there is nothing to compare.
        if "name" in values and not any(p.code in ("date", "date_range") for p in row_problems):
            key = (values["name"], values.get("birth_date", ""))
            if key in seen:
                row_problems.append(RowProblem(number, name_header, "duplicate_in_file", {"other": seen[key]}))
            else:
                seen[key] = number
                place = existing.get(key)
                if place is not None and class_id is not None:
                    if place.class_id == class_id:
                        existing_id = place.id
                    else:
                        row_problems.append(RowProblem(number, name_header, "duplicate"))
        problems.extend(row_problems)
        if not row_problems and class_id is not None:
            children.append(RosterChild(number, class_id, values, existing_id))
    problems.extend(RowProblem(header.row, get_column_letter(i + 1), "unnamed_column")
                    for i in sorted(unnamed_with_data))
    if data_rows == 0:
        raise RosterError("empty")
    problems.sort(key=lambda p: p.row)
    return Checked(problems, children if not problems else [])


def _class_of(text: str, column: str, number: int, classes: Mapping[str, int], allowed: Collection[int],
              default: int | None, problems: list[RowProblem]) -> int | None:
    if text == "":
        if default is None:
            problems.append(RowProblem(number, column, "class_required"))
        return default
    class_id = classes.get(" ".join(text.split()))
    if class_id is None:
        problems.append(RowProblem(number, column, "unknown_class", {"name": text}))
        return None
    if class_id not in allowed:
        problems.append(RowProblem(number, column, "other_class"))
        return None
    return class_id


# importing

class RosterService:
    def __init__(self, db: Database, people: PeopleRepository, clock: Clock,
                 children: ChildrenRepository | None = None, audit: AuditRepository | None = None) -> None:
        self._db = db
        self._people = people
        self._clock = clock
        self._children = children or ChildrenRepository(db)
        self._audit = audit or AuditRepository(db)

    @staticmethod
    def schools(actor: Actor) -> list[int]:
        """The schools this person may import a roster into."""
        return sorted({g.school_id for g in actor.grants if can([g], IMPORT_ROSTER)})

    @staticmethod
    def school(actor: Actor) -> int:
        """The school a roster from this person goes into, or NotAllowed. A person with this right in several
        schools imports into the first; none has that today."""
        schools = RosterService.schools(actor)
        if not schools:
            raise NotAllowed("roster", NOT_ALLOWED)
        return schools[0]

    async def import_rows(self, actor: Actor, school_id: int, filename: str, data: bytes) -> ImportOutcome:
        """Check the whole file, then write it in one transaction; RosterError for a file that cannot be read."""
        if not can_in_school(actor.grants, IMPORT_ROSTER, school_id):
            raise NotAllowed("roster", NOT_ALLOWED)
        # Parsing a workbook is CPU work: off the event loop, so other people's messages keep flowing.
        rows = await asyncio.to_thread(read_roster, filename, data)
        classes = await self._people.classes(school_id)
        allowed = {c.id for c in classes if can(actor.grants, IMPORT_ROSTER, ChildPlace(0, school_id, c.id))}
        existing = await self._on_roll(school_id, roster_names(rows))
        checked = await asyncio.to_thread(
            validate, rows, classes={c.name: c.id for c in classes}, allowed=allowed,
            today=self._clock.now().date(), existing=existing)
        if checked.problems:
            return ImportRejected(checked.problems)
        return await self._write(actor, school_id, checked.children)

    async def _on_roll(self, school_id: int, names: set[str]) -> dict[tuple[str, str], ChildPlace]:
        """The school's children who share a name with someone in the file, by (name, birth date)."""
        found: dict[tuple[str, str], ChildPlace] = {}
        for row in await self._children.in_school(school_id):
            if row.name in names:
                birth_date = (await self._children.fields(row.id)).get("birth_date", "")
                found.setdefault((row.name, birth_date), row.place)
        return found

    async def _write(self, actor: Actor, school_id: int, children: list[RosterChild]) -> ImportResult:
        now = stamp(self._clock.now())
        created = updated = unchanged = 0
        async with self._db.transaction() as conn:
            records, audit = self._children.within(conn), self._audit.within(conn)
            for child in children:
                # Checked against the roll as it is now, inside the write lock: if someone added or removed
                # one of these children since the check, the whole import is rolled back.
                found = await records.find_duplicate(school_id, child.values["name"],
                                                     child.values.get("birth_date", ""))
                if (found is None) != (child.existing_id is None):
                    raise RosterError("changed")
                if child.existing_id is None:
                    child_id = await records.create(NewChild(school_id, child.class_id, actor.person_id, now))
                    created += 1
                    changed = await records.update(RecordChange(child_id, child.values, actor.person_id, now))
                else:
                    child_id = child.existing_id
                    changed = await records.update(RecordChange(child_id, child.values, actor.person_id, now))
                    if not changed:
                        unchanged += 1
                        continue
                    updated += 1
                await audit.record(AuditEntry(now, actor.person_id, child_id, "import", ",".join(changed)))
        return ImportResult(created, updated, unchanged)


# the template

_KIND_NOTES = {
    PHONE: ("手机号或固定电话", "13800138000"),
    DATE: ("年-月-日", "2016-05-01"),
    NUMBER: ("整数", "68"),
    ID_CARD: ("18 位居民身份证号；请把这一列设为“文本”格式", ""),
}
_NOTES = {
    CLASS: ("学校里的班级名称，要与系统中的班级一致；班主任导入自己班级时可以留空", "三年级一班"),
    "name": ("必填", "王小明"),
    "ethnicity": ("", "汉族"),
    "health": ("只写与照护和急救有关的情况", "对青霉素过敏"),
    "guardian_relation": ("", "祖母"),
    "hukou_place": ("省、市、县（区）、乡镇", "河南省南阳市淅川县上集镇"),
    "illness": ("健康类别为“患病”时填写所患疾病", "哮喘"),
    "father_province": ("", "广东省"),
    "father_city": ("", "东莞市"),
    "mother_province": ("", "浙江省"),
    "mother_city": ("", "宁波市"),
    "guardian_id_number": ("受委托监护人的 18 位居民身份证号；请把这一列设为“文本”格式", ""),
}
_GENERAL_NOTES = (
    "第一行是列标题，请不要修改；每行填写一个孩子。不需要的列可以删除，“姓名”一列必须保留。",
    "同一学校里姓名和出生日期都相同的孩子视为同一人：再次导入会更新这个孩子的档案，不会重复建档。",
    "留空的格子不会清除系统中已有的信息。",
    f"文件不超过 {MAX_MEGABYTES} MB，最多 {MAX_ROWS} 个孩子；文件有任何错误时不会导入任何内容，请按提示改正后重新发送。",
)


def template_xlsx() -> bytes:
    """An empty roster with the Chinese headers, and a second sheet 说明 explaining each column."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "花名册"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    keys = list(HEADERS)
    for position, key in enumerate(keys, start=1):
        cell = sheet.cell(row=1, column=position, value=HEADERS[key])
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center")
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(12, 2 * len(HEADERS[key]) + 4)
        spec = BY_KEY.get(key)
        if spec is not None and spec.kind in (PHONE, ID_CARD):
            # Typed as text, or Excel turns an 18-digit ID number into 1.1E+17.
            sheet.column_dimensions[letter].number_format = "@"
        if spec is not None and spec.kind == CHOICE:
            words = [w for w in CHOICE_HINTS[key] if not w.isascii()]
            choice = DataValidation(type="list", formula1='"' + ",".join(words) + '"', allow_blank=True)
            choice.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(choice)
    sheet.freeze_panes = "C2"

    notes = book.create_sheet("说明")
    for position, (title, width) in enumerate((("列", 18), ("怎么填", 60), ("例子", 20)), start=1):
        notes.cell(row=1, column=position, value=title).font = bold
        notes.column_dimensions[get_column_letter(position)].width = width
    for number, key in enumerate(keys, start=2):
        spec = BY_KEY.get(key)
        if spec is not None and spec.kind == CHOICE:
            words = [w for w in CHOICE_HINTS[key] if not w.isascii()]
            how, example = "填写其中之一：" + " / ".join(words), words[0]
        elif spec is not None and spec.kind == MULTI:
            words = [w for w in CHOICE_HINTS[key] if not w.isascii()]
            how, example = "填写一项或多项，用顿号分开：" + " / ".join(words), "、".join(words[:2])
        elif spec is not None and spec.kind in _KIND_NOTES:
            how, example = _KIND_NOTES[spec.kind]
        else:
            how, example = "", ""
        how, example = _NOTES.get(key, (how, example))
        if spec is not None and spec.kind == TEXT and not how:
            how = f"文字，最多 {spec.max_length} 个字"
        notes.cell(row=number, column=1, value=HEADERS[key])
        notes.cell(row=number, column=2, value=how)
        notes.cell(row=number, column=3, value=example).number_format = "@"
    start = len(keys) + 3
    for offset, text in enumerate(_GENERAL_NOTES):
        notes.cell(row=start + offset, column=1, value=text)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

