"""Telegram handlers, one module per feature. The order here is the order they are tried in:
features first, the catch-all fallback last."""

from __future__ import annotations

from telegram.ext import Application

from handlers import (calendar, care, cancel, children, delivery, fallback, help, invite, language, newchild, privacy, relay, roster,
                      settings, start, video)
from handlers.commands import set_commands
from handlers.errors import on_error

FEATURES = [start, help, language, settings, delivery, newchild, children, invite, privacy, roster, cancel, relay, care, video, calendar]

__all__ = ["register", "set_commands"]


def register(app: Application) -> None:
    """Groups run in turn: delivery sees every update (-3); the relay takes replies to relayed messages and
    relay mode (-2); a dialogue waiting for typed words takes them (-1); then the features and the fallback (0).
    Within a group the first handler that matches is the only one tried."""
    app.add_handlers(delivery.EVERY_UPDATE, group=-3)
    for module in FEATURES:
        app.add_handlers(getattr(module, "EARLY_HANDLERS", []), group=-2)
        app.add_handlers(getattr(module, "DIALOGUE_HANDLERS", []), group=-1)
        app.add_handlers(module.HANDLERS)
    app.add_handlers(fallback.HANDLERS)
    app.add_error_handler(on_error)
