"""How long a crisis alert waits behind a flood, with the urgent lane and without (not a test).

Run: .venv/bin/python -m tests.bench.bench_urgent [--flood 1000] [--others 300]

The coach's chat is flooded with `--flood` forwards (and `--others` chats get one message each,
so the platform cap of 30 msg/s is busy too); once the first forward went, one more row comes
for the coach's chat: the crisis alert. It is queued twice side by side, on two databases:
marked urgent (`enqueue(..., urgent=True)`) and as any other row, which is what it was before
the lane. The outbox worker runs as shipped (1 msg/s a chat, 30 msg/s a platform) on a clock
that charges the real time every pass takes and jumps over the idle waits, so a flood that would
take a quarter of an hour runs in seconds and the figures are the delays a coach would see.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.delivery.outbox import enqueue
from bot.delivery.worker import OutboxWorker
from bot.store.db import make_engine, transaction
from bot.store.migrate import upgrade
from bot.store.unit import UnitOfWork
from tests.fakes import RecordingTransport

START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
COACH_CHAT = "coach"


class SimClock:
    """Fake time that runs with the real time spent working and jumps over the idle waits."""

    def __init__(self, start: datetime) -> None:
        self._start, self._skipped, self._t0 = start, timedelta(), time.perf_counter()

    def now(self) -> datetime:
        """The fake time: start, plus the waits skipped, plus the real time since the start."""
        return self._start + self._skipped + timedelta(seconds=time.perf_counter() - self._t0)

    def skip_to(self, when: datetime) -> None:
        """Jump to `when` if it is ahead: nothing happens while the worker waits for it."""
        if when > self.now():
            self._skipped += when - self.now()


def flood(url: str, clock: SimClock, forwards: int, others: int) -> None:
    """The coach's chat gets `forwards` forwards, `others` other chats one message each."""
    with transaction(make_engine(url)) as session:
        for n in range(forwards):
            enqueue(
                UnitOfWork(session),
                key=f"msg:{n}:fwd",
                platform="console",
                chat_id=COACH_CHAT,
                text=f"forward {n}",
                now=clock.now(),
                fresh=True,
            )
        for n in range(others):
            enqueue(
                UnitOfWork(session),
                key=f"other:{n}:ack",
                platform="console",
                chat_id=f"client{n}",
                text=f"answer {n}",
                now=clock.now(),
                fresh=True,
            )


async def urgent_delay(url: str, *, lane: bool, forwards: int, others: int) -> tuple[float, int]:
    """Seconds from queueing the alert to the platform accepting it; rows that overtook it."""
    clock = SimClock(START)
    flood(url, clock, forwards, others)
    engine = make_engine(url)
    transport = RecordingTransport(max_per_second=30, clock=clock)
    worker = OutboxWorker(engine, clock, transports={"console": transport})
    while not transport.sent:
        await worker.deliver_due()
    already = len(transport.sent)
    with transaction(engine) as session:
        queued_at = clock.now()
        enqueue(
            UnitOfWork(session),
            key="msg:crisis:fwd",
            platform="console",
            chat_id=COACH_CHAT,
            text="URGENT",
            now=queued_at,
            urgent=lane,
        )
    while not any(d.message.text == "URGENT" for d in transport.sent):
        if not await worker.deliver_due():
            due = worker.next_due()
            if due is not None:
                clock.skip_to(due)
    engine.dispose()
    alert = next(d for d in transport.sent if d.message.text == "URGENT")
    assert alert.at is not None
    before = transport.sent.index(alert) - already
    return (alert.at - queued_at).total_seconds(), before


async def bench(forwards: int, others: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        figures = {}
        for lane in (True, False):
            url = f"sqlite:///{Path(tmp) / f'lane-{lane}.db'}"
            upgrade(url)
            real = time.perf_counter()
            delay, before = await urgent_delay(url, lane=lane, forwards=forwards, others=others)
            figures[lane] = (delay, before, time.perf_counter() - real)
    print(f"flood: {forwards} forwards to the coach's chat, {others} other chats; 30 msg/s cap")
    for lane, label in ((True, "urgent lane"), (False, "no lane (as before)")):
        delay, before, real = figures[lane]
        print(
            f"{label + ':':22} alert reached the coach after {delay:9.2f} s"
            f"  ({before:4} rows overtook it; bench ran {real:5.1f} s)"
        )
    print(f"ratio: {figures[False][0] / max(figures[True][0], 1e-6):.0f}x sooner with the lane")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--others", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(bench(args.flood, args.others))


if __name__ == "__main__":
    main()
