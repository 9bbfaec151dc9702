"""Reporting a child in danger through the production application: /report step by step (buttons, typing where a
step takes it, a hint where it does not), the people told and their "✅ Received", the case's actions, /reports and
the ledger, and the refusals: a second acknowledgement, the child's family, a forged id, a removed person's old
button, closing by one person alone; and what /audit says of it all, in words."""

from __future__ import annotations

import ast
import io
import itertools
import time
from pathlib import Path

import openpyxl
import pytest

from bot.access.policy import ADMIN, DIRECTOR, PARENT, PROXY, SUPERVISOR, TEACHER
from bot.i18n import translator
from bot.safety.service import HIDDEN
from handlers.audit import ACTION_LABELS
from handlers.commands import commands_for
from tests.helpers import DocumentRecorder, callback_update, deliver_outbox, labels, last, message_update, outbox, who
from tests.world import World

_ids = itertools.count(80_000)

ADMIN_, TEACHER_, PROXY_, MOTHER, SUPER, DIRECTOR_ = "周校长", "陈老师", "赵阿姨", "李妈妈", "刘督导", "吴主任"


@pytest.fixture
def recorder() -> DocumentRecorder:
    return DocumentRecorder()


@pytest.fixture
async def world(app):
    world = await World.build(app.bot_data.services)
    await world.township("青山镇", ("青山村",))
    await world.child("小明")
    await world.child("小红")
    await world.home("小明", "青山村")
    await world.person(ADMIN_, ADMIN)
    await world.person(TEACHER_, TEACHER, klass="三年级一班")
    await world.person(PROXY_, PROXY, child="小明")
    await world.person(MOTHER, PARENT, child="小明", relation="mother")
    await world.person(SUPER, SUPERVISOR)
    await world.person(DIRECTOR_, DIRECTOR, village="青山村")
    await world.consent("小明", by=MOTHER)
    for name in world.telegram:  # what others receive is in their stored language: English, checked exactly
        await world.services.preferences.set_locale(world.telegram[name], "en")
    return world


def raw(sender: dict, **fields) -> dict:
    chat = {"id": sender["id"], "type": "private", "first_name": sender["first_name"]}
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "from": sender, **fields}
    return {"update_id": next(_ids), "message": message}


def voice(file_id: str = "voice-1") -> dict:
    return {"voice": {"file_id": file_id, "file_unique_id": file_id, "duration": 4}}


def photo(file_id: str = "photo-1", group: str | None = None) -> dict:
    fields = {"photo": [{"file_id": f"{file_id}-s", "file_unique_id": f"{file_id}s", "width": 90, "height": 90},
                        {"file_id": file_id, "file_unique_id": file_id, "width": 800, "height": 800}]}
    return {**fields, "media_group_id": group} if group else fields


class Chat:
    """One person talking to the bot: typing, sending, pressing the buttons of their latest screen."""

    def __init__(self, feed, recorder, world, name: str) -> None:
        self.feed, self.recorder, self.world, self.name = feed, recorder, world, name
        self.user = who(world, name)

    async def say(self, text: str) -> None:
        await self.feed(message_update(text, from_user=self.user))

    async def send(self, **fields) -> None:
        await self.feed(raw(self.user, **fields))

    def screen(self):
        """The latest message or edit with buttons in this chat."""
        chat = self.world.telegram[self.name]
        return [c for c in self.recorder.calls if c.method in ("sendMessage", "editMessageText")
                and int(c.params.get("chat_id", 0)) == chat and c.params.get("reply_markup")][-1]

    def last(self):
        return last(self.recorder, self.world, self.name)

    def data(self, label: str) -> str:
        for row in self.screen().params["reply_markup"]["inline_keyboard"]:
            for b in row:
                if b["text"] == label:
                    return b["callback_data"]
        raise LookupError(f"{label!r} not in {labels(self.screen())}")

    async def press(self, label: str) -> None:
        await self.feed(callback_update(self.data(label), from_user=self.user))

    async def press_data(self, data: str) -> None:
        await self.feed(callback_update(data, from_user=self.user))

    def popup(self) -> str | None:
        return [c for c in self.recorder.calls if c.method == "answerCallbackQuery"][-1].params.get("text")


