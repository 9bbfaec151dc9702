"""Configuration from the environment (and `.env`), checked once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import SUPPORTED_LOCALES, Translator

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
# BotFather's tokens are "<bot id>:<secret>"; checking the shape catches a pasted placeholder early.
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(Exception):
    """A setting is missing or wrong. `message` is already in the operator's language."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable
        self.message = message


@dataclass(frozen=True)
class Settings:
    token: str
    base_url: str = TELEGRAM_API_URL
    base_file_url: str = TELEGRAM_FILE_URL
    database_path: str = "data/qinqing.sqlite3"
    default_locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    # Long-polling wait for getUpdates; short in tests so a stop is quick.
    poll_timeout: int = 25
    # Messages a second the outbox may send in all (Telegram allows about 30).
    send_rate: float = 25.0
    # Sends the outbox keeps in flight at once. Telegram answers in 100-300 ms; to reach send_rate the sender
    # needs rate x round trip of them (25/s x 0.3 s = 7.5), doubled for slower answers and its own work: 16.
    send_concurrency: int = 16
    # a message that could not be delivered is sent on the recipient's unblock only within this many days
    undeliverable_expiry_days: int = 7
    # Video calls: reminders this many minutes before each call, the question this many minutes after its end,
    # and the school's family rooms (亲情室), which two calls cannot share at once.
    video_reminders: tuple[int, ...] = (24 * 60, 30)
    video_followup: int = 15
    family_rooms: tuple[str, ...] = ("亲情室",)
    # Safety reports: with no acknowledgement at a level within this many minutes everyone there is told again,
    # and within the second the next level (the township) is told.
    report_retell_minutes: int = 15
    report_escalate_minutes: int = 60
    # The roll call: a class teacher who has not taken the roll of a school day by this time (HH:MM, the school's
    # zone) is reminded once.
    roll_reminder_time: str = "09:30"
    # Keeping children in school (控辍保学), for the county this deployment serves: the school day of an unexplained
    # absence streak on which the school's admins are told, the village child director is asked for a joint visit,
    # and the child becomes a suspected dropout (the township and the county told); how many persuasion attempts
    # (or days suspected) before the written report is offered; how long a returned child is watched; the day of
    # the month the school's monthly report is due.
    dropout_admins_day: int = 1
    dropout_village_day: int = 2
    dropout_suspected_day: int = 3
    persuasion_attempts_before_report: int = 2
    dropout_report_after_days: int = 7
    dropout_watch_days: int = 30
    dropout_monthly_day: int = 28

    # Children's data at rest (bot.safekeeping): the deployment's key (32 bytes from DATA_KEY; None: nothing is
    # encrypted, and the log says so once at start), and where backups go (a mounted drive, ideally).
    data_key: bytes | None = None
    backup_dir: str = ""

    def __repr__(self) -> str:  # the token and the key must never reach a log line or a traceback
        return f"Settings(base_url={self.base_url!r}, database_path={self.database_path!r}, ...)"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def backups(self) -> Path:
        """BACKUP_DIR, or data/backups beside the database."""
        return Path(self.backup_dir) if self.backup_dir else Path(self.database_path).parent / "backups"

    @property
    def media_dir(self) -> Path:
        """Copies of care entries' photos and voice notes, kept beside the database."""
        return Path(self.database_path).parent / "media"


