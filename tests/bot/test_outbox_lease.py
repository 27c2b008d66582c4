"""A send that outlasts its lease keeps it: a second worker never sends the same row again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.messages import RESUMED, Outgoing
from bot.ports import DeliveryError
from bot.store.db import transaction
from bot.store.models import Outbox
from tests.bot.test_outbox import SECOND, queue, row, worker_for
from tests.fakes import RecordingTransport


class SlowTransport(RecordingTransport):
    """Its first send waits until the test releases it; `error` makes that send fail."""

    def __init__(self, clock: ManualClock, error: DeliveryError | None = None) -> None:
        super().__init__(clock=clock, honour_keys=False)
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self._slow, self._error = True, error

    async def send(self, message: Outgoing) -> str:
        if self._slow:
            self._slow = False
            self.started.set()
            await self.release.wait()
            if self._error is not None:
                self.calls.append(message)
                raise self._error
        return await super().send(message)


async def until(condition: Callable[[], bool]) -> None:
    """Wait (real time, briefly) for something another task does; fail if it never happens."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("it never happened")


def test_a_send_that_outlasts_its_lease_is_not_sent_again_by_a_second_worker(
    engine: Engine, clock: ManualClock
) -> None:
    row_id = queue(engine, clock, "msg:1:fwd", chat_id="coach")
    first_lease = clock.now() + 60 * SECOND

    async def scenario() -> None:
        transport = SlowTransport(clock)
        first = worker_for(engine, clock, transport, lease_seconds=60, heartbeat_seconds=0.005)
        second = worker_for(engine, clock, transport, lease_seconds=60)
        sending = asyncio.create_task(first.deliver_due())
        await transport.started.wait()
        clock.advance(40 * SECOND)
        await until(lambda: row(engine, row_id).claimed_until == clock.now() + 60 * SECOND)
        clock.advance(40 * SECOND)  # the lease it was claimed with ran out 20 s ago

        assert await second.deliver_due() == 0
        transport.release.set()
        assert await sending == 1
        assert await second.deliver_due() == 0
        assert [m.idempotency_key for m in transport.calls] == ["msg:1:fwd"]

    asyncio.run(scenario())
    stored = row(engine, row_id)
    assert (stored.status, stored.claimed_until) == ("sent", None)
    assert first_lease < clock.now()


def test_a_failure_after_a_renewal_is_still_recorded_as_a_retry(
    engine: Engine, clock: ManualClock
) -> None:
    row_id = queue(engine, clock, "msg:1:fwd", chat_id="coach")

    async def scenario() -> None:
        transport = SlowTransport(clock, DeliveryError("timed out"))
        worker = worker_for(engine, clock, transport, lease_seconds=60, heartbeat_seconds=0.005)
        sending = asyncio.create_task(worker.deliver_due())
        await transport.started.wait()
        clock.advance(30 * SECOND)
        await until(lambda: row(engine, row_id).claimed_until == clock.now() + 60 * SECOND)
        transport.release.set()
        assert await sending == 1

    asyncio.run(scenario())
    stored = row(engine, row_id)  # the renewed lease is known: the retry is ours to write
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "timed out")
    assert stored.claimed_until is None
    assert stored.next_attempt_at > clock.now()


def test_a_row_taken_over_before_a_renewal_is_left_to_its_new_holder(
    engine: Engine, clock: ManualClock
) -> None:
    row_id = queue(engine, clock, "msg:1:fwd", chat_id="coach")

    async def scenario() -> None:
        transport = SlowTransport(clock, DeliveryError("timed out"))
        stalled = worker_for(engine, clock, transport, lease_seconds=60, heartbeat_seconds=3600)
        successor = worker_for(engine, clock, transport, lease_seconds=60)
        sending = asyncio.create_task(stalled.deliver_due())
        await transport.started.wait()
        clock.advance(61 * SECOND)  # no heartbeat came in time (a stalled process)
        assert await successor.deliver_due() == 1  # at least once: it goes again
        transport.release.set()
        assert await sending == 1

    asyncio.run(scenario())
    stored = row(engine, row_id)
    assert (stored.status, stored.attempts) == ("sent", 0)  # the late failure changed nothing


def test_a_row_whose_worker_died_mid_send_is_sent_flagged_resumed(
    engine: Engine, clock: ManualClock
) -> None:
    """A lease nobody renews (kill -9): the next worker sends it, telling the sender to look."""
    row_id = queue(engine, clock, "msg:2:ack", chat_id="alex")
    with transaction(engine) as session:
        stored = session.get(Outbox, row_id)
        assert stored is not None
        stored.claimed_until = clock.now() - SECOND  # claimed by a worker that is gone
        session.add(stored)
    fresh = queue(engine, clock, "msg:3:ack", chat_id="sam")
    transport = RecordingTransport(clock=clock)
    asyncio.run(worker_for(engine, clock, transport).deliver_due())
    flags = {m.idempotency_key: m.extra.get(RESUMED, False) for m in transport.calls}
    assert flags == {"msg:2:ack": True, "msg:3:ack": False}
    assert row(engine, row_id).status == row(engine, fresh).status == "sent"
