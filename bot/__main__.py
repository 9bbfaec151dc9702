"""`python -m bot [run|demo|migrate]`: the command line, in the operator's language."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.i18n import SUPPORTED_LOCALES, cli_locale, translator
from bot.logs import configure_logging
from bot.settings import ConfigError, load_dotenv_file, load_settings


def _parser(_) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=_("Qinqing Bridge: a Telegram bot for the care network of left-behind children."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help=_("run the bot with long polling (the default); settings come from .env"))
    demo = sub.add_parser("demo", help=_("play a scripted scenario against the offline sandbox and print it"))
    demo.add_argument("--lang", choices=SUPPORTED_LOCALES, help=_("language of the transcript"))
    sub.add_parser("migrate", help=_("bring the database schema up to date and exit"))
    return parser


def main(argv: list[str] | None = None) -> int:
    locale = cli_locale(os.environ, os.environ.get("DEFAULT_LOCALE", "zh_CN").strip() or "zh_CN")
    _ = translator(locale).gettext
    args = _parser(_).parse_args(argv)
    command = args.command or "run"

    if command == "demo":
        from bot.demo import main as demo_main

        return demo_main(args.lang or locale)

    load_dotenv_file()
    try:
        settings = load_settings(tr=translator(locale))
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, token=settings.token)

    if command == "migrate":
        return asyncio.run(_migrate(settings, _))
    return asyncio.run(_run(settings, _))


async def _migrate(settings, _) -> int:
    from storage.db import Database, DatabaseTooNew

    db = await Database.open(settings.database_path)
    try:
        applied = await db.migrate()
        version = await db.user_version()
    except DatabaseTooNew as exc:
        print(_too_new(_, exc), file=sys.stderr)
        return 3
    finally:
        await db.close()
    print(_("The database is up to date: schema version {version}, {count} migrations applied now.").format(
        version=version, count=len(applied)))
    return 0


def _too_new(_, exc) -> str:
    return _(
        "The database was written by a newer version of Qinqing Bridge (schema {found}, this version knows "
        "{known}). Update the program; do not run an older one on this database."
    ).format(found=exc.found, known=exc.known)


async def _run(settings, _) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.runner import run_bot
    from storage.db import DatabaseTooNew

    try:
        await run_bot(settings)
    except InvalidToken:
        print(_("Telegram refused the token in TELEGRAM_BOT_TOKEN; check it with @BotFather."), file=sys.stderr)
        return 2
    except DatabaseTooNew as exc:
        print(_too_new(_, exc), file=sys.stderr)
        return 3
    except NetworkError as exc:
        print(_("Could not reach the Telegram Bot API at {url} ({error}).").format(
            url=settings.base_url, error=type(exc).__name__), file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