def chat(feed, recorder, world, name: str) -> Chat:
    return Chat(feed, recorder, world, name)


async def reports(world) -> list[dict]:
    return [dict(r) for r in await world.services.db.fetch_all("SELECT * FROM safety_reports ORDER BY id")]


async def quick_report(feed, recorder, world, name: str = PROXY_) -> int:
    """A report by buttons alone: in danger, the police called, one situation, found just now."""
    me = chat(feed, recorder, world, name)
    await me.say("/report")
    await me.press("⚠️ Yes, in danger now")
    await me.press("✅ I have called the police")
    if "Which child" in me.screen().text:
        await me.press("小明")
    await me.press("Suspected domestic violence")
    await me.press("Next ▶")
    await me.press("Just now")
    await me.press("Skip")   # where
    await me.press("Skip")   # what happened
    await me.press("Skip")   # photos
    await me.press("Skip")   # the station
    await me.press("Skip")   # the receipt number
    await me.press("📤 Send the report")
    return (await reports(world))[-1]["id"]


# -- reporting ---------------------------------------------------------------------------------------------------

async def test_a_proxy_parent_reports_with_buttons_and_typing_and_the_school_is_told_at_once(feed, recorder, world):
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/report")
    first = proxy.last()
    assert "Is the child in danger right now?" in first.text and "小明" in first.text
    assert labels(first) == ["⚠️ Yes, in danger now", "No danger right now", "✖ Cancel"]

    await proxy.press("⚠️ Yes, in danger now")
    call = proxy.last()
    # "Call 110" before anything else on the screen, in bold, and the question of the call right under it.
    assert call.text.startswith("🚨🚨🚨\n<b>CALL 110 NOW</b>") and call.params["parse_mode"] == "HTML"
    assert labels(call) == ["✅ I have called the police", "Not yet", "◀ Back", "✖ Cancel"]
    await proxy.press("✅ I have called the police")

    # Her only child is chosen already: the situations, several at once.
    assert "What is happening?" in proxy.last().text
    await proxy.say("打人了")
    assert recorder.sent(chat_id=proxy.user["id"])[-2].text == "Please answer with the buttons (what you typed was " \
                                                                 "not saved)."
    assert not any(label.startswith("✔") for label in labels(proxy.last()))
    await proxy.press("Suspected domestic violence")
    await proxy.press("Injuries, malnutrition, suspected abuse")
    assert [x for x in labels(proxy.last()) if x.startswith("✔")] == ["✔ Injuries, malnutrition, suspected abuse",
                                                                      "✔ Suspected domestic violence"]
    await proxy.press("Next ▶")

    await proxy.say("15:30")  # 16:00 in Shanghai now
    assert "Where was it?" in proxy.last().text
    await proxy.say("邻居家门口")
    await proxy.say("孩子说邻居喝酒后打她，胳膊上有淤青")
    await proxy.send(**voice())
    assert "voice notes: 1" in proxy.last().text
    await proxy.press("Next ▶")
    await proxy.send(**photo("arm-1", group="album"))
    await proxy.send(**photo("arm-2", group="album"))
    assert "photos: 2" in proxy.last().text and proxy.last().method == "editMessageText"
    await proxy.press("Next ▶")
    # The police were called at the first screen: only the station and the number are asked.
    assert "Which police station" in proxy.last().text
    await proxy.say("青山派出所")
    await proxy.press("Skip")
    summary = proxy.last().text
    for part in ("Child: 小明", "In danger now: yes", "Suspected domestic violence", "Where: 邻居家门口",
                 "胳膊上有淤青", "Photos: 2 · voice notes: 1", "青山派出所"):
        assert part in summary
    await proxy.press("📤 Send the report")

    sent = proxy.last().text
    assert sent.startswith("📤 Your report about 小明 was sent.")
    assert f"Told at once: {ADMIN_}, {TEACHER_}" in sent and SUPER in sent and DIRECTOR_ in sent
    assert "⏰" not in sent  # called at once: nothing late
    [row] = await reports(world)
    assert (row["kind"], row["situations"], row["danger_now"], row["place"], row["police_station"]) == \
        ("report", "s4,l3", 1, "邻居家门口", "青山派出所")
    assert row["found_at"].startswith("2026-03-02T07:30") and row["police_called_at"].startswith("2026-03-02T08:00")
    media = await world.services.db.fetch_all("SELECT kind, ref FROM safety_media ORDER BY position")
    assert [tuple(m) for m in media] == [("voice", "voice-1"), ("photo", "arm-1"), ("photo", "arm-2")]
    told = {r["recipient"] for r in await outbox(world)}
    assert told == {str(world.telegram[n]) for n in (ADMIN_, TEACHER_, SUPER, DIRECTOR_)}
    assert await world.services.dialogues.current(world.people[PROXY_]) is None


