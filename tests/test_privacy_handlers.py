"""/privacy, the consent buttons, /mydata and erasure requests, driven through the production application."""

from __future__ import annotations

import logging

import pytest
from telegram import Update

from bot.access.consent import RULES_VERSION
from bot.i18n import translator
from handlers import privacy
from tests.helpers import (DocumentRecorder, callback_update, deliver_outbox, message_update, outbox, pdf_text,
                           user)
from tests.world import World

STALE_ZH = "这个按钮已经失效了。"
STALE_EN = "This button is no longer valid."


@pytest.fixture
def recorder() -> DocumentRecorder:
    return DocumentRecorder()


@pytest.fixture
async def world(app) -> World:
    w = await World.build(app.bot_data.services)
    await w.child("小明", birth_date="2016-05-01", father_phone="+8613800138000", health="花生过敏")
    await w.child("小红", birth_date="2017-02-03")
    await w.person("李妈妈", "parent", child="小明", relation="母亲")
    await w.person("王奶奶", "guardian", child="小明", relation="奶奶")
    await w.person("赵爸爸", "parent", child="小红", relation="父亲")
    await w.person("张阿姨", "proxy", child="小明")
    await w.person("陈老师", "teacher", klass="三年级一班")
    await w.person("王校长", "admin")
    await w.person("路人")
    return w


def tg(world: World, name: str, language: str = "zh-hans") -> dict:
    return user(world.telegram[name], language)


