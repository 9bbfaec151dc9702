"""The care calendar service: a school's recurring tasks come due at 8:00 school time on their day and move on
by CronTrigger; reminders reach the people responsible once, even across downtime and restarts, and too-late
ones are recorded as skipped; "Done" counts once; the weekly digest lists what the five musts still want."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar import (AUDIENCE_STEP, DAY_STEP, MONTH_STEP, RECURRENCE_STEP, AlreadyDone, CalendarError,
                          CalendarService, next_step)
from bot.errors import NotAllowed
from bot.access.policy import ADMIN, PARENT, PROXY, TEACHER
from storage.musts import Entry, Media, MustsRepository
from storage.children import ChildrenRepository
from tests.world import World

SCHOOL_TZ = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SCHOOL_TZ)


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.child("小红")
    await world.person("校长", ADMIN)
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.person("钱叔叔", PROXY, child="小红")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("孙老师", TEACHER, klass="三年级一班")
    async with world.services.db.transaction() as conn:
        people = world.services.people.within(conn)
        other = await people.ensure_school("阳光小学", "2026-03-01T00:00:00.000+00:00")
        await people.revoke_grant(world.grants["孙老师"][0], world.people["校长"], "2026-03-01T00:00:00.000+00:00")
    await world.person("刘老师", TEACHER, school_id=other)
    await world.person("别校长", ADMIN, school_id=other)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


@pytest.fixture
def service(world) -> CalendarService:
    return world.services.calendar


async def rows_for(world, task_id: int) -> list[dict]:
    found = await world.services.db.fetch_all(
        "SELECT * FROM outbox WHERE dedupe_key LIKE ? ORDER BY id", (f"cal:{task_id}:%",))
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in found]


def names_of(world, rows: list[dict]) -> list[str]:
    by_chat = {str(chat): name for name, chat in world.telegram.items()}
    return sorted(by_chat[r["recipient"]] for r in rows)


async def custom(service, world, title: str, *choices: tuple[str, str]):
    actor = await world.actor("校长")
    task = await service.name_custom(actor, title)
    for step, value in choices:
        task = await service.choose(actor, task.id, step, value)
    return task


async def test_a_monthly_task_reminds_at_eight_school_time_on_its_day_and_moves_on(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    assert task.next_at == "2026-03-25T00:00:00.000+00:00"  # 08:00 in Shanghai

    clock.set(local(2026, 3, 25, 7, 59))
    await service.run_due()
    assert await rows_for(world, task.id) == []

    clock.set(local(2026, 3, 25, 8, 0, 30))
    assert await service.run_due() == 3
    rows = await rows_for(world, task.id)
    # Teachers and proxy parents of this school with an active role; not parents, not the removed teacher, not
    # the other school's teacher, not the admin.
    assert names_of(world, rows) == ["王老师", "赵阿姨", "钱叔叔"]
    text = rows[0]["payload"]["text"]
    assert text.startswith("⏰ Care calendar: Heart-to-heart talks\nmonthly on day 25")
    [[button]] = rows[0]["payload"]["actions"]
    assert button["label"] == "✅ Done" and button["data"].startswith("cal:ok:")
    assert all(r["urgent"] == 0 for r in rows)
    assert (await service.repo.task(task.id)).next_at == "2026-04-25T00:00:00.000+00:00"


async def test_days_stop_at_28_so_every_month_has_its_reminder(world, service, clock):
    actor = await world.actor("校长")
    task = await service.name_custom(actor, "Check the ledgers")
    task = await service.choose(actor, task.id, RECURRENCE_STEP, "monthly")
    for day in ("29", "31", "0", "x"):
        with pytest.raises(CalendarError):
            await service.choose(actor, task.id, DAY_STEP, day)
    task = await service.choose(actor, task.id, DAY_STEP, "28")
    task = await service.choose(actor, task.id, AUDIENCE_STEP, "teachers")
    assert next_step(task) is None
    seen = []
    for _month in range(12):
        clock.set(datetime.fromisoformat(task.next_at))
        await service.run_due()
        task = await service.repo.task(task.id)
        seen.append(service.local_day(task.next_at).isoformat())
    assert seen[:4] == ["2026-04-28", "2026-05-28", "2026-06-28", "2026-07-28"]
    assert "2027-02-28" in seen and all(day.endswith("-28") for day in seen)
    assert len(await service.repo.occurrences(task.id)) == 12


async def test_a_semester_task_comes_in_march_and_september_only(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "meeting")
    sent_in = []
    for n in range(18):  # the first of every month, April 2026 to September 2027, at 08:00
        year, month = 2026 + (3 + n) // 12, (3 + n) % 12 + 1
        before = len(await rows_for(world, task.id))
        clock.set(local(year, month, 1, 8, 0))
        await service.run_due()
        if len(await rows_for(world, task.id)) > before:
            sent_in.append((year, month))
    assert sent_in == [(2026, 9), (2027, 3), (2027, 9)]


async def test_a_bot_stopped_over_the_time_sends_the_reminder_once_when_it_is_back(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 3, 27, 10, 0))  # down from the 24th to the 27th
    first = await service.run_due()
    rows = await rows_for(world, task.id)
    assert first >= len(rows) == 3
    assert await service.run_due() == 0
    # A restart is a new service over the same database.
    s = world.services
    again = CalendarService(s.db, s.people, ChildrenRepository(s.db), s.musts, s.outbox, s.preferences, clock,
                            "Asia/Shanghai")
    assert await again.run_due() == 0
    assert len(await rows_for(world, task.id)) == 3
    [occurrence] = await service.repo.occurrences(task.id)
    assert (occurrence.due_at, occurrence.state, occurrence.recipients) == \
        ("2026-03-25T00:00:00.000+00:00", "sent", 3)


async def test_two_runs_at_once_hand_over_each_reminder_once(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 3, 25, 8, 1))
    await asyncio.gather(service.run_due(), service.run_due(), service.run_due())
    assert len(await rows_for(world, task.id)) == 3
    assert (await world.services.db.fetch_one("SELECT COUNT(*) AS n FROM calendar_marks"))["n"] == 3


async def test_downtime_past_the_shelf_life_is_skipped_and_recorded_not_sent(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 4, 2, 9, 0))  # eight days after the 25th
    assert await service.run_due() == 0
    assert await rows_for(world, task.id) == []
    [occurrence] = await service.repo.occurrences(task.id)
    assert (occurrence.due_at, occurrence.state) == ("2026-03-25T00:00:00.000+00:00", "skipped")
    assert (await service.repo.task(task.id)).next_at == "2026-04-25T00:00:00.000+00:00"


async def test_a_long_downtime_skips_the_old_occurrences_and_sends_the_recent_one(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 5, 27, 9, 0))  # March and April long past, May two days ago
    await service.run_due()
    states = [(o.due_at[:10], o.state) for o in await service.repo.occurrences(task.id)]
    assert states == [("2026-03-25", "skipped"), ("2026-04-25", "skipped"), ("2026-05-25", "sent")]
    assert names_of(world, await rows_for(world, task.id)) == ["王老师", "赵阿姨", "钱叔叔"]
    assert (await service.repo.task(task.id)).next_at == "2026-06-25T00:00:00.000+00:00"


@pytest.mark.parametrize("audience, reminded", [
    ("teachers", ["王老师"]),
    ("proxies", ["赵阿姨", "钱叔叔"]),
    ("both", ["王老师", "赵阿姨", "钱叔叔"]),
])
async def test_only_the_people_responsible_are_reminded(world, service, clock, audience, reminded):
    task = await custom(service, world, "Home visits", (RECURRENCE_STEP, "yearly"), (MONTH_STEP, "4"),
                        (DAY_STEP, "10"), (AUDIENCE_STEP, audience))
    assert task.next_at == "2026-04-10T00:00:00.000+00:00"
    clock.set(local(2026, 4, 10, 8, 0))
    await service.run_due()
    assert names_of(world, await rows_for(world, task.id)) == reminded


async def test_a_role_ended_since_is_not_reminded(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    await world.services.people.revoke_grant(world.grants["赵阿姨"][0], world.people["校长"],
                                             "2026-03-10T00:00:00.000+00:00")
    clock.set(local(2026, 3, 25, 8, 0))
    await service.run_due()
    assert names_of(world, await rows_for(world, task.id)) == ["王老师", "钱叔叔"]


async def test_a_removed_task_reminds_nobody(world, service, clock):
    admin = await world.actor("校长")
    task = await service.add_preset(admin, world.school_id, "talk")
    await service.remove(admin, task.id)
    clock.set(local(2026, 3, 25, 8, 0))
    assert await service.run_due() == 0
    assert await rows_for(world, task.id) == [] and await service.repo.occurrences(task.id) == []
    assert (await service.agenda(admin)).schools[0].tasks == []


async def test_done_counts_once_and_only_for_the_person_reminded(world, service, clock):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 3, 25, 8, 0))
    await service.run_due()
    teacher = await world.actor("王老师")
    [mine] = (await service.agenda(teacher)).open
    with pytest.raises(NotAllowed):
        await service.mark_done(await world.actor("赵阿姨"), mine.id)
    with pytest.raises(NotAllowed):
        await service.mark_done(await world.actor("校长"), mine.id)
    await service.mark_done(teacher, mine.id)
    with pytest.raises(AlreadyDone):
        await service.mark_done(teacher, mine.id)
    assert (await service.agenda(teacher)).open == []
    assert [r.task.id for r in (await service.agenda(await world.actor("赵阿姨"))).open] == [task.id]
    done = await world.services.db.fetch_all("SELECT * FROM calendar_marks WHERE done_at IS NOT NULL")
    assert len(done) == 1
    audit = await world.services.db.fetch_all("SELECT action FROM audit_log WHERE action LIKE 'calendar%'")
    assert [r["action"] for r in audit] == ["calendar_add", "calendar_done"]


async def test_done_is_refused_once_the_role_has_ended(world, service, clock):
    await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    clock.set(local(2026, 3, 25, 8, 0))
    await service.run_due()
    [mine] = (await service.agenda(await world.actor("赵阿姨"))).open
    await world.services.people.revoke_grant(world.grants["赵阿姨"][0], world.people["校长"],
                                             "2026-03-26T00:00:00.000+00:00")
    with pytest.raises(NotAllowed):
        await service.mark_done(await world.actor("赵阿姨"), mine.id)


async def test_a_newer_occurrence_replaces_the_open_reminder_of_the_last(world, service, clock):
    await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    for month in (3, 4):
        clock.set(local(2026, month, 25, 8, 0))
        await service.run_due()
    [open_] = (await service.agenda(await world.actor("王老师"))).open
    assert open_.due_at == "2026-04-25T00:00:00.000+00:00"


async def test_only_the_schools_admins_change_its_calendar(world, service):
    task = await service.add_preset(await world.actor("校长"), world.school_id, "talk")
    for name in ("别校长", "王老师", "赵阿姨", "李妈妈"):
        actor = await world.actor(name)
        with pytest.raises(NotAllowed):
            await service.add_preset(actor, world.school_id, "records")
        with pytest.raises(NotAllowed):
            await service.remove(actor, task.id)
        with pytest.raises(NotAllowed):
            await service.start_custom(actor, world.school_id)
    with pytest.raises(NotAllowed):
        await service.name_custom(await world.actor("王老师"), "Anything")
    assert len((await service.agenda(await world.actor("校长"))).schools[0].tasks) == 1


async def test_a_preset_is_added_once_and_a_school_has_room_for_twenty(world, service):
    admin = await world.actor("校长")
    await service.add_preset(admin, world.school_id, "talk")
    with pytest.raises(CalendarError) as refused:
        await service.add_preset(admin, world.school_id, "talk")
    assert refused.value.msgid == "This task is already on the calendar."
    with pytest.raises(CalendarError):
        await service.add_preset(admin, world.school_id, "nonsense")
    for n in range(19):
        await custom(service, world, f"Task {n}", (RECURRENCE_STEP, "monthly"), (DAY_STEP, "3"),
                     (AUDIENCE_STEP, "both"))
    with pytest.raises(CalendarError) as refused:
        await service.add_preset(admin, world.school_id, "records")
    assert "at most {limit}" in refused.value.msgid and refused.value.params == {"limit": 20}


@pytest.mark.parametrize("title", ["", "   ", "\n", "长" * 41])
async def test_a_bad_name_is_refused_and_nothing_is_written(world, service, title):
    before = await world.services.db.fetch_all("SELECT * FROM calendar_tasks")
    with pytest.raises(CalendarError):
        await service.name_custom(await world.actor("校长"), title)
    assert [tuple(r) for r in await world.services.db.fetch_all("SELECT * FROM calendar_tasks")] == \
        [tuple(r) for r in before]


async def test_the_steps_of_a_task_of_ones_own_go_in_order(world, service):
    actor = await world.actor("校长")
    task = await service.name_custom(actor, "  Water   safety lesson ")
    assert task.title == "Water safety lesson" and task.state == "draft"
    for step, value in ((DAY_STEP, "5"), (AUDIENCE_STEP, "both"), (RECURRENCE_STEP, "weekly")):
        with pytest.raises(CalendarError):
            await service.choose(actor, task.id, step, value)
    with pytest.raises(NotAllowed):  # another admin's draft, even of the same school
        await service.choose(await world.actor("别校长"), task.id, RECURRENCE_STEP, "monthly")
    task = await service.choose(actor, task.id, RECURRENCE_STEP, "semester")
    assert next_step(task) == DAY_STEP  # a semester's months are March and September
    task = await service.choose(actor, task.id, DAY_STEP, "10")
    task = await service.choose(actor, task.id, AUDIENCE_STEP, "proxies")
    assert (task.state, task.next_at) == ("active", "2026-03-10T00:00:00.000+00:00")
    with pytest.raises(CalendarError):  # saved: its buttons are spent
        await service.choose(actor, task.id, AUDIENCE_STEP, "both")


# -- the weekly digest --------------------------------------------------------------------------------------

async def digest_rows(world) -> list[dict]:
    digest = await world.services.db.fetch_one("SELECT id FROM calendar_tasks WHERE kind = 'digest'")
    return await rows_for(world, digest["id"])


async def everything_done_for(world, child: str, author: str) -> None:
    """This month's update with two photos, talk and summary for the child: nothing of the five musts is owed."""
    child_id, author_id = world.children[child], world.people[author]
    async with world.services.db.transaction() as conn:
        entries = MustsRepository(world.services.db).within(conn)
        update = await entries.add_entry(Entry(child_id, author_id, PROXY, "update", "2026-03-05", None,
                                               {"fields": {}}, "2026-03-05T02:00:00+00:00"))
        for n in (1, 2):
            await entries.add_media(Media(update, child_id, n, "photo", f"f{child}{n}", f"u{child}{n}", 10))
        await entries.add_entry(Entry(child_id, author_id, PROXY, "talk", "2026-03-05", None,
                                      {"fields": {}}, "2026-03-05T02:00:00+00:00"))
        await entries.add_entry(Entry(child_id, author_id, PROXY, "summary", "2026-03-06", "2026-03",
                                      {"fields": {}}, "2026-03-06T02:00:00+00:00"))


