"""Issue 13's "Bad input", over the seeded school (tests.world.World.seeded), whose safety reports hold a canary in
every word: 小明's (his teacher reported it, the admin acts on it), 小华's (her proxy parent reported it, the school
closed it) and 小红's (her village director reported it; nobody has acknowledged it yet).

Nothing of a report reaches the child's mother, father or grandmother, a proxy parent who did not report it, another
child's proxy parent, someone without a role or a stranger: not through any command, nor any button they can press
(their own, the ones the handlers were sent, forged ids), nor anything the schedule sends them afterwards (the report
told again and taken to the township, the police-feedback reminder, the care calendar's digest, video reminders).
And what a person can do wrong with a case gets a clear answer and changes nothing (the report and case tables, the
outbox and the audit log are the same after as before): a report about a child they do not care for, a forged case
id, 收到 pressed twice, a removed person's old buttons, a report sent after the sender's role ended."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from typing import get_args

import pytest

from bot.access.policy import HANDLER_ROLES, roles_for
from bot.errors import AlreadyAcknowledged, NotAllowed, StaleButton
from bot.i18n import locale_from_language_code, translator
from bot.runtime.runner import schedule_job
from bot.safety.buttons import Act
from bot.safety.service import HIDDEN
from handlers.commands import COMMANDS
from handlers.safety import NOBODY, USE_BUTTONS
from storage.children import ChildrenRepository
from storage.safety import ReportDraft
from tests.helpers import callback_update, deliver_outbox, message_update, outbox
from tests.world import REPORT_ANSWERS, REPORT_NOTES, REPORTER_READS, STRANGER, World, report_reads

# Whom no report may reach (小华's proxy parent reads her own report, as its reporter, and no other).
UNTOLD = ["mother", "father", "grandmother", "grandfather", "proxy", "proxy_b", "former", STRANGER]
# What records a report and its case; with what would carry it to anyone, and the record of who saw it.
REPORT_TABLES = ("safety_reports", "safety_recipients", "safety_events", "safety_media")
CASE_TABLES = (*REPORT_TABLES, "outbox", "audit_log")
CASE_PREFIXES = ("sfa:", "sfo:", "sfx:")
FORGED_REPORT = 999


def report_of(world: World, child: str) -> int:
    return next(r.id for r in world.reports.values() if r.child == child)


async def snapshot(world: World) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in await world.services.db.fetch_all(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in CASE_TABLES}


def gettext_of(world: World, name: str):
    return translator(locale_from_language_code(world.languages.get(name, "en"))).gettext


def case_buttons(report_id: int) -> list[str]:
    """Every button of a case: 收到, the case, each action (with the choices the buttons offer)."""
    found = [f"sfa:{report_id}", f"sfo:{report_id}"] + [f"sfx:{report_id}:{act}" for act in get_args(Act)]
    return found + [f"sfx:{report_id}:{act}" for act in ("acc:skip", "help:counsel", "close:safe", "visit:today",
                                                          "visit:better")]


def buttons_in(calls) -> list[str]:
    return [b["callback_data"] for call in calls
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
            if "callback_data" in b]


def popups(calls) -> list[str | None]:
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


def text_of(calls) -> str:
    parts = []
    for call in calls:
        parts.append(json.dumps(call.params, ensure_ascii=False, default=str))
        parts += [content.decode("utf-8", "replace") for content in call.files.values()]
    return "\n".join(parts)


def to_chat(calls, world: World, name: str) -> list:
    """What reached this person's chat (a popup answers their own press: it has no chat)."""
    chat = str(world.telegram[name])
    return [c for c in calls if str(c.params.get("chat_id", chat)) == chat]


async def run_schedule(world: World, app, clock, after: timedelta) -> None:
    """The clock moves on and the schedule runs (as the runner's schedule_job does), then the outbox is sent."""
    clock.advance(after)
    await schedule_job(SimpleNamespace(services=world.services))
    await deliver_outbox(app)


# -- nothing reaches the untold ----------------------------------------------------------------------------------

async def test_every_word_of_the_reports_is_a_canary_of_its_own(seeded):
    """So that finding one in a message names the report and the word, and nothing else."""
    values = [c.value for c in seeded.canaries]
    words = [c for c in seeded.canaries if c.report is not None]
    # 小明's: the answers and the handler's notes; 小华's: and the reason it was closed; 小红's: the answers.
    assert len(words) == 3 * len(REPORT_ANSWERS) + 2 * (len(REPORT_NOTES) - 1) + 1
    assert [(a, b) for a in values for b in values if a != b and a in b] == []
    stored = await seeded.services.db.fetch_all("SELECT * FROM safety_reports")
    assert {c.value for c in words if c.what in ("place", "description")} <= {r[k] for r in stored
                                                                             for k in ("place", "description")}


