"""Small text helpers: Telegram measures entity offsets in UTF-16 code units."""

from __future__ import annotations

import re

# What Telegram clients mark as a bot command in what a user types: "/word" or "/word@SomeBot"
# at the start or after whitespace.
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![^\s])")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict]:
    """The bot_command entities Telegram attaches to a user's message text."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]
