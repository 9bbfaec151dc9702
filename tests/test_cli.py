"""The command line as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storage.migrations import MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LC_", "LANG"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot", *args], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_without_a_token_run_says_so_in_one_line_and_fails(tmp_path):
    result = run(["run"], {}, tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and ".env.example" in lines[0]
    assert lines[0].startswith("没有设置")


def test_the_error_is_in_english_for_an_english_operator(tmp_path):
    result = run([], {"LANG": "en_US.UTF-8"}, tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in .env (copy .env.example)."
    )


def test_a_bad_setting_is_named(tmp_path):
    result = run(["run"], {"LANG": "en", "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "TIMEZONE": "Nowhere/Town"},
                 tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == "TIMEZONE must be a time zone name such as Asia/Shanghai."


def test_the_token_can_come_from_dotenv(tmp_path):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ\nDEFAULT_LOCALE=klingon\n")
    result = run(["run"], {"LANG": "en"}, tmp_path)
    assert result.stderr.strip() == "DEFAULT_LOCALE must be one of: zh_CN, en."


def test_migrate_creates_the_database(tmp_path):
    env = {"LANG": "en", "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
           "DATABASE_PATH": str(tmp_path / "sub" / "q.sqlite3")}
    first = run(["migrate"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    n = len(MIGRATIONS)
    assert f"schema version {n}, {n} migrations applied now" in first.stdout
    second = run(["migrate"], env, tmp_path)
    assert "0 migrations applied now" in second.stdout


def test_help_is_translated(tmp_path):
    assert "离线沙盒" in run(["--help"], {}, tmp_path).stdout
    assert "offline sandbox" in run(["--help"], {"LANG": "en"}, tmp_path).stdout