def callback_data(call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def consents(app, child_id: int) -> list:
    return await app.bot_data.services.db.fetch_all(
        "SELECT person_id, decision, rules_version, decided_at FROM consents WHERE child_id = ? ORDER BY id",
        (child_id,))


async def state(app, child_id: int) -> str:
    return await app.bot_data.services.consent.state(child_id)


# ask_consent, right after a parent or guardian joins

async def test_ask_consent_shows_three_short_lines_and_the_full_rules_behind_a_button(app, world, recorder, feed):
    # Issue 14, item 3: a grandmother reads three short lines and answers; the full rules are one press away.
    who = tg(world, "李妈妈")
    update = Update.de_json(message_update("/start", from_user=who), app.bot)
    context = app.context_types.context.from_update(update, app)
    await privacy.ask_consent(update, context, world.children["小明"])

    [message] = recorder.sent(chat_id=who["id"])
    assert "小明" in message.text and len(message.text.splitlines()) == 3
    assert message.text.splitlines()[-1].endswith("您同意吗？")
    child = world.children["小明"]
    assert callback_data(message) == [f"consent:{child}:given", f"consent:{child}:refused", f"rules:{child}"]
    assert await consents(app, child) == []

    recorder.clear()
    await feed(callback_update(f"rules:{child}", from_user=who))
    [rules] = recorder.sent(chat_id=who["id"])
    assert "2026年11月22日" in rules.text  # the rules' version, as a Chinese reader writes a date
    assert "/mydata" in rules.text and "/privacy" in rules.text
    assert callback_data(rules) == [f"consent:{child}:given", f"consent:{child}:refused"]
    assert await consents(app, child) == []


async def test_ask_consent_offers_no_buttons_to_someone_who_is_not_family(app, world, recorder):
    who = tg(world, "张阿姨")
    update = Update.de_json(message_update("/start", from_user=who), app.bot)
    await privacy.ask_consent(update, app.context_types.context.from_update(update, app), world.children["小明"])
    [message] = recorder.sent(chat_id=who["id"])
    assert callback_data(message) == []
    assert "小明" not in message.text


# the consent buttons

async def test_agreeing_records_who_which_child_which_rules_and_when(app, world, recorder, feed):
    child = world.children["小明"]
    assert await state(app, child) == "awaiting"
    await feed(callback_update(f"consent:{child}:given", from_user=tg(world, "李妈妈", "en")))

    [row] = await consents(app, child)
    assert (row["person_id"], row["decision"]) == (world.people["李妈妈"], "given")
    assert row["rules_version"] == RULES_VERSION
    assert row["decided_at"].startswith("2026-03-02T08:00")
    assert await state(app, child) == "given"
    [edit] = recorder.sent("editMessageText")
    assert "agreement for 小明 is recorded" in edit.text and "November 22, 2026" in edit.text
    assert "can now see" in edit.text
    audit = await app.bot_data.services.db.fetch_all("SELECT action, detail FROM audit_log WHERE child_id = ?",
                                                     (child,))
    assert [(a["action"], a["detail"]) for a in audit] == [("consent_given", f"rules={RULES_VERSION}")]


async def test_refusing_records_refused_and_shares_nothing(app, world, recorder, feed):
    child = world.children["小明"]
    await feed(callback_update(f"consent:{child}:refused", from_user=tg(world, "王奶奶", "en")))

    assert [r["decision"] for r in await consents(app, child)] == ["refused"]
    assert await state(app, child) == "withdrawn"
    [edit] = recorder.sent("editMessageText")
    assert "Nothing about 小明 is shared" in edit.text and "/privacy" in edit.text


async def test_agreeing_when_another_family_member_said_no_says_nothing_is_shared(app, world, recorder, feed):
    child = world.children["小明"]
    await world.consent("小明", by="王奶奶", decision="refused")
    await feed(callback_update(f"consent:{child}:given", from_user=tg(world, "李妈妈", "en")))
    [edit] = recorder.sent("editMessageText")
    assert "Another parent or guardian said no" in edit.text and "can now see" not in edit.text
    assert await state(app, child) == "withdrawn"


@pytest.mark.parametrize(("presser", "data"), [
    ("张阿姨", "consent:{child}:given"),      # proxy parent: not family
    ("陈老师", "consent:{child}:given"),      # teacher of the class: not family
    ("王校长", "consent:{child}:given"),      # admin: not family
    ("路人", "consent:{child}:given"),        # stranger
    ("赵爸爸", "consent:{child}:given"),      # a parent, of another child
    ("李妈妈", "consent:{child}:withdrawn"),  # a decision the button never offers
    ("李妈妈", "consent:abc:given"),
    ("李妈妈", "consent:99999:given"),
    ("李妈妈", "consent:99999999999999999999999:given"),  # beyond SQLite's integers
    ("李妈妈", "consent:²:given"),                         # a digit to str.isdigit, not to int()
    ("李妈妈", "consent:{child}"),
])
async def test_a_forged_or_someone_elses_press_changes_nothing(app, world, recorder, feed, presser, data):
    child = world.children["小明"]
    await feed(callback_update(data.format(child=child), from_user=tg(world, presser)))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == STALE_ZH
    assert recorder.sent("editMessageText") == []
    assert await app.bot_data.services.db.fetch_all("SELECT * FROM consents") == []


async def test_a_press_after_the_role_was_removed_changes_nothing(app, world, recorder, feed):
    child = world.children["小明"]
    async with app.bot_data.services.db.transaction() as conn:
        await conn.execute("UPDATE roles SET revoked_at = '2026-03-02T08:00:00' WHERE person_id = ?",
                           (world.people["李妈妈"],))
    await feed(callback_update(f"consent:{child}:given", from_user=tg(world, "李妈妈", "en")))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE_EN
    assert await consents(app, child) == []


async def test_a_press_on_a_message_that_is_gone_still_records_and_answers_anew(app, world, recorder, feed):
    child = world.children["小明"]
    update = callback_update(f"consent:{child}:given", from_user=tg(world, "李妈妈", "en"))
    update["callback_query"]["message"]["date"] = 0  # Telegram's mark of a message the bot can no longer reach
    await feed(update)
    assert await state(app, child) == "given"
    assert recorder.sent("editMessageText") == []
    [sent] = recorder.sent(chat_id=world.telegram["李妈妈"])
    assert "agreement for 小明 is recorded" in sent.text


# /privacy

async def test_privacy_shows_anyone_the_rules(world, recorder, feed):
    who = tg(world, "路人", "en")
    await feed(message_update("/privacy", from_user=who))
    [rules] = recorder.sent(chat_id=who["id"])
    assert "November 22, 2026" in rules.text
    for part in ("What we keep", "Why", "Who sees it", "How long", "/mydata"):
        assert part in rules.text
    assert rules.buttons == []


async def test_privacy_shows_a_parent_where_consent_stands_with_buttons(app, world, recorder, feed):
    child = world.children["小明"]
    who = tg(world, "李妈妈", "en")
    await feed(message_update("/privacy", from_user=who))
    rules, status = recorder.sent(chat_id=who["id"])
    assert "小明" in status.text and "You have not answered yet." in status.text
    assert callback_data(status) == [f"consent:{child}:given", f"mydata:{child}", f"delete:{child}"]
    # one child: one big button a row
    assert [len(row) for row in status.params["reply_markup"]["inline_keyboard"]] == [1, 1, 1]


async def test_privacy_gives_each_child_a_named_row(app, world, recorder, feed):
    await world.person("李妈妈", "parent", child="小红", relation="母亲")
    await world.consent("小红", by="李妈妈")
    who = tg(world, "李妈妈", "en")
    await feed(message_update("/privacy", from_user=who))
    status = recorder.sent(chat_id=who["id"])[1]
    assert status.text.startswith("Your children:")
    rows = status.params["reply_markup"]["inline_keyboard"]
    assert len(rows) == 2
    by_name = {row[0]["text"].split(" · ")[0]: [b["callback_data"] for b in row] for row in rows}
    assert by_name["小明"][0] == f"consent:{world.children['小明']}:given"
    assert by_name["小红"][0] == f"withdraw:{world.children['小红']}"  # already agreed: can take it back


async def test_withdrawing_via_privacy_asks_once_more_then_stops_sharing(app, world, recorder, feed):
    child = world.children["小明"]
    await world.consent("小明", by="李妈妈")
    who = tg(world, "李妈妈", "en")
    await feed(message_update("/privacy", from_user=who))
    status = recorder.sent(chat_id=who["id"])[1]
    assert "You agreed." in status.text
    assert callback_data(status)[0] == f"withdraw:{child}"

    recorder.clear()
    await feed(callback_update(f"withdraw:{child}", from_user=who))
    [confirm] = recorder.sent("editMessageText")
    assert callback_data(confirm) == [f"withdraw:{child}:yes", f"withdraw:{child}:no"]
    assert await state(app, child) == "given"  # the first press only asks

    recorder.clear()
    await feed(callback_update(f"withdraw:{child}:no", from_user=who))
    assert recorder.sent("editMessageText")[0].text == "Nothing was changed."
    assert await state(app, child) == "given"

    recorder.clear()
    await feed(callback_update(f"withdraw:{child}:yes", from_user=who))
    assert await state(app, child) == "withdrawn"
    assert (await consents(app, child))[-1]["decision"] == "withdrawn"
    assert "Sharing about 小明 has stopped" in recorder.sent("editMessageText")[0].text


async def test_someone_else_cannot_withdraw(app, world, recorder, feed):
    child = world.children["小明"]
    await world.consent("小明", by="李妈妈")
    await feed(callback_update(f"withdraw:{child}:yes", from_user=tg(world, "赵爸爸")))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE_ZH
    assert await state(app, child) == "given"


# /mydata

async def test_mydata_sends_the_parent_a_pdf_of_everything_she_may_keep(app, world, recorder, feed):
    child = world.children["小明"]
    await world.consent("小明", by="李妈妈")
    await app.bot_data.services.children.edit(await world.actor("陈老师"), child, "health", "花生和芒果过敏")
    who = tg(world, "李妈妈", "en")
    await feed(message_update("/mydata", from_user=who))

    [call] = recorder.sent("sendDocument", chat_id=who["id"])
    assert call.params["protect_content"] is False  # her own copy: she may save and print it
    assert "小明" in call.params["caption"]
    [(filename, content)] = recorder.files
    assert filename == f"mydata-{child}.pdf" and content.startswith(b"%PDF")
    text = "".join(pdf_text(content).split())
    for shown in ("EverythingQinqingBridgestoresabout小明", "Name:小明", "Father'sphone:", "花生和芒果过敏",
                  "Therecord", "Timeline", "Whoviewedorchangedtherecord", "陈老师(classteacher):changedtherecord"):
        assert shown in text, shown
    audit = await app.bot_data.services.db.fetch_all(
        "SELECT actor_id FROM audit_log WHERE child_id = ? AND action = 'export'", (child,))
    assert [a["actor_id"] for a in audit] == [world.people["李妈妈"]]


async def test_mydata_works_before_consent_and_from_the_privacy_button(app, world, recorder, feed):
    child = world.children["小明"]
    await feed(callback_update(f"mydata:{child}", from_user=tg(world, "王奶奶")))
    assert [f for f, _ in recorder.files] == [f"mydata-{child}.pdf"]
    _ = translator("zh_CN").gettext
    assert "".join(_("Nothing is shared yet.").split()) in "".join(pdf_text(recorder.files[0][1]).split())


@pytest.mark.parametrize("who", ["张阿姨", "路人", "陈老师"])
async def test_mydata_exports_nothing_for_anyone_but_the_family(app, world, recorder, feed, who):
    await world.consent("小明", by="李妈妈")
    await feed(message_update("/mydata", from_user=tg(world, who, "en")))
    assert recorder.sent("sendDocument") == []
    assert recorder.files == []
    [reply] = recorder.sent(chat_id=world.telegram[who])
    assert "nothing to export" in reply.text


@pytest.mark.parametrize("data", ["withdraw:{child}:maybe", "withdraw:", "delete:{child}:yes:yes", "mydata:{child}:x",
                                  "delete:-1:yes", "erase:1", "erase:x:sure", "erase:99999999999999999999:sure"])
async def test_forged_family_and_admin_buttons_are_refused(app, world, recorder, feed, data):
    await world.consent("小明", by="李妈妈")
    await feed(callback_update(data.format(child=world.children["小明"]), from_user=tg(world, "李妈妈")))
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE_ZH
    assert recorder.sent("editMessageText") == [] and recorder.files == []
    assert await state(app, world.children["小明"]) == "given"
    assert await app.bot_data.services.db.fetch_all("SELECT * FROM deletion_requests") == []


async def test_the_copy_button_of_someone_elses_child_sends_nothing(app, world, recorder, feed):
    await feed(callback_update(f"mydata:{world.children['小明']}", from_user=tg(world, "赵爸爸")))
    assert recorder.files == []
    assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE_ZH


# erasure: the family asks, an admin confirms

async def ask_for_deletion(world, feed, recorder, who: dict) -> None:
    child = world.children["小明"]
    await feed(callback_update(f"delete:{child}", from_user=who))
    [confirm] = recorder.sent("editMessageText")
    assert callback_data(confirm) == [f"delete:{child}:yes", f"delete:{child}:no"]
    assert "school admin must confirm" in confirm.text
    recorder.clear()
    await feed(callback_update(f"delete:{child}:yes", from_user=who))
    assert "A school admin will confirm it" in recorder.sent("editMessageText")[0].text
    recorder.clear()


async def open_deletions(world, feed, recorder, requester: str = "李妈妈") -> list[str]:
    admin = tg(world, "王校长", "en")
    await feed(message_update("/deletions", from_user=admin))
    header, request = recorder.sent(chat_id=admin["id"])
    assert header.text == "1 deletion request is waiting for you."
    assert "小明" in request.text and requester in request.text
    recorder.clear()
    return callback_data(request)


async def test_deletion_request_confirmed_by_an_admin_erases_the_child(app, world, recorder, feed):
    services = app.bot_data.services
    child = world.children["小明"]
    await world.consent("小明", by="李妈妈")
    parent = tg(world, "李妈妈", "en")
    # Outside their own updates a person is written to in the language they chose (else Chinese).
    await services.preferences.set_locale(parent["id"], "en")
    await ask_for_deletion(world, feed, recorder, parent)
    [(request_id,)] = await services.db.fetch_all("SELECT id FROM deletion_requests WHERE child_id = ?", (child,))

    erase, decline = await open_deletions(world, feed, recorder)
    assert (erase, decline) == (f"erase:{request_id}:yes", f"erase:{request_id}:no")

    admin = tg(world, "王校长", "en")
    await feed(callback_update(erase, from_user=admin))
    [confirm] = recorder.sent("editMessageText")
    assert "cannot be restored" in confirm.text
    sure, back = callback_data(confirm)
    assert (sure, back) == (f"erase:{request_id}:sure", f"erase:{request_id}:back")
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (child,)) is not None

    recorder.clear()
    await feed(callback_update(sure, from_user=admin))
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (child,)) is None
    assert await services.db.fetch_all("SELECT * FROM child_fields WHERE child_id = ?", (child,)) == []
    assert await services.db.fetch_all("SELECT * FROM consents WHERE child_id = ?", (child,)) == []
    [done] = recorder.sent("editMessageText")
    assert f"Erased (request {request_id})" in done.text and "小明" not in done.text
    assert "I have told the person who asked." in done.text
    # Not sent from the handler: the outbox has it for the requester, and its sender delivers it.
    assert recorder.sent(chat_id=parent["id"]) == []
    [row] = [r for r in await outbox(world) if r["person_id"] == world.people["李妈妈"]]
    assert (row["recipient"], row["child_id"]) == (str(parent["id"]), None)
    assert "小明" not in row["payload"]["text"]  # the outbox keeps its rows: nothing of the child may outlive it
    # The requester, the guardian, the proxy parent and the class teacher: the carers are told the record was
    # removed (issue 14, item 5), and none of it names the child.
    assert await deliver_outbox(app) == 4
    [told] = recorder.sent(chat_id=parent["id"])
    assert told.text == ("The record you asked to delete has been erased. Nothing about the child is left in "
                         "Qinqing Bridge.")
    for carer in ("王奶奶", "张阿姨", "陈老师"):
        [note] = recorder.sent(chat_id=world.telegram[carer])
        assert "三年级一班的一份孩子档案已删除" in note.text and "小明" not in note.text

    # the family's role went with the record: their old buttons and /mydata reach nothing now
    recorder.clear()
    await feed(message_update("/mydata", from_user=parent))
    assert recorder.files == []
    await feed(callback_update(sure, from_user=admin))
    assert recorder.sent("answerCallbackQuery")[-1].params["text"] == STALE_EN


