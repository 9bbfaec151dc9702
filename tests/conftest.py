from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.app import build_application, initialized
from bot.clock import FixedClock
from bot.runner import telegram_handle
from bot.settings import Settings
from tests.helpers import BOT_TOKEN, RecordingRequest, unpaced


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(token=BOT_TOKEN, database_path=str(tmp_path / "bot.sqlite3"), poll_timeout=1)


@pytest.fixture
def recorder() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
async def app(settings, clock, recorder):
    """The production application, answering into a recorder instead of Telegram."""
    application = build_application(settings, clock=clock, request=recorder, limits=unpaced())
    async with initialized(application):
        recorder.clear()
        yield application


@pytest.fixture
def feed(app):
    """Hand a raw update dict to the application exactly as the intake does."""
    handle = telegram_handle(app)

    async def _feed(update: dict) -> None:
        await handle(update)

    return _feed
