"""Intake throughput through the full stack over loopback HTTP:
sandbox → polling loop → inbox (SQLite, synchronous=FULL) → handler → reply,
against a bare python-telegram-bot echo bot on the same sandbox in the same run.

The main case has every update from a different person, so the intake, not the per-chat pace, sets the rate.
A second case sends many updates per chat; it measures the per-chat pace (our replies keep to about one a
second per private chat, as Telegram requires; the echo bot's do not) and is reported on its own."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

from bot.safekeeping.crypto import parse_key
from sandbox import Sandbox
from storage.db import connect

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "5000000005:BENCH-sandbox-token-not-a-real-one"


async def _spawn(sb: Sandbox, args: list[str], workdir: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_BASE_URL": sb.base_url, "TELEGRAM_BASE_FILE_URL": sb.base_file_url,
           "DATABASE_PATH": str(workdir / "bench.sqlite3"), "POLL_TIMEOUT": "1", "LOG_LEVEL": "WARNING"}
    polls = sb.count("getUpdates")
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, cwd=workdir, env=env,
                                                stdout=asyncio.subprocess.DEVNULL)
    while sb.count("getUpdates") == polls:  # ready once it polls
        await asyncio.sleep(0.02)
    return proc


async def _measure(sb: Sandbox, people: list, count: int, round_no: int) -> float:
    """Push `count` text updates at once and time until every one has its reply."""
    for person in people:
        person.clear()
    before = sum(len(p.messages) for p in people)
    start = time.perf_counter()
    for n in range(count):
        person = people[n % len(people)]
        message = {"message_id": n + 1, "date": int(time.time()), "from": person.user, "chat": person.chat,
                   "text": f"round {round_no} message {n}"}
        sb.push_update({"message": message})
    while sum(len(p.messages) for p in people) - before < count:
        await asyncio.sleep(0.005)
    return count / (time.perf_counter() - start)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run_one(sb: Sandbox, distinct: list, chats: list, args: list[str], count: int,
                   rounds: int) -> tuple[dict, Path]:
    """Median rates of `rounds` rounds with every update from a different person and of `rounds` rounds with
    many updates per chat, and the bot's CPU milliseconds per update over the first."""
    workdir = Path(tempfile.mkdtemp(prefix="qinqing-bench-"))
    proc = await _spawn(sb, args, workdir)
    try:
        await _measure(sb, distinct, min(200, count), 0)  # warm-up: imports, connections, caches
        cpu_before = _cpu_seconds(proc.pid)
        rates = [await _measure(sb, distinct, count, r + 1) for r in range(rounds)]
        cpu_ms = (_cpu_seconds(proc.pid) - cpu_before) * 1000 / (count * rounds)
        per_chat = [await _measure(sb, chats, count, rounds + r + 1) for r in range(rounds)]
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    return {"rate": statistics.median(rates), "cpu": cpu_ms, "per_chat": statistics.median(per_chat)}, workdir


async def run(count: int, per_chat: int, rounds: int) -> dict:
    async with Sandbox(token=TOKEN, enforce_limits=False) as sb:
        distinct = [sb.user(50_000 + i, f"U{i}") for i in range(count)]
        chats = [sb.user(500_000 + i, f"C{i}") for i in range(max(1, count // per_chat))]
        for person in distinct + chats:
            person.started = True
        echo, _ = await _run_one(sb, distinct, chats, ["-m", "bench.echo_bot"], count, rounds)
        ours, workdir = await _run_one(sb, distinct, chats, ["-m", "bot", "run"], count, rounds)
    # DATA_KEY in the environment runs our bot on an encrypted database (SQLCipher): read it with the same key.
    key = parse_key(os.environ["DATA_KEY"]) if os.environ.get("DATA_KEY") else None
    with closing(connect(str(workdir / "bench.sqlite3"), key)) as db:
        stored = db.execute("SELECT COUNT(*) FROM inbox WHERE state = 'done'").fetchone()[0]
    expected = min(200, count) + 2 * rounds * count
    return {"echo": echo, "ours": ours, "ratio": ours["rate"] / echo["rate"], "stored": stored,
            "expected": expected, "chats": len(chats)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__)
    parser.add_argument("--updates", type=int, default=2000,
                        help="updates per round; in the main case each from a different person")
    parser.add_argument("--per-chat", type=int, default=10,
                        help="updates per chat in the second case (many updates per chat)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per bot and case; the median is reported")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.updates, args.per_chat, args.rounds))
    echo, ours = result["echo"], result["ours"]
    print(f"updates per round: {args.updates}, median of {args.rounds} rounds")
    print(f"each update from a different person ({args.updates} people):")
    print(f"  bare python-telegram-bot echo bot : {echo['rate']:8.1f} updates/s, {echo['cpu']:.2f} ms CPU each")
    print(f"  Qinqing Bridge (durable intake)   : {ours['rate']:8.1f} updates/s, {ours['cpu']:.2f} ms CPU each")
    print(f"  ratio                             : {result['ratio']:8.2f}  (target >= 0.5)")
    print(f"{args.per_chat} updates per chat ({result['chats']} chats): this measures the per-chat pace, not the "
          "intake: our replies keep Telegram's limit of about one message a second per private chat, the echo "
          "bot's do not")
    print(f"  bare python-telegram-bot echo bot : {echo['per_chat']:8.1f} updates/s")
    print(f"  Qinqing Bridge (durable intake)   : {ours['per_chat']:8.1f} updates/s")
    print(f"stored durably and marked done      : {result['stored']} of {result['expected']}")
    return 0 if result["stored"] == result["expected"] else 1
