"""Pipeline throughput: inbound -> decision -> committed message, promise and outbox rows.

Run: .venv/bin/python -m tests.bench.bench_pipeline [--messages N] [--postgres URL]
PostgreSQL runs use BOUNDARYBOT_BENCH_DATABASE_URL (or --postgres); the database is emptied.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, func, select

from bot.app import build_commands
from bot.clock import ManualClock
from bot.messages import Inbound
from bot.service.dispatch import Dispatcher
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Outbox
from tests.bot.factories import seed_practice

CLIENTS = 200
TEXTS = [
    "Quick update: I went for a run before work.",
    "/fyi I finally said no to an extra project!",
    "/ask Could we talk about my promotion plan on Thursday?",
    "/goals My goals for December: sleep by 23:00, write weekly.",
    "/reschedule Can we move to Friday 10:00?",
    "Had a breakthrough in the team meeting today",
]


def seed(url: str) -> None:
    """A coach (Mon-Fri 09:00-17:00, London) with CLIENTS clients in mixed modes."""
    seed_practice(
        url,
        clients=CLIENTS,
        first_user_id=1000,
        policy={
            "timezone": "Europe/London",
            "hours": "mon-fri 09:00-17:00",
            "reply_within": "24h",
            "default_mode": "open_door",
        },
        modes=("open_door", "specific", "sessions_only"),
        coach_user_id="1",
        coach_chat=True,
        next_session=datetime(2026, 12, 3, 8, tzinfo=UTC),
    )


def inbound_stream(count: int, worker: int, seed_value: int = 7) -> list[Inbound]:
    """A seeded mix of client messages over a working week, in and out of hours."""
    rng = random.Random(seed_value + worker)
    start = datetime(2026, 11, 23, 6, tzinfo=UTC)
    messages = []
    for n in range(count):
        uid = str(1000 + rng.randrange(CLIENTS))
        when = start + timedelta(minutes=n * 7 * 24 * 60 // max(count, 1))
        messages.append(
            Inbound(
                platform="telegram",
                user_id=uid,
                chat_id=uid,
                text=rng.choice(TEXTS),
                event_id=f"w{worker}-{n}",
                received_at=when,
            )
        )
    return messages


def run_worker(url: str, count: int, worker: int, batch: int = 1) -> list[float]:
    """Handle `count` messages, `batch` per commit; return each message's latency in seconds.

    In a batch every message waits for the whole batch's commit, so that is its latency.
    """
    engine = make_engine(url)
    clock = ManualClock(datetime(2026, 11, 23, 6, tzinfo=UTC))
    dispatcher = Dispatcher(engine=engine, clock=clock, commands=build_commands())
    stream = inbound_stream(count, worker)
    latencies = []
    for start in range(0, len(stream), batch):
        group = stream[start : start + batch]
        clock.set(group[-1].received_at)
        started = time.perf_counter()
        if batch == 1:
            dispatcher.handle(group[0])
        else:
            dispatcher.handle_batch(group)
        latencies.extend([time.perf_counter() - started] * len(group))
    engine.dispose()
    return latencies


def _worker_entry(args: tuple[str, int, int, int]) -> list[float]:
    return run_worker(*args)


def report(label: str, url: str, count: int, workers: int, batch: int = 1) -> None:
    """Run `workers` processes of `count` messages each and print the figures."""
    started = time.perf_counter()
    if workers == 1:
        latencies = run_worker(url, count, 0, batch)
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_worker_entry, [(url, count, w, batch) for w in range(workers)])
        latencies = [x for part in parts for x in part]
    elapsed = time.perf_counter() - started
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(Outbox)).one()
    engine.dispose()
    q = statistics.quantiles(latencies, n=100)
    mode = "one commit a message" if batch == 1 else f"batches of {batch}, one commit each"
    print(
        f"{label}, {mode}: {len(latencies) / elapsed:,.0f} messages/s, {workers} worker(s); "
        f"p50 {q[49] * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms per message "
        f"({len(latencies)} messages, {rows} outbox rows committed)"
    )


def fresh_postgres(url: str) -> None:
    """Empty the PostgreSQL database and migrate it."""
    from tests.conftest import reset_postgres

    reset_postgres(url)
    upgrade(url)


def main() -> None:
    """Print pipeline throughput on SQLite and, when configured, PostgreSQL."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--postgres", default=os.environ.get("BOUNDARYBOT_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    for batch in (1, 20):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            seed(url)
            report("SQLite (file, WAL)", url, args.messages, 1, batch)
    if args.postgres:
        for workers, batch in ((1, 1), (2, 1), (1, 20), (2, 20)):
            fresh_postgres(args.postgres)
            seed(args.postgres)
            report("PostgreSQL", args.postgres, args.messages, workers, batch)
    else:
        print("PostgreSQL: skipped (set BOUNDARYBOT_BENCH_DATABASE_URL or --postgres)")


if __name__ == "__main__":
    main()
