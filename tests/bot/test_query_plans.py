"""Flat in history: the digest, reminder, relay, brief, retention and pipeline queries read an
index, never every stored message, promise or outbox row.

Each check runs the real service code, records every statement it sends, and asks the database
how it would run each one (`EXPLAIN QUERY PLAN` on SQLite; `EXPLAIN` on PostgreSQL with
sequential scans priced out, so only a missing index leaves one): a plan that scans one of the
tables that grow with history fails. On SQLite the same work is also counted in virtual-machine
steps before and after 2,000 messages of old history are added (digested updates, answered and
reminded questions, sent copies in the coach's chat, briefed and purged messages): an index that
narrows the rows only to "this coach" or "this chat" shows as steps that grow with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.delivery.outbox import enqueue
from bot.service import notices
from bot.service.client_flow import client_state
from bot.service.digest import build_digest
from bot.service.relay import forward_for
from bot.service.retention import has_expired, purge
from bot.store.models import Client, Coach, Message, Promise, Timer
from bot.store.policy import contract_for
from bot.store.unit import UnitOfWork, looking, unit_of_work
from rules.decide import Outcome

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
GROWING = ("message", "outbox", "promise")
SQLITE_SCAN = re.compile(rf"^SCAN ({'|'.join(GROWING)})\b")
PG_SCAN = re.compile(rf"Seq Scan on ({'|'.join(GROWING)})\b")


@pytest.fixture
def seeded(engine: Engine) -> tuple[int, int]:
    """A coach and a client with a little of everything: messages of each kind, promises, rows."""
    return seed(engine)


def seed(engine: Engine) -> tuple[int, int]:
    """The coach's and the client's ids, with one message of each decision, open and due."""
    with unit_of_work(engine) as uow:
        coach = Coach(key="melody", name="Melody", policy={"timezone": "Europe/London"})
        coach.created_at = NOW
        uow.add(coach)
        uow.flush()
        client = Client(coach_id=coach.id or 0, name="Alex", mode="open_door", created_at=NOW)
        client.next_session = NOW + timedelta(days=1)
        uow.add(client)
        uow.flush()
        for i, decision in enumerate(Outcome):
            message = Message(
                coach_id=coach.id or 0,
                client_id=client.id or 0,
                platform="telegram",
                text=f"message {i}",
                decision=decision,
                received_at=NOW - timedelta(hours=i + 1),
                delivered_at=NOW - timedelta(hours=i) if decision is Outcome.FORWARD else None,
            )
            uow.add(message)
            uow.flush()
            promise = Promise(
                message_id=message.id or 0,
                coach_id=coach.id or 0,
                client_id=client.id or 0,
                reply_by=NOW + timedelta(hours=1),
            )
            uow.add(promise)
            row = enqueue(
                uow,
                key=f"msg:{message.id}:fwd",
                platform="telegram",
                chat_id="100",
                text="copy",
                now=NOW,
                coach_id=coach.id,
                client_id=client.id,
                message_id=message.id,
            )
            row.platform_message_id = f"tg-{message.id}"
        return coach.id or 0, client.id or 0


@contextmanager
def selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT (and UPDATE) the engine sends inside the block, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def scans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """The plan lines of `statements` that read a growing table from end to end."""
    found = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            cursor.execute("SET enable_seqscan = off")
        for statement, params in statements:
            cursor.execute(("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + statement, params)
            for row in cursor.fetchall():
                line = str(row[0] if postgres else row[-1])
                if (PG_SCAN if postgres else SQLITE_SCAN).search(line.strip()):
                    found.append(f"{line.strip()}  <-  {statement.split()[0:6]}")
        raw.rollback()
    finally:
        raw.close()
    return found


HISTORY = 2_000
LONG_AGO = NOW - timedelta(days=400)


def add_history(engine: Engine, coach_id: int, client_id: int) -> None:
    """Old messages of every kind, done with: none of them should be read by the work."""
    done = {"digested_at": LONG_AGO, "briefed_at": LONG_AGO, "delivered_at": LONG_AGO}
    with unit_of_work(engine) as uow:
        for i in range(HISTORY):
            decision = list(Outcome)[i % len(Outcome)]
            message = Message(
                coach_id=coach_id,
                client_id=client_id,
                platform="telegram",
                text="",
                purged=True,  # retention has been at it
                decision=decision,
                received_at=LONG_AGO + timedelta(minutes=i),
                **done,
            )
            uow.add(message)
            uow.flush()
            uow.add(
                Promise(
                    message_id=message.id or 0,
                    coach_id=coach_id,
                    client_id=client_id,
                    reply_by=LONG_AGO,
                    replied_at=LONG_AGO,
                    reminded_at=LONG_AGO + timedelta(minutes=i),
                )
            )
            row = enqueue(
                uow,
                key=f"old:{i}",
                platform="telegram",
                chat_id="100",
                text="",
                now=LONG_AGO,
                coach_id=coach_id,
                client_id=client_id,
                message_id=message.id,
            )
            row.status, row.platform_message_id = "sent", f"old-{i}"


@contextmanager
def counting_steps(engine: Engine) -> Iterator[list[int]]:
    """SQLite's virtual-machine steps spent by what runs inside the block."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    def on_checkout(dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_progress_handler(tick, 1)

    event.listen(engine, "checkout", on_checkout)
    try:
        yield steps
    finally:
        event.remove(engine, "checkout", on_checkout)
        engine.dispose()  # no connection keeps the handler


