"""`python -m bot [run|demo|migrate|invite|county-contact]`: the command line, in the operator's language."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from bot.i18n import SUPPORTED_LOCALES, cli_locale, translator
from bot.runtime.logs import configure_logging
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
    invite = sub.add_parser("invite", help=_("print an invitation for the first admin of a school, or for the "
                                             "child-welfare supervisor of a township"))
    invite.add_argument("--role", choices=["admin", "supervisor"],
                        help=_("the role to invite to: admin with --school, supervisor with --township alone"))
    invite.add_argument("--school", help=_("the school's name (created if new)"))
    invite.add_argument("--township", help=_("the township's name (created if new); with --school, the school is "
                                             "placed under it"))
    invite.add_argument("--qr", metavar="FILE.png", help=_("also write the link as a QR code image"))
    county = sub.add_parser("county-contact", help=_("set the county education bureau's contact for a township: told "
                                                     "of every suspected dropout of its schools"))
    county.add_argument("--township", required=True, help=_("the township's name (it must exist already)"))
    county.add_argument("--telegram", required=True, metavar="CHAT_ID",
                        help=_("the contact's Telegram chat id (a number)"))
    county.add_argument("--name", required=True, help=_("the name the bot shows, e.g. 县教育局控辍保学办"))
    return parser


def main(argv: list[str] | None = None) -> int:
    locale = cli_locale(os.environ, os.environ.get("DEFAULT_LOCALE", "zh_CN").strip() or "zh_CN")
    _ = translator(locale).gettext
    args = _parser(_).parse_args(argv)
    command = args.command or "run"

    if command == "demo":
        try:
            from sandbox.demo import main as demo_main
        except ImportError:  # a production install has no dev extras (the sandbox's aiohttp)
            print(_("The demo needs the development tools: run `make demo`."), file=sys.stderr)
            return 2
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
    if command == "invite":
        school, township = (args.school or "").strip(), (args.township or "").strip()
        return asyncio.run(_invite(settings, _, school, township, args.role or ("supervisor" if township and not school else "admin"),
                                   args.qr))
    if command == "county-contact":
        return asyncio.run(_county_contact(settings, _, args.township.strip(), args.telegram.strip(),
                                           args.name.strip()))
    return asyncio.run(_run(settings, _))


async def _county_contact(settings, _, township: str, telegram: str, name: str) -> int:
    """The county education bureau's contact (控辍保学): a person the bot can reach, holding no role, told of every
    suspected dropout of the township's schools."""
    if not name or len(name) > 80:
        print(_("Give the contact's name with --name (at most 80 characters)."), file=sys.stderr)
        return 2

    async def appoint(services):
        await services.dropouts.set_county_contact(township, telegram, name)

    status, _done = await _with_services(settings, _, appoint)
    if status:
        return status
    print(_("{name} is now the county education bureau's contact for {township}: told of every suspected dropout "
            "of its schools. They must open the bot and press Start once, or Telegram will not let it write to "
            "them.").format(name=name, township=township))
    return 0


async def _migrate(settings, _) -> int:
    from storage.db import Database, DatabaseTooNew

    db = await Database.open(settings.database_path, settings.data_key)
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


async def _invite(settings, _, school: str, township: str, role: str, qr_file: str | None) -> int:
    """The first admin of a school (`--school`, placed under `--township` when given), or a township's child-welfare
    supervisor (`--township` alone), who then invites the township's schools' admins and villages' directors."""
    from bot.access.invitations import PLACE_NAME_LIMIT, invitation_link

    if role == "admin" and (not school or len(school) > 80):
        print(_("Give the school's name with --school."), file=sys.stderr)
        return 2
    if role == "supervisor" and (school or not township):
        print(_("Give the township's name with --township (and no --school) to invite its supervisor."),
              file=sys.stderr)
        return 2
    if len(township) > PLACE_NAME_LIMIT:
        print(_("A township's name has at most {limit} characters.").format(limit=PLACE_NAME_LIMIT), file=sys.stderr)
        return 2

    async def issue(services):
        if role == "supervisor":
            issued = await services.invitations.bootstrap_supervisor(township)
        else:
            issued = await services.invitations.bootstrap_admin(school, township or None)
        from bot.runtime.runner import bot_username

        return issued, (await services.people.meta("bot_username") or await bot_username(settings))

    status, done = await _with_services(settings, _, issue)
    if status:
        return status
    issued, username = done
    if role == "supervisor":
        print(_("Invitation for the child-welfare supervisor of {township} (single use, valid for 7 days):").format(
            township=township))
    else:
        print(_("Invitation for the first admin of {school} (single use, valid for 7 days):").format(school=school))
    if username:
        link = invitation_link(username, issued.code)
        print(link)
    else:
        link = None
        print(_("(Start the bot once so that its username is known; until then, open the bot and send the code.)"))
    print(_("Code: {code}   (or send “/start {code}” to the bot)").format(code=issued.code))
    if qr_file and link:
        from bot.access.qr import qr_png

        with open(qr_file, "wb") as fp:
            fp.write(qr_png(link))
        print(_("QR code written to {file}.").format(file=qr_file))
    return 0


async def _with_services(settings, _, work):
    """Open the services, run `work(services)` and close them again: the one way a one-off command (invite,
    county-contact) reaches the database. Returns (exit status, what `work` returned): 0 when it ran, 3 for a
    database written by a newer version, 2 for a refusal (both printed)."""
    from bot.clock import SystemClock
    from bot.errors import UserError
    from bot.services import open_services
    from storage.db import DatabaseTooNew

    try:
        services = await open_services(settings, SystemClock())
    except DatabaseTooNew as exc:
        print(_too_new(_, exc), file=sys.stderr)
        return 3, None
    try:
        return 0, await work(services)
    except UserError as refusal:
        print(refusal.text(_), file=sys.stderr)
        return 2, None
    finally:
        await services.db.close()


def _too_new(_, exc) -> str:
    return _(
        "The database was written by a newer version of Qinqing Bridge (schema {found}, this version knows "
        "{known}). Update the program; do not run an older one on this database."
    ).format(found=exc.found, known=exc.known)


async def _run(settings, _) -> int:
    from bot.runtime.runner import BotFailed, ChannelUnreachable, TokenRefused, run_bot
    from storage.db import DatabaseTooNew

    clock = None
    shift = os.environ.get("CLOCK_SHIFT_SECONDS", "").strip()
    if shift:
        # A rehearsal (or an end-to-end test) of what the bot does days from now: reminders fall due at once.
        from datetime import timedelta

        from bot.clock import ShiftedClock, SystemClock

        try:
            clock = ShiftedClock(SystemClock(), timedelta(seconds=float(shift)))
        except ValueError:
            print(_("CLOCK_SHIFT_SECONDS must be a number of seconds."), file=sys.stderr)
            return 2
        logging.getLogger(__name__).warning("the clock is shifted by %s seconds", shift)
    try:
        await run_bot(settings, clock=clock)
    except TokenRefused:
        print(_("Telegram refused the token in TELEGRAM_BOT_TOKEN; check it with @BotFather."), file=sys.stderr)
        return 2
    except DatabaseTooNew as exc:
        print(_too_new(_, exc), file=sys.stderr)
        return 3
    except ChannelUnreachable as exc:
        print(_("Could not reach the Telegram Bot API at {url} ({error}).").format(
            url=settings.base_url, error=exc.args[0]), file=sys.stderr)
        return 4
    except BotFailed:
        return 5  # logged: the intake or the sender ended; a supervisor starts the bot again
    return 0


if __name__ == "__main__":
    sys.exit(main())
