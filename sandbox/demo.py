"""`python -m bot demo`: the real bot against the offline sandbox, playing a scripted scenario.

The bot runs exactly as `python -m bot run` does (same factory, same durable intake), but talks to the
sandbox on 127.0.0.1 instead of Telegram; simulated people press its buttons. The conversation is
printed as a chat transcript in the chosen language. Each feature adds its scene here.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TextIO

from bot.attendance.service import NotSchoolDay
from bot.services import open_services
from bot.clock import Clock, ShiftedClock, SystemClock
from bot.i18n import LOCALE_NAMES, Translator, translator
from bot.runtime.logs import configure_logging
from bot.runtime.runner import run_bot
from bot.settings import Settings
from bot.video.service import weekday_name

DEMO_TOKEN = "7000000001:DEMO-sandbox-token-not-a-real-one"
REPLY_TIMEOUT = 10.0
DEMO_SCHOOL = "希望小学"
DEMO_CLASS = "三年级一班"


class Transcript:
    """Prints what happens in the sandbox as chat lines: who said what to whom, with the buttons shown."""

    def __init__(self, tr: Translator, out: TextIO) -> None:
        self._ = tr.gettext
        self.out = out
        self.names: dict[int, str] = {}

    def scene(self, title: str) -> None:
        print(f"\n── {title} ──", file=self.out)

    def on_event(self, event) -> None:
        _ = self._
        name = self.names.get(event.chat_id, str(event.chat_id))
        if event.kind == "user_message":
            document = event.message.get("document") if isinstance(event.message, dict) else None
            if document:
                label = _("file")
                self._lines(f"👤 {name}", f"[{label}: {document.get('file_name', '')}]")
            elif isinstance(event.message, dict) and (event.message.get("photo") or event.message.get("voice")):
                label = _("picture") if event.message.get("photo") else _("voice note")
                self._lines(f"👤 {name}", f"[{label}] {event.caption or ''}".rstrip())
            else:
                attachment = _("attachment")
                self._lines(f"👤 {name}", event.text or event.caption or f"[{attachment}]")
        elif event.kind == "callback":
            label = event.label or event.text or ""
            print(f"👤 {name} " + _("presses [{button}]").format(button=label), file=self.out)
        elif event.kind in ("bot_message", "edit"):
            speaker = _("Qinqing Bridge → {name}").format(name=name)
            if event.kind == "edit":
                speaker += " " + _("(edits its message)")
            message = event.message
            content = getattr(message, "content", None) or ""
            kind = getattr(message, "kind", "text")
            if kind in ("photo", "media_group_item"):
                picture = _("picture")
                content = f"[{picture}] {content}"
            elif kind == "voice":
                label = _("voice note")
                content = f"[{label}] {content}"
            elif kind == "document":
                name = (message.message.get("document") or {}).get("file_name", "")
                label = _("file")
                content = f"[{label}: {name}] {content}"
            self._lines(f"🤖 {speaker}", content)
            rows = getattr(message, "buttons", None) or []
            for row in rows:
                print("      " + "  ".join(f"[ {label} ]" for label in row), file=self.out)

    def _lines(self, speaker: str, text: str) -> None:
        first, *rest = (text or "").splitlines() or [""]
        print(f"{speaker}: {first}", file=self.out)
        for line in rest:
            print(f"      {line}" if line else "", file=self.out)
        self.out.flush()


async def _expect(coro: Awaitable) -> object:
    return await asyncio.wait_for(coro, REPLY_TIMEOUT)


async def play(locale: str, out: TextIO, base_clock: Clock | None = None) -> None:
    """The scenes against the real bot. The bot's clock reads 10:00 in the school's zone whatever the hour
    (`base_clock`, the system's by default, only decides the date): at 22:01 quiet hours would hold the
    messages the scenes wait for."""
    from sandbox import Sandbox

    tr = translator(locale)
    _ = tr.gettext
    transcript = Transcript(tr, out)
    print(_("Qinqing Bridge demo: the real bot against the offline Telegram sandbox"), file=out)

    async with Sandbox(token=DEMO_TOKEN) as sb:
        sb.add_listener(transcript.on_event)
        with tempfile.TemporaryDirectory(prefix="qinqing-demo-") as tmp:
            settings = Settings(token=DEMO_TOKEN, base_url=sb.base_url, base_file_url=sb.base_file_url,
                                database_path=str(Path(tmp) / "demo.sqlite3"), poll_timeout=5)
            code = await _bootstrap(settings, transcript, _)
            stop = asyncio.Event()
            clock = ShiftedClock.reading(base_clock or SystemClock(), time(10, 0), settings.tz)
            # The schedule is looked at every second, so a reminder shows as soon as the clock jumps to it.
            bot = asyncio.create_task(run_bot(settings, clock=clock, stop=stop, install_signal_handlers=False,
                                              schedule_interval=1))
            try:
                await Scenes(sb, transcript, _, locale, clock, settings.tz).play(code)
            finally:
                stop.set()
                await asyncio.wait_for(bot, 30)
    print("\n" + _("The demo has ended."), file=out)


async def _bootstrap(settings: Settings, transcript: Transcript, _) -> str:
    """What the person who runs the server does once: `python -m bot invite --school …`."""
    transcript.scene(_("The school's IT helper creates the first admin's invitation"))
    services = await open_services(settings, SystemClock())
    try:
        issued = await services.invitations.bootstrap_admin(DEMO_SCHOOL)
    finally:
        await services.db.close()
    print(f"$ python -m bot invite --school {DEMO_SCHOOL}", file=transcript.out)
    print("  " + _("Code: {code}   (or send “/start {code}” to the bot)").format(code=issued.code), file=transcript.out)
    return issued.code


def roster_xlsx() -> bytes:
    """A small class list, as a school office would send it."""
    import io

    import openpyxl

    from bot.records.roster import HEADERS

    columns = ["class", "name", "sex", "birth_date", "mother_name", "mother_phone", "mother_city", "guardian_name",
               "guardian_relation", "personality", "interests"]
    rows = [
        [DEMO_CLASS, "李小明", "男", "2016-05-01", "张丽", "13800138000", "深圳", "王秀英", "奶奶", "开朗，爱笑", "画画"],
        [DEMO_CLASS, "陈小红", "女", "2015-11-12", "刘芳", "13900139000", "东莞", "陈大山", "爷爷", "安静", "唱歌"],
        [DEMO_CLASS, "赵小刚", "男", "2016-02-20", "孙梅", "13700137000", "杭州", "赵春花", "外婆", "好动", "踢球"],
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([HEADERS[c] for c in columns])
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


class Scenes:
    def __init__(self, sb, transcript: Transcript, _: Callable[[str], str], locale: str, clock: ShiftedClock,
                 zone: tzinfo) -> None:
        self.sb = sb
        self.clock = clock
        self.zone = zone
        self.transcript = transcript
        self._ = _
        self.locale = locale
        self.language_code = {"zh_CN": "zh-hans", "en": "en"}[locale]
        self.other_language = LOCALE_NAMES[next(code for code in LOCALE_NAMES if code != locale)]

    def person(self, user_id: int, label: str):
        """The transcript names a person with who they are ("王老师（班主任）"); Telegram knows only the name before
        the brackets, as the bot would (it adds the role itself)."""
        self.transcript.names[user_id] = label
        name = label.split("（")[0].split(" (")[0]
        return self.sb.user(user_id, name, language_code=self.language_code)

    async def join(self, person, code: str, then: str):
        """Open an invitation link, accept, and return the message that follows (it mentions `then`)."""
        await person.start(payload=code)
        offer = await _expect(person.wait_message())
        await person.press(self._("Accept"), message_id=offer.message_id)
        return await _expect(person.wait_message(predicate=lambda m: then in (m.content or "")))

    @staticmethod
    def code_in(text: str) -> str:
        return text.rsplit("/start ", 1)[1].split()[0]

    async def relay_to(self, person, role: str) -> None:
        """/relay, and the person of `role` pressed: the first time nobody is chosen for the writer, later
        the one written to last is shown with the others a press away."""
        await person.send_command("relay")
        mode = await _expect(person.wait_message(predicate=lambda m: bool(m.buttons)))
        labels = [label for row in mode.buttons for label in row if role in label]
        if labels:
            await person.press(labels[0], message_id=mode.message_id)
            await _expect(person.wait_until(lambda: mode.edits))

    async def take_roll(self, teacher, absent: str) -> None:
        """The next school day at 08:30 (a weekend or a holiday is skipped: the bot says there is no roll), then
        /attendance: a tap on the absent child and one on Done."""
        day = self.clock.now().astimezone(self.zone).date()
        for _attempt in range(15):
            day += timedelta(days=1)
            self.clock.advance(datetime.combine(day, time(8, 30), self.zone) - self.clock.now())
            teacher.clear()
            await teacher.send_command("attendance")
            roll = await _expect(teacher.wait_message(predicate=lambda m: (m.text or "").startswith("📋")
                                                      or m.text == self._(NotSchoolDay.msgid)))
            if roll.buttons:
                break
        await teacher.press(absent, message_id=roll.message_id)
        await _expect(teacher.wait_until(lambda: f"✖ {absent}" in str(roll.buttons)))
        await teacher.press(self._("✔ Done: {n} absent").format(n=1), message_id=roll.message_id)
        await _expect(teacher.wait_until(lambda: roll.text.startswith("✅")))

    async def invitation_code(self, person) -> str:
        """The code in the invitation just made for `person` (other news, like someone joining, may come first)."""
        made = await _expect(person.wait_message(predicate=lambda m: "/start " in (m.text or "")))
        return self.code_in(made.text)

    async def play(self, admin_code: str) -> None:
        _ = self._
        principal = self.person(2001, _("Principal Zhou (school admin)"))
        teacher = self.person(2002, _("Teacher Wang (class teacher)"))
        mother = self.person(2003, _("Zhang Li (Xiaoming's mother, working in Shenzhen)"))
        neighbour = self.person(2004, _("A neighbour without an invitation"))
        proxy = self.person(2005, _("Aunt Zhao (Xiaoming's proxy parent)"))

        self.transcript.scene(_("The principal joins, adds a class and invites its teacher"))
        await self.join(principal, admin_code, "/newclass")
        await principal.send_command("newclass", DEMO_CLASS)
        await _expect(principal.wait_message())
        await principal.send_command("invite")
        await _expect(principal.wait_message())
        await principal.press(_("Invite a {role}").format(role=_("class teacher")))
        await _expect(principal.wait_message())
        await principal.press(DEMO_CLASS)
        await _expect(principal.wait_message())  # the QR code
        teacher_code = await self.invitation_code(principal)

        self.transcript.scene(_("The teacher joins and imports the class roster"))
        await self.join(teacher, teacher_code, "/import")
        await teacher.send_command("import")
        await _expect(teacher.wait_message())
        await teacher.send_document(_("class roster") + ".xlsx", roster_xlsx(),
                                    mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        await _expect(teacher.wait_message())
        await teacher.send_command("invite", "母亲 李小明")
        await _expect(teacher.wait_message())  # the QR code
        mother_code = await self.invitation_code(teacher)

        self.transcript.scene(_("Xiaoming's mother opens the link on her phone, reads the rules and agrees"))
        rules = await self.join(mother, mother_code, "❓")  # the consent question, under its short text
        await mother.press(_("I agree"), message_id=rules.message_id)
        await _expect(mother.wait_until(lambda: rules.edits))
        await mother.send_command("child")
        await _expect(mother.wait_message(predicate=lambda m: "李小明" in (m.content or "")))

        self.transcript.scene(_("The mother writes to the teacher through the bot; the teacher answers with a photo"))
        await self.relay_to(mother, _("class teacher"))
        await mother.send_voice(duration=6)
        await _expect(mother.wait_message())  # "Sent to …"
        await mother.send_text(_("Teacher Wang, did Xiaoming finish his homework this week?"))
        await _expect(mother.wait_message())
        await _expect(teacher.wait_message(predicate=lambda m: m.kind == "voice"))
        question = await _expect(teacher.wait_message(predicate=lambda m: m.kind == "text" and bool(m.buttons)))
        await teacher.press(_("Received"), message_id=question.message_id)
        await teacher.send_photo(caption=_("Yes, all done. Here is the drawing he made today."),
                                 reply_to=question.message_id)
        await _expect(teacher.wait_message())  # "Sent to …"
        answer = await _expect(mother.wait_message(predicate=lambda m: m.kind == "photo"))
        await mother.press(_("Received"), message_id=answer.message_id)
        await _expect(teacher.wait_message(predicate=lambda m: "收到" in (m.content or "") or
                                           "received" in (m.content or "")))
        await mother.send_command("cancel")
        await _expect(mother.wait_message())

        self.transcript.scene(_("The teacher pairs Xiaoming with a proxy parent from the village"))
        await teacher.send_command("invite", "代理家长 李小明")
        await _expect(teacher.wait_message())  # the QR code
        proxy_code = await self.invitation_code(teacher)
        await self.join(proxy, proxy_code, "/update")

        self.transcript.scene(_("The proxy parent sends an update with three photos and a voice note"))
        await proxy.send_command("update")
        await _expect(proxy.wait_message(predicate=lambda m: bool(m.buttons)))
        await proxy.press("📚 " + _("Study"))
        await _expect(proxy.wait_until(lambda: _has_button(proxy, _("Making progress"))))
        await proxy.press(_("Making progress"))
        await _expect(proxy.wait_until(lambda: _has_button(proxy, "✔ 📚 " + _("Study"))))
        await proxy.send_album(3, caption=_("Sports day: Xiaoming came first in rope skipping!"))
        await proxy.send_voice(duration=8)
        await _expect(proxy.wait_until(lambda: any("🎤" in (m.text or "") for m in proxy.messages)))
        await proxy.press(_("📤 Send"))
        card = await _expect(mother.wait_message(predicate=lambda m: m.kind == "text" and bool(m.buttons)
                                                 and "📒" in (m.text or "")))
        await mother.press(_("✅ Received"), message_id=card.message_id)
        await _expect(proxy.wait_message(predicate=lambda m: (m.text or "").startswith("✅")))

        self.transcript.scene(_("The teacher sees what is done and what is due for the class"))
        await teacher.send_command("due")
        await _expect(teacher.wait_message(predicate=lambda m: "✅" in (m.text or "") or "⏰" in (m.text or "")))

        self.transcript.scene(_("The teacher writes one notice for every family of the class and sees who has read it"))
        meeting = _("Parents' meeting on Friday at 15:00 in the classroom. If you cannot come, a grandparent is "
                    "welcome.")
        await teacher.send_command("notice", meeting)
        preview = await _expect(teacher.wait_message(predicate=lambda m: meeting in (m.text or "") and bool(m.buttons)))
        await teacher.press(_("📤 Send"), message_id=preview.message_id)
        notice = await _expect(mother.wait_message(predicate=lambda m: meeting in (m.text or "") and bool(m.buttons)))
        await mother.press(_("✅ Received"), message_id=notice.message_id)
        await _expect(teacher.wait_until(lambda: _has_button(teacher, _("📊 Who has read it"))))
        await teacher.press(_("📊 Who has read it"))
        await _expect(teacher.wait_until(lambda: any((m.text or "").startswith("📊") for m in teacher.messages)))

        self.transcript.scene(_("Before the parents' meeting the teacher invites every family at once and prints "
                                "the slips"))
        await teacher.send_command("invite")
        await _expect(teacher.wait_until(lambda: _has_button(
            teacher, _("✉️ Invite all the families of {klass}").format(klass=DEMO_CLASS))))
        await teacher.press(_("✉️ Invite all the families of {klass}").format(klass=DEMO_CLASS))
        await _expect(teacher.wait_message(predicate=lambda m: m.kind == "document"))

        self.transcript.scene(_("The proxy parent sets Xiaoming's weekly video call; his mother agrees"))
        today = self.clock.now().astimezone(self.zone).date()
        call_day = today + timedelta(days=2)
        await proxy.send_command("video")
        await _expect(proxy.wait_message(predicate=lambda m: bool(m.buttons)))
        for label in (_("🗓 Set a weekly time"), weekday_name(call_day.weekday(), self.locale), "19:30",
                      _("{minutes} min").format(minutes=30), "🏫 亲情室"):
            await _expect(proxy.wait_until(lambda label=label: _has_button(proxy, label)))
            await proxy.press(label)
        proposal = await _expect(mother.wait_message(predicate=lambda m: "📹" in (m.text or "") and bool(m.buttons)))
        await mother.press(_("✅ Yes, that suits"), message_id=proposal.message_id)
        await _expect(proxy.wait_message(predicate=lambda m: "📹" in (m.text or "")))

        self.transcript.scene(_("The evening before the call, the bot reminds the mother and the proxy parent"))
        start = datetime.combine(call_day, time(19, 30), self.zone)
        self.clock.advance(start - timedelta(days=1) + timedelta(seconds=30) - self.clock.now())
        await _expect(mother.wait_message(predicate=lambda m: "📅" in (m.text or "")))
        await _expect(proxy.wait_message(predicate=lambda m: "📅" in (m.text or "")))

        self.transcript.scene(_("After the call the proxy parent confirms it happened; the teacher sees the week"))
        self.clock.advance(start + timedelta(minutes=46) - self.clock.now())
        question = await _expect(proxy.wait_message(predicate=lambda m: bool(m.buttons) and "📹" in (m.text or "")))
        await proxy.press(_("✅ Yes, it happened"), message_id=question.message_id)
        await _expect(proxy.wait_until(lambda: question.edits))
        await teacher.send_command("videos")
        await _expect(teacher.wait_message(predicate=lambda m: "📹" in (m.text or "")))

        self.transcript.scene(_("Late at night the mother writes to the proxy parent: it would wait for her quiet "
                                "hours, so the mother marks it urgent"))
        self.clock.advance(datetime.combine(call_day, time(23, 10), self.zone) - self.clock.now())
        await self.relay_to(mother, _("proxy parent"))
        worry = _("Xiaoming said his tummy hurt at dinner. Is he all right now?")
        await mother.send_text(worry)
        held = await _expect(mother.wait_message(predicate=lambda m: bool(m.buttons)))
        await mother.press(_("🚨 Urgent: send it now"), message_id=held.message_id)
        await _expect(proxy.wait_message(predicate=lambda m: worry in (m.text or "")))
        await mother.send_command("cancel")
        relay_off = _("Relay mode is off: what you send now is no longer passed on.")
        await _expect(mother.wait_message(predicate=lambda m: m.text == relay_off
                                          and m.message_id > held.message_id))

        self.transcript.scene(_("Xiaoming tells his proxy parent that a neighbour hit him: she reports it at once; "
                                "the principal and the teacher are told in the night and acknowledge"))
        await proxy.send_command("report")
        # Each step of the report is one screen: wait for its question, then answer on that very message.
        steps = [(_("Is the child in danger right now?"), _("No danger right now")),
                 (_("What is happening? Choose all that apply, then press Next."), _("Suspected domestic violence")),
                 (_("What is happening? Choose all that apply, then press Next."), _("Next ▶")),
                 (_("When was it found? Press a button, or type the time (for example 14:30 or 昨天 20:00)."),
                  _("Just now"))]
        for question, label in steps:
            screen = await _expect(_screen(proxy, question, unpressed=label))
            await proxy.press(label, message_id=screen.message_id)
        await _expect(_screen(proxy, _("Where was it? Type the place (at home, at school, on the way …), send a "
                                       "location, or press Skip.")))
        await proxy.send_text(_("at the neighbour's house"))
        await _expect(_screen(proxy, _("What happened? Write it, or send a voice note. You can send several.")))
        worry = _("Xiaoming says the neighbour hit him after drinking; there is a bruise on his arm.")
        await proxy.send_text(worry)
        for question, label in ((worry, _("Next ▶")), (_("Photos can help (an injury, the place). Send them now, or press Skip. "
                                                     "Only the people told about the report see them."), _("Skip")),
                                (_("Has it been reported to the police (110)? Press a button, or type the "
                                  "time of the call."), _("Just now")),
                                (_("Which police station took it? Type it, or press Skip."), _("Skip")),
                                (_("The receipt or incident number, if you have one? Type it, or press Skip."),
                                 _("Skip")),
                                (_("Check it and press Send: everyone who must know is told at once."),
                                 _("📤 Send the report"))):
            screen = await _expect(_screen(proxy, question))
            await proxy.press(label, message_id=screen.message_id)
        alert = await _expect(principal.wait_message(predicate=lambda m: "🆘" in (m.text or "")))
        await _expect(teacher.wait_message(predicate=lambda m: "🆘" in (m.text or "")))
        await principal.press("✅ " + _("Received"), message_id=alert.message_id)
        await _expect(proxy.wait_message(predicate=lambda m: (m.text or "").startswith("✅")))

        self.transcript.scene(_("On the next school day the teacher takes the roll in two taps: Xiaoming is absent, "
                                "his mother is asked at once and answers that he is ill"))
        await self.take_roll(teacher, "李小明")
        asked = await _expect(mother.wait_message(predicate=lambda m: "李小明" in (m.text or "") and bool(m.buttons)))
        await mother.press(_("🤒 Ill (sick leave)"), message_id=asked.message_id)
        await _expect(teacher.wait_message(predicate=lambda m: "李小明" in (m.text or "") and "🤒" in (m.text or "")))

        self.transcript.scene(_("The principal exports the school's ledger (台账) for the "
                                "township as an Excel file"))
        await principal.send_command("ledger")
        kinds = await _expect(principal.wait_message(predicate=lambda m: bool(m.buttons)))
        await principal.press(_("Left-behind children's ledger"), message_id=kinds.message_id)
        await _expect(principal.wait_message(predicate=lambda m: m.kind == "document"))

        self.transcript.scene(_("The principal looks at how the school is doing: a chart, and the same numbers as "
                                "an Excel table"))
        await principal.send_command("stats")
        await _expect(principal.wait_message(predicate=lambda m: m.kind == "photo"))
        figures = await _expect(principal.wait_message(predicate=lambda m: bool(m.buttons)))
        await principal.press(_("📊 Excel table"), message_id=figures.message_id)
        await _expect(principal.wait_message(predicate=lambda m: m.kind == "document"))

        self.transcript.scene(_("The mother confirms in writing who looks after Xiaoming while she works away "
                                "(the law asks it); the teacher is told"))
        await mother.send_command("entrusted")
        notice = await _expect(mother.wait_message(predicate=lambda m: m.kind == "document"))
        await mother.press(_("✅ Correct"), message_id=notice.message_id)
        await _expect(mother.wait_message(predicate=lambda m: (m.text or "").startswith("✅")))
        await _expect(teacher.wait_message(predicate=lambda m: (m.text or "").startswith("📄")))

        self.transcript.scene(_("Someone without an invitation finds the bot"))
        await neighbour.start()
        await _expect(neighbour.wait_message())
        await neighbour.start(payload="old-code-from-last-term")
        await _expect(neighbour.wait_message())

        self.transcript.scene(_("The mother reads better in another language and switches"))
        await mother.send_command("language")
        choice = await _expect(mother.wait_message(predicate=lambda m: bool(m.buttons)))
        await mother.press(self.other_language, message_id=choice.message_id)
        await _expect(mother.wait_until(lambda: choice.edits))
        await mother.send_command("help")
        await _expect(mother.wait_message())


async def _screen(person, text: str, unpressed: str | None = None):
    """The person's newest message with buttons, once its text contains `text` (a step's question) and, for a
    choice that toggles, its `unpressed` button is there (a chosen one shows as "✔ …")."""
    def newest():
        with_buttons = [m for m in person.messages if m.buttons and not m.deleted]
        return with_buttons[-1] if with_buttons else None

    def ready() -> bool:
        m = newest()
        return m is not None and text in (m.text or "") and (
            unpressed is None or any(unpressed in row for row in m.buttons))
    await person.wait_until(ready)
    return newest()


def _has_button(person, label: str) -> bool:
    return any(label in row for m in person.messages for row in (m.buttons or []))


def main(locale: str) -> int:
    # ERROR by default: the scenes move the clock forward by days, and the warnings that a reminder went out after
    # its window are about those jumps, not about the bot (DEMO_LOG_LEVEL=WARNING shows them).
    configure_logging(os.environ.get("DEMO_LOG_LEVEL", "ERROR"), token=DEMO_TOKEN)
    try:
        asyncio.run(play(locale, sys.stdout))
    except (asyncio.TimeoutError, LookupError) as exc:
        _ = translator(locale).gettext
        print(_("The demo stopped: the bot did not answer as expected ({error}).").format(error=type(exc).__name__),
              file=sys.stderr)
        return 1
    return 0
