"""The urgent lane: a crisis message overtakes whatever waits for its chat, yet obeys 429s."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine

from bot.clock import ManualClock
from bot.delivery.outbox import is_urgent
from bot.messages import Outgoing
from tests.bot.test_outbox import SECOND, drain, queue, row, rows, worker_for
from tests.fakes import RecordingTransport


def test_an_urgent_row_is_the_first_sent_though_200_normal_rows_wait_for_the_chat(
    engine: Engine, clock: ManualClock
) -> None:
    transport = RecordingTransport(clock=clock)
    for n in range(200):
        queue(engine, clock, f"msg:{n}:fwd", chat_id="coach")
    urgent = queue(engine, clock, "msg:900:fwd", chat_id="coach", text="URGENT", urgent=True)
    worker = worker_for(engine, clock, transport)
    start = clock.now()

    drain(worker)
    assert transport.texts() == ["URGENT"]
    assert row(engine, urgent).status == "sent"
    for _ in range(3):
        clock.advance(SECOND)
        drain(worker)

    assert transport.texts() == ["URGENT"] + [f"text of msg:{n}:fwd" for n in range(3)]
    assert [d.at for d in transport.sent] == [start + n * SECOND for n in range(4)]


def test_urgent_rows_keep_their_own_order_and_a_later_one_waits_for_the_earlier(
    engine: Engine, clock: ManualClock
) -> None:
    transport = RecordingTransport(clock=clock)
    transport.fail_next(1, ConnectionError("reset"), chat_id="coach")
    queue(engine, clock, "normal", chat_id="coach")
    queue(engine, clock, "urgent:1", chat_id="coach", urgent=True)
    queue(engine, clock, "urgent:2", chat_id="coach", urgent=True)
    worker = worker_for(engine, clock, transport)

    drain(worker)  # urgent:1 met a network fault and backs off: nothing overtakes it
    assert transport.texts() == []
    for _ in range(40):
        clock.advance(SECOND)
        drain(worker)

    assert transport.texts() == ["text of urgent:1", "text of urgent:2", "text of normal"]


def test_an_urgent_row_is_not_held_back_by_the_platform_cap(
    engine: Engine, clock: ManualClock
) -> None:
    transport = RecordingTransport(max_per_second=30, clock=clock)
    for n in range(100):
        queue(engine, clock, f"burst:{n}", chat_id=f"chat{n}")
    worker = worker_for(engine, clock, transport)
    start = clock.now()
    drain(worker)
    assert len(transport.sent) == 30  # the cap is full for this second
    queue(engine, clock, "crisis", chat_id="coach", text="URGENT", urgent=True)

    drain(worker)

    assert len(transport.sent) == 31
    assert (transport.texts()[-1], transport.sent[-1].at) == ("URGENT", start)


def test_an_urgent_row_is_claimed_ahead_of_other_chats_rows(
    engine: Engine, clock: ManualClock
) -> None:
    transport = RecordingTransport(max_per_second=1000, clock=clock)
    for n in range(50):
        queue(engine, clock, f"burst:{n}", chat_id=f"chat{n}")
    queue(engine, clock, "crisis", chat_id="coach", text="URGENT", urgent=True)
    worker = worker_for(engine, clock, transport, concurrency=1)

    assert asyncio.run(worker.deliver_due(limit=10)) == 10

    assert transport.texts()[0] == "URGENT"


def test_an_urgent_row_still_waits_out_a_429_the_chat_met(
    engine: Engine, clock: ManualClock
) -> None:
    transport = RecordingTransport(clock=clock)
    transport.throttle(20, chat_id="coach")
    queue(engine, clock, "normal", chat_id="coach")
    worker = worker_for(engine, clock, transport)
    start = clock.now()
    drain(worker)  # 429: retry after 20 s
    queue(engine, clock, "crisis", chat_id="coach", text="URGENT", urgent=True)

    for _ in range(25):
        clock.advance(SECOND)
        drain(worker)

    assert transport.texts() == ["URGENT", "text of normal"]
    assert transport.sent[0].at == start + 20 * SECOND
    assert transport.sent[1].at == start + 21 * SECOND


def test_urgent_is_kept_in_the_payload_and_only_when_asked(
    engine: Engine, clock: ManualClock
) -> None:
    queue(engine, clock, "plain")
    queue(engine, clock, "crisis", urgent=True)
    assert [is_urgent(r) for r in rows(engine)] == [False, True]
    transport = RecordingTransport(clock=clock)
    drain(worker_for(engine, clock, transport))
    assert "urgent" not in transport.sent[0].message.extra  # the lane is the outbox's business


class StuckTransport(RecordingTransport):
    """Sends to `stuck` wait until the test releases them; every other send goes at once."""

    def __init__(self, clock: ManualClock, stuck: str) -> None:
        super().__init__(clock=clock)
        self.stuck, self.started, self.release = stuck, asyncio.Event(), asyncio.Event()

    async def send(self, message: Outgoing) -> str:
        if message.chat_id == self.stuck:
            self.started.set()
            await self.release.wait()
        return await super().send(message)


def test_an_urgent_row_goes_out_beside_a_pass_held_up_by_a_slow_send(
    engine: Engine, clock: ManualClock
) -> None:
    transport = StuckTransport(clock, stuck="slow-client")
    queue(engine, clock, "msg:1:ack", chat_id="slow-client")
    worker = worker_for(engine, clock, transport, poll_interval=30)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await transport.started.wait()  # run()'s pass is stuck in that send
        await asyncio.to_thread(queue, engine, clock, "crisis", "coach", urgent=True)
        worker.notify()
        for _ in range(400):  # waits for the lane's own pass, not for time to pass
            if transport.sent:
                break
            await asyncio.sleep(0.005)
        assert transport.texts() == ["text of crisis"]
        transport.release.set()
        for _ in range(400):
            if len(transport.sent) == 2:
                break
            await asyncio.sleep(0.005)
        stop.set()
        await asyncio.wait_for(task, timeout=2)

    asyncio.run(scenario())
    assert transport.texts() == ["text of crisis", "text of msg:1:ack"]
    assert {r.status for r in rows(engine)} == {"sent"}
