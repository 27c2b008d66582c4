"""Digest and report cost: 200 coaches × 50 clients × 20 FYI updates, and one coach's month.

Run: .venv/bin/python -m tests.bench.bench_digest [--coaches N] [--clients N] [--fyis N]
Seeds a SQLite file in a child process (so the parent's peak memory is the digests' own), then
builds and commits every coach's digest, then one coach's monthly report with its picture.
Aim: all digests in under 5 s with peak memory under 500 MB; the report in under 1 s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from bot.service.digest import build_digest, render_text
from bot.service.reports import build_report, render_report
from bot.store.db import make_engine, transaction
from bot.store.migrate import upgrade
from bot.store.models import Client, Coach, Identity, Message, Promise, TimeEntry
from bot.store.unit import UnitOfWork

NOW = datetime(2026, 11, 30, 18, tzinfo=UTC)
MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
DIGEST_SPAN = timedelta(hours=24)
POLICY = {"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00", "reply_within": "24h"}
TEXTS = ("Ran 5k before work", "Said no to an extra project!", "Slept eight hours", "A poem: …")


def seed(url: str, coaches: int, clients: int, fyis: int) -> None:
    """Coaches with clients, each client with `fyis` undigested updates from the last day."""
    engine = make_engine(url)
    rng = random.Random(7)
    with Session(engine) as session:
        for n in range(coaches):
            coach = Coach(key=f"c{n}", name=f"Coach {n}", policy=POLICY, created_at=MONTH_START)
            session.add(coach)
            session.flush()
            chat = str(100_000 + n)
            session.add(
                Identity(platform="telegram", user_id=chat, chat_id=chat, coach_id=coach.id)
            )
            rows = [
                Client(coach_id=coach.id or 0, name=f"Client {k}", mode="open_door")
                for k in range(clients)
            ]
            for row in rows:
                row.created_at = MONTH_START - timedelta(days=60)
            session.add_all(rows)
            session.flush()
            session.execute(insert(Message), _messages(coach.id or 0, rows, fyis, rng))
        session.commit()
        _month_extras(session, rng)
        session.commit()
    engine.dispose()


def _messages(coach_id: int, clients: list[Client], fyis: int, rng: random.Random) -> list[Any]:
    """Updates since yesterday's digest: what a daily digest holds."""
    span = DIGEST_SPAN.total_seconds()
    return [
        {
            "coach_id": coach_id,
            "client_id": client.id,
            "platform": "telegram",
            "text": rng.choice(TEXTS) + " " + "x" * rng.randint(0, 400),
            "truncated": False,
            "purged": False,
            "attachments": [],
            "kind": "fyi",
            "decision": "digest",
            "former_client": False,
            "received_at": NOW - timedelta(seconds=rng.uniform(0, span)),
        }
        for client in clients
        for _ in range(fyis)
    ]


def _month_extras(session: Session, rng: random.Random) -> None:
    """The first coach's month also has answered questions and logged time."""
    coach = session.exec(select(Coach).order_by(col(Coach.id))).first()
    assert coach is not None
    for client in session.exec(select(Client).where(Client.coach_id == coach.id)).all():
        for _ in range(5):
            at = MONTH_START + timedelta(hours=rng.uniform(0, 600))
            message = Message(
                coach_id=coach.id or 0,
                client_id=client.id or 0,
                platform="telegram",
                text="Can we talk about it?",
                kind="question",
                decision="forward",
                received_at=at,
            )
            session.add(message)
            session.flush()
            replied = at + timedelta(hours=rng.uniform(1, 40))
            session.add(
                Promise(
                    message_id=message.id or 0,
                    coach_id=coach.id or 0,
                    client_id=client.id or 0,
                    reply_by=at + timedelta(hours=24),
                    replied_at=replied,
                    on_time=replied <= at + timedelta(hours=24),
                )
            )
            session.add(
                TimeEntry(
                    coach_id=coach.id or 0,
                    client_id=client.id or 0,
                    minutes=20,
                    billable_minutes=30,
                    amount=str(Decimal("30.00")),
                    currency="GBP",
                    logged_at=replied,
                )
            )


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def bench_digests(url: str) -> tuple[float, int, int]:
    """Build, render and commit every coach's digest; seconds, digests and updates shown."""
    engine = make_engine(url)
    with Session(engine) as session:
        ids = list(session.exec(select(Coach.id).order_by(col(Coach.id))).all())
    shown = 0
    started = time.perf_counter()
    for coach_id in ids:
        with transaction(engine) as session:
            coach = session.get(Coach, coach_id)
            assert coach is not None
            digest = build_digest(UnitOfWork(session), coach, now=NOW)
            assert digest is not None
            render_text(digest)
            shown += sum(len(group.entries) for group in digest.updates)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, len(ids), shown


def bench_report(url: str) -> tuple[float, int]:
    """One coach's November report with its picture; seconds and the picture's bytes."""
    engine = make_engine(url)
    with Session(engine) as session:
        coach = session.exec(select(Coach).order_by(col(Coach.id))).first()
        assert coach is not None
        started = time.perf_counter()
        report = build_report(UnitOfWork(session), coach, month=MONTH_START.date(), now=NOW)
        render_report(report)
        seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, len(report.picture)


def main() -> None:
    """Seed, then time the digests and the report, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coaches", type=int, default=200)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fyis", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        child = multiprocessing.get_context("spawn").Process(
            target=seed, args=(url, args.coaches, args.clients, args.fyis)
        )
        child.start()
        child.join()
        before = peak_mb()
        seconds, digests, shown = bench_digests(url)
        print(
            f"digests: {digests} coaches, {shown} updates shown, {seconds:.2f} s "
            f"({1000 * seconds / max(digests, 1):.1f} ms each), peak RSS {peak_mb():.0f} MB "
            f"(before {before:.0f} MB)"
        )
        seconds, picture = bench_report(url)
        print(
            f"report: {args.clients} clients, one month, {seconds:.3f} s, picture {picture} bytes, "
            f"peak RSS {peak_mb():.0f} MB"
        )


if __name__ == "__main__":
    main()
