from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from telegram import Bot

from bot.runtime.app import build_application, initialized
from bot.clock import FixedClock
from bot.runtime.runner import telegram_handle
from bot.safekeeping.crypto import generate_key, parse_key
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from storage.db import Database
from tests.helpers import BOT_TOKEN, RecordingRequest, unpaced
from tests.world import World

# Modules that start the bot as a process (tests.botprocess, `python -m bot`) or play the demo: `pytest -m "not e2e"`
# leaves them out for a fast inner loop; `make test` runs everything.
E2E_MODULES = {"test_cli", "test_demo"}


def _starts_the_bot(module) -> bool:
    name = module.__name__.rsplit(".", 1)[-1]
    return name.startswith("test_e2e") or name in E2E_MODULES or hasattr(module, "BotProcess")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and _starts_the_bot(module):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc))


# QQ_TEST_DATA_KEY=1 runs every test database keyed (SQLCipher), as a deployment with DATA_KEY runs.
TEST_KEY = parse_key(generate_key()) if os.environ.get("QQ_TEST_DATA_KEY") else None


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(token=BOT_TOKEN, database_path=str(tmp_path / "bot.sqlite3"), poll_timeout=1, data_key=TEST_KEY)


@pytest.fixture
async def services(settings, clock):
    """The services alone, without the Telegram application: for plain service tests."""
    opened = await open_services(settings, clock)
    yield opened
    await opened.db.close()


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


@pytest.fixture
async def seeded(app) -> World:
    """The seeded school (tests.world.World.seeded) in the application's database."""
    return await World.seeded(app.bot_data.services)


@pytest.fixture
async def db(tmp_path):
    """A migrated database of its own, for repository and sender tests."""
    database = await Database.open(tmp_path / "bot.sqlite3", TEST_KEY)
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
async def sb():
    """The offline Bot API, its limits off: tests of what is sent, not of pacing."""
    async with Sandbox(enforce_limits=False) as sandbox:
        yield sandbox


@pytest.fixture
async def bot(sb):
    """A plain python-telegram-bot client of the sandbox."""
    async with Bot(sb.token, base_url=sb.base_url, base_file_url=sb.base_file_url) as client:
        yield client