async def test_the_people_told_acknowledge_once_and_the_reporter_hears_it(app, feed, recorder, world):
    report_id = await quick_report(feed, recorder, world)
    await deliver_outbox(app)
    admin = chat(feed, recorder, world, ADMIN_)
    assert "✅ Received" in labels(admin.screen())
    await admin.press("✅ Received")
    assert admin.popup() == "Thank you: your acknowledgement is recorded, and the reporter is told."
    assert labels(recorder.sent("editMessageReplyMarkup")[-1]) == ["✅ Received ✔", "📂 Open the case"]

    await deliver_outbox(app)
    heard = recorder.sent(chat_id=world.telegram[PROXY_])[-1].text
    assert heard.startswith(f"✅ {ADMIN_}") and "received your report about 小明" in heard

    await admin.press_data(f"sfa:{report_id}")
    assert admin.popup() == "This was already answered; nothing was changed."
    acked = await world.services.db.fetch_all("SELECT person_id FROM safety_recipients WHERE acked_at IS NOT NULL")
    assert [r["person_id"] for r in acked] == [world.people[ADMIN_]]


async def test_the_family_forged_ids_and_a_removed_person_learn_nothing(app, feed, recorder, world):
    report_id = await quick_report(feed, recorder, world)
    await deliver_outbox(app)
    mother = chat(feed, recorder, world, MOTHER)
    assert recorder.sent(chat_id=mother.user["id"]) == []
    for data in (f"sfa:{report_id}", f"sfo:{report_id}", f"sfx:{report_id}:acc", f"sfx:{report_id}:media"):
        await mother.press_data(data)
        assert mother.popup() == HIDDEN, data
    admin = chat(feed, recorder, world, ADMIN_)
    for data in ("sfa:999", "sfo:999", "sfx:999:close"):
        await admin.press_data(data)
        assert admin.popup() == HIDDEN, data

    # The teacher leaves the school; the button she was sent before no longer works, and says nothing.
    await world.services.db.write("UPDATE roles SET revoked_at = '2026-03-02T08:00:00.000+00:00' WHERE person_id = ?",
                                  (world.people[TEACHER_],))
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.press("✅ Received")
    assert teacher.popup() == HIDDEN
    await teacher.press("📂 Open the case")
    assert teacher.popup() == HIDDEN
    assert await world.services.db.fetch_all("SELECT 1 FROM safety_recipients WHERE acked_at IS NOT NULL") == []
    # Forged step buttons of the flow, with nothing open: a clear popup, nothing started.
    for data in ("sfs:x:send", "sfs:c:1", "sfs:s:next"):
        await admin.press_data(data)
        assert admin.popup() == "This button is no longer valid."
    assert len(await reports(world)) == 1


