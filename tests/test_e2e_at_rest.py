"""Children's data at rest, as an operator meets it (issue 17, part A): a real `python -m bot run` over the sandbox
leaves the database, its side files and the folders owner-only under umask 022; a damaged database or a text file
as the database stops the process with one translated line and a non-zero exit within 5 seconds, the file
untouched; `keygen` and `rotate-key` encrypt data kept without a key, every row kept."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bot.safekeeping import crypto
from sandbox import Sandbox
from storage.db import connect
from tests.botprocess import BotProcess
from tests.helpers import BOT_TOKEN

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def cli(args: list[str], cwd: Path, timeout: float = 60, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LC_", "LANG", "DATA_KEY"))}
    base.update(PYTHONPATH=str(ROOT), TELEGRAM_BOT_TOKEN=TOKEN, LANG="zh_CN.UTF-8",
                # unreachable on purpose: nothing here may get as far as Telegram
                TELEGRAM_BASE_URL="http://127.0.0.1:9/bot")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bot", *args], env={**base, **env}, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout)
    return result, time.monotonic() - started


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_the_data_is_owner_only_after_a_real_start_under_umask_022(tmp_path):
    old = os.umask(0o022)  # a shell's usual umask, inherited by the bot process
    try:
        async with Sandbox(token=BOT_TOKEN) as sandbox:
            data = tmp_path / "data"
            bot = BotProcess(sandbox, tmp_path, BOT_TOKEN, DATABASE_PATH=str(data / "bot.sqlite3"))
            await bot.start()
            try:
                db = bot.database
                for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                    assert mode(path) == 0o600, path
                assert mode(data) == 0o700
            finally:
                assert await bot.stop() == 0
            assert bot.log.count("NOT encrypted") == 1
            assert "readable by other local users" not in bot.log

            # As a copy made by hand would leave them: readable by every local user.
            db.chmod(0o644)
            photo = data / "media" / "3" / "1.jpg"
            photo.parent.mkdir(parents=True)
            photo.write_bytes(b"\xff\xd8\xff\xe0")
            photo.chmod(0o644)
            for folder in (data / "media", photo.parent):
                folder.chmod(0o755)
            again = BotProcess(sandbox, tmp_path, BOT_TOKEN, DATABASE_PATH=str(db))
            await again.start()
            try:
                for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), photo):
                    assert mode(path) == 0o600, path
                for folder in (data, data / "media", photo.parent):
                    assert mode(folder) == 0o700, folder
            finally:
                assert await again.stop() == 0
            wider = [line for line in again.log.splitlines() if "readable by other local users" in line]
            assert len(wider) == 1 and "4 data files or folders" in wider[0], again.log
    finally:
        os.umask(old)


def _migrated(tmp_path: Path, key: str | None = None) -> Path:
    path = tmp_path / "bot.sqlite3"
    result, _elapsed = cli(["migrate"], tmp_path, DATABASE_PATH=str(path), **({"DATA_KEY": key} if key else {}))
    assert result.returncode == 0, result.stderr
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stops_clearly(tmp_path: Path, path: Path, expected: str, **env: str) -> None:
    before, siblings = _digest(path), sorted(p.name for p in path.parent.iterdir())
    result, elapsed = cli(["run"], tmp_path, timeout=30, DATABASE_PATH=str(path), **env)
    assert result.returncode == 3, result.stderr
    assert elapsed < 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback, no log lines before it
    assert expected in lines[0] and str(path) in lines[0] and "python -m bot restore" in lines[0]
    assert _digest(path) == before and sorted(p.name for p in path.parent.iterdir()) == siblings


def test_a_text_file_as_the_database_is_a_clear_stop(tmp_path):
    text = tmp_path / "bot.sqlite3"
    text.write_text("TELEGRAM_BOT_TOKEN=…\nthis is the .env file, not the database\n")
    _stops_clearly(tmp_path, text, "不是亲情桥的数据库")


def test_a_corrupt_page_is_a_clear_stop(tmp_path):
    path = _migrated(tmp_path)
    with path.open("r+b") as handle:
        handle.seek(4096 * 3)
        handle.write(os.urandom(4096))
    _stops_clearly(tmp_path, path, "已损坏")


def test_a_keyed_database_without_its_key_is_a_clear_stop(tmp_path):
    key = crypto.generate_key()
    path = _migrated(tmp_path, key)
    _stops_clearly(tmp_path, path, "没有设置 DATA_KEY")
    _stops_clearly(tmp_path, path, "打不开", DATA_KEY=crypto.generate_key())


def test_keygen_prints_a_key_and_rotate_key_encrypts_data_kept_without_one(tmp_path):
    result, _elapsed = cli(["keygen"], tmp_path)
    assert result.returncode == 0
    assert len(crypto.parse_key(result.stdout.strip())) == 32

    path = _migrated(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO townships (name, created_at) VALUES ('青山镇', '2026-03-02T08:00:00.000+00:00')")
    conn.close()

    # Refused while the bot has the database open.
    holder = sqlite3.connect(path)
    holder.execute("SELECT count(*) FROM townships").fetchall()
    refused, _elapsed = cli(["rotate-key"], tmp_path, DATABASE_PATH=str(path))
    holder.close()
    assert refused.returncode == 2 and "请先停止机器人" in refused.stderr and "DATA_KEY=" not in refused.stdout
    assert b"\xe9\x9d\x92\xe5\xb1\xb1\xe9\x95\x87" in path.read_bytes()  # 青山镇, still plaintext: unchanged

    rotated, _elapsed = cli(["rotate-key"], tmp_path, DATABASE_PATH=str(path))
    assert rotated.returncode == 0, rotated.stderr
    line = next(line for line in rotated.stdout.splitlines() if line.startswith("DATA_KEY="))
    key = line.removeprefix("DATA_KEY=")
    assert "青山镇".encode() not in path.read_bytes()
    conn = connect(str(path), crypto.parse_key(key))
    try:
        assert conn.execute("SELECT name FROM townships").fetchall() == [("青山镇",)]
    finally:
        conn.close()
    again, _elapsed = cli(["migrate"], tmp_path, DATABASE_PATH=str(path), DATA_KEY=key)
    assert again.returncode == 0 and "NOT encrypted" not in again.stderr, again.stderr
