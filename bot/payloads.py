"""Every button's payload, declared once: a prefix and typed fields, packed and parsed by the same class.

    @payload("vv")
    class ShowVideo:
        child: int

    ShowVideo(7).pack() == "vv:7";  parse("vv:7") == ShowVideo(7)

The packed form is what a channel carries back when the button is pressed (Telegram allows at most
64 bytes). It is plain data, so services name the buttons of the notices they send without knowing the
channel; the Telegram layer alone turns it into a keyboard.

Field types: `int` (ASCII digits, 0 … SQLite's largest integer: `str.isdigit` would accept '²', and a
longer number overflows SQLite), `str` (a token of letters, digits and `_.+-/`, at most `STR_MAX` characters,
or `Annotated[str, n]` for n), or `Literal[...]` (one of a closed set of words). Trailing fields with a default
may be left out. Anything else (an unknown prefix, a missing or extra field, a bad character) is refused with
`StaleButton`, which every handler answers as a short popup: forged and stale buttons never reach the error
handler. Every press is still checked against the presser's rights by the service that acts on it.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin, get_type_hints

from bot.errors import StaleButton

MAX_BYTES = 64
SQLITE_MAX = 2**63 - 1
STR_MAX = 16
SEPARATOR = ":"
_DIGITS = re.compile(r"[0-9]{1,19}")
_TOKEN = re.compile(r"[A-Za-z0-9_.+/-]+")

REGISTRY: dict[str, type] = {}


@dataclasses.dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "int", "str" or "choice"
    choices: tuple[str, ...] = ()
    max_len: int = STR_MAX
    optional: bool = False

    def parse(self, text: str) -> Any:
        if self.kind == "int":
            if not _DIGITS.fullmatch(text) or int(text) > SQLITE_MAX:
                raise ValueError(self.name)
            return int(text)
        if self.kind == "choice":
            if text not in self.choices:
                raise ValueError(self.name)
            return text
        if not (len(text) <= self.max_len and _TOKEN.fullmatch(text)):
            raise ValueError(self.name)
        return text

    def widest(self) -> int:
        """The most characters this field can take when packed."""
        if self.kind == "int":
            return len(str(SQLITE_MAX))
        if self.kind == "choice":
            return max(len(c) for c in self.choices)
        return self.max_len


def _field(name: str, hint: Any, optional: bool) -> _Field:
    origin = get_origin(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        inner = [a for a in get_args(hint) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"{name}: one type or None")
        return _field(name, inner[0], optional)
    if origin is Annotated:
        base, limit = get_args(hint)[:2]
        if base is not str or not isinstance(limit, int):
            raise TypeError(f"{name}: Annotated[str, max_len]")
        return _Field(name, "str", max_len=limit, optional=optional)
    if origin is Literal:
        choices = tuple(str(c) for c in get_args(hint))
        if not all(_TOKEN.fullmatch(c) for c in choices):
            raise TypeError(f"{name}: choices are tokens")
        return _Field(name, "choice", choices=choices, optional=optional)
    if hint is int:
        return _Field(name, "int", optional=optional)
    if hint is str:
        return _Field(name, "str", optional=optional)
    raise TypeError(f"{name}: int, str, Annotated[str, n] or Literal[...]")


class Payload:
    """What `@payload` adds to a class (for type checkers and readers)."""

    prefix: ClassVar[str]
    fields: ClassVar[tuple[_Field, ...]]

    def pack(self) -> str: ...

    @classmethod
    def unpack(cls, data: str | None): ...


def payload(prefix: str):
    """Declare a payload class: a frozen dataclass, registered under `prefix` (unique, checked here)."""
    if not _TOKEN.fullmatch(prefix) or SEPARATOR in prefix:
        raise ValueError(f"bad prefix {prefix!r}")

    def declare(cls):
        if prefix in REGISTRY:
            raise ValueError(f"prefix {prefix!r} is declared twice: {REGISTRY[prefix].__name__}, {cls.__name__}")
        cls = dataclasses.dataclass(frozen=True)(cls)
        hints = get_type_hints(cls, include_extras=True)
        specs = []
        for f in dataclasses.fields(cls):
            optional = f.default is not dataclasses.MISSING
            specs.append(_field(f.name, hints[f.name], optional))
        if any(not a.optional and b.optional for a, b in zip(specs[1:], specs)):
            raise TypeError(f"{cls.__name__}: fields with defaults come last")
        cls.prefix = prefix
        cls.fields = tuple(specs)
        cls.pack = _pack
        cls.unpack = classmethod(_unpack)
        cls.matches = staticmethod(lambda data: isinstance(data, str) and data.split(SEPARATOR, 1)[0] == prefix)
        REGISTRY[prefix] = cls
        return cls

    return declare


def _pack(self) -> str:
    parts = [self.prefix]
    values = [getattr(self, f.name) for f in self.fields]
    while values and values[-1] is None:
        values.pop()  # trailing defaults are left out
    for spec, value in zip(self.fields, values):
        text = str(value)
        if value is None or spec.parse(text) != value:
            raise ValueError(f"{type(self).__name__}.{spec.name}={value!r} cannot be packed")
        parts.append(text)
    data = SEPARATOR.join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"{type(self).__name__} packs to more than {MAX_BYTES} bytes")
    return data


def _unpack(cls, data: str | None):
    parts = (data or "").split(SEPARATOR)
    if parts[0] != cls.prefix:
        raise StaleButton()
    values = parts[1:]
    required = sum(1 for f in cls.fields if not f.optional)
    if not required <= len(values) <= len(cls.fields):
        raise StaleButton()
    try:
        parsed = [spec.parse(text) for spec, text in zip(cls.fields, values)]
    except ValueError:
        raise StaleButton() from None
    return cls(*parsed)


def parse(data: str | None):
    """Any declared payload from its packed form; `StaleButton` for anything that is not one."""
    cls = REGISTRY.get((data or "").split(SEPARATOR, 1)[0])
    if cls is None:
        raise StaleButton()
    return cls.unpack(data)


def widest(cls) -> int:
    """The longest packed form a payload class can have, in bytes (all ASCII)."""
    return len(cls.prefix) + sum(len(SEPARATOR) + f.widest() for f in cls.fields)
