"""Latency under a backlog: with --backlog bulk messages queued in the outbox, the real bot (`python -m bot run`)
against the sandbox with Telegram's flood limits enforced (and, optionally, every send answered --answer-delay
ms late). During a bounded window (--seconds per design) a mother in relay mode sends a text every --every
seconds, which the bot relays to her child's proxy parent, and another person sends /help every --every seconds
(offset by half). Measured: for each relay, from the moment the mother sends it to the moment the copy reaches
the proxy parent's chat; for each /help, from the moment it is sent to the moment the first answer reaches the
sender's chat (both as the sandbox sees them). A probe still undelivered when the window ends (plus --grace
seconds) counts as longer than that. Two designs in the same run, on fresh databases: "lanes" (the code as it
is: the backlog in the bulk lane, 3) and "FIFO" (the same backlog written in the interactive lane, 1, so relays
and answers queue behind it, as in the old first-come-first-served order)."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.broadcast import TOKEN, outbox_states, people, start_bot, stop
from bot.clock import SystemClock, stamp
from bot.notices import BULK, INTERACTIVE
from bot.services import open_services
from bot.settings import Settings
from sandbox import Sandbox
from storage.outbox import Outgoing
from storage.preferences import PreferencesRepository, QuietHours
from tests.world import seed_family

MOTHER, PROXY_PARENT, GRANDMOTHER, ASKER = 5001, 5002, 5003, 5010
FIRST_BULK = 300_000
DESIGNS = {"lanes": BULK, "FIFO": INTERACTIVE}
SEND_RATE = Settings(token=TOKEN).send_rate  # the bot's default


@dataclass
class Probes:
    relays: list[float] = field(default_factory=list)  # seconds; math.inf: not delivered in time
    commands: list[float] = field(default_factory=list)
    bulk_sent: int = 0
    flood: int = 0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (inf stays inf: a probe that never arrived is slower than any that did)."""
    ranked = sorted(values)
    return ranked[max(0, math.ceil(p / 100 * len(ranked)) - 1)] if ranked else math.nan


def shown(seconds: float, bound: float) -> str:
    return f"> {bound:.0f} s" if math.isinf(seconds) else f"{seconds:.2f} s"


async def fill_backlog(database: Path, recipients: list[int], count: int, lane: int) -> None:
    """`count` bulk texts, spread over the recipients in turn, in `lane`; the recipients' quiet hours off so
    the run does not depend on the hour (as seed_family does for the family)."""
    services = await open_services(Settings(token=TOKEN, database_path=str(database)), SystemClock())
    try:
        now = stamp(SystemClock().now())
        items = [Outgoing(f"bulk:{n}", "telegram", str(recipients[n % len(recipients)]), "text",
                          {"text": f"bulk notice {n}"}, lane=lane) for n in range(count)]
        async with services.db.transaction() as conn:
            preferences = PreferencesRepository(services.db).within(conn)
            for chat in recipients:
                await preferences.set_quiet_hours(QuietHours(chat, None, None, True, None, now))
            await services.outbox.add(conn, items)
    finally:
        await services.db.close()


async def probe(send, arrived, deadline: float) -> float:
    sent = time.monotonic()
    await send()
    try:
        await arrived(max(0.1, deadline - sent))
    except TimeoutError:
        return math.inf
    return time.monotonic() - sent