@pytest.mark.parametrize("name", UNTOLD)
async def test_nobody_untold_receives_anything_of_a_report(app, feed, recorder, seeded, clock, name):
    world = seeded
    services = world.services
    allowed = set()
    for filed in world.reports.values():
        place = (await ChildrenRepository(services.db).get(world.children[filed.child])).place
        grants = await services.people.grants(world.people[name]) if name in world.people else []
        assert not roles_for(grants, place) & set(HANDLER_ROLES)  # nobody here handles a report
        reads = report_reads(grants, world.people.get(name), place, world.people[filed.reporter])
        allowed |= {c for c in world.canaries if c.report == filed.id and c.what in reads}
    assert (allowed != set()) == (name == "proxy_b")
    # The handlers' own buttons: the notices the reports sent them, delivered.
    await deliver_outbox(app)
    theirs = set(buttons_in(recorder.calls))
    assert {f"sfa:{r}" for r in world.reports} <= theirs
    # Control: the reports' words do reach the people who handle them, so silence below means something.
    assert world.canary("ming", "report.description").value in text_of(recorder.sent(chat_id=world.telegram["admin"]))
    recorder.clear()

    me = world.user(name)
    child_names = [world.canary(key, "name").value for key in ("ming", "hong", "hua")]
    commands = [f"/{c}" for c, *_ in COMMANDS] + [f"/{c} {n}" for c in ("child", "timeline", "report", "video")
                                                  for n in child_names]
    before = await snapshot(world)
    audited = (await services.db.fetch_one("SELECT MAX(id) FROM audit_log"))[0]
    for command in commands + ["/relay", "孩子这几天好吗？", "/cancel"]:
        await feed(message_update(command, from_user=me))
    own = set(buttons_in(recorder.calls))
    forged = {data for r in [*world.reports, FORGED_REPORT] for data in case_buttons(r)}
    forged |= {f"sfc:{c}" for c in world.children.values()} | {f"sfs:c:{c}" for c in world.children.values()}
    for data in sorted(own) + sorted(theirs | forged):
        await feed(callback_update(data, from_user=me))
    session = list(recorder.calls)
    # Their presses changed no report or case, and viewed none but their own (a view is audited).
    mine = {r.id for r in world.reports.values() if r.reporter == name}
    after = await snapshot(world)
    assert {t: after[t] for t in REPORT_TABLES} == {t: before[t] for t in REPORT_TABLES}
    viewed = await services.db.fetch_all("SELECT detail FROM audit_log WHERE id > ? AND action LIKE 'safety%'",
                                         (audited,))
    assert [r["detail"] for r in viewed if r["detail"] not in {f"report={m}" for m in mine}] == []

    # The schedule: 小红's report told again at 15 minutes and taken to the township at 60; then the admin records
    # that the police accepted it, and 72 hours later the feedback is asked for; day by day for a week, the care
    # calendar's digest. Whatever they receive, they press.
    recorder.clear()
    hong = report_of(world, "hong")
    await run_schedule(world, app, clock, timedelta(minutes=16))
    await run_schedule(world, app, clock, timedelta(minutes=45))
    await services.safety.set_state(await world.actor("admin"), hong, "accepted", "")
    await run_schedule(world, app, clock, timedelta(hours=72, minutes=1))
    for _day in range(8):
        await run_schedule(world, app, clock, timedelta(days=1))
    for data in buttons_in(to_chat(recorder.calls, world, name)):
        await feed(callback_update(data, from_user=me))
    told = [r for r in await outbox(world) if str(r["recipient"]) == str(world.telegram[name])]
    received = to_chat(session, world, name) + to_chat(recorder.calls, world, name)
    said = text_of(received) + "\n" + json.dumps([r["payload"] for r in told], ensure_ascii=False)

    leaked = {c for c in world.found_in(said) if c.report is not None} - allowed
    assert leaked == set(), f"{name} received {sorted((c.report, c.what) for c in leaked)}"
    # No row about a report was meant for them, nor a case's button handed to them, but for the reporter's own.
    assert [r["dedupe_key"] for r in told if r["dedupe_key"].startswith("safety:")
            and int(r["dedupe_key"].split(":")[1]) not in mine] == []
    handed = [b for b in buttons_in(received) if b.startswith(CASE_PREFIXES) and int(b.split(":")[1]) not in mine]
    assert handed == []
    # Control: the schedule ran its course (小红's report went to the township, the feedback was asked for, the
    # digest went out), and the handlers heard of it.
    escalated = await services.db.fetch_one("SELECT level, feedback_reminded_at FROM safety_reports WHERE id = ?",
                                            (hong,))
    assert escalated["level"] == 2 and escalated["feedback_reminded_at"]
    keys = {r["dedupe_key"].split(":")[2] for r in await outbox(world) if r["dedupe_key"].startswith(f"safety:{hong}:")}
    assert {"tell", "retell1", "feedback"} <= keys, keys
    assert [r for r in await outbox(world) if r["dedupe_key"].startswith("cal:")]


