"""The written notice of entrusted care (委托照护书面告知, issue 16, item 5) through the production application: the PDF
a parent gets from /entrusted, the confirmation, who is told and what they open, a changed record needing a new
confirmation, and the refusals for anyone who is not the child's family."""

from __future__ import annotations

import pytest

from bot.access.policy import ADMIN, DIRECTOR, GUARDIAN, PARENT, PROXY, TEACHER
from bot.records.buttons import EntrustedConfirm, EntrustedCopy
from handlers.commands import commands_for
from tests.helpers import callback_update, deliver_outbox, message_update, outbox, pdf_text, who
from tests.world import World

RECORD = {"sex": "female", "birth_date": "2016-05-01", "father_name": "王大山", "father_city": "深圳",
          "father_phone": "+8613800138000", "mother_name": "李秀英", "mother_city": "东莞",
          "guardian_name": "王奶奶", "guardian_relation": "祖母", "guardian_phone": "+8613900139000",
          "guardian_address": "青山村三组12号"}


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.township("青山镇", ("青山村", "绿水村"))
    await world.child("小红", **RECORD)
    await world.home("小红", "青山村")
    await world.person("妈妈", PARENT, child="小红", relation="mother", display="李秀英")
    await world.person("奶奶", GUARDIAN, child="小红", relation="grandmother")
    await world.person("王老师", TEACHER, klass="三年级一班")
    await world.person("吴主任", DIRECTOR, village="青山村")
    await world.person("别村主任", DIRECTOR, village="绿水村")
    await world.person("赵阿姨", PROXY, child="小红")
    await world.person("校长", ADMIN)
    await world.consent("小红", by="妈妈")
    for name in world.telegram:
        await world.services.preferences.set_locale(world.telegram[name], "zh_CN")
    return world


def documents(recorder, world, name: str):
    return recorder.sent("sendDocument", world.telegram[name])


def confirm_button(call) -> str:
    markup = call.params["reply_markup"]
    markup = markup if isinstance(markup, dict) else __import__("json").loads(markup)
    return next(b["callback_data"] for row in markup["inline_keyboard"] for b in row
                if b["callback_data"].startswith("entok:"))


async def test_a_parent_gets_the_notice_written_from_the_record(feed, recorder, world):
    await feed(message_update("/entrusted", from_user=who(world, "妈妈")))
    [sent] = documents(recorder, world, "妈妈")
    text = pdf_text(next(iter(sent.files.values())))
    for value in ("委托照护书面告知", "小红", "王大山", "深圳", "李秀英", "东莞", "王奶奶", "祖母", "青山村三组12号",
                  "希望小学", "三年级一班", "签名", "第二十三条"):
        assert value in text, value
    assert "未确认" in sent.params["caption"]
    assert sent.params.get("protect_content") in (False, None)


async def test_confirming_tells_the_class_teacher_and_the_village_director_with_the_notice(app, feed, recorder,
                                                                                          world):
    await feed(message_update("/entrusted", from_user=who(world, "妈妈")))
    data = confirm_button(documents(recorder, world, "妈妈")[0])
    await feed(callback_update(data, from_user=who(world, "妈妈")))
    rows = [r for r in await outbox(world) if r["dedupe_key"].startswith("entrusted:")]
    told = {world.name_of(int(r["recipient"])) for r in rows}
    assert told == {"王老师", "吴主任"}
    [stored] = await world.services.entrusted.repo.for_child(world.children["小红"])
    assert stored.person_id == world.people["妈妈"] and stored.fields["guardian_name"] == "王奶奶"
    audit = await world.services.children._audit.for_child(world.children["小红"])
    assert any(a.action == "entrusted_confirm" and a.actor_id == world.people["妈妈"] for a in audit)

    # Pressing again tells nobody twice.
    await feed(callback_update(data, from_user=who(world, "妈妈")))
    assert len([r for r in await outbox(world) if r["dedupe_key"].startswith("entrusted:")]) == 2

    recorder.clear()
    await deliver_outbox(app)
    [to_teacher] = recorder.sent(chat_id=world.telegram["王老师"])
    assert "李秀英" in to_teacher.text and "小红" in to_teacher.text and "王奶奶" in to_teacher.text
    copy = EntrustedCopy(stored.id).pack()
    await feed(callback_update(copy, from_user=who(world, "吴主任")))
    [pdf] = documents(recorder, world, "吴主任")
    assert "王奶奶" in pdf_text(next(iter(pdf.files.values())))

    # Now the parent sees it confirmed.
    recorder.clear()
    await feed(message_update("/entrusted", from_user=who(world, "奶奶")))
    assert "确认；已告知" in documents(recorder, world, "奶奶")[0].params["caption"]


