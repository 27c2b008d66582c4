"""Shared by the benchmarks that compare: alternating rounds, raw connections, stored history.

The machine the benchmarks run on is shared and noisy, so a figure is only ever compared with one
taken in the same run, in the same round: `alternate` runs each contender once a round, in
turn, and `ratio_line` prints the median of the per-round ratios next to each median.
History (messages, promises, outbox rows and events that are done with) is written raw in
chunks, not through the ORM: `executemany` on SQLite, COPY on PostgreSQL.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg.types.json import Json

from bot.store.db import _sqlite_pragmas
from bot.store.migrate import upgrade

HISTORY_TEXTS = (
    "Ran 5k before work",
    "Said no to an extra project!",
    "Could we talk about my promotion plan?",
    "My goals this month: sleep by 23:00, write weekly.",
    "Had a breakthrough in the team meeting today",
)
CHUNK = 20_000  # history messages written per transaction


def alternate(steps: Sequence[tuple[str, Callable[[], float]]], rounds: int) -> dict[str, list]:
    """Run every step once a round, in the order given, `rounds` times; each step's results.

    A step returns its figure for the round (a rate or a time); it resets what it changed.
    """
    results: dict[str, list[float]] = {name: [] for name, _ in steps}
    for _ in range(rounds):
        for name, step in steps:
            results[name].append(step())
    return results


def per_round(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    """`top / bottom` for each round."""
    return [a / b for a, b in zip(top, bottom, strict=True)]


def figures(values: Sequence[float], fmt: str = ",.0f") -> str:
    """`median M (rounds: a, b, c)` for a list of per-round figures."""
    rounds = ", ".join(format(v, fmt) for v in values)
    return f"median {format(statistics.median(values), fmt)} (rounds: {rounds})"


def ratio_line(label: str, top: Sequence[float], bottom: Sequence[float], aim: str) -> str:
    """The median of the per-round ratios `top / bottom`, with each round's and the aim."""
    ratios = per_round(top, bottom)
    rounds = ", ".join(f"{r:.3f}" for r in ratios)
    return f"  ratio {label}: {statistics.median(ratios):.3f} (rounds: {rounds}; aim {aim})"


class Raw:
    """A plain driver connection (sqlite3 or psycopg 3) in autocommit: BEGIN/COMMIT are ours.

    SQLite gets the bot's own PRAGMAs (`bot.store.db._sqlite_pragmas`), so a floor measured
    through it pays for the same journal, sync and secure-delete settings as the bot.
    """

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.conn: Any
        if self.sqlite:
            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            _sqlite_pragmas(self.conn, None)
            self.mark = "?"
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            self.conn.autocommit = True
            self.mark = "%s"

    def sql(self, sql: str) -> str:
        """A statement written with `?` placeholders, in this driver's style."""
        return sql if self.sqlite else sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run one statement (written with `?` placeholders); the cursor."""
        if params is None:
            return self.conn.execute(sql)
        return self.conn.execute(self.sql(sql), params)

    def bulk(self, insert: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows of one `INSERT INTO t (columns) VALUES (...)`: executemany on SQLite, COPY
        on PostgreSQL (psycopg's executemany manages some 20,000 rows/s, too slow for history).
        """
        if self.sqlite:
            self.conn.executemany(insert, rows)
            return
        target = insert.removeprefix("INSERT INTO ").split(" VALUES")[0]
        with self.conn.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row."""
        return self.execute(sql, params).fetchone()[0]

    def value(self, value: Any) -> Any:
        """A Python value as this driver stores it in the bot's columns (as SQLAlchemy would)."""
        if self.sqlite:
            if isinstance(value, datetime):
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(value, dict | list):
                return json.dumps(value)
            return value
        return Json(value) if isinstance(value, dict | list) else value

    def max_id(self, table: str) -> int:
        """The highest id in `table` (0 when empty)."""
        return int(self.scalar(f"SELECT coalesce(max(id), 0) FROM {table}"))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def postgres_schema(url: str, schema: str) -> str:
    """`url` with `schema` first on the search path, emptied and migrated: a database of its own.

    Only `schema` is touched, so the benchmark can keep two databases (empty and with history)
    side by side in the one database it is allowed to use.
    """
    raw = Raw(url)
    raw.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    raw.execute(f"CREATE SCHEMA {schema}")
    raw.close()
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    upgrade(scoped)
    return scoped


def drop_postgres_schema(url: str, schema: str) -> None:
    """Drop a schema `postgres_schema` made."""
    raw = Raw(url)
    raw.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    raw.close()


