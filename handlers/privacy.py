"""/privacy, consent, withdrawal, /mydata and erasure requests."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext

HANDLERS: list = []


async def ask_consent(update: Update, context: BotContext, child_id: int) -> None:
    """Show the children's data rules to a parent or guardian who just joined, with consent buttons."""
    raise NotImplementedError