# -- what a reporter who does not handle the case reads -------------------------------------------------------------

async def test_a_reporter_who_does_not_handle_the_case_reads_her_answers_and_the_feedback_only(app, feed, recorder,
                                                                                            seeded):
    world = seeded
    hua = report_of(world, "hua")
    await deliver_outbox(app)
    me = world.user("proxy_b")
    await feed(callback_update(f"sfo:{hua}", from_user=me))
    await feed(callback_update(f"sfx:{hua}:media", from_user=me))
    said = text_of(to_chat(recorder.calls, world, "proxy_b"))
    read = {c.what for c in world.found_in(said) if c.report == hua}
    assert read == REPORTER_READS
    _ = gettext_of(world, "proxy_b")
    closed = _("The case about {child} is closed.").format(child=world.canary("hua", "name").value)
    assert closed in said


# -- bad input: a clear answer, nothing changed -------------------------------------------------------------------

async def test_a_report_about_a_child_one_does_not_care_for_is_refused_and_changes_nothing(feed, recorder, seeded):
    world = seeded
    ming = world.children["ming"]
    before = await snapshot(world)
    # 小明 is in class A: class B's teacher, a mother of another child, a stranger press his 🆘.
    for name in ("teacher_b", "grandfather", "supervisor_elsewhere", STRANGER):
        recorder.clear()
        await feed(callback_update(f"sfc:{ming}", from_user=world.user(name)))
        assert popups(recorder.calls) == [gettext_of(world, name)(NOBODY)], name
        assert await world.services.dialogues.current(world.people.get(name, -1)) is None
    # Class B's teacher in the middle of a report: 小明's id forged into the child's step, his name typed.
    teacher = world.user("teacher_b")
    _ = gettext_of(world, "teacher_b")
    await feed(message_update("/report " + world.canary("ming", "name").value, from_user=teacher))
    await feed(callback_update("sfs:d:n", from_user=teacher))
    waiting = (await world.services.dialogues.current(world.people["teacher_b"])).state
    assert waiting["step"] == "c" and "child" not in waiting
    recorder.clear()
    await feed(callback_update(f"sfs:c:{ming}", from_user=teacher))
    assert popups(recorder.calls) == [_(StaleButton.msgid)]
    recorder.clear()
    await feed(message_update(world.canary("ming", "name").value, from_user=teacher))
    assert recorder.sent(chat_id=world.telegram["teacher_b"])[0].text == _(USE_BUTTONS)
    assert (await world.services.dialogues.current(world.people["teacher_b"])).state == waiting
    # The service refuses it too, whoever asks.
    draft = ReportDraft(ming, ("s4",), False, world.services.clock.now() - timedelta(minutes=5))
    for name in ("teacher_b", "proxy_b", "director_elsewhere", "former"):
        with pytest.raises(NotAllowed):
            await world.services.safety.submit(await world.actor(name), draft)
    assert await snapshot(world) == before


@pytest.mark.parametrize("name", ["mother", "proxy", "teacher_b", "supervisor_elsewhere", "former", STRANGER, "admin"])
async def test_a_forged_case_id_and_a_case_not_ones_own_get_one_answer_and_change_nothing(feed, recorder, seeded,
                                                                                         name):
    """The same words for a case that does not exist and one that is not theirs: the answer tells nobody which."""
    world = seeded
    hidden = gettext_of(world, name)(HIDDEN)
    theirs = [] if name == "admin" else [report_of(world, "ming"), report_of(world, "hong")]
    before = await snapshot(world)
    wrong = []
    for report_id in [FORGED_REPORT, 2 ** 62, *theirs]:
        for data in case_buttons(report_id):
            if data.endswith(":stop"):
                continue  # leaving a note unwritten asks nothing of the case
            recorder.clear()
            await feed(callback_update(data, from_user=world.user(name)))
            others = [c.method for c in recorder.calls if c.method != "answerCallbackQuery"]
            if popups(recorder.calls) != [hidden] or others:
                wrong.append((data, popups(recorder.calls), others))
    assert wrong == []
    assert await snapshot(world) == before