async def test_the_requester_is_told_in_their_own_language(app, world, recorder, feed):
    await ask_for_deletion(world, feed, recorder, tg(world, "李妈妈", "en"))
    await app.bot_data.services.preferences.set_locale(world.telegram["李妈妈"], "zh_CN")
    erase, _decline = await open_deletions(world, feed, recorder)
    request_id = erase.split(":")[1]
    await feed(callback_update(f"erase:{request_id}:sure", from_user=tg(world, "王校长", "en")))
    await deliver_outbox(app)
    [told] = recorder.sent(chat_id=world.telegram["李妈妈"])
    # the requester's language, not the admin's (Chinese once the catalog has the string)
    expected = translator("zh_CN").gettext(
        "The record you asked to delete has been erased. Nothing about the child is left in Qinqing Bridge.")
    assert told.text == expected


async def test_cancel_at_the_second_question_keeps_the_request_open(app, world, recorder, feed):
    await ask_for_deletion(world, feed, recorder, tg(world, "王奶奶", "en"))
    erase, _decline = await open_deletions(world, feed, recorder, "王奶奶")
    request_id = erase.split(":")[1]
    admin = tg(world, "王校长", "en")
    await feed(callback_update(f"erase:{request_id}:back", from_user=admin))
    [back] = recorder.sent("editMessageText")
    assert callback_data(back) == [erase, f"erase:{request_id}:no"]
    assert len(await app.bot_data.services.privacy.open_requests(await world.actor("王校长"))) == 1