async def test_the_weekly_digest_lists_what_is_due_with_buttons_that_open_the_forms(world, service, clock):
    await everything_done_for(world, "小红", "钱叔叔")
    await service.run_due()  # Monday 2 March, 16:00: the digest is first set for next Monday
    digest = await world.services.db.fetch_one("SELECT * FROM calendar_tasks WHERE kind = 'digest'")
    assert digest["next_at"] == "2026-03-09T00:00:00.000+00:00"

    clock.set(local(2026, 3, 8, 20, 0))  # Sunday evening: not yet
    await service.run_due()
    assert await digest_rows(world) == []
    clock.set(local(2026, 3, 9, 8, 0, 10))
    await service.run_due()
    rows = await digest_rows(world)
    # The proxy parent of 小红 has done everything; parents and admins are never sent one.
    assert names_of(world, rows) == ["王老师", "赵阿姨"]
    proxy = next(r for r in rows if r["recipient"] == str(world.telegram["赵阿姨"]))
    # What the outbox keeps names no child (it would outlive an erasure); its button shows the list.
    assert proxy["payload"]["text"] == "📋 The five musts: 3 things are still to do this week, for 1 child."
    assert proxy["payload"]["actions"] == [[{"label": "📋 Show what is due", "data": "cal:due"}]]
    assert not any("小明" in r["payload"]["text"] for r in rows)
    text, buttons = await service.digest(await world.actor("赵阿姨"), "en")
    assert text.startswith("📋 The five musts: still to do this week\n\n🧒 小明\n")
    assert "Photos this month 0/2" in text and "Talk this month 0/1" in text and "小红" not in text
    data = [b.payload.pack() for row in buttons for b in row]
    xiaoming = world.children["小明"]
    assert sorted(data) == sorted({f"care:{xiaoming}:u:n", f"care:{xiaoming}:m:n", f"care:{xiaoming}:t:n"})
    teacher_text, _buttons = await service.digest(await world.actor("王老师"), "en")
    assert "🧒 小明" in teacher_text and "🧒 小红" not in teacher_text
    assert await service.digest(await world.actor("钱叔叔"), "en") is None

    # Once a week: again at once, nothing; the next one is next Monday.
    await service.run_due()
    assert len(await digest_rows(world)) == 2
    assert (await world.services.db.fetch_one("SELECT next_at FROM calendar_tasks WHERE kind = 'digest'"))[
        "next_at"] == "2026-03-16T00:00:00.000+00:00"


