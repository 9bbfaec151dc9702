"""The interface languages: Chinese first, English beside it, through Babel's gettext catalogs.

Message ids are English; `locales/<locale>/LC_MESSAGES/messages.po` holds each translation. The Makefile
compiles the `.mo` files; when one is missing or older than its `.po` (a fresh checkout run without make),
the catalog is compiled in memory instead, so a user never sees an untranslated screen.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
SUPPORTED_LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
# Each language named in itself, so a person finds theirs whatever the screen is in now.
LOCALE_NAMES = {"zh_CN": "中文", "en": "English"}


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined; it is translated where it is shown."""
    return message


class Translator(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


def locale_from_language_code(code: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Map Telegram's IETF `language_code` (zh-hans, zh-hant, en-GB …) onto a supported locale."""
    if not code:
        return default
    primary = code.replace("_", "-").split("-")[0].lower()
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return default


def cli_locale(env: Mapping[str, str], default: str = DEFAULT_LOCALE) -> str:
    """The operator's language for command-line output, from the usual POSIX variables."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return locale_from_language_code(value.split(".")[0].split(":")[0], default)
    return default


@cache
def translator(locale: str) -> Translations | NullTranslations:
    if locale not in SUPPORTED_LOCALES:
        locale = DEFAULT_LOCALE
    po = LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    if po.exists():
        with po.open("rb") as fp:
            catalog = read_po(fp, locale=locale, domain=DOMAIN)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        return Translations(buf, domain=DOMAIN)
    log.warning("no catalog for %s; showing message ids", locale)
    return NullTranslations()


def zone_name(zone: str, locale: str) -> str:
    """A time zone as its reader names it ("中国（上海）时间", "China (Shanghai) Time"); the IANA name is what is
    stored and typed. A zone of no place (UTC, Etc/GMT+8) keeps its name: Babel would call it "unknown"."""
    if zone.upper() in ("UTC", "GMT") or zone.startswith("Etc/"):
        return zone
    try:
        return get_timezone_location(zone, locale=Locale.parse(locale))
    except LookupError:
        return zone


def format_datetime(moment: datetime, locale: str, zone: str, fmt: str = "medium") -> str:
    """A moment as a person reads it: in their time zone and their language's conventions."""
    return babel_format_datetime(moment, fmt, tzinfo=ZoneInfo(zone), locale=Locale.parse(locale))