async def test_a_declined_request_keeps_the_record_and_tells_the_requester(app, world, recorder, feed):
    services = app.bot_data.services
    child = world.children["小明"]
    await services.preferences.set_locale(world.telegram["王奶奶"], "en")
    await ask_for_deletion(world, feed, recorder, tg(world, "王奶奶", "en"))
    _erase, decline = await open_deletions(world, feed, recorder, "王奶奶")
    await feed(callback_update(decline, from_user=tg(world, "王校长", "en")))
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (child,)) is not None
    assert "record is kept" in recorder.sent("editMessageText")[0].text
    await deliver_outbox(app)
    [told] = recorder.sent(chat_id=world.telegram["王奶奶"])
    assert "did not confirm" in told.text and "小明" in told.text
    assert await services.privacy.open_requests(await world.actor("王校长")) == []


async def test_no_one_but_an_admin_of_the_school_decides(app, world, recorder, feed):
    services = app.bot_data.services
    await ask_for_deletion(world, feed, recorder, tg(world, "李妈妈", "en"))
    [(request_id,)] = await services.db.fetch_all("SELECT id FROM deletion_requests")
    other_school = await World.build(services, school="别的小学")
    await world.person("外校校长", "admin", school_id=other_school.school_id)
    for who in ("李妈妈", "陈老师", "路人", "外校校长"):
        recorder.clear()
        await feed(callback_update(f"erase:{request_id}:sure", from_user=tg(world, who)))
        assert recorder.sent("answerCallbackQuery")[0].params["text"] == STALE_ZH
    assert await services.db.fetch_one("SELECT id FROM children WHERE id = ?", (world.children["小明"],))
    assert len(await services.privacy.open_requests(await world.actor("王校长"))) == 1


