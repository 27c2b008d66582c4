"""Digest and report cost: 200 coaches × 50 clients × 20 FYI updates, and one coach's month.

Run: .venv/bin/python -m tests.bench.bench_digest [--quick] [--coaches N] [--clients N]
     [--fyis N] [--history N] [--rounds N]
Seeds a SQLite file in a child process (so the parent's peak memory is the digests' own) and
copies it; the copy gets `--history` messages that are done with (digested, answered, sent;
written raw by another child, see tests.bench.paired). Then, in alternating rounds (after one
that is not counted), every coach's digest is built, rendered and committed on the empty
database and on the one with history, and one coach's monthly report with its picture on each;
the digests are marked undigested again after each round. Aim: all digests in under 5 s with
peak memory under 500 MB; the report in under 1 s; history costs digests at most 20 %
(history/empty speed ≥0.8).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.service.digest import build_digest, render_text
from bot.service.reports import build_report, render_report
from bot.store.db import make_engine, transaction
from bot.store.migrate import upgrade
from bot.store.models import Client, Coach, Identity, Message, Promise, TimeEntry
from bot.store.unit import UnitOfWork
from tests.bench.paired import Raw, add_history, alternate, figures, ratio_line

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


def bench_digests(engine: Engine) -> tuple[float, list[float], int]:
    """Build, render and commit every coach's digest; seconds, each coach's, updates shown."""
    with Session(engine) as session:
        ids = list(session.exec(select(Coach.id).order_by(col(Coach.id))).all())
    shown = 0
    each = []
    started = time.perf_counter()
    for coach_id in ids:
        began = time.perf_counter()
        with transaction(engine) as session:
            coach = session.get(Coach, coach_id)
            assert coach is not None
            digest = build_digest(UnitOfWork(session), coach, now=NOW)
            assert digest is not None
            render_text(digest)
            shown += sum(len(group.entries) for group in digest.updates)
        each.append(time.perf_counter() - began)
    return time.perf_counter() - started, each, shown


def undigest(raw: Raw) -> None:
    """Make what the digests just marked undigested again, for the next round."""
    raw.execute("UPDATE message SET digested_at = NULL WHERE digested_at = ?", (raw.value(NOW),))


def bench_report(engine: Engine) -> tuple[float, int]:
    """One coach's November report with its picture; seconds and the picture's bytes."""
    with Session(engine) as session:
        coach = session.exec(select(Coach).order_by(col(Coach.id))).first()
        assert coach is not None
        started = time.perf_counter()
        report = build_report(UnitOfWork(session), coach, month=MONTH_START.date(), now=NOW)
        render_report(report)
        seconds = time.perf_counter() - started
    return seconds, len(report.picture)


def _history(url: str, count: int) -> None:
    add_history(url, count, end=NOW - timedelta(days=2))


def in_child(target: Any, *args: Any) -> None:
    """Run `target(*args)` in a child process (its memory is not the parent's peak)."""
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    child.start()
    child.join()
    assert child.exitcode == 0, f"{target.__name__} failed"


def main() -> None:
    """Seed, add history to a copy, time digests and report side by side, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a few seconds")
    parser.add_argument("--coaches", type=int)
    parser.add_argument("--clients", type=int)
    parser.add_argument("--fyis", type=int)
    parser.add_argument("--history", type=int, help="stored messages of history (1,000,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds counted (at least 5)")
    args = parser.parse_args()
    quick = args.quick
    coaches = args.coaches or (20 if quick else 200)
    clients = args.clients or (10 if quick else 50)
    fyis = args.fyis or (5 if quick else 20)
    history = args.history if args.history is not None else 20_000 if quick else 1_000_000
    rounds = max(args.rounds, 5)
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty.db", Path(tmp) / "history.db"
        upgrade(f"sqlite:///{empty}")
        in_child(seed, f"sqlite:///{empty}", coaches, clients, fyis)
        source, target = sqlite3.connect(empty), sqlite3.connect(full)
        source.backup(target)
        source.close()
        target.close()
        started = time.perf_counter()
        in_child(_history, f"sqlite:///{full}", history)
        print(
            f"{coaches} coaches × {clients} clients × {fyis} updates; history: {history:,} "
            f"messages done with, written in {time.perf_counter() - started:.1f} s; "
            f"{rounds} rounds"
        )
        before = peak_mb()
        urls = {"empty": f"sqlite:///{empty}", "history": f"sqlite:///{full}"}
        engines = {name: make_engine(url) for name, url in urls.items()}
        raws = {name: Raw(url) for name, url in urls.items()}
        shown: dict[str, int] = {}
        each: dict[str, list[float]] = {"empty": [], "history": []}
        pictures: dict[str, int] = {}

        def digests(name: str) -> float:
            seconds, times, shown[name] = bench_digests(engines[name])
            each[name] = times
            undigest(raws[name])
            return seconds

        def report(name: str) -> float:
            seconds, pictures[name] = bench_report(engines[name])
            return seconds

        steps = [
            ("empty", lambda: digests("empty")),
            ("history", lambda: digests("history")),
            ("report empty", lambda: report("empty")),
            ("report history", lambda: report("history")),
        ]
        alternate(steps, 1)  # warm-up, not counted
        got = alternate(steps, rounds)
        for name in ("empty", "history"):
            label = "empty history" if name == "empty" else f"{history:,} messages of history"
            per_coach = [1000 * s / coaches for s in got[name]]
            print(f"digests, {label}: {coaches} coaches, {shown[name]} updates shown")
            print(f"  all coaches: {figures(got[name], '.2f')} s")
            slowest = 1000 * max(each[name])
            print(
                f"  per coach: {figures(per_coach, '.1f')} ms (last round's slowest {slowest:.1f})"
            )
        print(ratio_line("history/empty digest speed", got["empty"], got["history"], "≥0.8"))
        print(f"  peak RSS {peak_mb():.0f} MB (before {before:.0f} MB)")
        for name in ("empty", "history"):
            print(
                f"report, {name}: {clients} clients, one month, "
                f"{figures(got['report ' + name], '.3f')} s, picture {pictures[name]} bytes"
            )
        top, bottom = got["report empty"], got["report history"]
        print(ratio_line("history/empty report speed", top, bottom, "≥0.8"))
        print(f"  peak RSS {peak_mb():.0f} MB")
        for engine in engines.values():
            engine.dispose()
        for raw in raws.values():
            raw.close()


if __name__ == "__main__":
    main()
