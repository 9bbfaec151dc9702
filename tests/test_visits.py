"""Home visits (家访, issue 15, item 4) as plain service calls: who may write one, what a visit kept for the staff
and a visit shared with the family store and hand to the outbox, who reads them in the timeline, in /mydata and
by the photo button, and /due counting one visit a semester for the class teacher. And migration 0020, which
rebuilds care_entries to take them, run on a database filled by the migrations before it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.access.policy import (ADMIN, DIRECTOR, FULL, GUARDIAN, PARENT, PROXY, SHARED, SUPERVISOR, TEACHER,
                               entry_level, may_write)
from bot.errors import NotAllowed, StaleButton
from bot.i18n import translator
from bot.musts.forms import NOT_SHARED, VISIT
from bot.musts.forms import SHARED as SHARE
from bot.musts.service import Incomplete, MediaIn
from bot.musts.tracker import DONE, DUE, Fact, check
from storage.children import ChildrenRepository
from storage.db import Database
from storage.migrations import MIGRATIONS
from tests.helpers import count, outbox
from tests.world import World

EN = translator("en").gettext


@pytest.fixture
async def world(services):
    world = await World.build(services)
    await world.township("青山镇", ("青山村",))
    await world.child("小明")
    await world.home("小明", "青山村")
    await world.child("小红")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("校长", ADMIN)
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("奶奶", GUARDIAN, child="小明", relation="grandmother")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.person("督导员", SUPERVISOR)
    await world.person("主任", DIRECTOR, village="青山村")
    await world.consent("小明", by="李妈妈")
    await world.consent("小红", by="李妈妈")
    for name in world.telegram:
        await services.preferences.set_locale(world.telegram[name], "en")
    return world


async def visit(services, world, author: str = "王老师", *, shared: bool = False, found: str = "家里整洁，奶奶身体好",
                photos: int = 0, tag: str = "v") -> int:
    musts = services.musts
    actor = await world.actor(author)
    await musts.start(actor, world.children["小明"], VISIT)
    await musts.choose(actor, "met", "grandparents")
    await musts.choose(actor, "met", "child")
    await musts.done_choosing(actor)
    await musts.type(actor, found)  # nothing awaited: the typed words are what was found
    await musts.ask(actor, "agreed")
    await musts.type(actor, "每周和妈妈视频一次")
    if shared:
        await musts.choose(actor, "shared", SHARE)
    for n in range(photos):
        await musts.add_media(actor, MediaIn("photo", f"{tag}p{n}", f"{tag}u{n}", 40_000))
    return (await musts.submit(actor)).entry_id


def test_the_policy_for_a_visit():
    from bot.access.policy import ENTRY_READ, ENTRY_WRITE

    assert ENTRY_WRITE[VISIT] == {TEACHER, PROXY}
    assert {role for role, level in ENTRY_READ[VISIT].items() if level == FULL} == {ADMIN, TEACHER, PROXY, SUPERVISOR,
                                                                                 DIRECTOR}
    assert ENTRY_READ[VISIT][PARENT] == ENTRY_READ[VISIT][GUARDIAN] == SHARED
    assert entry_level(SHARED, True) == FULL and entry_level(SHARED, False) is None
    assert entry_level(FULL, False) == FULL


async def test_who_may_write_a_visit(services, world):
    child = await ChildrenRepository(services.db).get(world.children["小明"])
    for name, allowed in (("王老师", True), ("赵阿姨", True), ("校长", False), ("李妈妈", False), ("奶奶", False),
                          ("督导员", False), ("主任", False)):
        actor = await world.actor(name)
        assert may_write(actor.grants, child.place, VISIT, consented=True) is allowed, name
        if not allowed:
            with pytest.raises(NotAllowed):
                await services.musts.start(actor, child.id, VISIT)
    # The proxy parent of 小明 is not 小红's.
    with pytest.raises(NotAllowed):
        await services.musts.start(await world.actor("赵阿姨"), world.children["小红"], VISIT)


async def test_a_visit_starts_today_by_its_author_for_the_staff_and_needs_whom_they_met(services, world, clock):
    musts = services.musts
    teacher = await world.actor("王老师")
    draft = await musts.start(teacher, world.children["小明"], VISIT)
    assert draft.fields == {"date": "2026-03-02", "visitors": "王老师", "shared": NOT_SHARED}
    with pytest.raises(Incomplete) as gap:
        await musts.submit(teacher)
    assert gap.value.text(EN) == "Please fill in: Met."
    await musts.ask(teacher, "date")
    await musts.type(teacher, "2-27")
    await musts.ask(teacher, "visitors")
    await musts.type(teacher, "王老师、村主任")
    await musts.ask(teacher, "met")
    await musts.type(teacher, "邻居")  # typed: someone the buttons do not name
    done = await musts.submit(teacher)
    row = await services.db.fetch_one("SELECT * FROM care_entries WHERE id = ?", (done.entry_id,))
    assert (row["kind"], row["occurred_on"], row["author_role"], row["for_family"]) == (VISIT, "2026-02-27", TEACHER, 0)
    assert '"visitors": "王老师、村主任"' in row["body"] and '"met": ["邻居"]' in row["body"]


async def test_a_visit_for_the_staff_is_sent_to_nobody_and_hidden_from_the_family(services, world):
    entry = await visit(services, world, photos=2)
    assert await count(world, "care_deliveries") == 0
    assert [r for r in await outbox(world) if r["key"].startswith("care:")] == []
    musts = services.musts
    child = world.children["小明"]
    for name in ("王老师", "赵阿姨", "校长", "督导员", "主任"):
        page = await musts.timeline(await world.actor(name), child, 0, "en")
        assert [i.entry.id for i in page.items] == [entry], name
        assert "🔎 Found: 家里整洁，奶奶身体好" in page.items[0].text
        assert "🔐 Who reads it: 🔒 Staff only" in page.items[0].text
        assert page.items[0].photos == 2
        _entry, media = await musts.entry_media(await world.actor(name), entry)
        assert [m.file_id for m in media] == ["vp0", "vp1"]
    for name in ("李妈妈", "奶奶"):
        actor = await world.actor(name)
        page = await musts.timeline(actor, child, 0, "en")
        assert page.items == [] and page.pages == 1, name
        with pytest.raises(StaleButton):
            await musts.entry_media(actor, entry)
        assert await musts.export(actor, child) == []
    assert [e["kind"] for e in await musts.export(await world.actor("王老师"), child)] == [VISIT]


async def test_a_shared_visit_reaches_the_family_like_any_entry(services, world):
    entry = await visit(services, world, "赵阿姨", shared=True, photos=1)
    mine = [r for r in await outbox(world) if r["recipient"] == str(world.telegram["李妈妈"])]
    assert [r["kind"] for r in mine] == ["media", "text"]
    card = mine[-1]["payload"]["text"]
    assert card.startswith("🏡 小明's home visit · Mar 2\nproxy parent 赵阿姨")
    assert "👥 Met: Grandparents, The child" in card and "🤝 Agreed: 每周和妈妈视频一次" in card
    assert [b["label"] for row in mine[-1]["payload"]["actions"] for b in row] == ["✅ Received"]
    assert await count(world, "care_deliveries") == 2  # the mother and the grandmother
    for name in ("李妈妈", "奶奶"):
        page = await services.musts.timeline(await world.actor(name), world.children["小明"], 0, "en")
        assert [i.entry.id for i in page.items] == [entry]
        assert page.items[0].photos == 1


async def test_the_family_counts_only_the_shared_visits(services, world):
    kept = [await visit(services, world, found=f"第{n}次") for n in range(5)]
    shared = await visit(services, world, shared=True, found="共享")
    mother = await world.actor("李妈妈")
    page = await services.musts.timeline(mother, world.children["小明"], 0, "en")
    assert ([i.entry.id for i in page.items], page.pages) == ([shared], 1)
    teacher = await services.musts.timeline(await world.actor("王老师"), world.children["小明"], 0, "en")
    assert teacher.pages == 2 and kept[-1] in [i.entry.id for i in teacher.items]


def test_the_tracker_asks_for_one_visit_a_semester_of_the_teacher_only():
    tz = ZoneInfo("Asia/Shanghai")
    since = datetime(2025, 8, 1, tzinfo=tz)
    now = datetime(2026, 3, 2, 9, tzinfo=tz)

    def visit_must(*made: datetime, visits: bool = True):
        return [m for m in check([Fact(VISIT, at) for at in made], now=now, tz=tz, since=since, visits=visits)
                if m.key == VISIT]

    assert visit_must(visits=False) == []
    [owed] = visit_must()
    assert (owed.state, owed.done, owed.needed, owed.deadline.isoformat(), owed.period) == (DUE, 0, 1, "2026-07-31",
                                                                                           "2026-02")
    # A visit of late January belongs to the autumn semester; two this semester count as two, and done.
    assert visit_must(datetime(2026, 1, 30, 12, tzinfo=tz))[0].state == DUE
    [done] = visit_must(datetime(2026, 2, 20, 12, tzinfo=tz), datetime(2026, 3, 1, 12, tzinfo=tz))
    assert (done.state, done.done) == (DONE, 2)


async def test_due_counts_the_visit_once_a_semester_for_the_class_teacher(services, world, clock):
    musts = services.musts

    async def owed(name: str):
        rows = await musts.due(await world.actor(name))
        return {row.child.name: next((m for m in row.musts if m.key == VISIT), None) for row in rows}

    assert (await owed("赵阿姨")) == {"小明": None}  # not the proxy parent's duty
    before = await owed("王老师")
    assert before["小明"].state == DUE and before["小红"].state == DUE
    await visit(services, world, "赵阿姨")  # a proxy parent's visit counts for the child too
    after = await owed("王老师")
    assert (after["小明"].state, after["小明"].done) == (DONE, 1) and after["小红"].state == DUE
    # Still counted in July, four months on (the window reaches back to the semester's start) ...
    clock.advance(timedelta(days=130))
    assert (await owed("王老师"))["小明"].state == DONE
    # ... and the autumn semester asks again.
    clock.advance(timedelta(days=40))
    again = await owed("王老师")
    assert (again["小明"].state, again["小明"].done, again["小明"].deadline.isoformat()) == (DUE, 0, "2027-01-31")


async def test_a_staff_only_visits_photos_do_not_count_as_the_familys_photos(services, world):
    async def photos() -> int:
        [row] = await services.musts.due(await world.actor("赵阿姨"))
        return next(m for m in row.musts if m.key == "photos").done

    await visit(services, world, photos=2)
    assert await photos() == 0
    await visit(services, world, shared=True, photos=2, tag="s")
    assert await photos() == 2


# -- migration 0020 ---------------------------------------------------------------------------------------------

async def test_0020_keeps_every_entry_its_media_and_deliveries_and_takes_visits(tmp_path):
    db = await Database.open(tmp_path / "m.sqlite3")
    try:
        await db.migrate(tuple(m for m in MIGRATIONS if m.version <= 19))
        async with db.transaction() as conn:
            now = "2026-03-01T08:00:00.000+00:00"
            await conn.execute("INSERT INTO schools (id, name, created_at) VALUES (1, '希望小学', ?)", (now,))
            await conn.execute("INSERT INTO classes (id, school_id, name) VALUES (1, 1, '三年级一班')")
            await conn.execute("INSERT INTO children (id, school_id, class_id, created_at) VALUES (7, 1, 1, ?)",
                               (now,))
            await conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (3, '李妈妈', ?)", (now,))
            for entry_id, kind in ((11, "update"), (12, "talk"), (13, "letter")):
                await conn.execute(
                    "INSERT INTO care_entries (id, child_id, author_id, author_role, kind, occurred_on, body, "
                    "created_at) VALUES (?, 7, 3, 'proxy', ?, '2026-03-01', '{\"fields\": {}}', ?)",
                    (entry_id, kind, now))
            await conn.execute("INSERT INTO care_media (id, entry_id, child_id, position, kind, file_id, "
                               "file_unique_id, stored_path) VALUES (21, 11, 7, 0, 'photo', 'f', 'u', 'a/b.jpg')")
            await conn.execute("INSERT INTO care_deliveries (id, entry_id, recipient_id, acknowledged_at) "
                               "VALUES (31, 13, 3, ?)", (now,))
            with pytest.raises(Exception):
                await conn.execute("INSERT INTO care_entries (child_id, author_role, kind, occurred_on, body, "
                                   "created_at) VALUES (7, 'teacher', 'visit', '2026-03-01', '{}', ?)", (now,))
        await db.migrate()
        assert await db.user_version() == MIGRATIONS[-1].version
        entries = await db.fetch_all("SELECT id, kind, for_family FROM care_entries ORDER BY id")
        assert [tuple(r) for r in entries] == [(11, "update", 1), (12, "talk", 1), (13, "letter", 1)]
        assert tuple(await db.fetch_one("SELECT id, entry_id, stored_path FROM care_media")) == (21, 11, "a/b.jpg")
        assert tuple(await db.fetch_one("SELECT id, entry_id, acknowledged_at FROM care_deliveries")) == (31, 13, now)
        indexes = {r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                    "AND name LIKE 'care_%'")}
        assert {"care_entries_child", "care_media_entry", "care_media_unfetched"} <= indexes
        # The children still point at the rebuilt table, and cascade with it.
        for table in ("care_media", "care_deliveries"):
            assert {r["table"] for r in await db.fetch_all(f"PRAGMA foreign_key_list({table})")} >= {"care_entries"}
        assert await db.fetch_all("PRAGMA foreign_key_check") == []
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO care_entries (child_id, author_role, kind, occurred_on, body, created_at, "
                               "for_family) VALUES (7, 'teacher', 'visit', '2026-03-01', '{}', ?, 0)", (now,))
            await conn.execute("DELETE FROM care_entries WHERE id = 11")
        assert await db.fetch_all("SELECT id FROM care_media") == []
        with pytest.raises(Exception):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO care_entries (child_id, author_role, kind, occurred_on, body, "
                                   "created_at) VALUES (7, 'teacher', 'party', '2026-03-01', '{}', ?)", (now,))
    finally:
        await db.close()