async def test_a_mother_asks_for_help_without_the_police_and_is_gently_told_to_call(feed, recorder, world):
    mother = chat(feed, recorder, world, MOTHER)
    await mother.say("/report")
    assert "🆘 Request for help · 小明" in mother.last().text
    await mother.press("No danger right now")
    await mother.press("Abandoned or long without care")
    await mother.press("Next ▶")
    await mother.press("Yesterday")
    await mother.press("20:00")
    await mother.say("在家里")
    await mother.say("奶奶住院了，孩子一个人在家")
    await mother.press("Next ▶")
    await mother.press("Skip")
    await mother.press("Not yet")
    assert "call 110 now" in mother.last().text
    await mother.press("Not sure whether to call the police")
    assert "Police: not yet (Not sure whether to call the police)" in mother.last().text
    await mother.press("📤 Send")
    sent = mother.last().text
    assert sent.startswith("🆘 Your request for help about 小明 was sent.")
    assert "⏰ Not yet reported to the police" in sent
    [row] = await reports(world)
    assert (row["kind"], row["danger_now"], row["police_called_at"], row["late_police"]) == ("help", 0, None, 1)
    assert row["found_at"].startswith("2026-03-01T12:00")


async def test_every_step_has_a_way_back_and_out_and_a_typed_name_picks_the_child(feed, recorder, world):
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.say("/report")
    await teacher.say("yes")
    assert recorder.sent(chat_id=teacher.user["id"])[-2].text.startswith("Please answer with the buttons")
    assert "Is the child in danger right now?" in teacher.last().text
    await teacher.press("No danger right now")
    assert labels(teacher.last())[:2] == ["小明", "小红"]
    await teacher.say("小红")
    assert "小红" in teacher.last().text and "What is happening?" in teacher.last().text
    await teacher.press("◀ Back")
    assert "Which child" in teacher.last().text
    await teacher.press("◀ Back")
    assert "Is the child in danger right now?" in teacher.last().text
    await teacher.press("No danger right now")
    old = teacher.data("小明")
    await teacher.press("✖ Cancel")
    assert teacher.last().text == "Cancelled. Nothing was sent. If a child is in danger, call 110."
    await teacher.press_data(old)
    assert teacher.popup() == "This button is no longer valid."

    await teacher.say("/report 小明")
    await teacher.press("⚠️ Yes, in danger now")
    await teacher.press("Not yet")
    # Not called yet: every screen says it again until the police step.
    assert "<b>Call 110 now</b>" in teacher.last().text
    await teacher.say("/cancel")
    assert teacher.last().text == "Cancelled. Nothing was sent. If a child is in danger, call 110."
    assert await reports(world) == []


async def test_a_typed_time_that_cannot_be_read_changes_nothing(feed, recorder, world):
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/report")
    await proxy.press("No danger right now")
    await proxy.press("Suspected domestic violence")
    await proxy.press("Next ▶")
    await proxy.say("不知道")
    assert proxy.last().text.startswith("⚠️ Type the time")
    await proxy.say("明天 8:00")
    assert "When was it found?" in proxy.screen().text
    await proxy.say("昨晚8点半")
    assert "Where was it?" in proxy.last().text
    state = (await world.services.dialogues.current(world.people[PROXY_])).state
    assert state["found"].startswith("2026-03-01T12:30")


async def test_someone_with_no_child_is_told_to_call_110(feed, recorder, world):
    await world.person("钱先生")
    stranger = chat(feed, recorder, world, "钱先生")
    await stranger.say("/report")
    assert stranger.last().text == "There is no child you can report about here. If a child is in danger, call 110 " \
                                   "now."


# -- the case ----------------------------------------------------------------------------------------------------

