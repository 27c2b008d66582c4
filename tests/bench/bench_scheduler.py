"""The scheduler's idle tick: CPU per `Scheduler.tick()` when nothing is due (not a test).

Run: .venv/bin/python -m tests.bench.bench_scheduler [--quick] [--sizes 10,50,200,1000]
     [--clients 50] [--ticks 5]

For each size, a fresh SQLite file (in a temp dir, migrated with `bot.store.migrate.upgrade`)
gets that many coaches × `--clients` clients in one transaction of raw inserts: each coach with
hours (London, Mon-Fri 09:00-17:00), an 18:00 digest and three closures (one in two days, its
notice already sent; two weeks and months away), each client with a session booked 2-14 days
ahead. A first tick plans every timer (a digest a coach, a brief a client); then `--ticks` more
run with the clock standing still, so nothing is due, and each is timed with
`time.process_time()` (this process's CPU, all threads). Printed: the median ms per tick and
its ratio to the first size's (÷10: to the 10-coach figure). `--quick`: 10 and 50 coaches.
Aim (the issue's): an idle tick under 10 ms whatever the count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bot.clock import ManualClock
from bot.service.schedule import Scheduler
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Client, Closure, Coach, Identity, Timer

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday, inside the coaches' hours
POLICY = {
    "timezone": "Europe/London",
    "hours": "mon-fri 09:00-17:00",
    "reply_within": "24h",
    "digest_time": "18:00",
}
SIZES = (10, 50, 200, 1000)
QUICK_SIZES = (10, 50)
AIM_MS = 10.0


def seed(url: str, *, coaches: int, clients: int) -> None:
    """`coaches` coaches with `clients` clients each, in one transaction of bulk inserts."""
    upgrade(url)
    engine = make_engine(url)
    today = NOW.date()
    coach_rows: list[dict[str, Any]] = []
    identity_rows: list[dict[str, Any]] = []
    closure_rows: list[dict[str, Any]] = []
    timer_rows: list[dict[str, Any]] = []
    client_rows: list[dict[str, Any]] = []
    for c in range(1, coaches + 1):
        coach_rows.append(
            {
                "id": c,
                "key": f"coach{c}",
                "name": f"Coach {c}",
                "telegram_user_id": str(100_000 + c),
                "policy": POLICY,
                "chat_set": [],
                "created_at": NOW - timedelta(days=90),
            }
        )
        chat = str(100_000 + c)
        identity_rows.append(
            {"platform": "telegram", "user_id": chat, "chat_id": chat, "coach_id": c}
        )
        spans = ((2, 4), (14 + c % 7, 18 + c % 7), (60, 67))  # days from today: first, last
        for k, (first, last) in enumerate(spans):
            closure_id = (c - 1) * len(spans) + k + 1
            closure_rows.append(
                {
                    "id": closure_id,
                    "coach_id": c,
                    "start": today + timedelta(days=first),
                    "end": today + timedelta(days=last),
                    "note": "away",
                }
            )
        # the closure within notice_days (3) was announced already: its timer is done
        timer_rows.append(
            {
                "key": f"notice:{(c - 1) * len(spans) + 1}",
                "kind": "notice",
                "due_at": NOW - timedelta(hours=1),
                "coach_id": c,
                "ref_id": (c - 1) * len(spans) + 1,
                "status": "done",
                "done_at": NOW - timedelta(hours=1),
            }
        )
        for n in range(clients):
            session = date.fromordinal(today.toordinal() + 2 + (c + n) % 13)
            client_rows.append(
                {
                    "coach_id": c,
                    "name": f"Client {c}-{n}",
                    "mode": "open_door",
                    "allowed": "goals,scheduling",
                    "overrides": {},
                    "next_session": datetime(
                        session.year, session.month, session.day, 9 + n % 8, tzinfo=UTC
                    ),
                    "created_at": NOW - timedelta(days=60),
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(Coach), coach_rows)
        connection.execute(insert(Identity), identity_rows)
        connection.execute(insert(Closure), closure_rows)
        connection.execute(insert(Timer), timer_rows)
        connection.execute(insert(Client), client_rows)
    engine.dispose()


def measure(folder: Path, *, coaches: int, clients: int, ticks: int) -> tuple[float, int, float]:
    """(median CPU ms per idle tick, pending timers, seconds the seeding took)."""
    url = f"sqlite:///{folder / f'sched{coaches}.db'}"
    started = time.perf_counter()
    seed(url, coaches=coaches, clients=clients)
    seeded = time.perf_counter() - started
    engine = make_engine(url)
    scheduler = Scheduler(engine, ManualClock(NOW))
    assert scheduler.tick() == 0, "nothing is due at NOW"  # plans every timer; retention
    with engine.connect() as connection:
        pending = connection.execute(
            select(func.count()).select_from(Timer).where(Timer.status == "pending")
        ).scalar_one()
    samples: list[float] = []
    for _ in range(ticks):
        before = time.process_time()
        ran = scheduler.tick()
        samples.append((time.process_time() - before) * 1000)
        assert ran == 0, "an idle tick runs nothing"
    engine.dispose()
    return statistics.median(samples), pending, seeded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 and 50 coaches only")
    parser.add_argument("--sizes", help="coach counts, comma-separated (default 10,50,200,1000)")
    parser.add_argument("--clients", type=int, default=50, help="clients per coach")
    parser.add_argument("--ticks", type=int, default=5, help="idle ticks timed per size")
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    print(
        f"Scheduler.tick() with nothing due; SQLite file; {args.clients} clients per coach "
        f"(each with a session ahead), 3 closures and a digest per coach; "
        f"median of {args.ticks} ticks; CPU = time.process_time()"
    )
    base = f"÷{sizes[0]}"  # the ratio to the first (smallest) size's figure
    print(f"{'coaches':>8} {'clients':>8} {'timers':>8} {'ms/tick':>9} {base:>8}  seeded")
    first: float | None = None
    with tempfile.TemporaryDirectory() as folder:
        for coaches in sizes:
            ms, pending, seeded = measure(
                Path(folder), coaches=coaches, clients=args.clients, ticks=args.ticks
            )
            first = first or ms
            print(
                f"{coaches:>8} {coaches * args.clients:>8} {pending:>8} {ms:>9.1f} "
                f"{ms / first:>8.2f}  {seeded:.1f} s",
                flush=True,
            )
    print(f"aim: an idle tick under {AIM_MS:.0f} ms whatever the count")


if __name__ == "__main__":
    main()
