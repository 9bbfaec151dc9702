"""Typed moments in a report ("when was it found", "when did you call the police"), read as people write them:
"14:30", "下午3点", "昨天 20:00", "昨晚8点半", "3月1日", "2026-03-01 18:30". Channel-free and pure: the caller
passes the present in the person's own time zone."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta

from bot.i18n import N_
from bot.musts.forms import BadValue, parse_date

HINT = N_("Type the time, for example 14:30, 昨天 20:00 or 3月1日 18:30.")

# Words for a day before today, longest first (昨晚 before 昨).
_DAYS = (("前天", 2), ("昨天", 1), ("昨晚", 1), ("昨日", 1), ("今天", 0), ("今晚", 0), ("今日", 0),
         ("the day before yesterday", 2), ("yesterday", 1), ("today", 0), ("tonight", 0))
# Parts of the day that put an hour below 12 in the afternoon or evening.
_AFTERNOON = ("下午", "晚上", "傍晚", "今晚", "昨晚", "pm", "p.m.")
_MORNING = ("凌晨", "早上", "上午", "清晨", "a.m.", "am")
_NOON = ("中午",)
_FILLERS = ("左右", "大约", "大概", "约", "around", "at")
# What people type when it is happening as they write (the label of the "just now" button, typed).
_NOW = ("刚才", "刚刚", "就在刚才", "现在", "正在", "just now", "now", "right now")
_TIME = re.compile(r"(?P<h>\d{1,2})\s*[:点时]\s*(?P<m>\d{1,2}|半)?\s*分?")
_BARE_HOUR = re.compile(r"^(?P<h>\d{1,2})$")


def parse_moment(text: str, now: datetime) -> datetime:
    """The moment `text` names, in `now`'s time zone; never in the future. A time alone is the latest such
    time not after now (23:00 typed at 01:00 is last night); a day alone is noon of that day (or now, if
    earlier). BadValue says what to type instead."""
    raw = unicodedata.normalize("NFKC", text).strip().lower()
    if raw.strip(" 。.!！") in _NOW:
        return now
    rest, back = raw, None
    for word, days in _DAYS:
        if word in rest:
            back = days
            rest = rest.replace(word, " ")
            break
    for word in (*_AFTERNOON, *_MORNING, *_NOON, *_FILLERS):
        rest = rest.replace(word, " ")
    rest = rest.strip(" ,，的")
    clock = None
    found = _TIME.search(rest) or _BARE_HOUR.match(rest)
    if found is not None:
        clock = _clock(raw, int(found.group("h")), found.groupdict().get("m"))
        rest = (rest[:found.start()] + rest[found.end():]).strip(" ,，的")
    today = now.date()
    if rest:
        if back is not None or not any(c.isdigit() for c in rest):
            raise BadValue(HINT)
        day = parse_date(rest, today)
    elif back is not None:
        day = today - timedelta(days=back)
    elif clock is not None:
        day = today
    else:
        raise BadValue(HINT)
    moment = datetime.combine(day, clock or time(12, 0), now.tzinfo)
    if moment <= now:
        return moment
    if clock is None:
        return now  # noon of today, typed in the morning: as late as it can be
    if back is None and day == today and not rest:
        return moment - timedelta(days=1)
    raise BadValue(N_("That time is in the future."))


def _clock(raw: str, hour: int, minute_text: str | None) -> time:
    minute = 30 if minute_text == "半" else int(minute_text) if minute_text else 0
    if hour < 12 and any(word in raw for word in _AFTERNOON):
        hour += 12
    elif hour < 3 and any(word in raw for word in _NOON):
        hour += 12
    if hour > 23 or minute > 59:
        raise BadValue(HINT)
    return time(hour, minute)
