"""A small school for tests, written straight into the database: people with roles, children with records,
consents. Handler tests then act as any of these people by their Telegram user id.

The rows are written with plain SQL against the schema (the migrations), not through the repositories: the
world is what a database looks like after the bot ran, and it must not break when a repository's signature
changes. `World.seeded` builds the same school every time, with a canary in every child's field and in every word of
its safety reports, for the property, forged-button and bad-input tests: a test can tell which child's which field,
or which report's which word, reached whom. (A report is filed through bot.safety.service, which decides whom it
tells: that is the service's to say, not the world's.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import phonenumbers
from babel.dates import format_date

from bot.access.consent import RULES_VERSION
from bot.access.people import Actor
from bot.access.policy import (ADMIN, DIRECTOR, EXPORT, GUARDIAN, HANDLER_ROLES, PARENT, PROXY, SUPERVISOR, TEACHER,
                               VIEW, fields_allowed, roles_for)
from bot.clock import SystemClock, stamp
from bot.records.fields import (BY_KEY, CHOICE, DATE, FIELDS, ID_CARD, ID_CHECK, ID_WEIGHTS, MULTI, NUMBER, PHONE,
                                normalise)
from bot.services import Services, open_services
from bot.settings import Settings
from storage.children import ChildPlace
from storage.db import Database
from storage.safety import ReportDraft
from tests.helpers import BOT_TOKEN, user

NOW = stamp(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))
TODAY = date(2026, 3, 2)
STRANGER = "stranger"

# A safety report's words (`World.report`), each a canary: what the reporter answered, and what a handler wrote on the
# case. Whoever handles the case reads them all; a reporter who does not handle it reads their own answers and the
# police feedback, never the handlers' notes (bot.safety.service); nobody else reads any.
REPORT_ANSWERS = ("place", "description", "police_station", "police_receipt", "photo")
REPORT_NOTES = ("accepted", "note", "visit", "outcome", "feedback", "close")
REPORTER_READS = frozenset(REPORT_ANSWERS + ("feedback",))
REPORT_GROUP = "report"


@dataclass(frozen=True)
class Canary:
    """One child's one field, stored with a value no other field of any child has; or one of the words of a safety
    report about the child (`report` is its id, `field` "report.<what>", as in REPORT_ANSWERS and REPORT_NOTES)."""

    child: str                # the world's key for the child
    field: str                # bot.records.fields key
    value: str                # as stored
    forms: tuple[str, ...]    # how the value may read in a message (a phone formatted, a date in words)
    report: int | None = None

    @property
    def group(self) -> str:
        return REPORT_GROUP if self.report is not None else BY_KEY[self.field].group

    @property
    def what(self) -> str:
        """The field's key, or for a report's canary what it is (REPORT_ANSWERS, REPORT_NOTES)."""
        return self.field.removeprefix("report.")


@dataclass(frozen=True)
class Filed:
    """A report the world holds: its id, the child's key and the reporter's name."""

    id: int
    child: str
    reporter: str


def report_reads(grants, person_id: int | None, place: ChildPlace, reporter_id: int) -> frozenset[str]:
    """What of a report about this child this person reads, by bot.access.policy: all of it if one of their roles
    that handles reports (HANDLER_ROLES) reaches the child, for those are the people told at once (the school's
    admins, the class teacher, the township's supervisor, the village's director); REPORTER_READS if they reported it
    and still reach the child; else nothing. (Someone who gains such a role after the report was filed was not told:
    this errs on their side, never on the family's.)"""
    roles = roles_for(grants, place)
    if roles & set(HANDLER_ROLES):
        return frozenset(REPORT_ANSWERS + REPORT_NOTES)
    if person_id is not None and person_id == reporter_id and roles:
        return REPORTER_READS
    return frozenset()


@dataclass
class World:
    services: Services
    school_id: int = 0
    class_ids: dict[str, int] = field(default_factory=dict)
    people: dict[str, int] = field(default_factory=dict)     # name → person id
    telegram: dict[str, int] = field(default_factory=dict)   # name → Telegram user id
    grants: dict[str, list[int]] = field(default_factory=dict)
    children: dict[str, int] = field(default_factory=dict)   # child name (or key) → child id
    languages: dict[str, str] = field(default_factory=dict)  # name → Telegram language_code
    canaries: list[Canary] = field(default_factory=list)
    township_id: int | None = None                           # the school's township (`World.township`)
    villages: dict[str, int] = field(default_factory=dict)   # village name → id
    reports: dict[int, Filed] = field(default_factory=dict)  # report id → the report (`World.report`)
    _next_user: int = 7000

    @classmethod
    async def build(cls, services: Services, school: str = "希望小学", classes: tuple[str, ...] = ("三年级一班",)):
        world = cls(services)
        async with services.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO schools (name, created_at) VALUES (?, ?)", (school, NOW))
            world.school_id = await _id(conn, "SELECT id FROM schools WHERE name = ?", school)
            for name in classes:
                await conn.execute("INSERT OR IGNORE INTO classes (school_id, name) VALUES (?, ?)",
                                   (world.school_id, name))
                world.class_ids[name] = await _id(conn, "SELECT id FROM classes WHERE school_id = ? AND name = ?",
                                                  world.school_id, name)
        return world

    async def township(self, name: str = "青山镇", villages: tuple[str, ...] = ("青山村",), *,
                       school_id: int | None = None) -> int:
        """Put the school (the world's, or `school_id`) under a township, created once with these villages.
        The world's own township is the first one made."""
        async with self.services.db.transaction() as conn:
            await conn.execute("INSERT OR IGNORE INTO townships (name, created_at) VALUES (?, ?)", (name, NOW))
            township_id = await _id(conn, "SELECT id FROM townships WHERE name = ?", name)
            await conn.execute("UPDATE schools SET township_id = ? WHERE id = ?",
                               (township_id, school_id or self.school_id))
            for village in villages:
                await conn.execute("INSERT OR IGNORE INTO villages (township_id, name) VALUES (?, ?)",
                                   (township_id, village))
                self.villages[village] = await _id(
                    conn, "SELECT id FROM villages WHERE township_id = ? AND name = ?", township_id, village)
        if self.township_id is None:
            self.township_id = township_id
        return township_id

    async def home(self, child: str, village: str | None) -> None:
        """Record the village the child's home is in (None: not recorded)."""
        async with self.services.db.transaction() as conn:
            await conn.execute("UPDATE children SET village_id = ? WHERE id = ?",
                               (self.villages[village] if village else None, self.children[child]))

    async def holiday(self, day: date) -> None:
        """A day off at the world's school (what /schooldays writes): not a school day, nor a day of a streak."""
        async with self.services.db.transaction() as conn:
            await conn.execute("INSERT INTO school_day_overrides (school_id, day, kind, set_at) VALUES (?, ?, 'off', ?)",
                               (self.school_id, day.isoformat(), NOW))

    async def absent(self, child: str, day: date, reason: str = "none") -> None:
        """The child marked absent on `day` in its class, as the roll call writes it ("none": no reason given)."""
        async with self.services.db.transaction() as conn:
            await conn.execute("INSERT INTO absences (child_id, class_id, day, reason, marked_at) "
                               "SELECT id, class_id, ?, ?, ? FROM children WHERE id = ?",
                               (day.isoformat(), reason, NOW, self.children[child]))

    async def dropout_people(self, child: str) -> None:
        """`child` living in 青山村 of 青山镇, and the people around it the dropout ladder (bot.attendance.dropouts)
        involves: the school's admin, the class teacher, the village's child director, the township's supervisor
        and the child's grandmother."""
        await self.township("青山镇", ("青山村",))
        await self.home(child, "青山村")
        await self.person("admin", ADMIN, display="周校长")
        await self.person("teacher", TEACHER, klass="三年级一班", display="陈老师")
        await self.person("director", DIRECTOR, village="青山村", display="吴主任")
        await self.person("supervisor", SUPERVISOR, display="刘督导")
        await self.person("grandmother", GUARDIAN, child=child, relation="grandmother_p")

    async def person(self, name: str, role: str | None = None, *, klass: str | None = None, child: str | None = None,
                     relation: str | None = None, school_id: int | None = None, user_id: int | None = None,
                     display: str | None = None, language: str | None = None, township_id: int | None = None,
                     village: str | None = None) -> int:
        """A person (by name, created once) and, if given, a role for them. Returns their Telegram user id.
        `display` is the name the bot shows (the key by default); `language` their app's language code. A
        supervisor's role is for `township_id` (the world's township by default), a child director's for
        `village`; neither has a school."""
        if name not in self.telegram:
            self._next_user += 1
            self.telegram[name] = user_id or self._next_user
        if language is not None:
            self.languages[name] = language
        async with self.services.db.transaction() as conn:
            external = str(self.telegram[name])
            found = await conn.execute_fetchall(
                "SELECT person_id FROM identities WHERE channel = 'telegram' AND external_id = ?", (external,))
            if found:
                person_id = found[0][0]
            else:
                cur = await conn.execute("INSERT INTO people (display_name, created_at) VALUES (?, ?)",
                                         (display or name, NOW))
                person_id = cur.lastrowid
                await conn.execute("INSERT INTO identities (person_id, channel, external_id) VALUES (?, 'telegram', ?)",
                                   (person_id, external))
            self.people[name] = person_id
            if role is not None:
                township = village_id = None
                if role in (SUPERVISOR, DIRECTOR):
                    village_id = self.villages[village] if role == DIRECTOR else None
                    township = township_id or (await _id(conn, "SELECT township_id FROM villages WHERE id = ?",
                                                         village_id) if village_id else self.township_id)
                place = (person_id, role, None if township else school_id or self.school_id,
                         self.class_ids[klass] if klass else None, self.children[child] if child else None,
                         township, village_id)
                same = await conn.execute_fetchall(
                    "SELECT id FROM roles WHERE person_id = ? AND role = ? AND school_id IS ? AND class_id IS ? "
                    "AND child_id IS ? AND township_id IS ? AND village_id IS ? AND revoked_at IS NULL", place)
                if same:
                    grant = same[0][0]
                else:
                    cur = await conn.execute(
                        "INSERT INTO roles (person_id, role, school_id, class_id, child_id, township_id, village_id, "
                        "relation, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*place, relation, NOW))
                    grant = cur.lastrowid
                self.grants.setdefault(name, []).append(grant)
        return self.telegram[name]

    async def child(self, name: str, klass: str | None = None, *, key: str | None = None, **values: str) -> int:
        """A child's record with these field values (stored as given: pass them normalised)."""
        class_id = self.class_ids[klass] if klass else next(iter(self.class_ids.values()))
        async with self.services.db.transaction() as conn:
            cur = await conn.execute("INSERT INTO children (school_id, class_id, created_at) VALUES (?, ?, ?)",
                                     (self.school_id, class_id, NOW))
            child_id = cur.lastrowid
            for field_key, value in {"name": name, **values}.items():
                if value == "":
                    continue
                await conn.execute("INSERT INTO child_fields (child_id, field, value, updated_at) VALUES (?, ?, ?, ?)",
                                   (child_id, field_key, value, NOW))
                await conn.execute("INSERT INTO child_field_history (child_id, field, new_value, changed_at) "
                                   "VALUES (?, ?, ?, ?)", (child_id, field_key, value, NOW))
        self.children[key or name] = child_id
        return child_id

    async def consent(self, child: str, by: str, decision: str = "given") -> None:
        async with self.services.db.transaction() as conn:
            await conn.execute("INSERT INTO consents (child_id, person_id, decision, rules_version, decided_at) "
                               "VALUES (?, ?, ?, ?, ?)", (self.children[child], self.people[by], decision,
                                                          RULES_VERSION, NOW))

    async def report(self, child: str, by: str, *, handler: str | None = None, closer: str | None = None) -> int:
        """A safety report about `child` filed by `by` through bot.safety.service (which decides whom it tells),
        its every free-text answer and its photo a canary. With `handler`, that person's words on the case as well:
        the police accepted it, a note, a home visit and its outcome, the police feedback. With `closer` too, the
        handler asks to close it (the reason a canary) and the closer confirms. Returns the report's id; its canaries
        join `self.canaries`."""
        safety, now = self.services.safety, self.services.clock.now()
        number = len(self.reports) + 1
        words = {what: f"Rp{number:02d}{what}p" for what in REPORT_ANSWERS + REPORT_NOTES}
        draft = ReportDraft(self.children[child], ("s4",), False, now - timedelta(minutes=40), place=words["place"],
                            description=words["description"], media=(("photo", words["photo"]),),
                            police_called_at=now - timedelta(minutes=30), police_station=words["police_station"],
                            police_receipt=words["police_receipt"])
        report_id = (await safety.submit(await self.actor(by), draft)).report_id
        written = list(REPORT_ANSWERS)
        if handler is not None:
            acting = await self.actor(handler)
            await safety.set_state(acting, report_id, "accepted", words["accepted"])
            await safety.add_note(acting, report_id, words["note"])
            await safety.add_note(acting, report_id, words["visit"], visit=True, outcome=words["outcome"])
            await safety.record_feedback(acting, report_id, words["feedback"])
            written += ["accepted", "note", "visit", "outcome", "feedback"]
            if closer is not None:
                await safety.request_close(acting, report_id, words["close"])
                await safety.confirm_close(await self.actor(closer), report_id)
                written.append("close")
        self.reports[report_id] = Filed(report_id, child, by)
        self.canaries += [Canary(child, f"report.{what}", words[what], (words[what],), report_id) for what in written]
        return report_id

    async def actor(self, name: str) -> Actor:
        return await self.services.directory.actor("telegram", str(self.telegram[name]))

    def user(self, name: str) -> dict:
        """The Telegram `from` of this person, in their app's language."""
        return user(self.telegram[name], self.languages.get(name, "en"), name)

    def name_of(self, telegram_id: int) -> str | None:
        return next((n for n, t in self.telegram.items() if t == telegram_id), None)

    # -- the seeded school -----------------------------------------------------------------------------------

    @classmethod
    async def seeded(cls, services: Services) -> World:
        """希望小学 with two classes under 青山镇, and 别的学校 under 别的镇, as the tables SEEDED_PEOPLE,
        SEEDED_CHILDREN and SEEDED_REPORTS say; every child's every field that can hold one carries a canary
        (`world.canaries`), and so does every word of the safety reports. `world.telegram[STRANGER]` is a Telegram
        user the bot has never met."""
        world = await cls.build(services, classes=(CLASS_A, CLASS_B))
        townships = {TOWNSHIP: await world.township(TOWNSHIP, VILLAGES)}
        async with services.db.transaction() as conn:
            await conn.execute("INSERT INTO schools (name, created_at) VALUES (?, ?)", (OTHER_SCHOOL, NOW))
            other_school = await _id(conn, "SELECT id FROM schools WHERE name = ?", OTHER_SCHOOL)
        townships[OTHER_TOWNSHIP] = await world.township(OTHER_TOWNSHIP, (OTHER_VILLAGE,), school_id=other_school)
        for number, (key, given, klass) in enumerate(SEEDED_CHILDREN, 1):
            canaries = _canaries(key, given, number)
            world.canaries += canaries
            await world.child(next(c.value for c in canaries if c.field == "name"), klass, key=key,
                              **{c.field: c.value for c in canaries if c.field != "name"}, **_plain_fields())
            await world.home(key, SEEDED_HOMES[key])
        for name, display, language, roles in SEEDED_PEOPLE:
            for role, place, relation in roles or [(None, None, None)]:
                await world.person(name, role, display=display, language=language, relation=relation,
                                   klass=place if role == TEACHER else None,
                                   child=place if role in (PARENT, GUARDIAN, PROXY) else None,
                                   township_id=townships[place] if role == SUPERVISOR else None,
                                   village=place if role == DIRECTOR else None)
        for child, by, decision in SEEDED_CONSENTS:
            await world.consent(child, by, decision)
        for child, by, handler, closer in SEEDED_REPORTS:
            await world.report(child, by, handler=handler, closer=closer)
        world._next_user += 1
        world.telegram[STRANGER] = world._next_user
        world.languages[STRANGER] = "en"
        return world

    def canary(self, child: str, field_key: str) -> Canary:
        return next(c for c in self.canaries if c.child == child and c.field == field_key)

    def found_in(self, text: str) -> list[Canary]:
        """The canaries some form of which is in this text."""
        return [c for c in self.canaries if any(form in text for form in c.forms)]

    async def entitled(self) -> dict[str, dict[str, set[Canary]]]:
        """Who may see which canary now, by bot.access.policy, as {name: {VIEW: …, EXPORT: …}}.

        VIEW (what any message may show): a child's name reaches everyone with a role for the child (their
        invitation named the child, and so does the consent question); every other field is what
        `fields_allowed(…, VIEW, consented=…)` gives. EXPORT (what a file may hold): `fields_allowed(…, EXPORT,
        consented=True)`, since a copy of what is stored is the family's right before consent too (/mydata).
        A safety report's words: what `report_reads` gives, in a message or a file (the ledger). A stranger, or a
        person without roles, sees nothing."""
        places = {}
        for key in {c.child for c in self.canaries}:
            row = await self.services.db.fetch_one(
                "SELECT c.id, c.school_id, c.class_id, c.village_id, s.township_id FROM children c "
                "JOIN schools s ON s.id = c.school_id WHERE c.id = ?", (self.children[key],))
            if row is not None:
                places[key] = (ChildPlace(row["id"], row["school_id"], row["class_id"], row["village_id"],
                                          row["township_id"]),
                               await self.services.consent.consented(row["id"]))
        found: dict[str, dict[str, set[Canary]]] = {}
        for name in self.telegram:
            person = self.people.get(name)
            grants = await self.services.people.grants(person) if person is not None else []
            view, export = set(), set()
            for key, (place, consented) in places.items():
                mine = [c for c in self.canaries if c.child == key and c.report is None]
                shown = fields_allowed(grants, place, VIEW, consented=consented)
                if roles_for(grants, place):
                    shown = shown | {"name"}
                view |= {c for c in mine if c.field in shown}
                copied = fields_allowed(grants, place, EXPORT, consented=True)
                export |= {c for c in mine if c.field in copied}
            for filed in self.reports.values():
                if filed.child not in places:
                    continue  # erased with its record
                reads = report_reads(grants, person, places[filed.child][0], self.people[filed.reporter])
                read = {c for c in self.canaries if c.report == filed.id and c.what in reads}
                view |= read
                export |= read
            found[name] = {VIEW: view, EXPORT: export}
        return found


CLASS_A, CLASS_B = "三年级一班", "四年级二班"
# The school's township and its villages; another township, with its own school and village, whose people reach none
# of the seeded children.
TOWNSHIP, VILLAGES = "青山镇", ("青山村", "石桥村")
OTHER_TOWNSHIP, OTHER_SCHOOL, OTHER_VILLAGE = "别的镇", "别的学校", "别的村"

# key, given name (the canary follows it), class.
SEEDED_CHILDREN = [
    ("ming", "小明", CLASS_A),   # consented by his mother
    ("hong", "小红", CLASS_A),   # nobody has answered yet
    ("hua", "小华", CLASS_B),    # consented by her grandmother
    ("lan", "小兰", CLASS_B),    # consented, then withdrawn: nothing is shared
]

# name, display name, Telegram language, [(role, class or child, relation)].
SEEDED_PEOPLE = [
    ("admin", "周校长", "zh-hans", [(ADMIN, None, None)]),
    ("teacher_a", "陈老师", "zh-hans", [(TEACHER, CLASS_A, None)]),
    ("teacher_b", "林老师", "en", [(TEACHER, CLASS_B, None)]),
    ("mother", "李妈妈", "en", [(PARENT, "ming", "mother")]),
    ("father", "张爸爸", "zh-hans", [(PARENT, "ming", "father"), (PARENT, "hong", "father")]),
    ("grandmother", "王奶奶", "zh-hans", [(GUARDIAN, "ming", "grandmother_p"), (GUARDIAN, "hua", "grandmother_p")]),
    ("grandfather", "孙爷爷", "zh-hans", [(GUARDIAN, "lan", "grandfather_p")]),
    ("proxy", "赵阿姨", "en", [(PROXY, "ming", None), (PROXY, "hong", None), (PROXY, "lan", None)]),
    ("proxy_b", "何阿姨", "zh-hans", [(PROXY, "hua", None)]),
    ("supervisor", "刘督导", "zh-hans", [(SUPERVISOR, TOWNSHIP, None)]),
    ("director", "吴主任", "en", [(DIRECTOR, "青山村", None)]),  # 小明's and 小红's village
    ("supervisor_elsewhere", "郑督导", "zh-hans", [(SUPERVISOR, OTHER_TOWNSHIP, None)]),
    ("director_elsewhere", "冯主任", "zh-hans", [(DIRECTOR, OTHER_VILLAGE, None)]),
    ("former", "钱先生", "zh-hans", []),  # known to the bot, holds no role
]

# Where each child's home is: the village's child director reaches the child.
SEEDED_HOMES = {"ming": "青山村", "hong": "青山村", "hua": "石桥村", "lan": "石桥村"}

# Safety reports (World.report): child, reporter, the handler who writes on the case, who confirms its closing.
SEEDED_REPORTS = [
    # 小明's teacher reports; the admin acts on it. His proxy parent did not report it: she, his family, another
    # child's proxy parent and the other township know nothing of it.
    ("ming", "teacher_a", "admin", None),
    # 小华's proxy parent reports; her teacher acts on it and asks to close it, the admin confirms. The proxy parent
    # reads her answers and the police feedback, not the teacher's notes; her grandmother reads nothing.
    ("hua", "proxy_b", "teacher_b", "admin"),
    # 小红's village director reports, and nobody has acknowledged it yet: the schedule tells them again, then the
    # township. Her father and proxy parent hear nothing of it.
    ("hong", "director", None, None),
]

SEEDED_CONSENTS = [
    ("ming", "mother", "given"),
    ("hua", "grandmother", "given"),
    ("lan", "grandfather", "given"),
    ("lan", "grandfather", "withdrawn"),
]


def _plain_fields() -> dict[str, str]:
    """Fields whose values are too few to tell children apart (choices, an age) get ordinary values."""
    return {"sex": "female", "boarding": "no", "guardianship": "good", "guardian_age": "67"}


def _canaries(key: str, given: str, number: int) -> list[Canary]:
    """A value for every field of child `number` that no other field of any child has, put through the field's
    own validation (so it is what the bot would store)."""
    born = date(2014 + number, number, 10 + number)
    made = []
    for index, spec in enumerate(FIELDS):
        token = f"Cq{number:02d}{index:02d}q"
        if spec.kind in (CHOICE, MULTI, NUMBER):
            continue
        if spec.kind == PHONE:
            raw = f"139{number:02d}{index:02d}0000"
        elif spec.kind == DATE:
            # The child's own date of birth; the parents' dates each a different day, so no two fields agree.
            raw = (born - timedelta(days=index if spec.key != "birth_date" else 0)).isoformat()
        elif spec.kind == ID_CARD:
            raw = _id_number(f"110101{born:%Y%m%d}{(number * 50 + index) % 1000:03d}")
        elif spec.key == "name":
            raw = given + token
        else:
            raw = token
        value = normalise(spec.key, raw, today=TODAY)
        made.append(Canary(key, spec.key, value, _forms(spec.kind, value, token)))
    return made


def _forms(kind: str, value: str, token: str) -> tuple[str, ...]:
    if kind == PHONE:
        number = phonenumbers.parse(value)
        formats = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                   phonenumbers.PhoneNumberFormat.NATIONAL)
        return tuple({phonenumbers.format_number(number, f) for f in formats} | {str(number.national_number)})
    if kind == DATE:
        day = date.fromisoformat(value)
        words = {format_date(day, f, locale=loc) for f in ("medium", "long", "full") for loc in ("zh_CN", "en")}
        return tuple(words | {value, f"{day:%Y/%m/%d}", f"{day.year}年{day.month}月{day.day}日"})
    if kind == ID_CARD:
        return (value,)
    return (token,)


def _id_number(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS))
    return first17 + ID_CHECK[total % 11]


