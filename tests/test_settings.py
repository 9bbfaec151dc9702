"""Configuration: a bad value is a clear error that names the variable."""

from __future__ import annotations

import pytest

from bot.i18n import translator
from bot.settings import ConfigError, load_settings

TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdef"
EN = translator("en")


def test_defaults():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, tr=EN)
    assert settings.base_url == "https://api.telegram.org/bot"
    assert (settings.default_locale, settings.timezone) == ("zh_CN", "Asia/Shanghai")
    assert settings.database_path.startswith("data/")


def test_all_values_are_read():
    settings = load_settings(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
         "TELEGRAM_BASE_FILE_URL": "http://127.0.0.1:9/file/bot", "DATABASE_PATH": "/tmp/x.db",
         "DEFAULT_LOCALE": "en", "TIMEZONE": "Europe/Moscow", "LOG_LEVEL": "debug", "POLL_TIMEOUT": "2"},
        tr=EN,
    )
    assert settings.base_url == "http://127.0.0.1:9/bot"
    assert (settings.default_locale, settings.timezone, settings.log_level, settings.poll_timeout) == (
        "en", "Europe/Moscow", "DEBUG", 2)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "paste-your-token-here"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": "localhost:8081"}, "TELEGRAM_BASE_URL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "DEFAULT_LOCALE": "fr"}, "DEFAULT_LOCALE"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "POLL_TIMEOUT": "-1"}, "POLL_TIMEOUT"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "SEND_CONCURRENCY": "0"}, "SEND_CONCURRENCY"),
        ({"TELEGRAM_BOT_TOKEN": TOKEN, "UNDELIVERABLE_EXPIRY_DAYS": "a week"}, "UNDELIVERABLE_EXPIRY_DAYS"),
    ],
)
def test_a_bad_value_names_its_variable(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings(env, tr=EN)
    assert caught.value.variable == variable
    assert variable in caught.value.message


def test_errors_are_translated():
    with pytest.raises(ConfigError) as caught:
        load_settings({}, tr=translator("zh_CN"))
    assert caught.value.message.startswith("没有设置 TELEGRAM_BOT_TOKEN")


def test_the_token_stays_out_of_repr():
    assert TOKEN not in repr(load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, tr=EN))


async def test_the_undeliverable_expiry_reaches_the_delivery_notices(tmp_path):
    from datetime import timedelta

    from bot.services import open_services
    from bot.clock import SystemClock

    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "UNDELIVERABLE_EXPIRY_DAYS": "3",
                              "DATABASE_PATH": str(tmp_path / "x.sqlite3")}, tr=EN)
    services = await open_services(settings, SystemClock())
    try:
        assert services.notices.expiry == timedelta(days=3)
    finally:
        await services.db.close()
