"""End to end: `python -m bot backup` while the real bot process handles a burst of updates over the sandbox. The
snapshot is SQLite's online backup from a connection of its own (one read transaction under WAL), so the bot's
writer is never blocked: no update is lost, and none is answered more than a second later than in the same burst
without a backup. Then `python -m bot restore` puts the backup into an empty folder, owner-only, under umask 022."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import time
from contextlib import closing
from pathlib import Path

from bot.safekeeping import crypto
from bot.services import open_services
from bot.clock import SystemClock
from bot.settings import Settings
from sandbox import Sandbox
from storage.db import connect
from tests.botprocess import ROOT, BotProcess
from tests.helpers import BOT_TOKEN

BURST = 40
SLACK = 1.0  # seconds: the bound on how much later an update may be answered during a backup


async def fill(database: Path, key: bytes, media: Path) -> None:
    """A school's worth of data, so the backup takes long enough to overlap the burst: 100 000 audit rows (about
    15 MB of pages) and 40 MB of media."""
    services = await open_services(Settings(token=BOT_TOKEN, database_path=str(database), data_key=key),
                                   SystemClock())
    try:
        async with services.db.transaction() as conn:
            await conn.executemany("INSERT INTO audit_log (at, actor_id, child_id, action, detail) VALUES (?,?,?,?,?)",
                                   [("2026-03-02T08:00:00.000+00:00", i, i % 300, "view", "x" * 100)
                                    for i in range(100_000)])
    finally:
        await services.db.close()
    for child in range(40):
        folder = media / str(child + 1)
        folder.mkdir(parents=True)
        (folder / "1.jpg").write_bytes(crypto.seal(os.urandom(1_000_000), key))


async def burst(sandbox, first_id: int) -> list[float]:
    """BURST people press Start 50 ms apart; the seconds each waited for the bot's answer."""
    people = [sandbox.user(first_id + i, f"P{i}") for i in range(BURST)]

    async def one(n: int, person) -> float:
        await asyncio.sleep(n * 0.05)
        sent = time.monotonic()
        await person.start()
        await person.wait_message(timeout=20)
        return time.monotonic() - sent

    return list(await asyncio.gather(*(one(n, p) for n, p in enumerate(people))))


async def cli(env: dict, *args: str) -> tuple[int, str, str, float]:
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode, out.decode(), err.decode(), time.monotonic() - started


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_backup_during_a_burst_loses_and_delays_nothing_and_restores(tmp_path):
    text_key = crypto.generate_key()
    key = crypto.parse_key(text_key)
    old_umask = os.umask(0o022)
    try:
        async with Sandbox(token=BOT_TOKEN, enforce_limits=False) as sandbox:
            bot = BotProcess(sandbox, tmp_path, BOT_TOKEN, DATA_KEY=text_key, BACKUP_DIR=str(tmp_path / "drive"),
                             LANG="en_US.UTF-8")
            await fill(bot.database, key, tmp_path / "media")
            await bot.start()
            try:
                without = await burst(sandbox, 20_000)
                backing_up = asyncio.create_task(cli(bot.env, "backup"))
                await asyncio.sleep(0.3)  # the process has started and is taking its snapshot
                during = await burst(sandbox, 30_000)
                code, out, err, took = await backing_up
            finally:
                assert await bot.stop() == 0
        assert code == 0, err
        assert len(during) == len(without) == BURST  # every update answered (gather would have raised otherwise)
        print(f"\nbackup took {took:.2f} s; answer latency without a backup: max {max(without):.3f} s, "
              f"with one: max {max(during):.3f} s")
        assert max(during) <= max(without) + SLACK
        assert "Traceback" not in bot.log

        path = Path(out.strip().splitlines()[-1])
        assert path.parent == tmp_path / "drive" and path.suffix == ".qqb"
        assert "Backup written:" in out and "40 media files" in out
        assert (mode(tmp_path / "drive"), mode(path)) == (0o700, 0o600)
        assert list((tmp_path / "drive").iterdir()) == [path]  # no temporary file or snapshot left behind

        # Restore into an empty folder on a "new machine", with the CLI as an operator types it.
        target = tmp_path / "new-machine"
        env = {**bot.env, "DATABASE_PATH": str(target / "bot.sqlite3")}
        code, out, err, _took = await cli(env, "restore", str(path))
        assert code == 0, err
        assert "the database and 40 media files are in" in out
        assert mode(target) == 0o700
        assert all(mode(p) == (0o700 if p.is_dir() else 0o600) for p in target.rglob("*")), \
            {str(p): oct(mode(p)) for p in target.rglob("*")}
        with closing(connect(str(target / "bot.sqlite3"), key)) as conn:
            assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'view'").fetchone()[0] == 100_000
        assert sorted(p.read_bytes() for p in (target / "media").rglob("*.jpg")) == \
            sorted(p.read_bytes() for p in (tmp_path / "media").rglob("*.jpg"))

        # The same again is refused: the folder is no longer empty.
        code, _out, err, _took = await cli(env, "restore", str(path))
        assert code == 2 and "a backup is restored only into an empty data folder" in err
    finally:
        os.umask(old_umask)
