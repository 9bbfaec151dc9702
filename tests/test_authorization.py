"""Authorization, generated from the policy tables: every kind of person (no role, removed, wrong school,
wrong class, wrong township or village, each role) runs every command and presses every button the bot hands
out to anyone, for two children whose every field holds a unique canary. Nobody ever receives a canary the policy does not
let them see: not in a message, an edit, a caption, a button, an alert or a file.

The children have safety reports (强制报告), every word of them a canary (tests.world.World.report): one a teacher
filed and the admin acts on, one the proxy parent filed and the school closed, and a mother's request for help. Every
person also presses every safety button with the reports' real ids and with ids that name nothing, and then receives
what the outbox holds for them. A report is read whole by those it was told to at once (a handler's role that reaches
the child), in part by its reporter, and by nobody else: tests.world.report_reads."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from typing import get_args

import pytest

from bot.runtime.app import build_application, initialized
from bot.access.policy import (ADMIN, DIRECTOR, FULL, GUARDIAN, PARENT, PROXY, SUPERVISOR, TEACHER, VIEW,
                               entry_access, entry_level, fields_allowed)
from bot.records.fields import CHOICE, FIELDS, MULTI, NUMBER
from bot.attendance.dropouts import AttemptDraft, DropoutAct
from bot.safety.buttons import Act
from storage.musts import Entry, Media, MustsRepository
from storage.children import ChildrenRepository
from tests.helpers import (RecordingRequest, callback_update, deliver_outbox, message_update, pdf_text, unpaced,
                           user)
from tests.world import World, report_reads

COMMANDS = ["/start", "/help", "/children", "/child", "/child CANARYX", "/child CANARYY", "/audit", "/audit CANARYY",
            "/invite", "/invite mother CANARYY", "/invite proxy CANARYX", "/invitations", "/people", "/privacy",
            "/mydata", "/deletions", "/template", "/import", "/newchild", "/cancel", "/language",
            "/timeline", "/timeline CANARYX", "/timeline CANARYY", "/due", "/update", "/talk", "/visit", "/cancel",
            "/video", "/video CANARYX", "/video CANARYY", "/video CANARYX 周日 19:30", "/videos", "/calendar",
            "/attendance", "/schooldays", "/invite admin", "/invite director", "/report", "/cancel", "/report CANARYX", "/cancel",
            "/reports", "/dropouts", "/ledger", "/stats"]

# Care entries for each child: an update with two photos and a talk record, each holding a canary. Updates and
# photos are for everyone who reaches the child; talk notes only for its teacher, proxy parent and admins. Two home
# visits: one kept for the staff (never for the family), one shared with the family.
CARE = {"update": "UPDNOTE{tag}", "photo": "PHOTOFILE{tag}", "talk": "TALKNOTE{tag}", "visit": "VISITNOTE{tag}",
        "shared visit": "SHAREDVISIT{tag}"}


def id_number(seed: int) -> str:
    from bot.records.fields import ID_CHECK, ID_WEIGHTS

    body = f"1101051990{seed % 12 + 1:02d}{seed % 28 + 1:02d}{seed % 1000:03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS)) % 11]


def canary_values(tag: str, seed: int) -> dict[str, str]:
    """A unique, recognisable value for every field that can hold one (choices, multiple choices and ages cannot)."""
    values = {}
    for n, spec in enumerate(FIELDS):
        if spec.kind in (CHOICE, MULTI, NUMBER):
            continue
        if spec.kind == "phone":
            values[spec.key] = f"+86139{seed}{n:03d}{seed}{n:03d}"
        elif spec.kind == "date":
            values[spec.key] = f"2016-0{seed}-{n + 1:02d}"
        elif spec.kind == "id_card":
            values[spec.key] = id_number(seed * 100 + n)
        elif spec.key == "name":
            values[spec.key] = f"CANARY{tag}"
        else:
            values[spec.key] = f"CNRY{tag}{n:02d}"
    return values


def needles(value: str) -> list[str]:
    """How a value could show up: as stored, and phones also as digits or grouped for display."""
    found = [value]
    if value.startswith("+86"):
        digits = value[3:]
        found += [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}"]
    return found


PEOPLE = {
    # name: (role, where) — where: class name, child tag, or None for school-wide; a supervisor's township (None:
    # the school's), a director's village
    "admin": (ADMIN, None),
    "admin_elsewhere": (ADMIN, "other-school"),
    "admin_sibling": (ADMIN, "sibling-school"),      # another school of X's and Y's township
    "teacher": (TEACHER, "三年级一班"),
    "teacher_other_class": (TEACHER, "三年级二班"),
    "removed_teacher": (TEACHER, "三年级一班"),       # told of the reports, then removed from the school
    "proxy_x": (PROXY, "X"),
    "proxy_y": (PROXY, "Y"),
    "mother_x": (PARENT, "X"),
    "grandma_x": (GUARDIAN, "X"),
    "removed_mother_x": (PARENT, "X"),
    "stranger": (None, None),
    "supervisor": (SUPERVISOR, None),
    "supervisor_elsewhere": (SUPERVISOR, "别的镇"),
    "director_x": (DIRECTOR, "青山村"),              # X's home is in 青山村, Y's in 石桥村
    "director_y": (DIRECTOR, "石桥村"),
    "director_elsewhere": (DIRECTOR, "别的村"),
}


async def build_world(services) -> tuple[World, dict]:
    world = await World.build(services, classes=("三年级一班", "三年级二班"))
    async with services.db.transaction() as conn:
        other_school = await services.people.within(conn).ensure_school("别的学校", "2026-03-01T00:00:00")
    township = await world.township("青山镇", ("青山村", "石桥村"))
    async with services.db.transaction() as conn:
        sibling_school = await services.people.within(conn).ensure_school("阳光小学", "2026-03-01T00:00:00", township)
    await world.township("别的镇", ("别的村",), school_id=other_school)
    canaries = {"X": canary_values("X", 1), "Y": canary_values("Y", 2)}
    for tag, village in (("X", "青山村"), ("Y", "石桥村")):
        await world.child(f"CANARY{tag}", klass="三年级一班", **{k: v for k, v in canaries[tag].items() if k != "name"})
        world.children[tag] = world.children[f"CANARY{tag}"]
        await world.home(f"CANARY{tag}", village)
    for name, (role, where) in PEOPLE.items():
        if role is None:
            await world.person(name)
        elif role == SUPERVISOR:
            township = await services.db.fetch_one("SELECT id FROM townships WHERE name = ?", (where,)) if where \
                else None
            await world.person(name, SUPERVISOR, township_id=township[0] if township else None)
        elif role == DIRECTOR:
            await world.person(name, DIRECTOR, village=where)
        elif role == ADMIN:
            await world.person(name, ADMIN, school_id={"other-school": other_school,
                                                       "sibling-school": sibling_school}.get(where))
        elif role == TEACHER:
            await world.person(name, TEACHER, klass=where)
        else:
            relation = {"PARENT": "mother", "GUARDIAN": "grandmother_p"}.get(role.upper())
            await world.person(name, role, child=f"CANARY{where}", relation=relation)
    await world.person("mother_y", PARENT, child="CANARYY", relation="mother")
    await world.consent("CANARYX", by="mother_x")
    await world.consent("CANARYY", by="mother_y")
    async with services.db.transaction() as conn:
        entries = MustsRepository(services.db).within(conn)
        for tag in ("X", "Y"):
            child = world.children[tag]
            author = world.people["teacher"]
            update = await entries.add_entry(Entry(child, author, TEACHER, "update", "2026-03-01", None,
                                                   {"fields": {"note": f"UPDNOTE{tag}"}}, "2026-03-01T08:00:00"))
            for n in (1, 2):
                await entries.add_media(Media(update, child, n, "photo", f"PHOTOFILE{tag}{n}", f"u{tag}{n}", 10))
            await entries.add_entry(Entry(child, author, TEACHER, "talk", "2026-03-01", None,
                                          {"fields": {"concerns": f"TALKNOTE{tag}"}}, "2026-03-01T09:00:00"))
            for note, shared in ((f"VISITNOTE{tag}", False), (f"SHAREDVISIT{tag}", True)):
                await entries.add_entry(Entry(child, author, TEACHER, "visit", "2026-03-01", None,
                                              {"fields": {"found": note, "shared": "yes" if shared else "no"}},
                                              "2026-03-01T10:00:00", for_family=shared))
    # X's weekly video call is agreed; a time for Y waits for its mother's answer. Their buttons (sent through
    # the outbox, so not seen below) are pressed by everyone too: see VIDEO_BUTTONS.
    video = services.video
    sent = await video.propose(await world.actor("teacher"), world.children["X"], 6, "19:30", 30, None)
    await video.accept(await world.actor("mother_x"), sent.proposal_id)
    await video.propose(await world.actor("teacher"), world.children["Y"], 5, "10:00", 30, None)
    # The safety reports: X's teacher's, which the admin acts on; X's proxy parent's, which the school closed; Y's
    # mother's request for help, on which Y's village director wrote.
    await world.report("X", "teacher", handler="admin")
    await world.report("X", "proxy_x", handler="admin", closer="supervisor")
    await world.report("Y", "mother_y", handler="director_y")
    # Y is absent today without a reason (the roll call): its mother is asked why, with buttons that everyone presses
    # too (they are in the outbox: see video_buttons), and the class teacher has a follow-up task.
    attendance, teacher = services.attendance, await world.actor("teacher")
    roll = await attendance.start(teacher, world.class_ids["三年级一班"])
    await attendance.save(teacher, (await attendance.toggle(teacher, roll.draft, world.children["Y"])).draft)
    # A waiting erasure request (held: Y's case is open), so that the admins' /deletions hands out its buttons too.
    await services.privacy.request_deletion(await world.actor("mother_y"), world.children["Y"])
    # X's whereabouts are unknown today (控辍保学): a suspected dropout at once, its ladder's notices in the outbox; two
    # persuasion attempts make the written report due, so its button is handed out too (see dropout_buttons).
    async with services.db.transaction() as conn:
        await conn.execute("INSERT OR IGNORE INTO absences (child_id, class_id, day, reason, marked_at) "
                           "VALUES (?, ?, '2026-03-02', 'unknown', '2026-03-02T08:00:00')",
                           (world.children["X"], world.class_ids["三年级一班"]))
    await services.dropouts.run_due()
    case = await services.dropouts.repo.current(world.children["X"])
    for _ in range(2):
        await services.dropouts.record_attempt(await world.actor("teacher"), case.id,
                                               AttemptDraft("call", "unreachable", "DROPNOTE", ""))
    # X's written notice of entrusted care, confirmed by its mother: its teacher and village director are told, with a
    # button to open the copy that everyone presses too (see entrusted_buttons).
    notice = await services.entrusted.notice(await world.actor("mother_x"), world.children["X"])
    await services.entrusted.confirm(await world.actor("mother_x"), world.children["X"], notice.hash)
    async with services.db.transaction() as conn:
        await services.people.within(conn).revoke_grant(world.grants["removed_mother_x"][0], world.people["admin"],
                                                        "2026-03-01T00:00:00")
    await services.invitations.remove_role(await world.actor("admin"), world.grants["removed_teacher"][0])
    return world, canaries


OUTSIDERS = ("stranger", "removed_mother_x", "removed_teacher", "admin_elsewhere", "admin_sibling",
             "teacher_other_class", "supervisor_elsewhere", "director_elsewhere")


async def tables(db, person_id: int | None = None) -> dict[str, list[tuple]]:
    """Every table but the inbox and language choices (anyone may choose a language), and without the audit of what
    `person_id` did about no child (an admin's export of the safety ledger of their own school, which holds none of
    these children, is audited as every export is) and without `person_id`'s own dialogue (a menu of their own
    places waits for a typed name: what they are in the middle of, nobody else's data)."""
    names = [r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = {n: [tuple(r) for r in await db.fetch_all(f"SELECT * FROM {n}")]
             for n in names if n not in ("inbox", "user_preferences")}
    if person_id is not None:
        own = await db.fetch_all("SELECT * FROM audit_log WHERE actor_id = ? AND child_id IS NULL", (person_id,))
        found["audit_log"] = [r for r in found["audit_log"] if r not in {tuple(o) for o in own}]
        found["dialogues"] = [r for r in found["dialogues"] if r[0] != person_id]
    return found


def everything_said(calls) -> str:
    parts = []
    for call in calls:
        parts.append(json.dumps(call.params, ensure_ascii=False, default=str))
        for content in call.files.values():
            # A PDF's text is compressed: read it as its reader would (the notice of entrusted care, /mydata).
            parts.append(pdf_text(content) if content.startswith(b"%PDF") else
                         content.decode("utf-8", errors="replace"))
            if content.startswith(b"PK"):
                # An .xlsx or .docx is a zip: its text is in the members, compressed.
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    parts += [archive.read(n).decode("utf-8", errors="replace") for n in archive.namelist()]
    return "\n".join(parts)


def callback_data(calls) -> set[str]:
    found = set()
    for call in calls:
        markup = call.params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    found.add(button["callback_data"])
    return found


async def video_buttons(services) -> set[str]:
    """The buttons under the video-call messages in the outbox: proposals, the question after a call."""
    found = set()
    for row in await services.db.fetch_all("SELECT payload FROM outbox"):
        for line in json.loads(row["payload"]).get("actions", []):
            found |= {b["data"] for b in line}
    for call in await services.db.fetch_all("SELECT id FROM video_calls"):
        found |= {f"vc:{call['id']}:{step}" for step in ("d", "m", "r:busy", "v")}
    return found | {"cal:due"}


async def dropout_buttons(services) -> set[str]:
    """Every dropout button (bot.attendance.dropouts) with the real cases' ids and one that names nothing: open, each
    step of recording an attempt, back at school, the written report; the monthly report, the township's ledger, the
    list."""
    cases = [r["id"] for r in await services.db.fetch_all("SELECT id FROM dropout_cases")] + [999]
    found = {"drox:month", "drox:town", "drol"}
    for case in cases:
        found |= {f"dro:{case}:{act}" for act in get_args(DropoutAct)}
        found |= {f"dro:{case}:m:visit", f"dro:{case}:a:refusing"}
    return found


async def safety_buttons(services, world: World) -> set[str]:
    """Every safety button (bot.safety.buttons) with the world's real ids, and with ids that name nothing: 收到 and
    the case of each report, every action on it, the 🆘 of each child, the reporting flow's steps, "这是安全问题"
    under each care entry, the list of cases and the ledger."""
    reports = [*world.reports, 999]
    children = [world.children["X"], world.children["Y"], 999]
    entries = [r["id"] for r in await services.db.fetch_all("SELECT id FROM care_entries")] + [999]
    found = {"sfl", "sfe", "sfs:d:y", "sfs:d:n", "sfs:s:next", "sfs:x:send", "sfk:r:1", "sfk:r:999"}
    for report in reports:
        found |= {f"sfa:{report}", f"sfo:{report}"} | {f"sfx:{report}:{act}" for act in get_args(Act)}
        found |= {f"sfx:{report}:acc:skip", f"sfx:{report}:help:counsel", f"sfx:{report}:close:safe",
                  f"sfx:{report}:visit:today", f"sfx:{report}:visit:better"}
    found |= {f"sfc:{child}" for child in children} | {f"sfs:c:{child}" for child in children}
    found |= {f"sfk:{source}:{entry}" for source in ("t", "u") for entry in entries}
    return found


def ledger_buttons(world: World) -> set[str]:
    """Every /ledger button (bot.ledgers.buttons) for every place of the world and for ids that name nothing: the
    insiders' own are handed out by their /ledger; these are the others' places, pressed by everyone."""
    places = {"class": list(world.class_ids.values()), "school": [world.school_id],
              "village": list(world.villages.values()), "township": [world.township_id]}
    found = set()
    for scope, ids in places.items():
        for place in [*ids, 999]:
            found |= {f"ldg:{scope}:{place}"} | {f"ldg:{scope}:{place}:{kind}" for kind in
                                                 ("children", "musts", "video", "calendar")}
    return found


def stats_buttons(world: World) -> set[str]:
    """Every /stats button (bot.stats.buttons) for every place of the world and for ids that name nothing, for the
    quarter so far and a past quarter, each act: the others' places, pressed by everyone."""
    places = {"class": list(world.class_ids.values()), "school": [world.school_id],
              "village": list(world.villages.values()), "township": [world.township_id]}
    return {f"sts:{scope}:{place}:{period}:{act}" for scope, ids in places.items() for place in [*ids, 999]
            for period in ("now", "2025-Q4") for act in ("v", "x", "p")}


async def entrusted_buttons(services, world: World) -> set[str]:
    """The notice of entrusted care's buttons: each confirmed copy and one that names nothing; a confirmation of each
    child's notice with a forged hash, and of a child that does not exist; the picker for each child."""
    found = {f"entc:{r['id']}" for r in await services.db.fetch_all("SELECT id FROM entrusted_notices")}
    found |= {"entc:999", "entok:999:0123456789ab", "ent:999"}
    for tag in ("X", "Y"):
        found |= {f"entok:{world.children[tag]}:0123456789ab", f"ent:{world.children[tag]}"}
    return found


def attendance_buttons(world: World) -> set[str]:
    """The roll's buttons for both classes and the children (and a child that does not exist), today's and another
    day's, and answers (by button, or with a message sent before) to an absence that does not exist: besides those the teacher's and admin's /attendance show."""
    found = {"absq:999:sick", "absq:999:other", "absm:999:1"}
    for klass in world.class_ids.values():
        for day in (20260302, 20260301):
            found |= {f"att:o:{klass}:{day}", f"att:ok:{klass}:{day}:0", f"att:ok:{klass}:{day}:1"}
            for child in (world.children["X"], world.children["Y"], 999):
                found |= {f"att:t:{klass}:{day}:{child}", f"att:r:{klass}:{day}:{child}:sick"}
    return found


async def run_session(feed, who: dict) -> None:
    for command in COMMANDS:
        await feed(message_update(command, from_user=who))


@pytest.mark.parametrize("actor", list(PEOPLE))
async def test_nobody_receives_a_canary_they_may_not_see(actor, settings, clock, caplog):
    recorder = RecordingRequest()
    app = build_application(settings, clock=clock, request=recorder, limits=unpaced())
    async with initialized(app):
        from bot.runtime.runner import telegram_handle

        feed = telegram_handle(app)
        services = app.bot_data.services
        world, canaries = await build_world(services)

        # What the most trusted people are shown: every button they get is pressed by the actor too.
        for insider in ("admin", "teacher", "mother_x", "mother_y", "supervisor"):
            await run_session(feed, user(world.telegram[insider], "zh-hans", insider))
        buttons = (callback_data(recorder.calls) | await video_buttons(services) | await safety_buttons(services, world)
                   | attendance_buttons(world))
        buttons |= await dropout_buttons(services) | ledger_buttons(world) | stats_buttons(world)
        recorder.clear()

        me = user(world.telegram[actor], "zh-hans", actor)
        person = world.people[actor]
        before = await tables(services.db, person)
        await run_session(feed, me)
        # A removed parent's consent no longer counts (issue 14, item 4): the removals go last, so that what an
        # insider's presses show is shown with the children's consent still standing.
        for data in sorted(buttons, key=lambda d: (d.startswith("rmrole:"), d)):
            await feed(callback_update(data, from_user=me))
        said = everything_said(recorder.calls)
        if actor in OUTSIDERS:
            assert await tables(services.db, person) == before, f"{actor} changed something"
        # Then what waits in the outbox for them (the reports' notices, what their presses caused) reaches them.
        recorder.clear()
        await deliver_outbox(app)
        said += "\n" + everything_said(c for c in recorder.calls if str(c.params.get("chat_id")) == str(me["id"]))
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []

        grants = (await world.actor(actor)).grants
        for tag in ("X", "Y"):
            place = (await ChildrenRepository(services.db).get(world.children[tag])).place
            allowed = fields_allowed(grants, place, VIEW, consented=True)
            for key, value in canaries[tag].items():
                if key in allowed:
                    continue
                for needle in needles(value):
                    assert needle not in said, f"{actor} received {tag}.{key}"
            if "personality" in allowed:
                # The control: what they may see does reach them, so the absences above mean something.
                assert canaries[tag]["personality"] in said, f"{actor} never saw {tag}'s record"
                assert actor not in OUTSIDERS
            for kind, needle, shared in (("update", f"UPDNOTE{tag}", True), ("update", f"PHOTOFILE{tag}", True),
                                         ("talk", f"TALKNOTE{tag}", True), ("visit", f"VISITNOTE{tag}", False),
                                         ("visit", f"SHAREDVISIT{tag}", True)):
                if entry_level(entry_access(grants, place, kind, consented=True), shared) == FULL:
                    # The control: their timeline (and its photo button) did show it.
                    assert needle in said, f"{actor} never saw {tag}'s {kind} ({needle})"
                else:
                    assert needle not in said, f"{actor} received {tag}'s {kind} ({needle})"
        for filed in world.reports.values():
            place = (await ChildrenRepository(services.db).get(world.children[filed.child])).place
            reads = report_reads(grants, person, place, world.people[filed.reporter])
            for canary in (c for c in world.canaries if c.report == filed.id):
                if canary.what in reads:
                    # The control: the case (and its photo button) showed it to them.
                    assert canary.value in said, f"{actor} never read report {filed.id}'s {canary.what}"
                else:
                    assert canary.value not in said, f"{actor} received report {filed.id}'s {canary.what}"


def test_the_canaries_are_unique_and_valid():
    from bot.records.fields import normalise

    values = list(canary_values("X", 1).values()) + list(canary_values("Y", 2).values())
    assert len(values) == len(set(values))
    for tag, seed in (("X", 1), ("Y", 2)):
        for key, value in canary_values(tag, seed).items():
            assert normalise(key, value, today=date(2026, 3, 2)) == value, key
