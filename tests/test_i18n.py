from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.i18n import cli_locale, format_datetime, locale_from_language_code, translator


@pytest.mark.parametrize(
    ("code", "locale"),
    [("zh-hans", "zh_CN"), ("zh-hant", "zh_CN"), ("zh", "zh_CN"), ("en", "en"), ("en-GB", "en"),
     ("ru", "zh_CN"), (None, "zh_CN"), ("", "zh_CN")],
)
def test_telegram_language_codes_map_to_supported_locales(code, locale):
    assert locale_from_language_code(code) == locale


def test_other_languages_follow_the_configured_default():
    assert locale_from_language_code("uz", default="en") == "en"


@pytest.mark.parametrize(
    ("env", "locale"),
    [({"LANG": "en"}, "en"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
     ({"LANG": "C.UTF-8"}, "zh_CN"), ({}, "zh_CN"), ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN"}, "en")],
)
def test_cli_language_comes_from_the_environment(env, locale):
    assert cli_locale(env) == locale


def test_dates_are_shown_in_the_readers_zone_and_language():
    moment = datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)
    assert format_datetime(moment, "zh_CN", "Asia/Shanghai") == "2026年3月2日 00:30:00"
    assert format_datetime(moment, "en", "Europe/Moscow") == "Mar 1, 2026, 7:30:00\u202fPM"


def test_an_unsupported_locale_gets_the_default_catalog():
    assert translator("fr").gettext("Choose your language:") == "请选择语言："