def _insert(table: str, columns: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


MESSAGE_SQL = _insert(
    "message",
    "id, coach_id, client_id, platform, text, truncated, purged, attachments, kind, decision,"
    " former_client, received_at, release_at, delivered_at, digested_at, briefed_at, session_at",
)
PROMISE_SQL = _insert(
    "promise", "id, message_id, coach_id, client_id, reply_by, replied_at, on_time, reminded_at"
)
OUTBOX_SQL = _insert(
    "outbox",
    "id, idempotency_key, platform, chat_id, text, payload, coach_id, client_id, message_id,"
    " status, attempts, next_attempt_at, claimed_until, last_error, created_at, sent_at,"
    " platform_message_id, reported_at",
)
TIMER_SQL = _insert(
    "timer", "id, key, kind, due_at, coach_id, client_id, ref_id, status, claimed_until, done_at"
)
EVENT_SQL = _insert("processedevent", "platform, event_id, at")


def add_history(url: str, count: int, *, end: datetime, days: int = 300) -> float:
    """Write `count` client messages that are done with, spread over the clients in `url`.

    Half are updates already digested, three in ten questions forwarded and answered (a
    promise replied on time or late, a reminder timer done, the coach's copy and the coach's
    relayed reply sent), two in ten parked and briefed; every one has its sent acknowledgement
    and its processed event. They fall in the `days` before `end`. Returns the seconds taken.
    """
    started = datetime.now(UTC)
    raw = Raw(url)
    clients = raw.execute(
        "SELECT client.id, client.coach_id, coalesce(identity.chat_id, 'none') FROM client"
        " LEFT JOIN identity ON identity.client_id = client.id ORDER BY client.id"
    ).fetchall()
    coach_chats = dict(
        raw.execute("SELECT coach_id, chat_id FROM identity WHERE coach_id IS NOT NULL").fetchall()
    )
    ids = {t: raw.max_id(t) for t in ("message", "promise", "outbox", "timer")}
    rng = random.Random(11)
    span = days * 86400
    v = raw.value
    empty, blank = v([]), v({})
    for first in range(0, count, CHUNK):
        messages, promises, outbox, timers, events = [], [], [], [], []
        for n in range(first, min(first + CHUNK, count)):
            client_id, coach_id, chat = clients[n % len(clients)]
            coach_chat = coach_chats.get(coach_id, "1")
            at = end - timedelta(seconds=span * (count - n) / count)
            later = at + timedelta(hours=rng.uniform(1, 30))
            ids["message"] += 1
            mid = ids["message"]
            draw = rng.random()
            kind, decision = "fyi", "digest"
            delivered = digested = briefed = session = None
            if draw < 0.5:
                digested = later
            elif draw < 0.8:
                kind, decision, delivered = "question", "forward", at
            else:
                kind, decision, briefed, session = "goals", "park", later, later
            text = rng.choice(HISTORY_TEXTS)
            messages.append(
                (mid, coach_id, client_id, "telegram", text, False, False, empty, kind,
                 decision, False, v(at), None, v(delivered), v(digested), v(briefed),
                 v(session))
            )  # fmt: skip
            events.append(("telegram", f"hist-{n}", v(at)))
            sends = [(f"msg:{mid}:ack:{decision}", chat, "Noted.", None)]
            if decision == "forward":
                ids["promise"] += 1
                reply_by = at + timedelta(hours=24)
                promises.append(
                    (ids["promise"], mid, coach_id, client_id, v(reply_by), v(later),
                     later <= reply_by, None)
                )  # fmt: skip
                ids["timer"] += 1
                timers.append(
                    (ids["timer"], f"reminder:{ids['promise']}", "reminder", v(reply_by),
                     coach_id, client_id, ids["promise"], "done", None, v(min(later, reply_by)))
                )  # fmt: skip
                sends.append((f"msg:{mid}:fwd", coach_chat, text, str(mid)))
                sends.append((f"hist:{mid}:relay", chat, "Thanks, see you Thursday.", None))
            for key, to, body, platform_id in sends:
                ids["outbox"] += 1
                outbox.append(
                    (ids["outbox"], key, "telegram", to, body, blank, coach_id, client_id, mid,
                     "sent", 1, v(at), None, None, v(at), v(at), platform_id, None)
                )  # fmt: skip
        raw.execute("BEGIN")
        raw.bulk(MESSAGE_SQL, messages)
        raw.bulk(PROMISE_SQL, promises)
        raw.bulk(OUTBOX_SQL, outbox)
        raw.bulk(TIMER_SQL, timers)
        raw.bulk(EVENT_SQL, events)
        raw.execute("COMMIT")
    if not raw.sqlite:  # ids were given: move the sequences past them; plan with fresh stats
        for table in ("message", "promise", "outbox", "timer"):
            if ids[table]:
                raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {ids[table]})")
        raw.execute("VACUUM ANALYZE message, promise, outbox, timer, processedevent")
    else:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    return (datetime.now(UTC) - started).total_seconds()
