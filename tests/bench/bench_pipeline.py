"""Pipeline throughput against a raw-driver floor, and at an empty database against history.

Run: .venv/bin/python -m tests.bench.bench_pipeline [--quick] [--messages N] [--rounds N]
     [--history N] [--postgres URL]
Every figure is a ratio of contenders measured side by side in alternating rounds of one run
(round i: the pipeline at an empty database, the raw floor, the pipeline with `--history`
stored messages, and on PostgreSQL two worker processes), after one round that is not counted.
The pipeline is `Dispatcher.handle` of a seeded stream of client messages, one commit each.
The floor writes the very rows the pipeline wrote for each message (captured from a run before
the rounds: its event, message, promise, outbox and timer rows and the client row it changed)
with plain sqlite3 or psycopg, one commit each. Each contender resets what it wrote.
SQLite uses files in a temporary folder (with the bot's PRAGMAs, raw connections included);
PostgreSQL (BOUNDARYBOT_BENCH_DATABASE_URL or --postgres) uses two schemas of that database,
`bench_pipeline_empty` and `bench_pipeline_history`, dropped and made anew, dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.pool
import os
import random
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bot.app import build_commands
from bot.clock import ManualClock
from bot.messages import Inbound
from bot.service.dispatch import Dispatcher
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from tests.bench.paired import (
    Raw,
    add_history,
    alternate,
    drop_postgres_schema,
    figures,
    postgres_schema,
    ratio_line,
)
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
START = datetime(2026, 11, 23, 6, tzinfo=UTC)  # a Monday, before the coach's hours
HISTORY_END = START - timedelta(days=7)  # history is done with before the stream's week
WITH_IDS = ("message", "promise", "outbox", "timer")  # in the order a message writes them
SCHEMAS = ("bench_pipeline_empty", "bench_pipeline_history")


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
    messages = []
    for n in range(count):
        uid = str(1000 + rng.randrange(CLIENTS))
        when = START + timedelta(minutes=n * 7 * 24 * 60 // max(count, 1))
        messages.append(
            Inbound(
                platform="telegram",
                user_id=uid,
                chat_id=uid,
                text=rng.choice(TEXTS),
                event_id=f"w{worker}-{n}",  # every event id of a round starts with "w"
                received_at=when,
            )
        )
    return messages


_DISPATCHERS: dict[str, tuple[Dispatcher, ManualClock]] = {}


def dispatcher_for(url: str) -> tuple[Dispatcher, ManualClock]:
    """This process's dispatcher on `url`, kept across rounds like the bot keeps its own."""
    if url not in _DISPATCHERS:
        clock = ManualClock(START)
        engine = make_engine(url)
        _DISPATCHERS[url] = Dispatcher(engine=engine, clock=clock, commands=build_commands()), clock
    return _DISPATCHERS[url]


def run_stream(url: str, count: int, worker: int) -> tuple[float, float, int]:
    """Handle worker `worker`'s stream, one commit a message; start, end and messages handled.

    The times are `time.perf_counter()`, one clock for every process on Linux.
    """
    dispatcher, clock = dispatcher_for(url)
    stream = inbound_stream(count, worker)
    started = time.perf_counter()
    for inbound in stream:
        clock.set(inbound.received_at)
        dispatcher.handle(inbound)
    return started, time.perf_counter(), len(stream)


@dataclass
class Database:
    """A seeded bench database and what it held before any round: rounds delete the rest."""

    url: str
    raw: Raw
    base: dict[str, int]

    @classmethod
    def of(cls, url: str) -> Database:
        """The database at `url` as it is now."""
        raw = Raw(url)
        return cls(url, raw, {table: raw.max_id(table) for table in WITH_IDS})

    def reset(self) -> None:
        """Delete what a round wrote: its rows, its events, the clients' out-of-office marks."""
        raw = self.raw
        raw.execute("BEGIN")
        for table in reversed(WITH_IDS):
            raw.execute(f"DELETE FROM {table} WHERE id > ?", (self.base[table],))
        raw.execute("DELETE FROM processedevent WHERE event_id LIKE 'w%'")
        raw.execute(
            "UPDATE client SET out_of_office_sent_for = NULL"
            " WHERE out_of_office_sent_for IS NOT NULL"
        )
        raw.execute("COMMIT")


Write = tuple[str, tuple[Any, ...]]  # a statement in the driver's style, its parameters