def load_dotenv_file(path: str | Path = ".env") -> None:
    """Values already in the environment win over the file, as in most deployments."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


def load_settings(env: Mapping[str, str] | None = None, *, tr: Translator) -> Settings:
    env = os.environ if env is None else env
    _ = tr.gettext

    def get(name: str) -> str:
        return env.get(name, "").strip()

    token = get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN",
            _(
                "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env "
                "(copy .env.example)."
            ),
        )
    if not _TOKEN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN",
            _("TELEGRAM_BOT_TOKEN does not look like a token from @BotFather (digits, a colon, then letters)."),
        )

    values: dict[str, object] = {"token": token}
    for name, field in (("TELEGRAM_BASE_URL", "base_url"), ("TELEGRAM_BASE_FILE_URL", "base_file_url")):
        url = get(name)
        if url:
            if not re.match(r"^https?://[^\s/]+", url):
                raise ConfigError(name, _("{variable} must be an http:// or https:// address.").format(variable=name))
            values[field] = url

    if get("DATABASE_PATH"):
        values["database_path"] = get("DATABASE_PATH")

    locale = get("DEFAULT_LOCALE")
    if locale:
        if locale not in SUPPORTED_LOCALES:
            raise ConfigError(
                "DEFAULT_LOCALE",
                _("DEFAULT_LOCALE must be one of: {choices}.").format(choices=", ".join(SUPPORTED_LOCALES)),
            )
        values["default_locale"] = locale

    zone = get("TIMEZONE")
    if zone:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "TIMEZONE", _("TIMEZONE must be a time zone name such as Asia/Shanghai.")
            ) from None
        values["timezone"] = zone

    level = get("LOG_LEVEL").upper()
    if level:
        if level not in _LOG_LEVELS:
            raise ConfigError(
                "LOG_LEVEL", _("LOG_LEVEL must be one of: {choices}.").format(choices=", ".join(_LOG_LEVELS))
            )
        values["log_level"] = level

    poll = get("POLL_TIMEOUT")
    if poll:
        if not poll.isdigit() or not 0 <= int(poll) <= 50:
            raise ConfigError("POLL_TIMEOUT", _("POLL_TIMEOUT must be a whole number of seconds from 0 to 50."))
        values["poll_timeout"] = int(poll)

    rate = get("SEND_RATE")
    if rate:
        try:
            values["send_rate"] = float(rate)
        except ValueError:
            values["send_rate"] = 0.0
        if not 0 < values["send_rate"] <= 30:
            raise ConfigError("SEND_RATE", _("SEND_RATE must be a number of messages a second, above 0 and at most 30."))

    concurrency = get("SEND_CONCURRENCY")
    if concurrency:
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 100:
            raise ConfigError("SEND_CONCURRENCY", _("SEND_CONCURRENCY must be a whole number from 1 to 100."))
        values["send_concurrency"] = int(concurrency)

    expiry = get("UNDELIVERABLE_EXPIRY_DAYS")
    if expiry:
        if not expiry.isdigit() or not 1 <= int(expiry) <= 365:
            raise ConfigError("UNDELIVERABLE_EXPIRY_DAYS",
                              _("UNDELIVERABLE_EXPIRY_DAYS must be a whole number of days from 1 to 365."))
        values["undeliverable_expiry_days"] = int(expiry)

    reminders = get("VIDEO_REMINDERS")
    if reminders:
        offsets = [_minutes(part) for part in reminders.split(",")]
        # Calls are written out a week ahead, so a reminder can come at most six days before one.
        if not offsets or any(m is None or not 1 <= m <= 6 * 24 * 60 for m in offsets):
            raise ConfigError("VIDEO_REMINDERS", _("VIDEO_REMINDERS must list times before a call such as 1d,30m "
                                                   "(days d, hours h, minutes m; at most 6 days)."))
        values["video_reminders"] = tuple(sorted(set(offsets), reverse=True))

    followup = get("VIDEO_FOLLOWUP")
    if followup:
        minutes = _minutes(followup)
        if minutes is None or minutes > 24 * 60:
            raise ConfigError("VIDEO_FOLLOWUP", _("VIDEO_FOLLOWUP must be a time after a call such as 15m "
                                                  "(at most 1 day)."))
        values["video_followup"] = minutes

    rooms = get("FAMILY_ROOMS")
    if rooms:
        names = tuple(dict.fromkeys(name.strip() for name in re.split(r"[,，]", rooms) if name.strip()))
        if not names or any(len(name.encode()) > 30 for name in names):
            raise ConfigError("FAMILY_ROOMS", _("FAMILY_ROOMS must list room names separated by commas, each "
                                                "at most 10 Chinese characters."))
        values["family_rooms"] = names

    retell = get("REPORT_RETELL_MINUTES")
    if retell:
        if not retell.isdigit() or not 1 <= int(retell) <= 24 * 60:
            raise ConfigError("REPORT_RETELL_MINUTES",
                              _("REPORT_RETELL_MINUTES must be a whole number of minutes from 1 to 1440."))
        values["report_retell_minutes"] = int(retell)

    escalate = get("REPORT_ESCALATE_MINUTES")
    floor = int(values.get("report_retell_minutes", Settings.report_retell_minutes))
    if escalate:
        if not escalate.isdigit() or not 1 <= int(escalate) <= 24 * 60:
            raise ConfigError("REPORT_ESCALATE_MINUTES",
                              _("REPORT_ESCALATE_MINUTES must be a whole number of minutes from 1 to 1440."))
        values["report_escalate_minutes"] = int(escalate)
    # Telling the same people again after the next level was told would come too late to matter.
    if int(values.get("report_escalate_minutes", Settings.report_escalate_minutes)) <= floor:
        raise ConfigError("REPORT_ESCALATE_MINUTES",
                          _("REPORT_ESCALATE_MINUTES must be more than REPORT_RETELL_MINUTES ({minutes}).").format(
                              minutes=floor))

    for name, field, low, high in (("DROPOUT_ADMINS_DAY", "dropout_admins_day", 1, 30),
                                   ("DROPOUT_VILLAGE_DAY", "dropout_village_day", 1, 30),
                                   ("DROPOUT_SUSPECTED_DAY", "dropout_suspected_day", 1, 30),
                                   ("PERSUASION_ATTEMPTS_BEFORE_REPORT", "persuasion_attempts_before_report", 1, 20),
                                   ("DROPOUT_REPORT_AFTER_DAYS", "dropout_report_after_days", 1, 90),
                                   ("DROPOUT_WATCH_DAYS", "dropout_watch_days", 1, 365),
                                   ("DROPOUT_MONTHLY_DAY", "dropout_monthly_day", 1, 28)):
        value = get(name)
        if value:
            if not value.isdigit() or not low <= int(value) <= high:
                raise ConfigError(name, _("{variable} must be a whole number from {low} to {high}.").format(
                    variable=name, low=low, high=high))
            values[field] = int(value)
    # The ladder climbs: the director is asked no sooner than the admins are told, the township no sooner than that.
    ladder = [int(values.get(f, getattr(Settings, f))) for f in
              ("dropout_admins_day", "dropout_village_day", "dropout_suspected_day")]
    if ladder != sorted(ladder):
        raise ConfigError("DROPOUT_SUSPECTED_DAY", _("DROPOUT_ADMINS_DAY, DROPOUT_VILLAGE_DAY and "
                                                     "DROPOUT_SUSPECTED_DAY must not decrease."))

    roll = get("ROLL_REMINDER_TIME")
    if roll:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", roll)
        if match is None:
            raise ConfigError("ROLL_REMINDER_TIME", _("ROLL_REMINDER_TIME must be a time of day such as 09:30."))
        values["roll_reminder_time"] = f"{int(match.group(1)):02d}:{match.group(2)}"

    key = get("DATA_KEY")
    if key:
        from bot.safekeeping.crypto import BadKey, parse_key

        try:
            values["data_key"] = parse_key(key)
        except BadKey:
            raise ConfigError("DATA_KEY", _("DATA_KEY must be the 44 characters `python -m bot keygen` prints "
                                            "(32 random bytes in URL-safe base64).")) from None
    if get("BACKUP_DIR"):
        values["backup_dir"] = get("BACKUP_DIR")

    return Settings(**values)  # type: ignore[arg-type]


def _minutes(text: str) -> int | None:
    """'1d', '2h', '30m' or '45' (minutes) as minutes; None if it is none of these."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([dhm]?)\s*", text.lower())
    if match is None:
        return None
    return int(match.group(1)) * {"d": 24 * 60, "h": 60, "m": 1, "": 1}[match.group(2)]