async def _id(conn, sql: str, *params) -> int:
    rows = await conn.execute_fetchall(sql, params)
    return rows[0][0]


async def seed_family(database: str, *, mother: int, proxy: int, grandmother: int,
                      key: bytes | None = None) -> None:
    """For end-to-end tests, written before the bot process starts: 小明 with his mother (who consented), his
    proxy parent and his grandmother, as they stand after their invitations. Quiet hours are off, so a test
    does not depend on the hour it runs at. `key`: the DATA_KEY the bot will run with (the database is keyed)."""
    services = await open_services(Settings(token=BOT_TOKEN, database_path=database, data_key=key), SystemClock())
    try:
        world = await World.build(services)
        await world.child("小明")
        await world.person("李妈妈", PARENT, child="小明", relation="mother", user_id=mother)
        await world.person("赵阿姨", PROXY, child="小明", user_id=proxy)
        await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p", user_id=grandmother)
        await world.consent("小明", by="李妈妈")
        async with services.db.transaction() as conn:
            for user_id in (mother, proxy, grandmother):
                await conn.execute(
                    "INSERT INTO user_preferences (user_id, quiet_off, updated_at) VALUES (?, 1, ?) "
                    "ON CONFLICT (user_id) DO UPDATE SET quiet_off = 1", (user_id, NOW))
    finally:
        await services.db.close()