async def test_a_digest_days_late_is_skipped(world, service, clock):
    await service.run_due()
    clock.set(local(2026, 3, 12, 9, 0))  # Thursday: Monday's digest is stale
    await service.run_due()
    assert await digest_rows(world) == []
    states = await world.services.db.fetch_all(
        "SELECT o.state FROM calendar_occurrences o JOIN calendar_tasks t ON t.id = o.task_id "
        "WHERE t.kind = 'digest'")
    assert [r["state"] for r in states] == ["skipped"]


async def test_the_digest_has_at_most_eight_buttons_the_most_pressing_first(world, service, clock):
    for n in range(6):
        await world.child(f"孩子{n}")
        await world.person("赵阿姨", PROXY, child=f"孩子{n}")
        await world.person(f"家长{n}", PARENT, child=f"孩子{n}", relation="mother")
        await world.consent(f"孩子{n}", by=f"家长{n}")
    await service.run_due()
    clock.set(local(2026, 4, 6, 8, 0))  # March's summaries are overdue by now
    await service.run_due()
    text, rows = await service.digest(await world.actor("赵阿姨"), "en")
    buttons = [b for row in rows for b in row]
    assert len(buttons) == 8
    # Overdue first, the oldest deadline first: seven updates owed since 16 March, then a March summary.
    assert [b.payload.pack()[-4:] for b in buttons] == [":u:n"] * 7 + [":m:n"]
    # Seven children: a line each, its musts most pressing first.
    lines = text.split("\n")
    assert "🧒 孩子0: ❗Update ❗Summary ⏰Photos ⏰Talk" in lines and len(lines) == 1 + 1 + 7 + 1 + 1


async def test_each_carer_sees_what_is_still_to_come_this_month_for_them(world, service):
    admin = await world.actor("校长")
    for key in ("talk", "meeting", "records"):
        await service.add_preset(admin, world.school_id, key)
    await custom(service, world, "Home visits", (RECURRENCE_STEP, "monthly"), (DAY_STEP, "20"),
                 (AUDIENCE_STEP, "proxies"))

    async def upcoming(name: str) -> list[str]:
        return [t.title for t in (await service.agenda(await world.actor(name))).upcoming]

    assert await upcoming("王老师") == ["Heart-to-heart talks"]  # the parent meeting is in September
    assert await upcoming("赵阿姨") == ["Home visits", "Heart-to-heart talks"]
    assert await upcoming("刘老师") == []
    agenda = await service.agenda(await world.actor("李妈妈"))
    assert (agenda.carer, agenda.schools, agenda.upcoming) == (False, [], [])