async def test_handlers_move_the_case_on_and_closing_needs_a_second_person(app, feed, recorder, world):
    report_id = await quick_report(feed, recorder, world)
    admin = chat(feed, recorder, world, ADMIN_)
    await admin.press_data(f"sfo:{report_id}")
    case = admin.last().text
    assert f"#{report_id} · 小明" in case and f"Reported by: {PROXY_}" in case
    await admin.press("🚓 Police accepted")
    await admin.press("Skip")
    assert "State: police accepted the case" in admin.last().text
    await admin.press("🤝 Help under way")
    await admin.press("Counselling")
    assert "State: help under way" in admin.last().text and "Counselling" in admin.last().text
    await admin.press("🗒 Add a note")
    await admin.say("已联系民政所")
    assert "已联系民政所" in admin.last().text
    await admin.press("🏠 Home visit")
    await admin.press("Today")
    await admin.say("孩子在奶奶家，情绪稳定")
    await admin.press("Better")
    assert "孩子在奶奶家，情绪稳定" in admin.last().text and "outcome: Better" in admin.last().text
    await admin.press("📁 Ask to close")
    await admin.press("The child is safe now")
    assert "a second person must confirm" in admin.last().text
    await admin.press("✅ Confirm the closing")
    assert admin.popup() == "Closing needs a second person: someone else handling the case must confirm."
    assert (await reports(world))[0]["state"] == "helping"

    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.press_data(f"sfo:{report_id}")
    await teacher.press("✅ Confirm the closing")
    assert (await reports(world))[0]["state"] == "closed"
    assert "Closed" in teacher.last().text
    # The reporter sees her case, without its actions.
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.press_data(f"sfo:{report_id}")
    assert "🚓 Police accepted" not in labels(proxy.last()) and "Reported by" in proxy.last().text


async def test_reports_lists_open_cases_and_the_ledger_is_for_admins_and_supervisors(app, feed, recorder, world,
                                                                                     clock):
    from datetime import timedelta

    report_id = await quick_report(feed, recorder, world)
    clock.advance(timedelta(minutes=20))
    admin = chat(feed, recorder, world, ADMIN_)
    await admin.say("/reports")
    listing = admin.last()
    assert "Open cases: 1" in listing.text
    assert "no acknowledgement" in listing.text
    assert labels(listing) == [f"#{report_id} 小明", "📊 Export the ledger"]
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.say("/reports")
    assert labels(teacher.last()) == [f"#{report_id} 小明"]
    mother = chat(feed, recorder, world, MOTHER)
    await mother.say("/reports")
    assert "Open cases: 0" in mother.last().text and labels(mother.last()) == []

    await admin.press("📊 Export the ledger")
    [(filename, content)] = recorder.files
    assert filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "小明"
    await teacher.press_data("sfe")
    assert teacher.popup() == "Only school admins and township supervisors can export the ledger."
    assert len(recorder.files) == 1


async def test_the_audit_log_tells_what_was_done_with_a_report_in_words(app, feed, recorder, world):
    report_id = await quick_report(feed, recorder, world)
    admin = chat(feed, recorder, world, ADMIN_)
    await admin.press_data(f"sfa:{report_id}")
    await admin.press_data(f"sfo:{report_id}")
    await admin.press("📝 Police feedback")
    await admin.say("派出所已立案")
    await admin.press("🗒 Add a note")
    await admin.say("已联系民政所")
    await admin.press("📁 Ask to close")
    await admin.press("The child is safe now")
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.press_data(f"sfo:{report_id}")
    await teacher.press("✅ Confirm the closing")
    await admin.press_data("sfe")
    await admin.say("/audit 小明")
    log = admin.last().text.splitlines()[1:]
    assert [line for line in log if "safety_" in line] == []
    report = f"#{report_id}"   # the case's number, as /reports shows it; no other ids, no codes
    for who_, what in ((PROXY_, f"filed a safety report or asked for help {report}"),
                       (ADMIN_, f"acknowledged a safety report {report}"), (ADMIN_, f"viewed a safety case {report}"),
                       (ADMIN_, f"recorded the police feedback {report}"),
                       (ADMIN_, f"added a note to a safety case {report}"),
                       (ADMIN_, f"asked to close a safety case {report}"),
                       (TEACHER_, f"confirmed closing a safety case {report}"),
                       (ADMIN_, f"exported in the mandatory reporting ledger {report}")):
        assert any(f" · {who_} · {what}" in line for line in log), (who_, what, log)