def steps_of(engine: Engine, work: Callable[[UnitOfWork], object]) -> int:
    with counting_steps(engine) as steps, looking(engine) as uow:
        work(uow)
    return steps[0]


def check(engine: Engine, work: Callable[[UnitOfWork], object], seeded: tuple[int, int]) -> None:
    with selects(engine) as seen, looking(engine) as uow:
        work(uow)
    assert seen, "the work ran no query at all"
    assert scans(engine, seen) == []
    if engine.dialect.name == "sqlite":
        before = steps_of(engine, work)
        add_history(engine, *seeded)
        after = steps_of(engine, work)
        assert after < before * 1.5 + 500, f"{before} steps, {after} with {HISTORY} old messages"


def test_the_digest_reads_indexes_only(engine: Engine, seeded: tuple[int, int]) -> None:
    coach_id, _ = seeded

    def digest(uow: UnitOfWork) -> None:
        coach = uow.coaches.get(coach_id)
        assert coach is not None
        build_digest(uow, coach, now=NOW)

    check(engine, digest, seeded)


def test_a_reminder_reads_indexes_only(engine: Engine, seeded: tuple[int, int]) -> None:
    _, client_id = seeded
    with unit_of_work(engine) as uow:
        [promise, *_] = uow.promises.open_of_client(client_id, message_ids=None)
        timer = Timer(key="reminder:x", kind="reminder", due_at=NOW, ref_id=promise.id)
        uow.add(timer)

    def remind(uow: UnitOfWork) -> None:
        found = uow.timers.take(timer.id or 0, NOW) or timer
        notices.reminder(uow, found, now=NOW - timedelta(minutes=30))

    check(engine, remind, seeded)


def test_a_coach_reply_finds_its_client_and_batch_through_indexes(
    engine: Engine, seeded: tuple[int, int]
) -> None:
    coach_id, _ = seeded
    with unit_of_work(engine) as uow:
        forwarded = uow.messages.of_client(seeded[1], decision=Outcome.FORWARD)[0]

    def reply(uow: UnitOfWork) -> None:
        found = forward_for(
            uow,
            coach_id=coach_id,
            platform="telegram",
            chat_id="100",
            platform_message_id=f"tg-{forwarded.id}",
        )
        assert found is not None
        uow.promises.open_of_client(seeded[1], delivered_by=NOW)

    check(engine, reply, seeded)


def test_retention_reads_indexes_only(engine: Engine, seeded: tuple[int, int]) -> None:
    def retention(uow: UnitOfWork) -> None:
        has_expired(uow, NOW, days=365)
        purge(uow, NOW, days=365)

    check(engine, retention, seeded)


def test_a_brief_and_the_pipeline_read_indexes_only(
    engine: Engine, seeded: tuple[int, int]
) -> None:
    _, client_id = seeded

    def pipeline(uow: UnitOfWork) -> None:
        client = uow.clients.get(client_id)
        assert client is not None
        client_state(uow, contract_for(uow, client), client=client, now=NOW)
        uow.messages.of_client(client_id, after=NOW - timedelta(days=7), until=NOW)
        uow.outbox.latest_for_client(
            client_id, keys=["msg:%:fwd"], since=NOW - timedelta(minutes=1), until=NOW
        )
        uow.outbox.open_prompt(client_id, since=NOW - timedelta(minutes=1), until=NOW, excluding=0)
        uow.outbox.copy_of(1, platform="telegram", chat_id="100")

    check(engine, pipeline, seeded)
