"""Logging that keeps secrets and children's data out of the log.

python-telegram-bot and httpx log request URLs, which carry the bot token, and at DEBUG they log whole
updates and request parameters, which carry names and message texts. Their DEBUG output is therefore
never enabled, and every line passes a filter that masks anything shaped like a bot token.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback

_TOKEN_SHAPE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
# Loggers that write payloads or URLs at DEBUG; capped whatever level the operator chose.
_CHATTY = {"telegram": logging.INFO, "httpx": logging.WARNING, "httpcore": logging.WARNING,
           "apscheduler": logging.INFO, "aiosqlite": logging.INFO, "hpack": logging.WARNING}


class RedactSecrets(logging.Filter):
    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[token]")
        return _TOKEN_SHAPE.sub("[token]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = without_text(record.exc_info[1])
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def without_text(error: BaseException | None) -> str:
    """A traceback with each exception's class and frames, never its message: the text of an exception can
    quote what a person typed (a child's name in a ValueError, a message in a BadRequest)."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        chain.append(error)
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    lines = []
    for error in reversed(chain):
        lines.append("Traceback (most recent call last):\n")
        lines += traceback.format_tb(error.__traceback__)
        lines.append(f"{type(error).__module__}.{type(error).__qualname__}\n")
    return "".join(lines).rstrip()


def configure_logging(level: str = "INFO", *, token: str = "", stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(token))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    numeric = logging.getLevelName(level)
    for name, floor in _CHATTY.items():
        logging.getLogger(name).setLevel(max(numeric, floor))
    return handler