def test_every_action_a_report_is_audited_by_has_words_in_both_languages():
    """Generated from the code: every action bot.safety records in the audit log (and the erasure held for a case, and
    the village a child's home is in) is labelled in /audit, in Chinese too."""
    recorded = {"set_village", "erasure_held"}
    for path in (Path(__file__).resolve().parents[1] / "bot" / "safety").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AuditEntry":
                action = node.args[3]
                assert isinstance(action, ast.Constant), f"{path}:{node.lineno}: an action named at run time"
                recorded.add(action.value)
    assert len(recorded) > 10
    assert sorted(recorded - set(ACTION_LABELS)) == []
    zh = translator("zh_CN").gettext
    assert [a for a in sorted(recorded) if zh(ACTION_LABELS[a]) == ACTION_LABELS[a]] == []


def test_the_menus_offer_report_and_reports_to_the_right_roles():
    for role in (ADMIN, TEACHER, PROXY, SUPERVISOR, DIRECTOR, PARENT, "guardian"):
        assert "report" in dict(commands_for([role])), role
    assert dict(commands_for([PARENT]))["report"] == "🆘 Ask for help"
    for role in (ADMIN, TEACHER, SUPERVISOR, DIRECTOR):
        assert "reports" in dict(commands_for([role])), role
    for role in (PROXY, PARENT):
        assert "reports" not in dict(commands_for([role])), role
    assert "report" not in dict(commands_for([]))


# -- the ways in: 🆘 on the record, the talk form and relay mode; a worry written elsewhere ------------------------

async def test_the_first_screen_is_in_chinese_for_a_chinese_reader(feed, recorder, world):
    await world.services.preferences.set_locale(world.telegram[PROXY_], "zh_CN")
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/report")
    assert "孩子现在有危险吗？" in proxy.last().text
    await proxy.press("⚠️ 有危险")
    assert proxy.last().text.startswith("🚨🚨🚨\n<b>立即拨打 110</b>")
    assert labels(proxy.last())[:2] == ["✅ 我已报警", "还没有"]


async def test_the_sos_button_on_a_record_opens_the_report_for_that_child(feed, recorder, world):
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.say("/child 小红")
    await teacher.press("🆘 Report a danger")
    assert "📋 Safety report · 小红" in teacher.last().text
    await teacher.press("No danger right now")
    assert "What is happening?" in teacher.last().text  # the child is chosen already


async def test_a_worry_in_a_talk_record_becomes_a_report_with_its_words(feed, recorder, world):
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/talk")
    await proxy.press("Today")
    assert "🆘 Report a danger" in labels(proxy.screen())  # the talk form has the way out to a report too
    await proxy.press("Safety")
    await proxy.press("Done")
    await proxy.press("😟 worried")
    await proxy.say("孩子说邻居喝酒后打她，胳膊上有淤青")
    await proxy.press("Nothing")
    await proxy.press("💾 Save")
    saved = proxy.last()
    assert labels(saved) == ["🆘 This is a safety problem"]
    entry = saved.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

    # Someone else pressing it (a forged copy) starts nothing.
    teacher = chat(feed, recorder, world, TEACHER_)
    await teacher.press_data(entry)
    assert teacher.popup() == "This button is no longer valid."
    assert await world.services.dialogues.current(world.people[TEACHER_]) is None

    await proxy.press("🆘 This is a safety problem")
    await proxy.press("⚠️ Yes, in danger now")
    await proxy.press("✅ I have called the police")
    await proxy.press("Suspected domestic violence")
    await proxy.press("Next ▶")
    await proxy.press("Just now")
    await proxy.press("Skip")
    assert "孩子说邻居喝酒后打她，胳膊上有淤青" in proxy.last().text and "Next ▶" in labels(proxy.last())


