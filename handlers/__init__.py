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
    app.add_handlers(delivery.EVERY_UPDATE, group=-2)
    for module in FEATURES:
        app.add_handlers(getattr(module, "EARLY_HANDLERS", []), group=-1)
        app.add_handlers(module.HANDLERS)
    app.add_handlers(fallback.HANDLERS)
    app.add_error_handler(on_error)
