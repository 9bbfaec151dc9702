"""Broadcast through the sandbox with Telegram's flood limits enforced, the sandbox answering each send after
each of --delays (as Telegram does from far away): the bot (`python -m bot run`) drains an outbox filled
beforehand, and, in the same run, python-telegram-bot's stock AIORateLimiter sends the same load naively (every
message at once through asyncio.gather). With --kill-seeds N instead: the bot is killed with SIGKILL at a
moment drawn from each seed, restarted, and the outbox drained; nothing may be lost, and at most the messages
in flight (SEND_CONCURRENCY) per kill delivered twice."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.services import open_services
from bot.clock import SystemClock, stamp
from bot.settings import Settings
from sandbox import Sandbox
from storage.outbox import Outgoing
from storage.preferences import PreferencesRepository, QuietHours

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "5000000005:BENCH-sandbox-token-not-a-real-one"
SEND_METHODS = ("sendMessage", "copyMessage")
TELEGRAM_RATE = 30  # the sandbox's overall limit, Telegram's documented one
IN_FLIGHT = Settings(token=TOKEN).send_concurrency  # the bot's default: the most a kill may repeat


@dataclass
class Result:
    messages: int
    seconds: float  # from the first send to the last delivery, as the sandbox saw them
    delivered: int  # distinct messages that arrived
    duplicates: int
    flood: int  # answers with status 429
    cpu: float  # the sender process's CPU seconds, start-up included

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0

    @property
    def lost(self) -> int:
        return self.messages - self.delivered


def broadcast(recipients: list[int], rounds: int) -> list[tuple[int, str]]:
    """`rounds` notices, each to every recipient in turn: (chat, a text found nowhere else)."""
    return [(chat, f"notice {n} for {chat}") for n in range(rounds) for chat in recipients]


async def fill_outbox(database: Path, load: list[tuple[int, str]]) -> None:
    """The load, as a service would write it. The bot decides quiet hours when it sends, on the real clock: the
    recipients have them off, so the benchmark measures the same at any hour."""
    services = await open_services(Settings(token=TOKEN, database_path=str(database)), SystemClock())
    try:
        items = [Outgoing(f"bench:{n}", "telegram", str(chat), "text", {"text": text})
                 for n, (chat, text) in enumerate(load)]
        now = stamp(services.clock.now())
        async with services.db.transaction() as conn:
            preferences = PreferencesRepository(services.db).within(conn)
            for chat in sorted({chat for chat, _text in load}):
                await preferences.set_quiet_hours(QuietHours(chat, None, None, True, None, now))
            await services.outbox.add(conn, items)
    finally:
        await services.db.close()


def outbox_states(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sandbox_env(sb: Sandbox, workdir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": sb.base_url,
            "TELEGRAM_BASE_FILE_URL": sb.base_file_url, "DATABASE_PATH": str(workdir / "bench.sqlite3"),
            "POLL_TIMEOUT": "1", "LOG_LEVEL": "WARNING", **extra}


async def start_bot(sb: Sandbox, workdir: Path, rate: float) -> asyncio.subprocess.Process:
    log = open(workdir / "bot.log", "ab")
    try:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=workdir,
                                                    env=sandbox_env(sb, workdir, SEND_RATE=str(rate)),
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=log)
    finally:
        log.close()


def people(sb: Sandbox, first_id: int, count: int) -> list[int]:
    for n in range(count):
        sb.user(first_id + n, f"U{n}").started = True
    return [first_id + n for n in range(count)]


def tally(sb: Sandbox, load: list[tuple[int, str]], cpu: float) -> Result:
    seen = Counter(m.text for chat in {c for c, _ in load} for m in sb.chat(chat).messages)
    sends = [c for c in sb.calls if c.method in SEND_METHODS]
    done = [c.at for c in sends if c.status == 200]
    seconds = max(done) - min(c.at for c in sends) if done else 0.0
    return Result(len(load), seconds, len(seen), sum(seen.values()) - len(seen),
                  sum(1 for c in sends if c.status == 429), cpu)


async def drained(database: Path, proc: asyncio.subprocess.Process, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while {"pending", "leased"} & set(outbox_states(database)):
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {proc.returncode}; see {database.parent / 'bot.log'}")
            await asyncio.sleep(0.5)


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    await proc.wait()


async def ours(load: list[tuple[int, str]], recipients: int, rate: float, delay: float = 0.0) -> Result:
    """The bot drains a pre-filled outbox, paced by its own buckets."""
    workdir = Path(tempfile.mkdtemp(prefix="qinqing-broadcast-"))
    async with Sandbox(token=TOKEN, enforce_limits=True, answer_delay=delay) as sb:
        people(sb, 100_000, recipients)
        await fill_outbox(workdir / "bench.sqlite3", load)
        proc = await start_bot(sb, workdir, rate)
        try:
            await drained(workdir / "bench.sqlite3", proc, timeout=3 * len(load) / rate + 60)
            cpu = cpu_seconds(proc.pid)
        finally:
            await stop(proc)
        return tally(sb, load, cpu)


async def naive(load: list[tuple[int, str]], recipients: int, delay: float = 0.0) -> Result:
    """python-telegram-bot with `AIORateLimiter()` (its defaults: 30 a second overall, 20 a minute per group,
    no retries), every message handed over at once; a separate process, like the bot."""
    workdir = Path(tempfile.mkdtemp(prefix="qinqing-naive-"))
    (workdir / "load.json").write_text(json.dumps(load))
    async with Sandbox(token=TOKEN, enforce_limits=True, answer_delay=delay) as sb:
        people(sb, 100_000, recipients)
        with open(workdir / "naive.log", "wb") as log:  # AIORateLimiter logs every RetryAfter it gives up on
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.broadcast", "--naive-worker", str(workdir / "load.json"),
                cwd=workdir, env=sandbox_env(sb, workdir), stdout=asyncio.subprocess.PIPE, stderr=log)
            out, _ = await proc.communicate()
        return tally(sb, load, json.loads(out)["cpu"])


async def naive_worker(load_file: str) -> None:
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    load = json.loads(Path(load_file).read_text())
    app = (ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"]).base_url(os.environ["TELEGRAM_BASE_URL"])
           .base_file_url(os.environ["TELEGRAM_BASE_FILE_URL"]).rate_limiter(AIORateLimiter()).build())
    async with app:
        await asyncio.gather(*(app.bot.send_message(chat, text) for chat, text in load), return_exceptions=True)
    print(json.dumps({"cpu": time.process_time()}))


async def kill_run(seed: int, messages: int, recipients: int, rate: float, delay: float = 0.0) -> dict:
    """One seed: SIGKILL at a random moment of the broadcast, restart, drain; the sandbox answers `delay` s late,
    so that several sends are in flight when the kill comes."""
    rng = random.Random(seed)
    rounds = messages // recipients
    workdir = Path(tempfile.mkdtemp(prefix=f"qinqing-kill-{seed}-"))
    database = workdir / "bench.sqlite3"
    async with Sandbox(token=TOKEN, enforce_limits=True, answer_delay=delay) as sb:
        chats = people(sb, 200_000, recipients)
        strangers = set(rng.sample(chats, max(1, recipients // 100)))  # never pressed Start: undeliverable
        for chat in strangers:
            sb.chat(chat).started = False
        load = broadcast(chats, rounds)
        await fill_outbox(database, load)

        def delivered() -> int:
            return sum(len(sb.chat(chat).messages) for chat in chats)

        proc = await start_bot(sb, workdir, rate)
        while delivered() == 0:
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {proc.returncode}; see {workdir / 'bot.log'}")
            await asyncio.sleep(0.02)
        kill_after = rng.uniform(0, 0.9 * (len(load) - rate) / rate)
        await asyncio.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        before = delivered()

        proc = await start_bot(sb, workdir, rate)
        try:
            await drained(database, proc, timeout=3 * len(load) / rate + 60)
        finally:
            await stop(proc)

        seen = Counter(m.text for chat in chats for m in sb.chat(chat).messages)
        states = outbox_states(database)
        owed = [text for chat, text in load if chat not in strangers]
        return {"seed": seed, "kill_after": kill_after, "before": before, "sent": states.get("sent", 0),
                "undeliverable": states.get("undeliverable", 0), "rows": sum(states.values()),
                "parked": states.get("parked", 0),
                "lost": sum(1 for text in owed if not seen[text]),
                "duplicates": sum(n - 1 for n in seen.values() if n > 1),
                "to_strangers": sum(len(sb.chat(chat).messages) for chat in strangers),
                "flood": sb.count(status=429)}


def _compare(args) -> int:
    load = broadcast(list(range(100_000, 100_000 + args.recipients)), args.messages // args.recipients)
    delays = [int(ms) for ms in args.delays.split(",")]
    print(f"broadcast: {len(load)} messages to {args.recipients} recipients, sandbox limits enforced "
          f"({TELEGRAM_RATE}/s overall, 1/s per chat with bursts of 3, 20/min per group), each send answered "
          f"after {', '.join(map(str, delays))} ms; SEND_CONCURRENCY={IN_FLIGHT} (the default)")
    print(f"{'delay':>6} {'':38} {'time':>9} {'rate':>9} {'of limit':>9} {'of 30/s':>8} {'429s':>5} {'lost':>5} "
          f"{'twice':>5} {'CPU':>7}", flush=True)
    failed = False
    for ms in delays:
        mine = asyncio.run(ours(load, args.recipients, args.rate, ms / 1000))
        theirs = asyncio.run(naive(load, args.recipients, ms / 1000))
        for label, limit, r in ((f"Qinqing Bridge outbox (SEND_RATE={args.rate:g})", args.rate, mine),
                                ("PTB AIORateLimiter() + gather (30/s)", TELEGRAM_RATE, theirs)):
            print(f"{ms:4d}ms {label:38} {r.seconds:8.1f}s {r.rate:7.2f}/s {r.rate / limit:9.3f} "
                  f"{r.rate / TELEGRAM_RATE:8.3f} {r.flood:5d} {r.lost:5d} {r.duplicates:5d} {r.cpu:6.1f}s", flush=True)
        failed |= bool(mine.flood or mine.lost or mine.duplicates or mine.rate < 0.9 * args.rate)
    print("target for ours: >= 0.9 of the configured rate at every delay, zero 429s, zero lost")
    return 1 if failed else 0


def _kills(args) -> int:
    print(f"SIGKILL during a broadcast of {args.kill_messages} messages to {args.kill_recipients} recipients "
          f"(1% never pressed Start), SEND_RATE={args.rate:g}, sandbox limits enforced, answers {args.kill_delay} ms "
          f"late")
    print(f"{'seed':>4} {'kill at':>8} {'before':>6} {'sent':>6} {'undeliv.':>8} {'lost':>5} {'twice':>5} "
          f"{'429s':>5}")
    failed = False
    for seed in range(args.kill_seeds):
        r = asyncio.run(kill_run(seed, args.kill_messages, args.kill_recipients, args.rate, args.kill_delay / 1000))
        print(f"{r['seed']:4d} {r['kill_after']:7.1f}s {r['before']:6d} {r['sent']:6d} {r['undeliverable']:8d} "
              f"{r['lost']:5d} {r['duplicates']:5d} {r['flood']:5d}", flush=True)
        failed |= bool(r["lost"] or r["parked"] or r["rows"] != args.kill_messages or r["duplicates"] > IN_FLIGHT
                       or r["to_strangers"])
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench broadcast", description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000, help="messages in the broadcast, at each delay")
    parser.add_argument("--recipients", type=int, default=500, help="distinct recipients")
    parser.add_argument("--delays", default="0,150,300", metavar="MS,...",
                        help="the sandbox answers each send this many milliseconds late (one run per delay)")
    parser.add_argument("--rate", type=float, default=25.0, help="the bot's SEND_RATE (messages a second)")
    parser.add_argument("--kill-seeds", type=int, default=0, metavar="N",
                        help="instead of the comparison: N runs, each with a SIGKILL mid-broadcast")
    parser.add_argument("--kill-messages", type=int, default=2_000, help="messages per killed run")
    parser.add_argument("--kill-recipients", type=int, default=500, help="recipients per killed run")
    parser.add_argument("--kill-delay", type=int, default=300, metavar="MS",
                        help="the sandbox answers each send this many milliseconds late in the killed runs")
    parser.add_argument("--naive-worker", metavar="LOAD.json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.naive_worker:
        asyncio.run(naive_worker(args.naive_worker))
        return 0
    started = time.monotonic()
    code = _kills(args) if args.kill_seeds else _compare(args)
    print(f"({time.monotonic() - started:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
