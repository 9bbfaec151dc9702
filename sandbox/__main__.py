"""``python -m sandbox``: run the offline Bot API by hand and chat with a bot through it.

The bot is pointed at the printed URLs (TELEGRAM_BASE_URL, TELEGRAM_BASE_FILE_URL and the
token). Lines typed on stdin act as users:

    1001 /start            user 1001 writes "/start" (users are created on first use)
    1001 press 是的         user 1001 presses the inline button labelled "是的"
    1001 block | unblock    user 1001 blocks or unblocks the bot

What the bot sends is printed as it arrives. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import threading

from sandbox import DEFAULT_TOKEN, Event, Sandbox, SentMessage


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--bot-username", default="QinqingBridgeBot")
    parser.add_argument("--no-limits", action="store_true", help="do not answer 429 to fast senders")
    parser.add_argument("--answer-delay", type=float, default=0.0, metavar="SECONDS",
                        help="answer every call that sends a message this late (Telegram from afar: 0.1-0.3)")
    return parser.parse_args(argv)


def _show(event: Event) -> None:
    if event.kind in ("bot_message", "edit", "delete") and isinstance(event.message, SentMessage):
        message = event.message
        verb = {"bot_message": "->", "edit": "~>", "delete": "x>"}[event.kind]
        buttons = f"  {message.buttons}" if message.buttons else ""
        print(f"[bot {verb} {event.chat_id}] ({message.kind}) {message.content or ''}{buttons}", flush=True)


async def _act(sb: Sandbox, line: str) -> None:
    user_id, _, rest = line.strip().partition(" ")
    if not user_id.isdigit() or not rest:
        print('type "<user id> <text>", "<user id> press <label>", "<user id> block|unblock"')
        return
    user = sb.user(int(user_id), f"User{user_id}")
    command, _, argument = rest.partition(" ")
    if command == "press" and argument:
        try:
            await user.press(argument)
        except LookupError as exc:
            print(exc)
    elif rest == "block":
        await user.block()
    elif rest == "unblock":
        await user.unblock()
    else:
        await user.send_text(rest)


def _console(sb: Sandbox, loop: asyncio.AbstractEventLoop) -> None:
    # A daemon thread, because a blocking readline must not keep the process alive after Ctrl-C.
    for line in sys.stdin:
        if line.strip():
            asyncio.run_coroutine_threadsafe(_act(sb, line), loop)


async def _main(args: argparse.Namespace) -> None:
    sb = Sandbox(token=args.token, bot_username=args.bot_username, enforce_limits=not args.no_limits,
                 host=args.host, port=args.port, answer_delay=args.answer_delay)
    sb.add_listener(_show)
    async with sb:
        print(f"Telegram Bot API sandbox on http://{args.host}:{sb.port}\n"
              f"  TELEGRAM_BASE_URL={sb.base_url}\n"
              f"  TELEGRAM_BASE_FILE_URL={sb.base_file_url}\n"
              f"  TELEGRAM_BOT_TOKEN={sb.token}\n"
              'Type "<user id> <text>" to write as a user; Ctrl-C stops.', flush=True)
        threading.Thread(target=_console, args=(sb, asyncio.get_running_loop()), daemon=True).start()
        await asyncio.Event().wait()  # serve until Ctrl-C cancels this


def main(argv: list[str] | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