async def test_deletions_tells_a_non_admin_it_is_for_admins(world, recorder, feed):
    who = tg(world, "李妈妈", "en")
    await feed(message_update("/deletions", from_user=who))
    assert "Only a school admin" in recorder.sent(chat_id=who["id"])[0].text


async def test_deletions_with_nothing_waiting(world, recorder, feed):
    who = tg(world, "王校长", "en")
    await feed(message_update("/deletions", from_user=who))
    assert recorder.sent(chat_id=who["id"])[0].text == "No deletion requests are waiting."


async def test_privacy_commands_are_for_private_chats_only(world, recorder, feed):
    who = tg(world, "李妈妈", "en")
    group = {"id": -100123, "type": "supergroup", "title": "班级群"}
    for command in ("/privacy", "/mydata", "/deletions"):
        await feed(message_update(command, from_user=who, chat=group))
    assert recorder.sent("sendMessage") == [] and recorder.sent("sendDocument") == []


async def test_deletions_counts_and_lists_each_waiting_request(app, world, recorder, feed):
    services = app.bot_data.services
    for parent, child in (("李妈妈", "小明"), ("赵爸爸", "小红")):
        await services.privacy.request_deletion(await world.actor(parent), world.children[child])
    admin = tg(world, "王校长", "en")
    await feed(message_update("/deletions", from_user=admin))
    header, *requests = recorder.sent(chat_id=admin["id"])
    assert header.text == "2 deletion requests are waiting for you."
    assert ["小明" in requests[0].text, "小红" in requests[1].text] == [True, True]
    assert [len(callback_data(r)) for r in requests] == [2, 2]