async def test_a_changed_record_needs_a_new_confirmation(feed, recorder, world):
    await feed(message_update("/entrusted", from_user=who(world, "妈妈")))
    data = confirm_button(documents(recorder, world, "妈妈")[0])
    await feed(callback_update(data, from_user=who(world, "妈妈")))
    teacher = await world.actor("王老师")
    await world.services.children.edit(teacher, world.children["小红"], "guardian_phone", "13700137000")

    recorder.clear()
    await feed(message_update("/entrusted", from_user=who(world, "妈妈")))
    [sent] = documents(recorder, world, "妈妈")
    assert "已更改" in sent.params["caption"]
    assert "+86 137 0013 7000" in pdf_text(next(iter(sent.files.values())))
    # The old button confirms nothing: the record it showed is gone.
    recorder.clear()
    await feed(callback_update(data, from_user=who(world, "妈妈")))
    assert len(await world.services.entrusted.repo.for_child(world.children["小红"])) == 1
    fresh = confirm_button(sent)
    assert fresh != data
    await feed(callback_update(fresh, from_user=who(world, "妈妈")))
    assert len(await world.services.entrusted.repo.for_child(world.children["小红"])) == 2


@pytest.mark.parametrize("name", ["王老师", "赵阿姨", "校长", "吴主任"])
async def test_someone_not_family_gets_no_notice_and_cannot_confirm(feed, recorder, world, name):
    await feed(message_update("/entrusted", from_user=who(world, name)))
    assert documents(recorder, world, name) == []
    assert "父母和监护人" in recorder.sent(chat_id=world.telegram[name])[-1].text
    forged = EntrustedConfirm(world.children["小红"], "0123456789ab").pack()
    await feed(callback_update(forged, from_user=who(world, name)))
    assert await world.services.entrusted.repo.for_child(world.children["小红"]) == []
    assert [r for r in await outbox(world) if r["dedupe_key"].startswith("entrusted:")] == []


async def test_another_villages_director_and_a_proxy_cannot_open_the_copy(feed, recorder, world):
    await feed(message_update("/entrusted", from_user=who(world, "妈妈")))
    await feed(callback_update(confirm_button(documents(recorder, world, "妈妈")[0]), from_user=who(world, "妈妈")))
    [stored] = await world.services.entrusted.repo.for_child(world.children["小红"])
    for name in ("别村主任", "赵阿姨", "奶奶"):
        recorder.clear()
        await feed(callback_update(EntrustedCopy(stored.id).pack(), from_user=who(world, name)))
        assert documents(recorder, world, name) == []
    recorder.clear()
    await feed(callback_update(EntrustedCopy(stored.id + 99).pack(), from_user=who(world, "王老师")))
    assert documents(recorder, world, "王老师") == []


async def test_the_notice_is_in_the_families_menus_only():
    assert "entrusted" in dict(commands_for({PARENT})) and "entrusted" in dict(commands_for({GUARDIAN}))
    for role in (TEACHER, PROXY, ADMIN, DIRECTOR):
        assert "entrusted" not in dict(commands_for({role}))


# -- a child assessed 差 is flagged for visits ---------------------------------------------------------------------

def test_the_tracker_owes_a_monthly_visit_for_a_child_assessed_poor():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.musts import tracker as musts
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 3, 20, 9, tzinfo=tz)
    since = datetime(2026, 2, 1, tzinfo=tz)
    february = [musts.Fact(musts.VISIT, datetime(2026, 2, 25, 12, tzinfo=tz))]

    def visit(facts, poor):
        return next(m for m in musts.check(facts, now=now, tz=tz, since=since, visits=True, poor=poor)
                    if m.key == musts.VISIT)
    assert visit(february, poor=False).state == musts.DONE and not visit(february, poor=False).flagged
    flagged = visit(february, poor=True)
    assert flagged.flagged and flagged.state == musts.DUE and flagged.period == "2026-03"
    march = february + [musts.Fact(musts.VISIT, datetime(2026, 3, 10, 12, tzinfo=tz))]
    assert visit(march, poor=True).state == musts.DONE


async def test_due_flags_a_child_assessed_poor_until_a_visit_this_month(feed, recorder, world, clock):
    from bot.clock import stamp
    await world.child("小刚")
    await world.consent("小刚", by="妈妈")
    async with world.services.db.transaction() as conn:
        await conn.execute("INSERT INTO child_fields (child_id, field, value, updated_at) VALUES (?, ?, 'poor', ?)",
                           (world.children["小红"], "guardianship_assessment", stamp(clock.now())))

    async def due_line(child: str) -> str:
        recorder.clear()
        await feed(message_update("/due", from_user=who(world, "王老师")))
        text = recorder.sent(chat_id=world.telegram["王老师"])[-1].text
        return next(line for line in text.splitlines() if line.rstrip().endswith(child) or f"{child} " in line)
    assert "需家访" in await due_line("小红")
    assert "需家访" not in await due_line("小刚")

    today = world.services.musts.today().isoformat()
    async with world.services.db.transaction() as conn:
        await conn.execute("INSERT INTO care_entries (child_id, author_id, author_role, kind, occurred_on, body, "
                           "created_at, for_family) VALUES (?, ?, 'teacher', 'visit', ?, '{}', ?, 0)",
                           (world.children["小红"], world.people["王老师"], today, stamp(clock.now())))
    assert "需家访" not in await due_line("小红")
