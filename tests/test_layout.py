"""The shape of the code: care logic knows nothing of Telegram, and buttons are parsed in one place."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TELEGRAM_ALLOWED = ("handlers/", "bot/runtime/")
TELEGRAM_IMPORT = re.compile(r"^\s*(from telegram\b|import telegram\b)", re.M)
MARKUP = re.compile(r"inline_keyboard|callback_data|reply_markup")


def _sources(*folders: str):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_only_handlers_and_the_runtime_speak_telegram():
    offenders = [name for name, text in _sources("bot", "storage")
                 if not name.startswith(TELEGRAM_ALLOWED) and (TELEGRAM_IMPORT.search(text) or MARKUP.search(text))]
    assert offenders == []


def test_callback_data_is_parsed_by_the_codec_only():
    # bot/ never sees callback data (only bot.payloads packs and parses it); in handlers/ only the one
    # on_button in handlers/common.py reads it, and nothing splits strings by hand.
    offenders = [name for name, text in _sources("handlers")
                 if 'split(":")' in text or ("callback_query.data" in text and name != "handlers/common.py")]
    assert offenders == []


def test_no_sql_outside_storage():
    sql = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
    offenders = [name for name, text in _sources("bot", "handlers") if sql.search(text)]
    assert offenders == []


def test_no_module_level_conversation_state():
    offenders = [name for name, text in _sources("handlers")
                 if "ConversationHandler" in text or "user_data" in text or "chat_data" in text]
    assert offenders == []


def test_handlers_are_built_per_application(settings, recorder):
    from bot.runtime.app import build_application

    first, second = (build_application(settings, request=recorder, register_commands=False) for _ in range(2))
    mine = {id(h) for group in first.handlers.values() for h in group}
    theirs = {id(h) for group in second.handlers.values() for h in group}
    assert mine and not mine & theirs


def test_no_test_module_imports_another():
    # Shared builders live in tests/helpers.py and tests/world.py, so a test module can be renamed or removed alone.
    own = re.compile(r"^\s*(from tests\.test_\w+ import|import tests\.test_)", re.M)
    assert [name for name, text in _sources("tests") if own.search(text)] == []
