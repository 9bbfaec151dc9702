"""A county's ledgers and statistics at scale (issue 16): a generated county of N children (default 30,000) in a
temporary database, 3 townships of 4 schools each, classes of 50, with records (most of them complete), parents
and consent, proxy parents (one for ten children) with care entries, video calls held and missed, absences and a
few dropout cases. Then, each in a fresh process of its own so that its peak memory is its own (getrusage's
ru_maxrss):

  ledger   the largest school's left-behind children's ledger (.xlsx, bot.ledgers.service), as its admin asks for it
  stats    the county's figures (bot.stats.service.compute), their chart (PNG) and their Excel table

Target: each under 10 s and 300 MB."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bot.access.consent import RULES_VERSION
from bot.clock import FixedClock, stamp

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 20, 4, 0, tzinfo=timezone.utc)  # a weekday in the spring term
TOWNSHIPS, SCHOOLS_PER_TOWNSHIP, CLASS_SIZE = 3, 4, 50
FIELDS = {"sex": "male", "birth_date": "2016-05-01", "ethnicity": "汉族", "hukou_place": "某县某镇",
          "schooling": "in_school", "guardianship_situation": "both_away", "guardianship": "fair",
          "guardianship_assessment": "fair", "father_name": "父亲", "mother_name": "母亲", "guardian_name": "祖母",
          "boarding": "no", "residence": "某村"}


def generate(path: str, children: int, seed: int = 16) -> dict:
    """The county, written with plain SQL into a migrated database."""
    rng = random.Random(seed)
    at = stamp(NOW - timedelta(days=200))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    schools = TOWNSHIPS * SCHOOLS_PER_TOWNSHIP
    per_school = children // schools
    with conn:
        person = 0

        def new_person(name: str) -> int:
            nonlocal person
            person += 1
            conn.execute("INSERT INTO people (id, display_name, created_at) VALUES (?, ?, ?)", (person, name, at))
            return person

        child_id = 0
        for t in range(TOWNSHIPS):
            conn.execute("INSERT INTO townships (id, name, created_at) VALUES (?, ?, ?)", (t + 1, f"镇{t + 1}", at))
            villages = [t * 10 + v + 1 for v in range(10)]
            for v in villages:
                conn.execute("INSERT INTO villages (id, township_id, name) VALUES (?, ?, ?)", (v, t + 1, f"村{v}"))
            for s in range(SCHOOLS_PER_TOWNSHIP):
                school = t * SCHOOLS_PER_TOWNSHIP + s + 1
                conn.execute("INSERT INTO schools (id, name, created_at, township_id) VALUES (?, ?, ?, ?)",
                             (school, f"第{school}小学", at, t + 1))
                admin = new_person(f"校长{school}")
                conn.execute("INSERT INTO roles (person_id, role, school_id, granted_at) VALUES (?, 'admin', ?, ?)",
                             (admin, school, at))
                proxy = None
                for n in range(per_school):
                    if n % CLASS_SIZE == 0:
                        conn.execute("INSERT INTO classes (school_id, name) VALUES (?, ?)",
                                     (school, f"{n // CLASS_SIZE + 1}班"))
                        class_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                    child_id += 1
                    c = child_id
                    conn.execute("INSERT INTO children (id, school_id, class_id, created_at, village_id) "
                                 "VALUES (?, ?, ?, ?, ?)", (c, school, class_id, at, rng.choice(villages)))
                    values = {"name": f"学生{c}", **(FIELDS if rng.random() < 0.8 else {})}
                    conn.executemany("INSERT INTO child_fields (child_id, field, value, updated_at) VALUES (?, ?, ?, ?)",
                                     [(c, k, v, at) for k, v in values.items()])
                    parent = new_person(f"家长{c}")
                    conn.execute("INSERT INTO roles (person_id, role, school_id, child_id, relation, granted_at) "
                                 "VALUES (?, 'parent', ?, ?, 'mother', ?)", (parent, school, c, at))
                    if rng.random() < 0.85:
                        conn.execute("INSERT INTO consents (child_id, person_id, decision, rules_version, decided_at) "
                                     "VALUES (?, ?, 'given', ?, ?)", (c, parent, RULES_VERSION, at))
                    if n % 10 == 0:
                        proxy = new_person(f"代理家长{c}")
                    conn.execute("INSERT INTO roles (person_id, role, school_id, child_id, granted_at) "
                                 "VALUES (?, 'proxy', ?, ?, ?)", (proxy, school, c, at))
                    for k in range(rng.randint(0, 6)):
                        day = NOW - timedelta(days=rng.randint(0, 80))
                        kind = rng.choice(("update", "talk", "summary", "score"))
                        conn.execute("INSERT INTO care_entries (child_id, author_id, author_role, kind, occurred_on, "
                                     "period, body, created_at) VALUES (?, ?, 'proxy', ?, ?, ?, '{}', ?)",
                                     (c, proxy, kind, day.date().isoformat(),
                                      day.strftime("%Y-%m") if kind == "summary" else None, stamp(day)))
                    for k in range(2):
                        starts = NOW - timedelta(days=rng.randint(1, 70), minutes=c % 600)
                        conn.execute("INSERT OR IGNORE INTO video_calls (child_id, starts_at, minutes, zone, outcome) "
                                     "VALUES (?, ?, 20, 'Asia/Shanghai', ?)",
                                     (c, stamp(starts), "done" if rng.random() < 0.8 else "missed"))
                    if rng.random() < 0.05:
                        conn.execute("INSERT INTO absences (child_id, class_id, day, reason, marked_at) VALUES "
                                     "(?, ?, ?, 'none', ?)", (c, class_id, (NOW - timedelta(days=3)).date().isoformat(),
                                                             at))
                    if rng.random() < 0.002:
                        conn.execute("INSERT INTO dropout_cases (child_id, school_id, township_id, first_absent_on, "
                                     "state, opened_at) VALUES (?, ?, ?, ?, 'suspected', ?)",
                                     (c, school, t + 1, (NOW - timedelta(days=5)).date().isoformat(), at))
    counts = {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
              for table in ("children", "child_fields", "roles", "care_entries", "video_calls")}
    conn.close()
    return counts


async def _migrate(path: str) -> None:
    from storage.db import Database

    db = await Database.open(path)
    await db.migrate()
    await db.close()


async def _measure(kind: str, path: str) -> dict:
    """One measurement, in this (fresh) process: open the services on the county and do `kind`."""
    from bot.access.people import Actor
    from bot.services import open_services
    from bot.settings import Settings
    from storage.people import Grant

    settings = Settings(token="5000000016:BENCH-county-not-a-real-token", database_path=path)
    services = await open_services(settings, FixedClock(NOW))
    try:
        if kind == "ledger":
            row = await services.db.fetch_one("SELECT school_id, COUNT(*) AS n FROM children GROUP BY school_id "
                                              "ORDER BY n DESC LIMIT 1")
            admin = await services.db.fetch_one("SELECT id, person_id FROM roles WHERE role = 'admin' "
                                                "AND school_id = ?", (row["school_id"],))
            actor = Actor(admin["person_id"], (Grant(admin["id"], admin["person_id"], "admin", row["school_id"]),))
            started = time.perf_counter()
            made = await services.ledgers.export(actor, "school", row["school_id"], "children", "zh_CN")
            elapsed = time.perf_counter() - started
            what = {"rows": made.rows, "bytes": len(made.data)}
        else:
            from bot.i18n import translator
            from bot.stats import charts, table

            _ = translator("zh_CN").gettext
            started = time.perf_counter()
            figures = await services.stats.compute("county", 0, "")
            png = charts.png(figures, _)
            xlsx = table.workbook(figures, _).bytes()
            elapsed = time.perf_counter() - started
            what = {"children": figures.row("records").count, "carers": len(figures.carers), "png": len(png),
                    "xlsx": len(xlsx)}
    finally:
        await services.db.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"kind": kind, "seconds": round(elapsed, 2), "peak_mib": round(peak, 1), **what}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench county", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=30_000)
    parser.add_argument("--measure", choices=("ledger", "stats"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(asyncio.run(_measure(args.measure, args.db))))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-county-") as tmp:
        path = str(Path(tmp) / "county.sqlite3")
        asyncio.run(_migrate(path))
        started = time.perf_counter()
        counts = generate(path, args.children)
        print(f"generated in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in
                                                                                 counts.items()))
        worst = 0
        for kind in ("ledger", "stats"):
            done = subprocess.run([sys.executable, "-m", "bench", "county", "--measure", kind, "--db", path],
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            ok = result["seconds"] < 10 and result["peak_mib"] < 300
            worst = max(worst, 0 if ok else 1)
            print(json.dumps(result, ensure_ascii=False), "OK" if ok else "OVER TARGET")
    return worst