async def add_care_media(db: Database, child_id: int, kind: str, file_id: str, size: int | None = None) -> int:
    """A care entry with one photo or voice note, as the care-entry service records them (with its school, class
    and child if missing); returns the media row's id."""
    async with db.transaction() as conn:
        await conn.execute("INSERT OR IGNORE INTO schools (id, name, created_at) VALUES (1, '希望小学', ?)", (NOW,))
        await conn.execute("INSERT OR IGNORE INTO classes (id, school_id, name) VALUES (1, 1, '三年级一班')")
        await conn.execute("INSERT OR IGNORE INTO children (id, school_id, class_id, created_at) VALUES (?, 1, 1, ?)",
                           (child_id, NOW))
        entry = (await conn.execute_fetchall(
            "INSERT INTO care_entries (child_id, author_role, kind, occurred_on, body, created_at) "
            "VALUES (?, 'teacher', 'update', '2026-03-02', '{}', ?) RETURNING id", (child_id, NOW)))[0][0]
        return (await conn.execute_fetchall(
            "INSERT INTO care_media (entry_id, child_id, position, kind, file_id, file_unique_id, size) "
            "VALUES (?, ?, 0, ?, ?, ?, ?) RETURNING id", (entry, child_id, kind, file_id, f"u-{file_id}", size)))[0][0]