async def test_a_guardian_who_has_not_answered_can_still_stop_what_another_agreed_to(app, world, recorder, feed):
    child = world.children["小明"]
    await world.consent("小明", by="李妈妈")
    who = tg(world, "王奶奶", "en")
    await feed(message_update("/privacy", from_user=who))
    status = recorder.sent(chat_id=who["id"])[1]
    assert "You have not answered yet." in status.text and "News about the child is shared" in status.text
    assert callback_data(status)[:2] == [f"consent:{child}:given", f"withdraw:{child}"]
    await feed(callback_update(f"withdraw:{child}:yes", from_user=who))
    assert await state(app, child) == "withdrawn"


async def test_the_requester_hears_the_outcome_through_the_outbox_not_from_the_handler(app, world, recorder, feed):
    parent = tg(world, "李妈妈", "en")
    await ask_for_deletion(world, feed, recorder, parent)
    _erase, decline = await open_deletions(world, feed, recorder)
    await feed(callback_update(decline, from_user=tg(world, "王校长", "en")))
    assert recorder.sent(chat_id=parent["id"]) == []  # no message from the admin's update to a third person
    [row] = [r for r in await outbox(world) if r["person_id"] == world.people["李妈妈"]]
    assert (row["state"], row["kind"], row["notify_person_id"]) == ("pending", "text", world.people["王校长"])
    assert row["child_id"] == world.children["小明"]  # it names the child, so it goes if the record is erased later

    # The admin's and the guardian's notes of the request went out with it (issue 14, item 5); the requester's
    # answer is the one more.
    assert await deliver_outbox(app) == 3
    [told] = recorder.sent(chat_id=parent["id"])
    assert told.text == row["payload"]["text"]
    assert [r["state"] for r in await outbox(world) if r["id"] == row["id"]] == ["sent"]