async def test_a_carers_relayed_words_can_become_a_report_and_relay_mode_has_the_sos_button(feed, recorder, world):
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/relay")  # the mother is the only one to write to: relay mode at once
    assert "🆘 Report a danger" in labels(proxy.last())
    await proxy.say("孩子发烧抽搐了")
    sent = proxy.last()
    assert sent.text == f"Sent to {MOTHER}." and labels(sent) == ["🆘 This is a safety problem"]
    await proxy.press("🆘 This is a safety problem")
    state = (await world.services.dialogues.current(world.people[PROXY_])).state
    assert (state["child"], state["desc"]) == (world.children["小明"], "孩子发烧抽搐了")

    mother = chat(feed, recorder, world, MOTHER)
    await mother.say("/relay")
    await mother.press(f"{PROXY_} (proxy parent)")
    await mother.say("好的")
    assert labels(mother.last()) == []  # a parent's message: no prompt under every line


async def test_an_updates_health_note_offers_a_report_and_a_calm_one_does_not(feed, recorder, world):
    proxy = chat(feed, recorder, world, PROXY_)
    await proxy.say("/update")
    await proxy.press("🙂 Mood")
    await proxy.press("😊 happy")
    await proxy.press("📤 Send")
    assert labels(proxy.last()) == []

    await proxy.say("/update")
    await proxy.press("🩺 Health")
    await proxy.say("发烧39度，身上有伤")
    await proxy.press("📤 Send")
    await proxy.press("🆘 This is a safety problem")
    state = (await world.services.dialogues.current(world.people[PROXY_])).state
    assert "发烧39度，身上有伤" in state["desc"] and state["child"] == world.children["小明"]


def test_a_typed_just_now_is_the_present_moment():
    """A grandmother types the button's own words instead of pressing it: 刚才 is now, not an error."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.safety.moments import parse_moment
    now = datetime(2026, 12, 6, 2, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    for typed in ("刚才", "刚刚", "现在。", "Just now"):
        assert parse_moment(typed, now) == now, typed


async def test_the_supervisor_brings_a_director_into_the_case_and_nobody_else_can(app, feed, recorder, world):
    """A child director appointed after the report was not told; the township's supervisor adds her from the
    case, and she is told at once. The admin, who handles the case too, has no such button, and a forged press
    of it changes nothing."""
    report_id = await quick_report(feed, recorder, world)
    await world.person("郑主任", DIRECTOR, village="青山村")
    supervisor = chat(feed, recorder, world, SUPER)
    await supervisor.press_data(f"sfo:{report_id}")
    await supervisor.press("👥 Add someone to the case")
    assert labels(supervisor.screen()) == ["郑主任 (village child director)", "◀ Back to the case"]
    await supervisor.press("郑主任 (village child director)")
    told = await world.services.db.fetch_all("SELECT person_id FROM safety_recipients WHERE report_id = ?",
                                             (report_id,))
    assert world.people["郑主任"] in {r["person_id"] for r in told}
    await deliver_outbox(app)
    added = translator("zh_CN").gettext("{name} added you to this case.").format(name=SUPER)  # her language
    assert last(recorder, world, "郑主任").params["text"].startswith(added)

    admin = chat(feed, recorder, world, ADMIN_)
    await admin.press_data(f"sfo:{report_id}")
    assert "👥 Add someone to the case" not in str(labels(admin.screen()))
    before = len(told)
    await admin.press_data(f"sfx:{report_id}:add:{world.people[TEACHER_]}")
    assert "supervisor" in (admin.popup() or last(recorder, world, ADMIN_).params.get("text", ""))
    after = await world.services.db.fetch_all("SELECT person_id FROM safety_recipients WHERE report_id = ?",
                                              (report_id,))
    assert len(after) == before