def capture(db: Database, count: int) -> list[list[Write]]:
    """Run the stream once and read back, message by message, the rows each one wrote.

    What comes back is the floor's work: the same rows, in the same order (event, message,
    promise, outbox, timer; then the client row the message changed), as plain inserts.
    """
    dispatcher, clock = dispatcher_for(db.url)
    raw = db.raw
    marks = dict(db.base)
    office = "SELECT id, out_of_office_sent_for FROM client"
    offices = dict(raw.execute(office).fetchall())
    groups = []
    for inbound in inbound_stream(count, 0):
        clock.set(inbound.received_at)
        dispatcher.handle(inbound)
        cursors = [
            raw.execute(
                "SELECT * FROM processedevent WHERE platform = ? AND event_id = ?",
                (inbound.platform, inbound.event_id),
            )
        ]
        for table in WITH_IDS:
            sql = f"SELECT * FROM {table} WHERE id > ? ORDER BY id"
            cursors.append(raw.execute(sql, (marks[table],)))
        writes: list[Write] = []
        for table, cursor in zip(("processedevent", *WITH_IDS), cursors, strict=True):
            names = [column[0] for column in cursor.description]
            sql = raw.sql(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            )
            for row in cursor.fetchall():
                writes.append((sql, tuple(raw.value(value) for value in row)))
                if table in marks:
                    marks[table] = max(marks[table], row[names.index("id")])
        now = dict(raw.execute(office).fetchall())
        update = raw.sql("UPDATE client SET out_of_office_sent_for = ? WHERE id = ?")
        writes += [(update, (now[c], c)) for c in now if now[c] != offices.get(c)]
        offices = now
        groups.append(writes)
    db.reset()
    return groups


def describe(groups: list[list[Write]]) -> str:
    """How many rows of each table the floor writes, per message."""
    counts = Counter(
        sql.split()[2 if sql.startswith("INSERT") else 1] for g in groups for sql, _ in g
    )
    tables = ("processedevent", *WITH_IDS, "client")
    shown = ", ".join(f"{counts[t] / len(groups):.2f} {t}" for t in tables)
    return f"rows written a message (inserts; client: updates): {shown}"


def floor(db: Database, groups: list[list[Write]]) -> float:
    """Write the captured rows with the plain driver, one commit a message; messages/s."""
    cursor = db.raw.conn.cursor()
    started = time.perf_counter()
    for writes in groups:
        cursor.execute("BEGIN")
        for sql, params in writes:
            cursor.execute(sql, params)
        cursor.execute("COMMIT")
    rate = len(groups) / (time.perf_counter() - started)
    cursor.close()
    db.reset()
    return rate


def pipeline(db: Database, count: int) -> float:
    """The pipeline on one stream in this process; messages/s."""
    started, ended, handled = run_stream(db.url, count, 0)
    db.reset()
    return handled / (ended - started)


def two_workers(db: Database, count: int, pool: multiprocessing.pool.Pool) -> float:
    """Two worker processes, a stream each, at once; messages/s of both together."""
    parts = pool.starmap(run_stream, [(db.url, count, worker) for worker in (0, 1)])
    started, ended = min(p[0] for p in parts), max(p[1] for p in parts)
    db.reset()
    return sum(p[2] for p in parts) / (ended - started)


def forward_statements(db: Database) -> str:
    """The SQL one forward runs: a client question inside the coach's hours, counted."""
    dispatcher, clock = dispatcher_for(db.url)
    clock.set(datetime(2026, 11, 23, 10, tzinfo=UTC))  # Monday 10:00 in London
    inbound = Inbound(
        platform="telegram",
        user_id="1000",  # the first client: open door
        chat_id="1000",
        text="/ask Could we talk about my promotion plan on Thursday?",
        event_id="w-forward",
        received_at=clock.now(),
    )
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(dispatcher.engine, "before_cursor_execute", note)
    try:
        handled = dispatcher.handle(inbound)
    finally:
        event.remove(dispatcher.engine, "before_cursor_execute", note)
    decision = db.raw.scalar("SELECT decision FROM message WHERE id = ?", (handled.message_id,))
    db.reset()
    lines = [f"  one forward ({decision}): {len(seen)} SQL statements (aim ≤5)"]
    lines += [f"    {n}. {_first_words(sql)}" for n, sql in enumerate(seen, 1)]
    return "\n".join(lines)


def _first_words(sql: str) -> str:
    words = sql.split()
    head = " ".join(words[:3])
    if words[0] == "SELECT" and "FROM" in words:
        head = f"SELECT … FROM {words[words.index('FROM') + 1]}"
    return head[:70]