# Every prefix of this module, forged: a digit only str.isdigit takes, an id beyond SQLite's integers, empty and
# extra fields, an unknown step. Each gets the quiet popup, changes nothing, and logs no error.
FORGED_FAMILY = ["consent:²:given", "consent:12345678901234567890123:given", "consent::given",
                 "consent:{child}:maybe", "consent:{child}:given:x",
                 "withdraw:²", "withdraw:", "withdraw:{child}:maybe", "withdraw:{child}:yes:x",
                 "delete:²:yes", "delete:12345678901234567890123", "delete:{child}:sure", "delete:{child}:yes:yes",
                 "mydata:²", "mydata:", "mydata:{child}:x", "mydata:99999999999999999999"]
FORGED_ADMIN = ["erase:²:sure", "erase:12345678901234567890123:sure", "erase::yes", "erase:{request}",
                "erase:{request}:maybe", "erase:{request}:sure:x"]


@pytest.mark.parametrize(("presser", "data"), [("李妈妈", d) for d in FORGED_FAMILY] + [("王校长", d) for d in FORGED_ADMIN])
async def test_forged_privacy_buttons_get_the_quiet_popup_and_change_nothing(app, world, recorder, feed, caplog,
                                                                             presser, data):
    services = app.bot_data.services
    await world.consent("小明", by="李妈妈")
    request = await services.privacy.request_deletion(await world.actor("王奶奶"), world.children["小明"])
    await feed(callback_update(data.format(child=world.children["小明"], request=request),
                               from_user=tg(world, presser)))
    [answer] = recorder.sent("answerCallbackQuery")
    assert answer.params["text"] == STALE_ZH and not answer.params.get("show_alert")
    assert recorder.sent("editMessageText") == [] and recorder.sent("sendMessage") == [] and recorder.files == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await state(app, world.children["小明"]) == "given"
    assert len(await services.privacy.open_requests(await world.actor("王校长"))) == 1
