"""The video call's buttons, declared once (bot.payloads): what each carries, and reading their parts back.

  vv:<child>                                          show the child's video call
  vs:<child>:w | t:<wd> | m:<wd>:<hhmm> | r:<wd>:<hhmm>:<min> | p:<wd>:<hhmm>:<min>:<room>
                                                      a carer choosing day, time, length and room, then proposing
  vp:<proposal>:y | n | t:<wd> | c:<wd>:<hhmm>        accept, or answer with another day and time
  vc:<call>:d | m | r:<reason> | v | w:<yyyymmdd> | c:<yyyymmdd>:<hhmm>
                                                      after a call: happened, missed (why), moved (day, time)

Numbers other than ids are short tokens (an id may take 19 digits; these must leave room within 64 bytes). A room
is carried as its place in FAMILY_ROOMS (1, 2 …; 0 is from home): its name is not ASCII. Every id is
checked again by bot.video.service on every press; a part that is missing, extra or out of range for its step
is a stale button.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from bot.errors import StaleButton
from bot.payloads import payload


WEEKDAY = Literal["0", "1", "2", "3", "4", "5", "6"]   # 0 = Monday


@payload("vv")
class ShowVideo:
    child: int


@payload("vs")
class SetVideo:
    child: int
    step: Literal["w", "t", "m", "r", "p"]
    weekday: WEEKDAY | None = None
    at: Annotated[str, 4] | None = None         # HHMM
    minutes: Annotated[str, 3] | None = None
    room: Annotated[str, 2] | None = None       # 0: from home; n: the n-th family room

    def __post_init__(self) -> None:
        _exact(self, {"w": (), "t": ("weekday",), "m": ("weekday", "at"), "r": ("weekday", "at", "minutes"),
                      "p": ("weekday", "at", "minutes", "room")})
        for number in (self.minutes, self.room):
            if number is not None and not (number.isascii() and number.isdigit()):
                raise StaleButton()


@payload("vp")
class ProposalAnswer:
    proposal: int
    step: Literal["y", "n", "t", "c"]
    weekday: WEEKDAY | None = None
    at: Annotated[str, 4] | None = None

    def __post_init__(self) -> None:
        _exact(self, {"y": (), "n": (), "t": ("weekday",), "c": ("weekday", "at")})


@payload("vc")
class CallAnswer:
    call: int
    step: Literal["d", "m", "r", "v", "w", "c"]
    detail: Annotated[str, 8] | None = None     # r: the reason's code; w, c: the day, YYYYMMDD
    at: Annotated[str, 4] | None = None

    def __post_init__(self) -> None:
        _exact(self, {"d": (), "m": (), "r": ("detail",), "v": (), "w": ("detail",), "c": ("detail", "at")})
        if self.step in ("w", "c"):
            day_of(self.detail)

    @property
    def day(self) -> date:
        return day_of(self.detail)


def _exact(pressed, parts: dict[str, tuple[str, ...]]) -> None:
    """A payload carries exactly the parts its step needs (none missing, none extra); a time is a time."""
    present = tuple(f.name for f in type(pressed).fields if f.optional and getattr(pressed, f.name) is not None)
    if present != parts[pressed.step]:
        raise StaleButton()
    if pressed.at is not None:
        hhmm(pressed.at)


def hhmm(code: str) -> str:
    """'1930' as '19:30'."""
    if len(code) != 4 or not (code.isascii() and code.isdigit()) or int(code[:2]) > 23 or int(code[2:]) > 59:
        raise StaleButton()
    return f"{code[:2]}:{code[2:]}"


def hhmm_code(text: str) -> str:
    """'19:30' as '1930', for a button."""
    return text.replace(":", "")


def day_of(code: str) -> date:
    """'20260310' as that date."""
    try:
        if len(code) != 8 or not (code.isascii() and code.isdigit()):
            raise ValueError(code)
        return datetime.strptime(code, "%Y%m%d").date()
    except ValueError:
        raise StaleButton() from None


def day_code(day: date) -> str:
    return f"{day:%Y%m%d}"
