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


def test_invite_bootstraps_a_townships_supervisor(tmp_path):
    import sqlite3

    database = tmp_path / "q.sqlite3"
    env = {"LANG": "zh_CN.UTF-8", "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
           "DATABASE_PATH": str(database)}
    assert run(["migrate"], env, tmp_path).returncode == 0
    with sqlite3.connect(database) as conn:  # as the bot leaves it after its first start: no network needed
        conn.execute("INSERT INTO settings_kv (key, value) VALUES ('bot_username', 'QinqingBridgeBot')")
        conn.execute("INSERT INTO townships (name, created_at) VALUES ('别的镇', '2026-03-02T08:00:00.000+00:00')")
        conn.execute("INSERT INTO schools (name, created_at, township_id) VALUES ('别的学校', "
                     "'2026-03-02T08:00:00.000+00:00', 1)")

    result = run(["invite", "--township", "青山镇", "--qr", str(tmp_path / "qr.png")], env, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "青山镇 乡镇儿童督导员的邀请（只能用一次，7 天内有效）："
    assert lines[1].startswith("https://t.me/QinqingBridgeBot?start=")
    assert (tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT i.role, i.school_id, t.name FROM invitations i "
                            "JOIN townships t ON t.id = i.township_id").fetchall() == [("supervisor", None, "青山镇")]

    # A school joins the township from the command line; one under another township is refused.
    placed = run(["invite", "--school", "希望小学", "--township", "青山镇"], env, tmp_path)
    assert placed.returncode == 0, placed.stderr
    refused = run(["invite", "--school", "别的学校", "--township", "青山镇"], env, tmp_path)
    assert refused.returncode == 2 and "另一个乡镇" in refused.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT s.name, t.name FROM schools s JOIN townships t ON t.id = s.township_id "
                            "ORDER BY s.id").fetchall() == [("别的学校", "别的镇"), ("希望小学", "青山镇")]
        assert conn.execute("SELECT COUNT(*) FROM invitations").fetchone() == (2,)

    for args in (["invite"], ["invite", "--role", "supervisor", "--school", "希望小学"],
                 ["invite", "--township", "镇" * 41]):
        bad = run(args, {**env, "LANG": "en"}, tmp_path)
        assert bad.returncode == 2 and bad.stdout == "", args
        assert "--school" in bad.stderr or "--township" in bad.stderr or "at most" in bad.stderr
