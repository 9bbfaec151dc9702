"""End to end over the sandbox: a teacher onboards a class for the parents' meeting (issue 14, items 6 and 7).

The admin is told when the teacher joins → the teacher imports a roster (a father and a grandmother for each
child) → "invite all the families" → a PDF sheet whose every slip's QR code decodes to that family member's
invitation link → a father joins by the decoded link and agrees (the teacher is told of both) → /families shows
each member's state: the father agreed, everyone else invited."""

from __future__ import annotations


from sandbox import Sandbox
from tests.botprocess import BotProcess, join, school_with_teacher
from tests.helpers import BOT_TOKEN, INVITE_LINK, decode_sheet, roster, xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
START = INVITE_LINK




async def test_a_teacher_prints_the_class_sheet_and_follows_who_joins(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await bot.start()
        try:
            admin = sandbox.user(4101, "Principal", language_code="en")
            teacher = sandbox.user(4102, "Ms Wang", language_code="en")
            await school_with_teacher(sandbox, bot, admin, teacher, accept="Accept")
            await admin.wait_message(timeout=10, predicate=lambda m: "Ms Wang joined as the class teacher of 三年级一班"
                                     in (m.text or ""))
            await teacher.wait_message(timeout=10, predicate=lambda m: "/import" in (m.text or ""))
            await teacher.send_command("import")
            await teacher.wait_message(timeout=10)
            await teacher.send_document("roster.xlsx", xlsx(roster(5)), mime_type=XLSX)
            await teacher.wait_message(timeout=20, predicate=lambda m: "5" in (m.text or ""))

            teacher.clear()
            await teacher.send_command("invite")
            menu = await teacher.wait_message(timeout=10, predicate=lambda m: bool(m.reply_markup))
            await teacher.press("✉️ Invite all the families of 三年级一班", message_id=menu.message_id)
            sheet = await teacher.wait_message(timeout=20, predicate=lambda m: m.kind == "document")
            assert not sheet.protect_content
            summary = await teacher.wait_message(timeout=10, predicate=lambda m: "new invitations" in (m.text or ""))
            assert "10 new invitations" in summary.text  # five fathers, five grandmothers

            links = decode_sheet(sandbox.files.get(sheet.file_id).data)
            assert len(links) == 10 == len(set(links)) and all(link.startswith(START) for link in links)

            father = sandbox.user(4103, "Wang Jianguo", language_code="en")
            await join(father, links[0].removeprefix(START), "Accept")
            await teacher.wait_message(timeout=10, predicate=lambda m: "Wang Jianguo joined as the" in (m.text or ""))
            rules = await father.wait_message(timeout=10, predicate=lambda m: "I agree" in str(m.reply_markup))
            await father.press("I agree", message_id=rules.message_id)
            await teacher.wait_message(timeout=10, predicate=lambda m: "agreed to the data rules" in (m.text or ""))

            teacher.clear()
            await teacher.send_command("families")
            view = await teacher.wait_message(timeout=10, predicate=lambda m: "How the families" in (m.text or ""))
            assert "✅ agreed 1" in view.text and "✉️ invited 9" in view.text and "⚪ not invited 0" in view.text
            child_lines = [line for line in view.text.splitlines() if line.startswith("• ")]
            assert len(child_lines) == 5
            assert sum("✅" in line for line in child_lines) == 1
        finally:
            assert await bot.stop() == 0
