"""SIGKILL the Telegram bot mid-stream: after restarts every update is handled exactly once.

The child is the real bot (our polling loop, dispatcher, outbox) in its own process, talking
to the fake Bot API in this one. The fake kills it at chosen moments of the stream: while a
batch is being dispatched and replies go out, and as it confirms a batch. Telegram keeps
every update until an offset confirms it, so the restarted bot gets the unconfirmed ones again.

A kill waits until the outbox has recorded every reply Telegram accepted: between Telegram
accepting a sendMessage and the outbox recording it, a kill would send that reply again on
restart (the Bot API has no idempotency keys) — at least once, never lost, but not "once".
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sys
from collections import Counter
from pathlib import Path

from sqlmodel import Session, func, select

from bot.store.db import make_engine
from bot.store.models import Message, Outbox, ProcessedEvent
from tests.bot.factories import seed_practice
from tests.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 12
EVENTS = 60
COACH_CHAT = 100
#: (method, n): kill the child when its n-th call of `method` arrives (that call is dropped).
# Each kill lands for sure: a round's first getUpdates (fetched, nothing stored yet), or the n-th
# reply while plenty are still to go (at most 4 + 11 + 6 + 2 of the 80 are sent in the rounds).
KILLS = [
    ("sendMessage", 4),
    ("getUpdates", 1),
    ("sendMessage", 11),
    ("sendMessage", 6),
    ("sendMessage", 2),
]


def seed_clients(url: str) -> None:
    """The coach (from the child's config) and clients who have joined already."""
    seed_practice(url, clients=CLIENTS, first_user_id=200)


def queue_stream(fake: FakeTelegram) -> dict[int, int]:
    """FYIs and questions from the clients; returns how many updates each client sent."""
    rng = random.Random(3)
    sent: Counter[int] = Counter()
    for n in range(EVENTS):
        uid = 200 + rng.randrange(CLIENTS)
        fake.write(uid, f"/ask question {n}" if n % 3 == 0 else f"/fyi update {n}")
        sent[uid] += 1
    return dict(sent)


def sent_rows(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "sent")
        ).one()
    engine.dispose()
    return int(count)


class Killer:
    """The fake's hook: kills the child at the n-th call of a method, once replies are kept."""

    def __init__(self, fake: FakeTelegram, url: str) -> None:
        self.fake, self.url = fake, url
        self.pid = 0
        self.target: tuple[str, int] | None = None
        self.counts: Counter[str] = Counter()
        self.killed = asyncio.Event()
        self.dead = False

    def arm(self, pid: int, target: tuple[str, int] | None) -> None:
        self.pid, self.target, self.counts = pid, target, Counter()
        self.killed.clear()
        self.dead = False

    async def __call__(self, method: str, _params: dict[str, object]) -> bool:
        if self.dead:  # calls the child had in flight: as if the kill came just before them
            return True
        self.counts[method] += 1
        if self.target is None or self.target != (method, self.counts[method]):
            return False
        while sent_rows(self.url) < len(self.fake.called("sendMessage")):
            await asyncio.sleep(0.002)  # other replies still being recorded
        os.kill(self.pid, signal.SIGKILL)  # no await since the check: nothing slipped in
        self.dead, self.target = True, None
        self.killed.set()
        return True


CHILDREN: list[asyncio.subprocess.Process] = []  # killed at the end whatever happened


async def start_child(url: str, fake: FakeTelegram) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bot.telegram_child",
        url,
        fake.base_url,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    CHILDREN.append(child)
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"ready\n"
    return child


def handled(url: str) -> int:
    engine = make_engine(url)
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(ProcessedEvent)).one()
    engine.dispose()
    return int(count)


async def crash_and_recover(url: str, fake: FakeTelegram) -> list[int]:
    """Run the kill rounds, then a last child until every reply is out; replies at each kill."""
    killer = Killer(fake, url)
    fake.before = killer
    at_kill = []
    for target in KILLS:
        child = await start_child(url, fake)
        killer.arm(child.pid, target)
        await asyncio.wait_for(killer.killed.wait(), 30)
        await child.wait()
        at_kill.append(len(fake.called("sendMessage")))
    child = await start_child(url, fake)
    killer.arm(child.pid, None)
    expected = EVENTS + EVENTS // 3  # an acknowledgement each, and a forward per question
    deadline = asyncio.get_running_loop().time() + 20
    while len(fake.called("sendMessage")) < expected or fake.pending():
        if asyncio.get_running_loop().time() > deadline:
            got = len(fake.called("sendMessage"))
            raise AssertionError(
                f"stream unfinished: {got} of {expected} replies, "
                f"{handled(url)} of {EVENTS} updates handled"
            )
        await asyncio.sleep(0.02)
    child.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(child.communicate(), 20)
    assert child.returncode == 0, err.decode()[-2000:]
    return at_kill


def test_killed_mid_stream_every_update_is_handled_and_acknowledged_once(db_url: str) -> None:
    seed_clients(db_url)

    async def scenario() -> tuple[dict[int, int], list[int], FakeTelegram]:
        fake = await FakeTelegram(max_batch=7).start()
        try:
            fake.chat(COACH_CHAT)  # the coach has started the bot: it may write to them
            sent = queue_stream(fake)
            at_kill = await crash_and_recover(db_url, fake)
            await asyncio.sleep(0.3)  # anything a buggy bot might still send would show
            return sent, at_kill, fake
        finally:
            for child in CHILDREN:
                if child.returncode is None:
                    child.kill()
                    await child.wait()
            CHILDREN.clear()
            await fake.stop()

    sent, at_kill, fake = asyncio.run(scenario())
    # Every kill landed mid-stream: replies were still to go.
    assert all(n < EVENTS + EVENTS // 3 for n in at_kill), at_kill
    engine = make_engine(db_url)
    with Session(engine) as session:
        texts = sorted(m.text for m in session.exec(select(Message)).all())
        assert session.exec(select(func.count()).select_from(ProcessedEvent)).one() == EVENTS
    engine.dispose()
    assert texts == sorted(
        f"question {n}" if n % 3 == 0 else f"update {n}" for n in range(EVENTS)
    )  # each stored once
    assert {uid: len(fake.sent_to(uid)) for uid in sent} == sent  # one acknowledgement each
    forwarded = [n for t in fake.sent_to(COACH_CHAT) for n in re.findall(r"question (\d+)", t)]
    assert sorted(map(int, forwarded)) == list(range(0, EVENTS, 3))  # each question once
