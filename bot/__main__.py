"""`python -m bot [run|demo|migrate|invite|county-contact|keygen|rotate-key]`: the command line, in the operator's language."""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import sys

from bot.i18n import SUPPORTED_LOCALES, cli_locale, translator
from bot.safekeeping.files import owner_only_umask
from bot.safekeeping.health import announce_encryption, check_database, explain, tighten_data, tighten_env
from bot.safekeeping.keys import keygen
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
    sub.add_parser("backup", help=_("write an encrypted backup of the database and the media to BACKUP_DIR and print "
                                    "its path (DATA_KEY needed)"))
    restore = sub.add_parser("restore", help=_("check a backup file and restore it into an empty data folder"))
    restore.add_argument("file", metavar="FILE", help=_("the backup file (qinqing-….qqb)"))
    restore.add_argument("--key", help=_("the key the backup was made with, if it is not DATA_KEY (a backup from "
                                         "before a key rotation)"))
    county = sub.add_parser("county-contact", help=_("set the county education bureau's contact for a township: told "
                                                     "of every suspected dropout of its schools"))
    county.add_argument("--township", required=True, help=_("the township's name (it must exist already)"))
    county.add_argument("--telegram", required=True, metavar="CHAT_ID",
                        help=_("the contact's Telegram chat id (a number)"))
    county.add_argument("--name", required=True, help=_("the name the bot shows, e.g. 县教育局控辍保学办"))
    sub.add_parser("keygen", help=_("print a new key for DATA_KEY (32 random bytes): what encrypts the data at rest"))
    rotate = sub.add_parser("rotate-key", help=_("with the bot stopped, encrypt the database and the media under a "
                                                 "new key (the first time too) and print it for .env"))
    rotate.add_argument("--new-key", metavar="KEY", help=_("the new key, to finish a rotation that was interrupted "
                                                           "(by default a new one is made)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    locale = cli_locale(os.environ, os.environ.get("DEFAULT_LOCALE", "zh_CN").strip() or "zh_CN")
    tr = translator(locale)
    _ = tr.gettext
    args = _parser(_).parse_args(argv)
    command = args.command or "run"
    # Children's data: whatever this process creates is owner-only (0600, 0700), whatever the shell's umask.
    owner_only_umask()

    if command == "keygen":
        print(keygen())
        print(_("Put it in .env as DATA_KEY= before the first start, and keep a copy away from this machine: "
                "without it nothing encrypted can be read. Data kept already: run python -m bot rotate-key "
                "instead."), file=sys.stderr)
        return 0

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
    if command == "rotate-key":  # it checks the database itself: it may be under the new key already
        return _rotate_key(settings, tr, args.new_key)
    if command != "restore":  # a restore goes into an empty folder; it has no database to check
        problem = check_database(settings.database_path, settings.data_key)
        if problem is not None:
            print(explain(problem, _), file=sys.stderr)
            return 3
    tighten_data(settings)
    tighten_env()
    announce_encryption(settings)

    if command == "migrate":
        return asyncio.run(_migrate(settings, tr))
    if command == "invite":
        school, township = (args.school or "").strip(), (args.township or "").strip()
        return asyncio.run(_invite(settings, _, school, township, args.role or ("supervisor" if township and not school else "admin"),
                                   args.qr))
    if command == "backup":
        return _backup(settings, tr)
    if command == "restore":
        return asyncio.run(_restore(settings, tr, args.file, args.key))
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


async def _migrate(settings, tr) -> int:
    _ = tr.gettext
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
    print(tr.ngettext("The database is up to date: schema version {version}, {count} migration applied now.",
                      "The database is up to date: schema version {version}, {count} migrations applied now.",
                      len(applied)).format(version=version, count=len(applied)))
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


def _rotate_key(settings, tr, new_key: str | None) -> int:
    """Encrypt the data at rest under a new key (the first time too), with the bot stopped."""
    from bot.musts.media import OtherKeys
    from bot.safekeeping.crypto import BadKey
    from bot.safekeeping.keys import CannotRotate, rotate
    from storage.db import InUse

    _ = tr.gettext
    tighten_data(settings)
    key = (new_key or "").strip() or keygen()
    try:
        done = rotate(settings.database_path, settings.media_dir, settings.data_key, key)
    except BadKey:
        print(_("--new-key must be the 44 characters `python -m bot keygen` prints."), file=sys.stderr)
        return 2
    except InUse:
        print(_("The database is in use: stop the bot first, then run rotate-key again."), file=sys.stderr)
        return 2
    except CannotRotate as exc:
        print(explain(exc.problem, _), file=sys.stderr)
        return 3
    except OtherKeys as exc:  # found before anything was changed
        print(tr.ngettext(
            "{count} media file is encrypted under neither the current key nor the new one, so nothing was "
            "changed. Find the key it was encrypted with.",
            "{count} media files are encrypted under neither the current key nor the new one, so nothing was "
            "changed. Find the key they were encrypted with.", exc.count).format(count=exc.count), file=sys.stderr)
        return 1
    if done.media_damaged:
        print(tr.ngettext(
            "{count} media file is damaged and could not be re-encrypted; it is left as it is.",
            "{count} media files are damaged and could not be re-encrypted; they are left as they are.",
            len(done.media_damaged)).format(count=len(done.media_damaged)), file=sys.stderr)
    media = done.media_changed + done.media_already
    if settings.data_key is None:
        print(tr.ngettext(
            "The data are encrypted now: the database, and {count} media file. Put this line in .env, then start "
            "the bot:",
            "The data are encrypted now: the database, and {count} media files. Put this line in .env, then start "
            "the bot:", media).format(count=media))
    else:
        print(tr.ngettext(
            "The data are under a new key now: the database, and {count} media file. Put this line in .env in place "
            "of the old DATA_KEY, then start the bot:",
            "The data are under a new key now: the database, and {count} media files. Put this line in .env in "
            "place of the old DATA_KEY, then start the bot:", media).format(count=media))
    print(f"DATA_KEY={key}")
    print(_("Keep a copy of the key away from this machine: without it nothing encrypted can be read."))
    if settings.data_key is not None:
        print(_("Backups made before now still need the old key: python -m bot restore FILE --key OLD_KEY"))
    return 0


def _backup(settings, tr) -> int:
    """One backup now, into BACKUP_DIR (the bot may be running: the snapshot never blocks its writes); the old
    ones are pruned as the daily backup prunes them. The last line printed is the file's path alone."""
    from pathlib import Path

    from bot.clock import SystemClock
    from bot.safekeeping.backup import BackupRefused, prune, take_backup
    from bot.safekeeping.files import owner_only_umask
    from storage.db import DatabaseError

    _ = tr.gettext
    owner_only_umask()
    if settings.data_key is None:
        print(_("A backup needs DATA_KEY (backups are always encrypted): make a key with `python -m bot keygen` "
                "and put it in .env."), file=sys.stderr)
        return 2
    try:
        made = take_backup(Path(settings.database_path), settings.media_dir, settings.backups, settings.data_key,
                           SystemClock().now(), settings.tz)
        prune(settings.backups)
    except BackupRefused:
        print(_("There is no database at {path} to back up.").format(path=settings.database_path), file=sys.stderr)
        return 2
    except DatabaseError as exc:
        print(_("The database could not be read ({error}): nothing was written.").format(error=type(exc).__name__),
              file=sys.stderr)
        return 3
    except OSError as exc:
        print(_("The backup could not be written to {folder} ({error}).").format(
            folder=settings.backups, error=exc.strerror or type(exc).__name__), file=sys.stderr)
        return 4
    print(tr.ngettext("Backup written: {size} MB, the database and {count} media file, encrypted.",
                      "Backup written: {size} MB, the database and {count} media files, encrypted.",
                      made.media).format(size=f"{made.size / 1e6:.1f}", count=made.media))
    print(made.path)
    return 0


async def _restore(settings, tr, file: str, key_text: str | None) -> int:
    """Check a backup whole (every byte authenticated, every member's hash), refuse one from a newer schema, put it
    into an empty data folder, then make again the erasures recorded after it was taken."""
    from dataclasses import replace
    from pathlib import Path

    from bot.clock import SystemClock, unstamp
    from bot.safekeeping.backup import BackupRefused, read_erasures, restore_backup
    from bot.safekeeping.crypto import BadKey, parse_key
    from bot.safekeeping.files import owner_only_umask, tighten
    from bot.services import open_services
    from storage.migrations import MIGRATIONS

    _ = tr.gettext
    owner_only_umask()
    key = settings.data_key
    if key_text:
        try:
            key = parse_key(key_text)
        except BadKey:
            print(_("--key must be a key as `python -m bot keygen` prints it (44 characters)."), file=sys.stderr)
            return 2
    if key is None:
        print(_("Restoring needs the key the backup was made with: DATA_KEY in .env, or --key KEY."), file=sys.stderr)
        return 2
    path, database = Path(file), Path(settings.database_path)
    try:
        restored = restore_backup(path, database, settings.media_dir, key, MIGRATIONS[-1].version)
    except BackupRefused as exc:
        print(_restore_refused(_, exc, path, database.parent), file=sys.stderr)
        return 3 if exc.reason == "too_new" else 2
    # The backup's key opens what was restored; the erasures are made again under it.
    services = await open_services(replace(settings, data_key=key), SystemClock())
    try:
        erased = await services.privacy.reapply(read_erasures(settings.backups), restored.taken_at)
    finally:
        await services.db.close()
    moved = False
    if settings.data_key is not None and key != settings.data_key:
        # A backup from before a key rotation: what it restored moves onto DATA_KEY at once, so the bot starts on
        # the key in .env and the old one is needed for nothing but older backups.
        from bot.safekeeping.keys import rotate

        rotate(str(database), settings.media_dir, key, base64.urlsafe_b64encode(settings.data_key).decode())
        moved = True
    tighten([database, Path(f"{database}-wal"), Path(f"{database}-shm"), settings.media_dir])
    when = unstamp(restored.taken_at).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    print(tr.ngettext("Restored the backup taken {when} (schema {schema}): the database and {count} media file are "
                      "in {folder}.",
                      "Restored the backup taken {when} (schema {schema}): the database and {count} media files are "
                      "in {folder}.", restored.media).format(when=when, schema=restored.schema, count=restored.media,
                                                             folder=database.parent))
    print(_("Erasures made after this backup, made again: {count}.").format(count=len(erased)))
    if moved:
        print(_("The backup was made with the key you gave; what it restored is now encrypted with DATA_KEY."))
    elif key != settings.data_key:
        print(_("The restored data is encrypted with the key you gave, not DATA_KEY: put that key in .env as DATA_KEY "
                "before you start the bot (then `python -m bot rotate-key` moves it to a new one)."))
    print(_("Start the bot as usual, and check with a teacher that today's records are there."))
    return 0


def _restore_refused(_, exc, path, folder) -> str:
    return {
        "missing": _("There is no file {file}."),
        "not_empty": _("{folder} already holds a database or media: a backup is restored only into an empty data "
                       "folder. Move them elsewhere first (keep them until the restored bot runs)."),
        "not_sealed": _("{file} is not a Qinqing Bridge backup."),
        "not_backup": _("{file} is not a Qinqing Bridge backup."),
        "other_key": _("{file} was made with another key: give that key with --key (a backup from before a key "
                       "rotation needs the old key)."),
        "damaged": _("{file} is damaged (it is not what was written): nothing was restored. Use another backup."),
        "too_new": _("{file} comes from a newer version of Qinqing Bridge (schema {found}, this version knows "
                     "{known}): nothing was restored. Update the program first."),
    }[exc.reason].format(file=path, folder=folder, found=exc.found, known=exc.known)


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
