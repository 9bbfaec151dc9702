"""Runs `python -m bot` as a real process against the sandbox, as an operator would."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent


def daytime_shift(hour: int = 10, zone: str = "Asia/Shanghai", *, forward: bool = False) -> str:
    """CLOCK_SHIFT_SECONDS that makes the bot's clock read `hour` o'clock in `zone`, on today's date there; with
    `forward`, the next such moment (never back in time: what was written before the start is not in the future)."""
    tz = ZoneInfo(zone)
    now = datetime.now(tz)
    shift = (datetime.combine(now.date(), time(hour), tz) - now).total_seconds()
    return str(shift + 24 * 3600 if forward and shift < 0 else shift)


def clock_of(env: dict[str, str]):
    """The clock the bot with this environment reads: for a second process acting beside it (a test writing
    to its database), so that what it writes is due when the bot looks."""
    from bot.clock import ShiftedClock, SystemClock

    shift = env.get("CLOCK_SHIFT_SECONDS", "").strip()
    return ShiftedClock(SystemClock(), timedelta(seconds=float(shift))) if shift else SystemClock()


class BotProcess:
    def __init__(self, sandbox, workdir: Path, token: str, **env: str) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LANG", "LC_"))},
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_BASE_URL": sandbox.base_url,
            "TELEGRAM_BASE_FILE_URL": sandbox.base_file_url,
            "DATABASE_PATH": str(workdir / "bot.sqlite3"),
            "POLL_TIMEOUT": "1",
            # The bot's clock reads 10:00 at the school, today, whatever the hour the tests run: at night quiet
            # hours would hold every notice a test waits for (CI runs at any hour). A test that moves the clock
            # itself passes its own CLOCK_SHIFT_SECONDS.
            "CLOCK_SHIFT_SECONDS": daytime_shift(),
            **env,
        }
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = bytearray()
        self._reader: asyncio.Task | None = None

    @property
    def database(self) -> Path:
        return Path(self.env["DATABASE_PATH"])

    async def start(self, timeout: float = 20.0) -> None:
        polls_before = self.sandbox.count("getUpdates")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_stderr())
        async with asyncio.timeout(timeout):
            while self.sandbox.count("getUpdates") == polls_before:
                if self.proc.returncode is not None:
                    raise RuntimeError(f"bot exited early:\n{self.stderr.decode(errors='replace')}")
                await asyncio.sleep(0.02)

    async def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        while chunk := await self.proc.stderr.read(65536):
            self.stderr += chunk

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self._finish()

    async def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            return await self._finish()

    async def _finish(self) -> int:
        code = await self.proc.wait()
        if self._reader:
            await self._reader
        return code

    @property
    def log(self) -> str:
        return self.stderr.decode(errors="replace")


async def relay_to(person, label: str):
    """/relay over the sandbox, then `label` ("赵阿姨（代理家长）") pressed on the question: the first time,
    nobody is chosen for the writer. Returns the message, now saying whom relay mode writes to."""
    await person.send_command("relay")
    asked = await person.wait_message(timeout=10)
    await person.press(label, message_id=asked.message_id)
    await person.wait_until(lambda: asked.edits, timeout=10)
    return asked


async def until(check, timeout: float = 15.0) -> None:
    """Poll `check()` (for what the bot process does by itself, outside any chat: its database, its files)."""
    for _attempt in range(int(timeout * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def code_in(text: str) -> str:
    """The invitation code in a text with a t.me link or "/start <code>"."""
    return re.search(r"start[= ]([A-Za-z0-9_-]{22,})", text).group(1)


async def join(person, code: str, accept: str = "接受") -> str:
    """Open an invitation over the sandbox and press its accept button (`accept`, in the person's language);
    returns the offer's text as it was before the press."""
    await person.start(payload=code)
    offer = await person.wait_message(timeout=10)
    text = offer.text
    await person.press(accept, message_id=offer.message_id)
    await person.wait_until(lambda: offer.text != text, timeout=10)
    return text


async def school_with_teacher(sandbox, bot, admin, teacher, accept: str = "接受", klass: str = "三年级一班") -> None:
    """From nothing, as a school starts: whoever runs the server invites the first admin (`python -m bot invite
    --school 希望小学`), the admin joins, adds `klass` and invites its teacher, who joins. `admin` and `teacher`
    are sandbox users; `accept` is the accept button in their language."""
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "invite", "--school", "希望小学", cwd=bot.workdir, env=bot.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _err = await cli.communicate()
    await join(admin, code_in(out.decode()), accept)
    await admin.wait_message(timeout=10, predicate=lambda m: "/newclass" in (m.text or ""))
    await admin.send_command("newclass", klass)
    await admin.wait_message(timeout=10, predicate=lambda m: klass in (m.text or ""))
    await admin.send_command("invite", f"teacher {klass}")
    invitation = await admin.wait_message(timeout=10, predicate=lambda m: "/start " in (m.text or ""))
    await join(teacher, code_in(invitation.text), accept)
