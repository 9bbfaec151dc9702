"""Telegram handlers, one module per feature. The order here is the order they are tried in: features first,
the one /cancel after them, the catch-all fallback last.

A feature module offers `handlers()` (its commands and buttons), optionally `early_handlers()` (taken before
any dialogue: replies to relayed messages) and `DIALOGUES` (the kinds of `handlers.dialogue` it runs). The
handlers are built per application, and every callback is wrapped so that a refusal is answered once
(`handlers.common.answering_refusals`)."""

from __future__ import annotations

from telegram.ext import Application, BaseHandler

from handlers import (access, attendance, audit, dropouts, calendar, class_notices, delivery, dialogue, entrusted, fallback, ledgers,
                      help, musts, onboarding,
                      preferences, privacy, records,
                      relay, roster, safety, schooldays, start, stats, video)
from handlers.commands import set_commands
from handlers.common import answering_refusals
from handlers.errors import on_error

FEATURES = [start, help, preferences, delivery, records, audit, access, onboarding, privacy, roster, relay, musts, video, calendar,
            safety, class_notices, schooldays, attendance, dropouts, entrusted, ledgers, stats]

__all__ = ["register", "set_commands"]

# Groups run in turn, and within a group only the first handler that matches is tried.
EVERY_UPDATE, EARLY, DIALOGUE, FEATURE = -3, -2, -1, 0


def _built(module, name: str) -> list[BaseHandler]:
    made = getattr(module, name, None)
    return list(made()) if made is not None else []


def _answering(handler: BaseHandler) -> BaseHandler:
    handler.callback = answering_refusals(handler.callback)  # a fresh handler: built for this application
    return handler


def register(app: Application) -> None:
    """delivery sees every update; the relay takes replies to relayed messages; an open dialogue takes what
    its person types or sends; then the features, /cancel, and the fallback."""
    dispatcher, cancel = dialogue.build(kind for module in FEATURES for kind in getattr(module, "DIALOGUES", ()))
    app.add_handlers([_answering(h) for h in delivery.every_update()], group=EVERY_UPDATE)
    app.add_handlers([_answering(h) for h in dispatcher], group=DIALOGUE)
    for module in FEATURES:
        app.add_handlers([_answering(h) for h in _built(module, "early_handlers")], group=EARLY)
        app.add_handlers([_answering(h) for h in _built(module, "handlers")], group=FEATURE)
    app.add_handlers([_answering(h) for h in cancel + _built(fallback, "handlers")], group=FEATURE)
    app.add_error_handler(on_error)