async def test_received_pressed_twice_counts_once(app, feed, recorder, seeded):
    world = seeded
    hong = report_of(world, "hong")
    await deliver_outbox(app)
    supervisor = world.user("supervisor")
    _ = gettext_of(world, "supervisor")
    await feed(callback_update(f"sfa:{hong}", from_user=supervisor))
    assert popups(recorder.calls) == [_("Thank you: your acknowledgement is recorded, and the reporter is told.")]
    once = await snapshot(world)
    for _twice in range(2):
        recorder.clear()
        await feed(callback_update(f"sfa:{hong}", from_user=supervisor))
        assert popups(recorder.calls) == [_(AlreadyAcknowledged.msgid)]
    assert await snapshot(world) == once
    told = [r for r in await outbox(world) if r["dedupe_key"].startswith(f"safety:{hong}:ack")]
    assert [r["recipient"] for r in told] == [str(world.telegram["director"])]


async def test_a_removed_person_pressing_an_old_button_learns_nothing_and_changes_nothing(app, feed, recorder,
                                                                                         seeded):
    world = seeded
    ming = report_of(world, "ming")
    await deliver_outbox(app)
    director = world.user("director")
    _ = gettext_of(world, "director")
    notice = [c for c in recorder.sent(chat_id=world.telegram["director"]) if f"sfa:{ming}" in buttons_in([c])]
    assert notice, "the director was told of 小明's report"
    # She opens the case and starts a note; then the supervisor removes her as the village's director.
    await feed(callback_update(f"sfo:{ming}", from_user=director))
    case = buttons_in(recorder.sent(chat_id=world.telegram["director"])[-1:])
    await feed(callback_update(f"sfx:{ming}:note", from_user=director))
    [grant] = world.grants["director"]
    await world.services.invitations.remove_role(await world.actor("supervisor"), grant)
    before = await snapshot(world)
    recorder.clear()
    await feed(message_update("孩子家里有人喝醉了", from_user=director))
    assert recorder.sent(chat_id=world.telegram["director"])[-1].text == _(HIDDEN)
    for data in buttons_in(notice) + case:
        if data == "sfl":
            continue  # "◀ Open cases": the list, below
        recorder.clear()
        await feed(callback_update(data, from_user=director))
        assert popups(recorder.calls) == [_(HIDDEN)], data
        assert [c.method for c in recorder.calls if c.method != "answerCallbackQuery"] == [], data
    for asked in (message_update("/reports", from_user=director), callback_update("sfl", from_user=director)):
        recorder.clear()
        await feed(asked)
        [listing] = [c for c in recorder.calls if c.method in ("sendMessage", "editMessageText")]
        assert listing.text.startswith("<b>" + _("Open cases: {n}").format(n=0)) and buttons_in([listing]) == []
    assert await snapshot(world) == before


async def test_a_report_sent_after_the_senders_role_ended_is_refused_and_nothing_is_sent(feed, recorder, seeded):
    world = seeded
    proxy = world.user("proxy")
    _ = gettext_of(world, "proxy")
    await feed(message_update("/report " + world.canary("ming", "name").value, from_user=proxy))
    for step in ("sfs:d:n", "sfs:s:s4", "sfs:s:next", "sfs:f:now", "sfs:l:skip", "sfs:w:next", "sfs:m:next",
                 "sfs:q:now", "sfs:t:skip", "sfs:r:skip"):
        await feed(callback_update(step, from_user=proxy))
    assert (await world.services.dialogues.current(world.people["proxy"])).state["step"] == "x"
    for grant in world.grants["proxy"]:
        await world.services.invitations.remove_role(await world.actor("admin"), grant)
    before = await snapshot(world)
    recorder.clear()
    await feed(callback_update("sfs:x:send", from_user=proxy))
    assert popups(recorder.calls) == [_(NotAllowed.msgid)]
    assert await snapshot(world) == before
