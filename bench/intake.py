"""Intake throughput through the full stack over loopback HTTP:
sandbox → polling loop → inbox (SQLite, synchronous=FULL) → handler → reply,
against a bare python-telegram-bot echo bot on the same sandbox in the same run."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sandbox import Sandbox

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


async def _run_one(sb: Sandbox, people: list, args: list[str], count: int, rounds: int) -> tuple[float, float, Path]:
    """Median rate of `rounds` rounds, and the bot's CPU milliseconds per update over them."""
    workdir = Path(tempfile.mkdtemp(prefix="qinqing-bench-"))
    proc = await _spawn(sb, args, workdir)
    try:
        await _measure(sb, people, min(200, count), 0)  # warm-up: imports, connections, caches
        cpu_before = _cpu_seconds(proc.pid)
        rates = [await _measure(sb, people, count, r + 1) for r in range(rounds)]
        cpu_ms = (_cpu_seconds(proc.pid) - cpu_before) * 1000 / (count * rounds)
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
    return statistics.median(rates), cpu_ms, workdir


async def run(count: int, users: int, rounds: int) -> dict:
    async with Sandbox(token=TOKEN, enforce_limits=False) as sb:
        people = [sb.user(50_000 + i, f"U{i}") for i in range(users)]
        for person in people:
            person.started = True
        echo, echo_cpu, _ = await _run_one(sb, people, ["-m", "bench.echo_bot"], count, rounds)
        ours, ours_cpu, workdir = await _run_one(sb, people, ["-m", "bot", "run"], count, rounds)
    with sqlite3.connect(workdir / "bench.sqlite3") as db:
        stored = db.execute("SELECT COUNT(*) FROM inbox WHERE state = 'done'").fetchone()[0]
    expected = min(200, count) + rounds * count
    return {"echo": echo, "ours": ours, "ratio": ours / echo, "stored": stored, "expected": expected,
            "echo_cpu": echo_cpu, "ours_cpu": ours_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench intake", description=__doc__)
    parser.add_argument("--updates", type=int, default=2000, help="updates per round")
    parser.add_argument("--users", type=int, default=200, help="distinct simulated users")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per bot; the median is reported")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.updates, args.users, args.rounds))
    print(f"updates per round: {args.updates} from {args.users} users, median of {args.rounds} rounds")
    print(f"bare python-telegram-bot echo bot : {result['echo']:8.1f} updates/s, {result['echo_cpu']:.2f} ms CPU each")
    print(f"Qinqing Bridge (durable intake)   : {result['ours']:8.1f} updates/s, {result['ours_cpu']:.2f} ms CPU each")
    print(f"ratio                              : {result['ratio']:8.2f}  (target >= 0.5)")
    print(f"stored durably and marked done     : {result['stored']} of {result['expected']}")
    return 0 if result["stored"] == result["expected"] else 1