async def run_design(name: str, lane: int, args) -> Probes:
    workdir = Path(tempfile.mkdtemp(prefix=f"qinqing-latency-{name.lower()}-"))
    database = workdir / "bench.sqlite3"
    async with Sandbox(token=TOKEN, enforce_limits=True, answer_delay=args.answer_delay / 1000) as sb:
        await seed_family(str(database), mother=MOTHER, proxy=PROXY_PARENT, grandmother=GRANDMOTHER)
        mother = sb.user(MOTHER, "李妈妈", language_code="zh-hans")
        proxy = sb.user(PROXY_PARENT, "赵阿姨", language_code="zh-hans")
        proxy.started = True
        asker = sb.user(ASKER, "陈老师", language_code="zh-hans")
        recipients = people(sb, FIRST_BULK, args.recipients)
        proc = await start_bot(sb, workdir, SEND_RATE)
        try:
            # Before the backlog: relay mode on, and one /help each way, so start-up is not measured.
            await mother.send_command("relay")
            await mother.wait_message(timeout=30)
            await asker.send_command("help")
            await asker.wait_message(timeout=30)
            mother.clear()
            await fill_backlog(database, recipients, args.backlog, lane)
            flood_before = sb.count(status=429)
            bulk_before = sum(len(sb.chat(c).messages) for c in recipients)

            start = time.monotonic()
            end = start + args.seconds
            deadline = end + args.grace
            relays: list[asyncio.Task] = []
            commands: list[asyncio.Task] = []
            n = 0
            while time.monotonic() < end:
                if proc.returncode is not None:
                    raise RuntimeError(f"the bot exited with {proc.returncode}; see {workdir / 'bot.log'}")
                text = f"小明今天怎么样？#{n}"
                relays.append(asyncio.create_task(probe(
                    lambda text=text: mother.send_text(text),
                    lambda t, text=text: proxy.wait_message(timeout=t, predicate=lambda m: text in (m.text or "")),
                    deadline)))
                await asyncio.sleep(args.every / 2)
                commands.append(asyncio.create_task(probe(
                    lambda: asker.send_command("help"), lambda t: asker.wait_message(timeout=t), deadline)))
                await asyncio.sleep(args.every / 2)
                n += 1
            result = Probes(list(await asyncio.gather(*relays)), list(await asyncio.gather(*commands)))
            result.bulk_sent = sum(len(sb.chat(c).messages) for c in recipients) - bulk_before
            result.flood = sb.count(status=429) - flood_before
            states = outbox_states(database)
            print(f"  {name}: outbox after the window: {states}", file=sys.stderr)
        finally:
            await stop(proc)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--backlog", type=int, default=10_000, help="bulk messages queued before the window")
    parser.add_argument("--recipients", type=int, default=2_000, help="distinct recipients of the backlog")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the measured window, per design")
    parser.add_argument("--every", type=float, default=3.0,
                        help="seconds between two relays (and between two /help, half a period later)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds after the window for the last probes to arrive")
    parser.add_argument("--answer-delay", type=int, default=0, metavar="MS",
                        help="the sandbox answers each send this many milliseconds late")
    parser.add_argument("--designs", default="lanes,FIFO", help="which designs to run, comma-separated")
    args = parser.parse_args(argv)
    names = args.designs.split(",")
    if unknown := [n for n in names if n not in DESIGNS]:
        parser.error(f"unknown design(s) {unknown}; choose from {list(DESIGNS)}")
    started = time.monotonic()
    print(f"latency: {args.backlog} bulk messages to {args.recipients} recipients queued in the outbox; for "
          f"{args.seconds:g} s a mother relays a text every {args.every:g} s and another person sends /help every "
          f"{args.every:g} s; sandbox limits enforced (30/s overall, 1/s per chat), sends answered after "
          f"{args.answer_delay} ms; SEND_RATE={SEND_RATE:g} (the default)")
    print("measured: relay = mother sends -> the copy reaches the proxy parent's chat; command = /help sent -> "
          "its first answer reaches the sender's chat; undelivered by the window's end + "
          f"{args.grace:g} s counts as longer")
    print(f"{'design':8} {'what':8} {'n':>4} {'p50':>9} {'p95':>9} {'p99':>9} {'max':>9} {'late':>5} "
          f"{'bulk sent':>9} {'429s':>5}", flush=True)
    failed = False
    bound = args.seconds + args.grace
    for name in names:
        r = asyncio.run(run_design(name, DESIGNS[name], args))
        for what, values in (("relay", r.relays), ("/help", r.commands)):
            late = sum(1 for v in values if math.isinf(v))
            print(f"{name:8} {what:8} {len(values):4d} {shown(percentile(values, 50), bound):>9} "
                  f"{shown(percentile(values, 95), bound):>9} {shown(percentile(values, 99), bound):>9} "
                  f"{shown(max(values), bound):>9} {late:5d} {r.bulk_sent:9d} {r.flood:5d}", flush=True)
            if name == "lanes":
                failed |= not percentile(values, 95) <= 2.0
        failed |= bool(name == "lanes" and r.flood)
    print("target: lanes p95 <= 2 s for relays and for /help, zero 429s")
    print(f"({time.monotonic() - started:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
