"""Soak: a flood, random kill -9s and a database outage at once, against the real bot process.

Run: .venv/bin/python -m tests.bench.soak [--seconds 20] [--messages 600] [--database-url URL]

The bot (tests/bench/soak_child.py: production wiring and pacing) talks to the fake Bot API in
this process on 127.0.0.1. For `--seconds`, one client floods the bot with questions while the
others write now and then; halfway through, another client writes something that may signal a
crisis. Meanwhile the bot is killed with SIGKILL every few seconds and restarted, and once the
database is held locked for two seconds (an outage). Then the last bot runs until everything
is out, and the figures are printed:

- lost: client messages Telegram delivered that are not stored (must be 0);
- duplicated: client messages stored twice (must be 0), and replies sent twice — a kill between
  Telegram accepting a send and the outbox recording it sends that one again (at least once);
- urgent delay: from the crisis message reaching Telegram to its alert reaching the coach;
- how many answers the flooding client got, and messages the coach got (bundles of a minute).

It takes about a minute more than `--seconds`: the last bundle waits for the end of its minute.

Bounded in time and count, loopback only; a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, func, select

from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.models import Message, Outbox, ProcessedEvent
from tests.bot.factories import seed_practice
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
COACH_CHAT = 100
FIRST_CLIENT = 200
CLIENTS = 8
FLOODER = FIRST_CLIENT
IN_CRISIS = FIRST_CLIENT + 1
CRISIS = "I can't do this anymore, I want to end it all (soak)"
OUTAGE = 2.0
SETTLE = 120.0


class Watch:
    """The fake's hook: when each reply to the coach arrived (never drops a call)."""

    def __init__(self) -> None:
        self.urgent_at: float | None = None

    def __call__(self, method: str, params: dict[str, Any]) -> bool:
        if (
            self.urgent_at is None
            and method == "sendMessage"
            and str(params.get("chat_id")) == str(COACH_CHAT)
            and "(soak)" in str(params.get("text", ""))
        ):
            self.urgent_at = time.monotonic()
        return False


async def start_child(url: str, fake: FakeTelegram) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.soak_child",
        url,
        fake.base_url,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert child.stdout is not None
    await asyncio.wait_for(child.stdout.readline(), 60)
    return child


async def hold_database(url: str, seconds: float) -> None:
    """An outage: the database locked against writers for `seconds`."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        lock = sqlite3.connect(path, timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        await asyncio.sleep(seconds)
        lock.execute("ROLLBACK")
        lock.close()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.execute(text("LOCK TABLE message, outbox IN ACCESS EXCLUSIVE MODE"))
        await asyncio.sleep(seconds)
        connection.rollback()
    engine.dispose()


async def soak(url: str, seconds: float, messages: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    fake = await FakeTelegram(max_batch=100).start()
    watch = Watch()
    fake.before = watch
    fake.chat(COACH_CHAT)
    children: list[asyncio.subprocess.Process] = []
    kills = 0
    written: Counter[str] = Counter()
    crisis_written = 0.0
    try:
        children.append(await start_child(url, fake))
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_kill = started + rng.uniform(2, 5)
        outage_at = started + seconds * 0.7
        outage: asyncio.Task[None] | None = None
        for n in range(messages):
            # spread the messages over the run; most of them from the one who floods
            await asyncio.sleep(max(0.0, started + seconds * n / messages - loop.time()))
            if n == messages // 2:
                fake.write(IN_CRISIS, CRISIS)
                written[CRISIS] += 1
                crisis_written = time.monotonic()
            who = FLOODER if rng.random() < 0.8 else FIRST_CLIENT + 2 + rng.randrange(CLIENTS - 2)
            body = f"question {n} from {who}"
            fake.write(who, f"/ask {body}")
            written[body] += 1
            if loop.time() >= next_kill:
                children[-1].kill()
                await children[-1].wait()
                kills += 1
                children.append(await start_child(url, fake))
                next_kill = loop.time() + rng.uniform(2, 5)
            if outage is None and loop.time() >= outage_at:
                outage = asyncio.create_task(hold_database(url, OUTAGE))
        if outage is not None:
            await outage
        deadline = loop.time() + SETTLE
        while loop.time() < deadline and (fake.pending() or not _settled(url, len(written))):
            await asyncio.sleep(0.2)
        children[-1].send_signal(signal.SIGTERM)
        await asyncio.wait_for(children[-1].wait(), 30)
        await asyncio.sleep(0.2)
        return _figures(url, fake, written, kills, watch, crisis_written)
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
        await fake.stop()


def _settled(url: str, expected: int) -> bool:
    """Every update handled and no outbox row still waiting."""
    engine = make_engine(url)
    with Session(engine) as session:
        handled = session.exec(select(func.count()).select_from(ProcessedEvent)).one()
        waiting = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
        ).one()
    engine.dispose()
    return int(handled) >= expected and int(waiting) == 0 and _bundled(url) == 0


def _bundled(url: str) -> int:
    """Forwards still waiting in their client's bundle (sent at the end of its minute)."""
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.exec(
            select(func.count())
            .select_from(Message)
            .where(Message.decision == "forward", col(Message.delivered_at).is_(None))
        ).one()
    engine.dispose()
    return int(count)


def _figures(
    url: str,
    fake: FakeTelegram,
    written: Counter[str],
    kills: int,
    watch: Watch,
    crisis_written: float,
) -> dict[str, Any]:
    engine = make_engine(url)
    with Session(engine) as session:
        stored = Counter(m.text for m in session.exec(select(Message)).all())
        sent_rows = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "sent")
        ).one()
        failed_rows = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "failed")
        ).one()
    engine.dispose()
    replies = len(fake.called("sendMessage")) + len(fake.called("copyMessage"))
    urgent = None if watch.urgent_at is None else watch.urgent_at - crisis_written
    return {
        "written": sum(written.values()),
        "lost": sum(1 for body in written if stored[body] == 0),
        "stored twice": sum(1 for body in written if stored[body] > 1),
        "kills": kills,
        "replies sent": replies,
        "outbox rows sent": int(sent_rows),
        "replies sent twice": max(0, replies - int(sent_rows)),
        "outbox rows failed": int(failed_rows),
        "to the flooding client": len(fake.sent_to(FLOODER)),
        "to the coach": len(fake.sent_to(COACH_CHAT)),
        "forwards not delivered": _bundled(url),
        "urgent delay s": None if urgent is None else round(urgent, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    seconds = min(max(args.seconds, 5.0), 300.0)  # bounded
    messages = min(max(args.messages, 10), 5_000)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'soak.db'}"
        upgrade(url)
        seed_practice(url, clients=CLIENTS, first_user_id=FIRST_CLIENT)
        figures = asyncio.run(soak(url, seconds, messages, args.seed))
    width = max(len(k) for k in figures)
    print(
        f"soak: {messages} messages over {seconds:.0f} s, kill -9 every 2-5 s, "
        f"a {OUTAGE:.0f} s database outage"
    )
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")


if __name__ == "__main__":
    main()
