"""Mandatory reporting at the service level: a report reaches the school, the class teacher, the township's supervisor
and the village's director at once, in the safety lane and through quiet hours, and nobody of the child's family; it
is told again and escalated to the township until someone acknowledges; the police feedback is asked for after 72
hours; closing needs two people; every view is audited; the ledger is a real spreadsheet; an erasure waits for the
case to close."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.access.policy import ADMIN, DIRECTOR, GUARDIAN, PARENT, PROXY, SUPERVISOR, TEACHER
from bot.access.privacy import ErasureHeld
from bot.errors import AlreadyAcknowledged, NotAllowed, UserError
from bot.clock import stamp
from bot.i18n import translator
from bot.notices import SAFETY
from bot.runtime.runner import schedule_job
from bot.safety.buttons import Acknowledge, OpenCase
from bot.safety.service import FEEDBACK_DUE, HIDDEN, NO_ACK, NO_POLICE
from bot.settings import ConfigError, load_settings
from storage.safety import ACCEPTED, HELP, HELPING, REPORT, ReportDraft
from tests.world import NOW, World

SCHOOL_TZ = ZoneInfo("Asia/Shanghai")
LEDGER_HEADER = ["日期", "儿童", "情形", "发现时间", "报警时间", "发现到报警(小时)", "警方反馈", "状态", "结案时间"]
LEVEL_ONE = sorted(["校长", "陈老师", "督导", "村主任"])
FAMILY_AND_OTHERS = ["李妈妈", "王奶奶", "钱叔叔", "小红妈妈"]


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SCHOOL_TZ)


@pytest.fixture
async def world(app, clock):
    """希望小学 under 青山镇, 小明 living in 青山村; 阳光小学 is another school of the township. 02:00 at night in
    the school's zone: everybody's default quiet hours (22:00–07:00)."""
    clock.set(local(2026, 3, 3, 2, 0))
    world = await World.build(app.bot_data.services)
    await world.township("青山镇", ("青山村",))
    await world.child("小明")
    await world.child("小红")
    await world.home("小明", "青山村")
    await world.person("校长", ADMIN)
    await world.person("陈老师", TEACHER, klass="三年级一班")
    await world.person("赵阿姨", PROXY, child="小明")
    await world.person("李妈妈", PARENT, child="小明", relation="mother")
    await world.person("王奶奶", GUARDIAN, child="小明", relation="grandmother_p")
    await world.person("钱叔叔", PROXY, child="小红")
    await world.person("小红妈妈", PARENT, child="小红", relation="mother")
    await world.person("督导", SUPERVISOR)
    await world.person("村主任", DIRECTOR, village="青山村")
    async with world.services.db.transaction() as conn:
        other = await world.services.people.within(conn).ensure_school("阳光小学", NOW, world.township_id)
    await world.person("别校长", ADMIN, school_id=other)
    await world.consent("小明", by="李妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


@pytest.fixture
def safety(world):
    return world.services.safety


def draft(world, child: str = "小明", **changes) -> ReportDraft:
    values = dict(child_id=world.children[child], situations=("l3", "s4"), danger_now=False,
                  found_at=local(2026, 3, 3, 1, 40), place="村口", description="孩子说邻居喝酒后打她，胳膊上有淤青",
                  media=(("photo", "AgAD-photo"),), police_called_at=local(2026, 3, 3, 1, 50),
                  police_station="青山派出所", police_receipt="J2026-0303")
    values.update(changes)
    return ReportDraft(**values)


async def rows(world, since: int = 0) -> list[dict]:
    found = await world.services.db.fetch_all(
        "SELECT * FROM outbox WHERE dedupe_key LIKE 'safety:%' AND id > ? ORDER BY id", (since,))
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in found]


def names_of(world, found: list[dict]) -> list[str]:
    by_chat = {str(chat): name for name, chat in world.telegram.items()}
    return sorted(by_chat[r["recipient"]] for r in found)


async def last_id(world) -> int:
    row = await world.services.db.fetch_one("SELECT COALESCE(MAX(id), 0) FROM outbox")
    return row[0]


async def everything_to(world, *names: str) -> list[dict]:
    """Every outbox row, about anything, to these people."""
    chats = [str(world.telegram[n]) for n in names]
    found = await world.services.db.fetch_all(
        f"SELECT * FROM outbox WHERE recipient IN ({', '.join('?' * len(chats))})", chats)
    return [dict(r) for r in found]


async def report(world, safety, by: str = "赵阿姨", **changes):
    return await safety.submit(await world.actor(by), draft(world, **changes))


# -- telling ----------------------------------------------------------------------------------------------------

async def test_a_report_reaches_level_one_at_once_in_the_safety_lane_through_quiet_hours(world, safety, clock):
    submitted = await report(world, safety)

    assert submitted.kind == REPORT and not submitted.late_police
    assert sorted(submitted.told) == LEVEL_ONE
    told = await rows(world)
    assert names_of(world, told) == LEVEL_ONE
    outbox = world.services.outbox
    due = {r.id: r for r in await outbox.repo.due(stamp(clock.now()))}
    for row in told:
        assert (row["lane"], row["urgent"], row["needs_consent"], row["state"]) == (SAFETY, 1, 0, "pending")
        # 02:00: the recipient's quiet hours are on, and the report is due now all the same, not held for them.
        assert await outbox.quiet_until(row["recipient"], clock.now()) is not None
        assert await outbox.held_until(due[row["id"]], clock.now()) is None
        text = row["payload"]["text"]
        assert "小明" in text and "Suspected domestic violence" in text and "赵阿姨" in text
        data = [button["data"] for line in row["payload"]["actions"] for button in line]
        assert data == [Acknowledge(submitted.report_id).pack(), OpenCase(submitted.report_id).pack()]
        assert row["payload"].get("protect") is True


async def test_nobody_of_the_family_nor_another_childs_carers_hears_of_it(world, safety, clock):
    submitted = await report(world, safety)
    clock.advance(timedelta(minutes=61))
    await safety.escalate()
    await safety.acknowledge(await world.actor("校长"), submitted.report_id)
    await safety.set_state(await world.actor("校长"), submitted.report_id, ACCEPTED, "")
    clock.advance(timedelta(hours=73))
    await safety.escalate()

    assert await everything_to(world, *FAMILY_AND_OTHERS) == []
    # The reporter hears only what is theirs: who acknowledged, the reminder to ask the police for feedback.
    assert [r["dedupe_key"].split(":")[2] for r in await everything_to(world, "赵阿姨")] == ["ack", "feedback"]
    for name in FAMILY_AND_OTHERS:
        with pytest.raises(NotAllowed):
            await safety.case(await world.actor(name), submitted.report_id)
        assert await safety.open_cases(await world.actor(name)) == []


async def test_when_the_teacher_reports_the_childs_proxy_parent_hears_nothing_either(world, safety, clock):
    submitted = await report(world, safety, by="陈老师")
    assert sorted(submitted.told) == sorted(set(LEVEL_ONE) - {"陈老师"})
    await safety.acknowledge(await world.actor("校长"), submitted.report_id)
    clock.advance(timedelta(hours=2))
    await safety.escalate()
    assert await everything_to(world, "赵阿姨", *FAMILY_AND_OTHERS) == []
    with pytest.raises(NotAllowed):
        await safety.case(await world.actor("赵阿姨"), submitted.report_id)
    # The teacher who reported handles the case: the notes are theirs to read and write.
    view = await safety.add_note(await world.actor("陈老师"), submitted.report_id, "已联系派出所")
    assert view.handler and view.mine and [e.note for e in view.events] == ["已联系派出所"]


async def test_the_reporter_must_reach_the_child(world, safety):
    with pytest.raises(NotAllowed):
        await report(world, safety, by="钱叔叔")     # the proxy parent of another child
    with pytest.raises(NotAllowed):
        await report(world, safety, by="别校长")     # an admin of another school
    assert await rows(world) == []
    assert [c.name for c in await safety.reporting_children(await world.actor("钱叔叔"))] == ["小红"]
    assert await safety.may_report(await world.actor("赵阿姨"))


async def test_a_parent_asks_for_help_and_reaches_the_same_people(world, safety):
    submitted = await report(world, safety, by="李妈妈")

    assert submitted.kind == HELP
    assert sorted(submitted.told) == LEVEL_ONE
    assert "Request for help" in (await rows(world))[0]["payload"]["text"]
    await safety.acknowledge(await world.actor("陈老师"), submitted.report_id)
    [told] = await everything_to(world, "李妈妈")
    assert "陈老师" in json.loads(told["payload"])["text"]


async def test_bad_answers_are_refused_and_nothing_is_stored(world, safety, clock):
    for changes in ({"situations": ()}, {"situations": ("s99",)}, {"found_at": clock.now() + timedelta(hours=2)},
                    {"media": (("sticker", "x"),)}, {"place": "远" * 201}):
        with pytest.raises(UserError):
            await report(world, safety, **changes)
    assert await world.services.db.fetch_all("SELECT id FROM safety_reports") == []


async def test_an_hour_between_finding_and_the_police_is_flagged(world, safety, clock):
    late = await report(world, safety, police_called_at=local(2026, 3, 3, 1, 45), found_at=local(2026, 3, 3, 0, 30))
    not_yet = await report(world, safety, police_called_at=None, not_yet_reason="正在联系",
                           found_at=local(2026, 3, 3, 0, 50))
    in_time = await report(world, safety, police_called_at=None, found_at=local(2026, 3, 3, 1, 30))
    assert (late.late_police, not_yet.late_police, in_time.late_police) == (True, True, False)
    clock.advance(timedelta(minutes=31))
    view = await safety.case(await world.actor("校长"), in_time.report_id)
    assert NO_POLICE in view.overdue and NO_ACK in view.overdue


# -- acknowledgement --------------------------------------------------------------------------------------------

async def test_received_counts_once_and_the_reporter_is_told(world, safety):
    submitted = await report(world, safety)
    before = await last_id(world)

    acked = await safety.acknowledge(await world.actor("校长"), submitted.report_id)

    assert (acked.by_name, acked.reporter_told) == ("校长", True)
    [told] = await rows(world, before)
    assert names_of(world, [told]) == ["赵阿姨"]
    assert "校长" in told["payload"]["text"] and "school admin" in told["payload"]["text"]
    assert (told["lane"], told["urgent"]) == (SAFETY, 1)
    with pytest.raises(AlreadyAcknowledged):
        await safety.acknowledge(await world.actor("校长"), submitted.report_id)
    for name in ("李妈妈", "钱叔叔", "赵阿姨", "别校长"):   # not told (the reporter neither)
        with pytest.raises(NotAllowed):
            await safety.acknowledge(await world.actor(name), submitted.report_id)
    assert len(await rows(world, before)) == 1
    view = await safety.case(await world.actor("赵阿姨"), submitted.report_id)
    assert [(r.name, r.acked_at is not None) for r in view.recipients if r.acked_at] == [("校长", True)]


# -- escalation -------------------------------------------------------------------------------------------------

async def test_unacknowledged_it_is_told_again_after_15_minutes_and_to_the_township_after_60(world, safety, clock):
    submitted = await report(world, safety)
    start = await last_id(world)

    clock.advance(timedelta(minutes=14, seconds=59))
    assert await safety.escalate() == 0
    clock.advance(timedelta(seconds=1))
    assert await safety.escalate() == 4
    retold = await rows(world, start)
    assert names_of(world, retold) == LEVEL_ONE
    assert all("15 minutes" in r["payload"]["text"] and r["lane"] == SAFETY and r["urgent"] for r in retold)
    mark = await last_id(world)
    clock.advance(timedelta(minutes=1))
    assert await safety.escalate() == 0          # told again once

    clock.advance(timedelta(minutes=44))        # 60 minutes after the report
    assert await safety.escalate() == 1
    [above] = await rows(world, mark)
    assert names_of(world, [above]) == ["别校长"]
    # An admin of another school reads the school and the situation, not who the child is.
    assert "小明" not in above["payload"]["text"] and "村口" not in above["payload"]["text"]
    assert "希望小学" in above["payload"]["text"] and above["child_id"] is None
    assert (above["lane"], above["urgent"]) == (SAFETY, 1)
    view = await safety.case(await world.actor("别校长"), submitted.report_id)   # the case names the child
    assert view.child_name == "小明" and view.level == 2

    mark = await last_id(world)
    clock.advance(timedelta(minutes=15))
    assert await safety.escalate() == 1          # the township, told again
    assert names_of(world, await rows(world, mark)) == ["别校长"]
    clock.advance(timedelta(hours=5))
    assert await safety.escalate() == 0
    assert await everything_to(world, *FAMILY_AND_OTHERS) == []


async def test_an_acknowledgement_stops_the_escalation(world, safety, clock):
    submitted = await report(world, safety)
    clock.advance(timedelta(minutes=5))
    await safety.acknowledge(await world.actor("村主任"), submitted.report_id)
    mark = await last_id(world)
    clock.advance(timedelta(hours=2))
    assert await safety.escalate() == 0
    assert await rows(world, mark) == []


async def test_an_acknowledgement_a_moment_before_the_escalation_wins(world, safety, clock):
    submitted = await report(world, safety)
    await safety.acknowledge(await world.actor("校长"), submitted.report_id)
    at = stamp(clock.now() + timedelta(hours=1))
    assert not await safety.repo.mark_retold(submitted.report_id, 1, at)
    assert not await safety.repo.raise_level(submitted.report_id, 2, at)


async def test_a_school_under_no_township_is_told_again_and_goes_no_higher(app, clock):
    clock.set(local(2026, 3, 3, 2, 0))
    world = await World.build(app.bot_data.services)
    await world.child("小明")
    await world.person("校长", ADMIN)
    await world.person("赵阿姨", PROXY, child="小明")
    safety = world.services.safety
    await report(world, safety)
    clock.advance(timedelta(minutes=15))
    assert await safety.escalate() == 1
    clock.advance(timedelta(minutes=45))
    assert await safety.escalate() == 0


async def test_the_schedule_job_goes_on_when_the_safety_part_fails(world):
    ran = []

    async def broken():
        raise RuntimeError("database gone")

    async def due():
        ran.append("due")
        return 0

    services = SimpleNamespace(safety=SimpleNamespace(escalate=broken), video=SimpleNamespace(run_due=due),
                               calendar=SimpleNamespace(run_due=due), attendance=SimpleNamespace(run_due=due),
                               dropouts=SimpleNamespace(run_due=due), stats=SimpleNamespace(take_snapshots=due),
                               backups=SimpleNamespace(run_due=due))
    await schedule_job(SimpleNamespace(services=services))
    assert ran == ["due", "due", "due", "due", "due", "due"]


# -- the police's feedback --------------------------------------------------------------------------------------

async def test_72_hours_after_the_police_accepted_without_feedback_the_reporter_and_admins_are_reminded(
        world, safety, clock):
    submitted = await report(world, safety)
    await safety.set_state(await world.actor("陈老师"), submitted.report_id, ACCEPTED, "立案")
    mark = await last_id(world)

    clock.advance(timedelta(hours=71, minutes=59))
    assert await safety.escalate() == 0
    clock.advance(timedelta(minutes=1))
    assert await safety.escalate() == 2
    reminded = await rows(world, mark)
    assert names_of(world, reminded) == ["校长", "赵阿姨"]
    assert all("72 hours" in r["payload"]["text"] for r in reminded)
    clock.advance(timedelta(hours=1))
    assert await safety.escalate() == 0
    view = await safety.case(await world.actor("校长"), submitted.report_id)
    assert FEEDBACK_DUE in view.overdue


async def test_feedback_recorded_in_time_means_no_reminder_and_the_reporter_hears_it(world, safety, clock):
    submitted = await report(world, safety)
    teacher = await world.actor("陈老师")
    await safety.set_state(teacher, submitted.report_id, ACCEPTED, "")
    clock.advance(timedelta(hours=30))
    await safety.record_feedback(teacher, submitted.report_id, "已立案侦查")
    mark = await last_id(world)
    clock.advance(timedelta(hours=50))
    assert await safety.escalate() == 0
    assert await rows(world, mark) == []
    told = [json.loads(r["payload"])["text"] for r in await everything_to(world, "赵阿姨")]
    assert any("已立案侦查" in text for text in told)


# -- the case ---------------------------------------------------------------------------------------------------

async def test_closing_needs_a_reason_and_a_second_person(world, safety):
    submitted = await report(world, safety)
    admin, teacher = await world.actor("校长"), await world.actor("陈老师")
    await safety.set_state(admin, submitted.report_id, HELPING, "民政临时监护")
    with pytest.raises(UserError):
        await safety.request_close(admin, submitted.report_id, "  ")
    await safety.request_close(admin, submitted.report_id, "孩子已由民政安置")

    with pytest.raises(UserError) as alone:
        await safety.confirm_close(admin, submitted.report_id)
    assert "second person" in alone.value.msgid
    assert await safety.has_open_case(world.children["小明"])

    view = await safety.confirm_close(teacher, submitted.report_id)
    assert view.state == "closed" and view.closed_at is not None
    assert not await safety.has_open_case(world.children["小明"])
    with pytest.raises(UserError):
        await safety.add_note(teacher, submitted.report_id, "再次家访")
    assert await safety.open_cases(admin) == []


async def test_states_move_forward_only_and_help_says_which(world, safety):
    submitted = await report(world, safety)
    admin = await world.actor("校长")
    with pytest.raises(UserError):
        await safety.set_state(admin, submitted.report_id, HELPING, "")
    await safety.set_state(admin, submitted.report_id, ACCEPTED, "")
    with pytest.raises(UserError):
        await safety.set_state(admin, submitted.report_id, "reported", "")
    with pytest.raises(UserError):
        await safety.set_state(admin, submitted.report_id, "closed", "")
    # Acting on the case acknowledged it for the admin.
    view = await safety.case(admin, submitted.report_id)
    assert [r.name for r in view.recipients if r.acked_at] == ["校长"]


async def test_every_view_and_change_of_a_case_is_audited_and_the_reporter_sees_no_handlers_notes(world, safety):
    submitted = await report(world, safety)
    teacher = await world.actor("陈老师")
    await safety.add_note(teacher, submitted.report_id, "邻居家有酗酒史", visit=True, outcome="孩子暂住外婆家")
    await safety.case(teacher, submitted.report_id)
    mine = await safety.case(await world.actor("赵阿姨"), submitted.report_id)

    audit = await world.services.db.fetch_all(
        "SELECT actor_id, child_id, action, detail FROM audit_log WHERE action LIKE 'safety%' ORDER BY id")
    child = world.children["小明"]
    assert [(a["actor_id"], a["child_id"], a["action"]) for a in audit] == [
        (world.people["赵阿姨"], child, "safety_report"), (world.people["陈老师"], child, "safety_ack"),
        (world.people["陈老师"], child, "safety_note"), (world.people["陈老师"], child, "safety_view"),
        (world.people["赵阿姨"], child, "safety_view")]
    assert all("邻居" not in a["detail"] and "小明" not in a["detail"] for a in audit)
    assert mine.mine and not mine.handler and mine.events == []
    assert mine.description == "孩子说邻居喝酒后打她，胳膊上有淤青"


async def test_a_forged_or_foreign_report_id_is_refused_alike(world, safety):
    submitted = await report(world, safety)
    refusals = []
    for name, report_id in (("陈老师", submitted.report_id + 1000), ("钱叔叔", submitted.report_id),
                            ("李妈妈", submitted.report_id)):
        for call in (safety.case, safety.acknowledge):
            with pytest.raises(NotAllowed) as refused:
                await call(await world.actor(name), report_id)
            refusals.append(refused.value.text(translator("en").gettext))
    with pytest.raises(NotAllowed) as forged:
        await safety.set_state(await world.actor("陈老师"), 2**62, ACCEPTED, "")
    assert forged.value.msgid == HIDDEN
    assert "小明" not in " ".join(refusals)
    assert {refusals[0], refusals[2], refusals[4]} == {translator("en").gettext(HIDDEN)}


async def test_someone_whose_role_ended_no_longer_sees_the_case(world, safety):
    submitted = await report(world, safety)
    async with world.services.db.transaction() as conn:
        await world.services.people.within(conn).revoke_grant(world.grants["陈老师"][0], world.people["校长"], NOW)
    teacher = await world.actor("陈老师")
    with pytest.raises(NotAllowed):
        await safety.case(teacher, submitted.report_id)
    with pytest.raises(NotAllowed):
        await safety.acknowledge(teacher, submitted.report_id)
    assert await safety.open_cases(teacher) == []


async def test_a_supervisor_adds_someone_of_the_township_who_then_sees_the_case(world, safety):
    submitted = await report(world, safety)
    await world.person("社工", TEACHER, klass="三年级一班")
    with pytest.raises(NotAllowed):
        await safety.add_person(await world.actor("校长"), submitted.report_id, world.people["别校长"])
    with pytest.raises(UserError):
        await safety.add_person(await world.actor("督导"), submitted.report_id, world.people["钱叔叔"])
    view = await safety.add_person(await world.actor("督导"), submitted.report_id, world.people["别校长"])
    assert ("别校长", 0) in [(r.name, r.level) for r in view.recipients]
    assert (await safety.case(await world.actor("别校长"), submitted.report_id)).handler
    assert [line.report_id for line in await safety.open_cases(await world.actor("别校长"))] == [submitted.report_id]


# -- the ledger -------------------------------------------------------------------------------------------------

async def test_the_ledger_opens_with_its_columns_and_one_row_per_case(world, safety, clock):
    first = await report(world, safety)
    await report(world, safety, by="陈老师", child="小红", police_called_at=None, situations=("s6",),
                 found_at=local(2026, 3, 3, 1, 0))
    await safety.set_state(await world.actor("校长"), first.report_id, ACCEPTED, "")
    clock.advance(timedelta(hours=2))
    await safety.record_feedback(await world.actor("校长"), first.report_id, "已立案")

    for name in ("校长", "督导"):
        book = load_workbook(io.BytesIO(await safety.ledger(await world.actor(name))))
        sheet = book.active
        assert sheet.title == "强制报告台账"
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert table[0] == LEDGER_HEADER
        assert len(table) == 3
        day, child, situation, found, police, hours, feedback, state, closed = table[1]
        assert (child, found, police, hours) == ("小明", datetime(2026, 3, 3, 1, 40), datetime(2026, 3, 3, 1, 50),
                                                 0.2)
        assert day.date() == datetime(2026, 3, 3).date()   # the school's date (18:00 UTC the day before)
        assert "疑似家庭暴力" in situation and "已立案" in feedback and closed is None and state
        assert table[2][1] == "小红" and table[2][4] is None
    for name in ("陈老师", "赵阿姨", "李妈妈", "村主任"):
        with pytest.raises(NotAllowed):
            await safety.ledger(await world.actor(name))
    audited = await world.services.db.fetch_all("SELECT actor_id FROM audit_log WHERE action = 'safety_ledger'")
    assert [a[0] for a in audited] == [world.people["校长"], world.people["督导"]]


# -- erasure ----------------------------------------------------------------------------------------------------

async def test_an_erasure_request_for_a_child_with_an_open_case_is_held_with_a_note_to_the_admin(world, safety):
    submitted = await report(world, safety)
    privacy = world.services.privacy
    mark = await last_id(world)
    request_id = await privacy.request_deletion(await world.actor("李妈妈"), world.children["小明"])

    notes = await world.services.db.fetch_all("SELECT * FROM outbox WHERE id > ? AND dedupe_key LIKE 'erasure:%'",
                                              (mark,))
    assert names_of(world, [dict(n) for n in notes]) == ["校长"]
    assert "legal retention" in json.loads(notes[0]["payload"])["text"]
    assert await everything_to(world, "李妈妈") == []     # the family is not told why
    admin = await world.actor("校长")
    with pytest.raises(ErasureHeld):
        await privacy.decide(admin, request_id, erase=True)
    assert await world.services.db.fetch_one("SELECT id FROM children WHERE id = ?", (world.children["小明"],))
    assert [r.id for r in await privacy.open_requests(admin)] == [request_id]

    await safety.request_close(admin, submitted.report_id, "结案")
    await safety.confirm_close(await world.actor("陈老师"), submitted.report_id)
    decided = await privacy.decide(admin, request_id, erase=True)
    assert decided.erased
    assert await world.services.db.fetch_all("SELECT id FROM safety_reports") == []


# -- settings ---------------------------------------------------------------------------------------------------

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdef"


def test_the_escalation_times_are_settings():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, tr=translator("en"))
    assert (settings.report_retell_minutes, settings.report_escalate_minutes) == (15, 60)
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "REPORT_RETELL_MINUTES": "5",
                              "REPORT_ESCALATE_MINUTES": "30"}, tr=translator("en"))
    assert (settings.report_retell_minutes, settings.report_escalate_minutes) == (5, 30)


@pytest.mark.parametrize(("env", "variable"), [
    ({"REPORT_RETELL_MINUTES": "0"}, "REPORT_RETELL_MINUTES"),
    ({"REPORT_RETELL_MINUTES": "a while"}, "REPORT_RETELL_MINUTES"),
    ({"REPORT_ESCALATE_MINUTES": "2000"}, "REPORT_ESCALATE_MINUTES"),
    ({"REPORT_ESCALATE_MINUTES": "10"}, "REPORT_ESCALATE_MINUTES"),     # before the default retelling
])
def test_a_bad_escalation_time_names_its_variable_in_chinese(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, **env}, tr=translator("zh_CN"))
    assert caught.value.variable == variable
    assert variable in caught.value.message and not caught.value.message.startswith(variable + " must")
