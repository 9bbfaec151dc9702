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
from pathlib import Path
from typing import TextIO

from bot.i18n import LOCALE_NAMES, Translator, translator
from bot.logs import configure_logging
from bot.runner import run_bot
from bot.settings import Settings

DEMO_TOKEN = "7000000001:DEMO-sandbox-token-not-a-real-one"
REPLY_TIMEOUT = 10.0


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
            self._lines(f"👤 {name}", event.text or event.caption or f"[{_('attachment')}]")
        elif event.kind == "callback":
            label = event.label or event.text or ""
            print(f"👤 {name} " + _("presses [{button}]").format(button=label), file=self.out)
        elif event.kind in ("bot_message", "edit"):
            speaker = _("Qinqing Bridge → {name}").format(name=name)
            if event.kind == "edit":
                speaker += " " + _("(edits its message)")
            message = event.message
            self._lines(f"🤖 {speaker}", getattr(message, "content", None) or "")
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


async def play(locale: str, out: TextIO) -> None:
    from sandbox import Sandbox

    tr = translator(locale)
    _ = tr.gettext
    other = next(code for code in LOCALE_NAMES if code != locale)
    app_language = {"zh_CN": "zh-hans", "en": "en"}
    transcript = Transcript(tr, out)
    print(_("Qinqing Bridge demo: the real bot against the offline Telegram sandbox"), file=out)

    async with Sandbox(token=DEMO_TOKEN) as sb:
        sb.add_listener(transcript.on_event)
        with tempfile.TemporaryDirectory(prefix="qinqing-demo-") as tmp:
            settings = Settings(token=DEMO_TOKEN, base_url=sb.base_url, base_file_url=sb.base_file_url,
                                database_path=str(Path(tmp) / "demo.sqlite3"), poll_timeout=5)
            stop = asyncio.Event()
            bot = asyncio.create_task(run_bot(settings, stop=stop, install_signal_handlers=False))
            try:
                await _scenes(sb, transcript, _, app_language[locale], LOCALE_NAMES[other])
            finally:
                stop.set()
                await asyncio.wait_for(bot, 30)
    print("\n" + _("The demo has ended."), file=out)


async def _scenes(sb, transcript: Transcript, _: Callable[[str], str], language_code: str, other_language: str) -> None:
    def person(user_id: int, name: str):
        transcript.names[user_id] = name
        return sb.user(user_id, name, language_code=language_code)

    grandma = person(2001, _("Grandma Wang (guardian)"))
    father = person(2002, _("Li Jianguo (father, working in Shenzhen)"))

    transcript.scene(_("A grandmother opens Qinqing Bridge for the first time"))
    await grandma.start()
    await _expect(grandma.wait_message())
    await grandma.send_text(_("Hello, the teacher told me to come here"))
    await _expect(grandma.wait_message())

    transcript.scene(_("A father follows an invitation link that is no longer valid"))
    await father.start(payload="old-code-from-last-term")
    await _expect(father.wait_message())
    await father.send_command("help")
    await _expect(father.wait_message())

    transcript.scene(_("The father reads better in another language and switches"))
    await father.send_command("language")
    choice = await _expect(father.wait_message())
    await father.press(other_language, message_id=choice.message_id)
    await _expect(_until(lambda: choice.edits))
    await father.send_command("cancel")
    await _expect(father.wait_message())


async def _until(condition: Callable[[], object], step: float = 0.02) -> None:
    while not condition():
        await asyncio.sleep(step)


def main(locale: str) -> int:
    configure_logging(os.environ.get("DEMO_LOG_LEVEL", "WARNING"), token=DEMO_TOKEN)
    try:
        asyncio.run(play(locale, sys.stdout))
    except (asyncio.TimeoutError, LookupError) as exc:
        _ = translator(locale).gettext
        print(_("The demo stopped: the bot did not answer as expected ({error}).").format(error=type(exc).__name__),
              file=sys.stderr)
        return 1
    return 0
