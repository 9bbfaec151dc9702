"""End to end over the sandbox: the whole way from an empty database to a mother who sees her child.

bootstrap admin (command line) → admin joins, adds a class, invites a teacher → the teacher imports a
30-child roster from .xlsx, first with 3 bad rows (all reported, nothing imported), then clean → invites
one child's mother → she joins by the deep link, reads the rules, consents → sees that child and no other;
a proxy parent joins for the same child and sees the care fields only."""

from __future__ import annotations

import asyncio
import io
import sys

import openpyxl

from bot.records.roster import HEADERS
from sandbox import Sandbox
from tests.botprocess import BotProcess, code_in, join
from tests.helpers import BOT_TOKEN

COLUMNS = ["class", "name", "sex", "birth_date", "mother_name", "mother_phone", "personality", "id_number"]


def roster(bad_rows: bool) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([HEADERS[c] for c in COLUMNS])
    for n in range(30):
        row = ["三年级一班", f"学生{n:02d}", "男" if n % 2 else "女", f"2016-04-{n % 28 + 1:02d}", f"妈妈{n:02d}",
               f"139{n:04d}{n:04d}", f"性格{n:02d}", ""]
        sheet.append(row)
    sheet.cell(2, 8).value = "11010519491231002X"  # 学生00 has an ID number: a proxy must never see it
    if bad_rows:
        sheet.cell(4, 6).value = "12345"           # row 4: bad phone
        sheet.cell(7, 4).value = "2016-02-30"      # row 7: no such date
        sheet.cell(10, 2).value = ""               # row 10: no name
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()




async def test_from_bootstrap_to_a_consenting_mother(tmp_path):
    async with Sandbox(token=BOT_TOKEN) as sandbox:
        bot = BotProcess(sandbox, tmp_path, BOT_TOKEN)
        await bot.start()  # so the bot's username is known to the command line

        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "invite", "--school", "希望小学", cwd=tmp_path, env=bot.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await cli.communicate()
        assert cli.returncode == 0
        assert "https://t.me/QinqingBridgeBot?start=" in out.decode()

        admin = sandbox.user(4001, "校长", language_code="zh-hans")
        await join(admin, code_in(out.decode()))
        await admin.wait_message(timeout=10, predicate=lambda m: "/newclass" in (m.text or ""))
        await admin.send_command("newclass", "三年级一班")
        assert "已建好" in (await admin.wait_message(timeout=10)).text
        await admin.send_command("invite")
        await admin.wait_message(timeout=10)
        await admin.press("邀请班主任")
        await admin.wait_message(timeout=10)
        await admin.press("三年级一班")
        qr = await admin.wait_message(timeout=10)
        assert qr.kind == "photo"
        teacher_code = code_in((await admin.wait_message(timeout=10)).text)

        teacher = sandbox.user(4002, "王老师", language_code="zh-hans")
        await join(teacher, teacher_code)
        await teacher.wait_message(timeout=10, predicate=lambda m: "/import" in (m.text or ""))
        await teacher.send_command("import")
        await teacher.wait_message(timeout=10)
        await teacher.send_document("名单.xlsx", roster(bad_rows=True),
                                    mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        report = await teacher.wait_message(timeout=20)
        for row, column in ((4, "母亲电话"), (7, "出生日期"), (10, "姓名")):
            assert f"第 {row} 行" in report.text and column in report.text, report.text
        await teacher.send_command("children")
        assert "没有" in (await teacher.wait_message(timeout=10)).text  # nothing was imported

        await teacher.send_document("名单.xlsx", roster(bad_rows=False),
                                    mime_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        summary = await teacher.wait_message(timeout=20)
        assert "30" in summary.text
        teacher.clear()

        await teacher.send_command("invite", "母亲 学生00")
        await teacher.wait_message(timeout=10)  # the QR code
        mother_code = code_in((await teacher.wait_message(timeout=10)).text)
        await teacher.send_command("invite", "代理家长 学生00")
        await teacher.wait_message(timeout=10)
        proxy_code = code_in((await teacher.wait_message(timeout=10)).text)

        mother = sandbox.user(4003, "李妈妈", language_code="zh-hans")
        offer = await join(mother, mother_code)
        assert "王老师" in offer and "学生00" in offer and "母亲" in offer
        rules = await mother.wait_message(timeout=10, predicate=lambda m: bool(m.buttons))
        # The short version first, the full rules a press away (issue 14, item 3).
        assert rules.text.endswith("您同意吗？") and rules.buttons[-1] == ["📖 看完整的规则"]
        await mother.press("同意", message_id=rules.message_id)
        await mother.wait_until(lambda: any("谢谢" in (m.text or "") for m in mother.messages), timeout=10)
        mother.clear()

        await mother.send_command("children")
        listing = (await mother.wait_message(timeout=10)).text
        assert "学生00" in listing and "学生01" not in listing
        await mother.send_command("child")
        record = (await mother.wait_message(timeout=10)).text
        assert "性格00" in record and "+86 139 0000 0000" in record and "11010519491231002X" in record

        proxy = sandbox.user(4004, "赵阿姨", language_code="zh-hans")
        await join(proxy, proxy_code)
        # A proxy parent joining after consent is told it is given and what to do next (issue 14, item 7).
        await proxy.wait_message(timeout=10, predicate=lambda m: "/update" in (m.text or ""))
        await proxy.send_command("child")
        seen = (await proxy.wait_message(timeout=10)).text
        assert "性格00" in seen
        assert "139" not in seen and "11010519491231002X" not in seen

        assert await bot.stop() == 0
        assert "Traceback" not in bot.log
