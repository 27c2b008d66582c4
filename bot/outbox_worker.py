"""The outbox worker: claims due rows, sends them outside any transaction, records the result.

A pass claims due rows in one short transaction (a lease in `claimed_until`; SKIP LOCKED on
PostgreSQL), sends outside any transaction and records each result in another short one. Only
the oldest pending row of a chat is ever due, so a later message never overtakes an earlier one,
not even while that one is backing off. A worker that dies after claiming leaves its rows to be
sent again when the lease runs out; the row key travels as `Outgoing.idempotency_key` so a
transport that honours it drops the duplicate. Nothing here logs or stores message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.messages import Outgoing
from bot.outbox import FAILED, PENDING, SENT, THROTTLED, Unsendable, to_outgoing
from bot.ratelimit import Backoff, RateLimiter, RetryPolicy
from bot.store.db import is_postgres, transaction
from bot.store.models import Outbox
from bot.transports.base import DeliveryError, Transport

log = logging.getLogger(__name__)


def _head_of_chat() -> ColumnElement[bool]:
    """True for a row with no older pending row in the same chat: only the head may go."""
    earlier = aliased(Outbox)
    return ~(
        select(earlier.id)
        .where(
            earlier.platform == Outbox.platform,
            earlier.chat_id == Outbox.chat_id,
            earlier.status == PENDING,
            col(earlier.id) < col(Outbox.id),
        )
        .exists()
    )


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now)


def _finish(session: Session, row_id: int | None, held: ColumnElement[bool], **changes: Any) -> int:
    """Apply `changes` to a pending row that `held` says is still ours; 1 if it was."""
    result = session.exec(
        update(Outbox)
        .where(col(Outbox.id) == row_id, Outbox.status == PENDING, held)
        .values(claimed_until=None, **changes)
    )
    return int(result.rowcount)


@dataclass(frozen=True)
class _Claim:
    row_id: int
    message: Outgoing
    lease: datetime  # the claimed_until we wrote: the row is still ours while it holds this
    attempts: int
    payload: dict[str, Any]


class OutboxWorker:
    """Sends due outbox rows through the transports, with retries, backoff and rate limits."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        transports: Mapping[str, Transport],
        *,
        per_chat_interval: float = 1.0,
        max_attempts: int = 8,
        max_throttled: int = 20,
        lease_seconds: float = 60.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        poll_interval: float = 1.0,
        concurrency: int = 16,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._transports = dict(transports)
        self._limiter = RateLimiter(per_chat_interval=per_chat_interval)
        self._retry = RetryPolicy(max_attempts, max_throttled, backoff or Backoff())
        self._lease = timedelta(seconds=lease_seconds)
        self._rng = rng or random.Random()
        self._poll = poll_interval
        self._concurrency = max(1, concurrency)
        self._claiming = threading.Lock()  # the limiter is this worker's; one claim at a time
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def notify(self) -> None:
        """Say that new rows were committed; safe to call from any thread or none of the loop's."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return  # not running: the first pass of run() will find the rows anyway
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(wake.set)

    async def deliver_due(self, limit: int = 100) -> int:
        """One pass; returns how many rows it handled (sent, rescheduled after an error, failed)."""
        claims, failed = await asyncio.to_thread(self._claim, limit)
        sending = asyncio.Semaphore(self._concurrency)
        await asyncio.gather(*(self._deliver(claim, sending) for claim in claims))
        return len(claims) + failed

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking on `notify()`, when a row falls due, or each poll."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    if await self.deliver_due():
                        continue
                except Exception as exc:  # the database is away: say so in one line, try again
                    log.warning("outbox pass failed: %s", type(exc).__name__)
                await self._sleep(stop, await self._idle_seconds())
        finally:
            self._loop = self._wake = None

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        assert self._wake is not None
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        self._wake.clear()

    async def _idle_seconds(self) -> float:
        try:
            due = await asyncio.to_thread(self.next_due)
        except Exception as exc:
            log.warning("outbox could not read its next due time: %s", type(exc).__name__)
            return self._poll
        if due is None:
            return self._poll
        return min(self._poll, max(0.01, (due - self._clock.now()).total_seconds()))

    def next_due(self) -> datetime | None:
        """When the next row this worker could claim falls due; None when there is none."""
        now = self._clock.now()
        with Session(self._engine) as session:
            return session.exec(
                select(func.min(Outbox.next_attempt_at)).where(
                    Outbox.status == PENDING, _unclaimed(now), _head_of_chat()
                )
            ).one()

    def _claim(self, limit: int) -> tuple[list[_Claim], int]:
        """Lease the due heads of chats that the rate limits let go now; fail unsendable rows."""
        with self._claiming, transaction(self._engine) as session:
            now = self._clock.now()
            claims: list[_Claim] = []
            failed = 0
            for row in session.exec(self._due(now, limit)).all():
                try:
                    claim = self._admit(session, row, now)
                except Unsendable as exc:
                    log.warning("outbox row %s failed: %s", row.id, exc)
                    held = _unclaimed(now)
                    failed += _finish(session, row.id, held, status=FAILED, last_error=str(exc))
                    continue
                if claim is not None:
                    claims.append(claim)
            return claims, failed

    def _due(self, now: datetime, limit: int) -> Select[tuple[Outbox]]:
        stmt = (
            select(Outbox)
            .where(
                Outbox.status == PENDING,
                col(Outbox.next_attempt_at) <= now,
                _unclaimed(now),
                _head_of_chat(),
            )
            .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
            .limit(limit)
        )
        if is_postgres(self._engine):
            stmt = stmt.with_for_update(skip_locked=True, of=Outbox)
        return stmt

    def _admit(self, session: Session, row: Outbox, now: datetime) -> _Claim | None:
        """Lease `row` if it may go now, else move it to when it may: deferred, never dropped."""
        transport = self._transports.get(row.platform)
        if transport is None:
            raise Unsendable(f"no transport for platform {row.platform!r}")
        message = to_outgoing(row)
        slot = self._limiter.next_slot(
            row.platform, row.chat_id, cap=transport.max_per_second, now=now
        )
        if slot > now:
            session.exec(
                update(Outbox)
                .where(col(Outbox.id) == row.id, Outbox.status == PENDING, _unclaimed(now))
                .values(next_attempt_at=slot)
            )
            return None
        lease = now + self._lease
        taken = session.exec(
            update(Outbox)
            .where(col(Outbox.id) == row.id, Outbox.status == PENDING, _unclaimed(now))
            .values(claimed_until=lease)
        )
        if taken.rowcount != 1:
            return None  # another worker got there first
        self._limiter.take(row.platform, row.chat_id, now)
        assert row.id is not None
        return _Claim(row.id, message, lease, row.attempts, dict(row.payload))

    async def _deliver(self, claim: _Claim, sending: asyncio.Semaphore) -> None:
        """Send one claimed row, outside any transaction, and record how it went."""
        transport = self._transports[claim.message.platform]
        try:
            async with sending:
                message_id = await transport.send(claim.message)
        except DeliveryError as exc:
            error = exc
        except Exception as exc:  # a transport bug or a network fault: transient
            log.warning(
                "outbox row %s: unexpected %s, will retry", claim.row_id, type(exc).__name__
            )
            error = DeliveryError(f"unexpected {type(exc).__name__}")
        else:
            await asyncio.to_thread(self._record_sent, claim, message_id)
            return
        # decided here on the loop, so a seeded RNG gives the same jitter in the same order
        changes = self._after_error(claim, error)
        await asyncio.to_thread(self._record_error, claim, changes)

    def _record_sent(self, claim: _Claim, message_id: str) -> None:
        now = self._clock.now()
        with transaction(self._engine) as session:
            # sent is true whoever holds the lease now, so no lease check here
            session.exec(
                update(Outbox)
                .where(col(Outbox.id) == claim.row_id, Outbox.status == PENDING)
                .values(
                    status=SENT,
                    sent_at=now,
                    platform_message_id=str(message_id)[:64],
                    claimed_until=None,
                    last_error=None,
                )
            )

    def _after_error(self, claim: _Claim, error: DeliveryError) -> dict[str, Any]:
        """The row's new state: failed for good, or due again later."""
        throttled = claim.payload.get(THROTTLED, 0)
        throttled = throttled if isinstance(throttled, int) else 0
        retry = self._retry.after(
            error,
            attempts=claim.attempts,
            throttled=throttled,
            now=self._clock.now(),
            rng=self._rng,
        )
        changes: dict[str, Any] = {"attempts": retry.attempts, "last_error": retry.reason}
        if retry.give_up:
            changes["status"] = FAILED
        else:
            changes["next_attempt_at"] = retry.at
        if retry.throttled != throttled:
            changes["payload"] = {**claim.payload, THROTTLED: retry.throttled}
        return changes

    def _record_error(self, claim: _Claim, changes: dict[str, Any]) -> None:
        if changes.get("status") == FAILED:
            log.warning("outbox row %s failed: %s", claim.row_id, changes["last_error"])
        with transaction(self._engine) as session:
            _finish(session, claim.row_id, col(Outbox.claimed_until) == claim.lease, **changes)