def compare(
    label: str,
    empty: Database,
    history: Database,
    args: argparse.Namespace,
    pool: multiprocessing.pool.Pool | None = None,
) -> None:
    """Capture the floor's rows, then time the contenders in alternating rounds and print."""
    count = args.messages
    groups = capture(empty, count)
    print(f"{label}: {count} messages a contender a round, one commit a message")
    print(f"  {describe(groups)}")
    print(forward_statements(empty))
    steps: list[tuple[str, Callable[[], float]]] = [
        ("pipeline", lambda: pipeline(empty, count)),
        ("floor", lambda: floor(empty, groups)),
        ("history", lambda: pipeline(history, count)),
    ]
    if pool is not None:
        steps.append(("two", lambda: two_workers(empty, count, pool)))
    alternate(steps, 1)  # warm-up: caches, connections, pages; not counted
    got = alternate(steps, args.rounds)
    raw = "raw sqlite3" if empty.raw.sqlite else "raw psycopg"
    print(f"  pipeline, empty database:   {figures(got['pipeline'])} messages/s")
    print(f"  floor ({raw}):      {figures(got['floor'])} messages/s")
    aim = "≥0.3" if empty.raw.sqlite else "≥0.5"
    print(ratio_line("pipeline/floor", got["pipeline"], got["floor"], aim))
    print(f"  pipeline, {args.history:,} messages of history: {figures(got['history'])} messages/s")
    print(ratio_line("history/empty", got["history"], got["pipeline"], "≥0.8"))
    if pool is not None:
        print(f"  pipeline, two workers:      {figures(got['two'])} messages/s together")
        print(ratio_line("two workers/one", got["two"], got["pipeline"], "≥1.8"))


def copy_sqlite(source: Path, target: Path) -> str:
    """A copy of a SQLite database file (through the backup API); its URL."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def history_line(url: str, count: int) -> str:
    """Write the history and say how long it took."""
    seconds = add_history(url, count, end=HISTORY_END)
    what = "messages with their promises, outbox rows and events"
    return f"  history: {count:,} {what}, written in {seconds:.1f} s"


def sqlite_part(args: argparse.Namespace) -> None:
    """Pipeline, floor and history on SQLite files."""
    with tempfile.TemporaryDirectory() as folder:
        seeded = Path(folder) / "seeded.db"
        upgrade(f"sqlite:///{seeded}")
        seed(f"sqlite:///{seeded}")
        empty = copy_sqlite(seeded, Path(folder) / "empty.db")
        history = copy_sqlite(seeded, Path(folder) / "history.db")
        line = history_line(history, args.history)
        print("SQLite (file, WAL, the bot's PRAGMAs)")
        print(line)
        compare("SQLite", Database.of(empty), Database.of(history), args)
        for dispatcher, _ in _DISPATCHERS.values():
            dispatcher.engine.dispose()
        _DISPATCHERS.clear()


def postgres_part(args: argparse.Namespace) -> None:
    """Pipeline, floor, history and two workers on PostgreSQL."""
    url = args.postgres
    empty = postgres_schema(url, SCHEMAS[0])
    seed(empty)
    history = postgres_schema(url, SCHEMAS[1])
    seed(history)
    print("PostgreSQL")
    print(history_line(history, args.history))
    try:
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            compare("PostgreSQL", Database.of(empty), Database.of(history), args, pool)
    finally:
        for dispatcher, _ in _DISPATCHERS.values():
            dispatcher.engine.dispose()
        _DISPATCHERS.clear()
        for schema in SCHEMAS:
            drop_postgres_schema(url, schema)


def main() -> None:
    """Print the paired figures on SQLite and, when configured, PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a few seconds")
    parser.add_argument("--messages", type=int, help="messages a contender a round (1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds counted (at least 5)")
    parser.add_argument("--history", type=int, help="stored messages of history (1,000,000)")
    parser.add_argument("--postgres", default=os.environ.get("BOUNDARYBOT_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    args.messages = args.messages or (100 if args.quick else 1000)
    if args.history is None:
        args.history = 20_000 if args.quick else 1_000_000
    args.rounds = max(args.rounds, 5)
    sqlite_part(args)
    if args.postgres:
        postgres_part(args)
    else:
        print("PostgreSQL: skipped (set BOUNDARYBOT_BENCH_DATABASE_URL or --postgres)")


if __name__ == "__main__":
    main()
