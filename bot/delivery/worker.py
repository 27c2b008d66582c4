"""The outbox worker: claims due rows, sends them outside any transaction, records the results.

A pass claims due rows in one short transaction (a lease in `claimed_until`; SKIP LOCKED on
PostgreSQL), sends them concurrently outside any transaction and records their results in
batches as the sends finish, each batch in one short transaction (`outbox_record.Recorder`).
Only the head of a chat is ever due, so a later message never overtakes an earlier one, not
even while that one is backing off; rows of different chats go together.

The urgent lane (`enqueue(..., urgent=True)`: a crisis forward and the answer to its client)
is the exception: its rows head their chat whatever else waits there, are claimed before every
other row, skip the platform's cap (not the chat's interval, nor a wait a 429 asked for), and a
notify during a pass of `run()` claims them beside that pass, so slow sends hold none back.

`notify()` wakes `run()`; notify-driven passes are kept `batch_window` apart, so a burst of
commits makes a few passes, not one each. While a send runs, its lease is renewed
(`outbox_lease`), so a second worker never sends it again; a worker that dies after claiming
leaves its rows to be sent again when the lease runs out (at least once); the row key travels as
`Outgoing.idempotency_key` so a transport that honours it drops the duplicate. Nothing here logs
or stores message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.delivery.lease import Leases, keep_leases
from bot.delivery.outbox import THROTTLED, Unsendable, is_urgent, to_outgoing
from bot.delivery.ratelimit import Backoff, RateLimiter, RetryPolicy
from bot.delivery.record import Errored, Outcome, Recorder, Sent, record
from bot.messages import RESUMED, Outgoing
from bot.ports import DeliveryError, Transport
from bot.store.models import Outbox
from bot.store.outbox import FAILED
from bot.store.unit import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Claim:
    row_id: int
    message: Outgoing
    lease: datetime  # the claimed_until we wrote: the row is still ours while it holds this
    attempts: int
    payload: dict[str, Any]


@dataclass
class _Pass:
    seen: int = 0  # due rows the claim read
    full: bool = False  # as many as a batch holds: more may be due now
    failed: int = 0  # unsendable rows, failed at once
    claims: list[_Claim] = field(default_factory=list)


@dataclass(frozen=True)
class OutboxOptions:
    """How the outbox paces, retries and batches; the defaults suit the real platforms."""

    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    max_attempts: int = 8
    max_throttled: int = 20  # HTTP 429s a row may meet before it fails
    lease_seconds: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    poll_interval: float = 1.0
    concurrency: int = 8  # sends in flight at once, over all chats
    batch_limit: int = 200
    batch_window: float = 0.005  # seconds a batch of results waits for more
    heartbeat_seconds: float | None = None  # lease renewals; a third of the lease by default


def _as_sent(text: str, platform: str) -> str:
    return text


class OutboxWorker:
    """Sends due outbox rows through the transports, with retries, backoff and rate limits.

    `spell` renders a row's text for its platform as it goes out (`bot.service.spelling`).
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        transports: Mapping[str, Transport],
        options: OutboxOptions | None = None,
        spell: Callable[[str, str], str] = _as_sent,
        rng: random.Random | None = None,
    ) -> None:
        options = options or OutboxOptions()
        self._engine = engine
        self._clock = clock
        self._transports = dict(transports)
        self._spell = spell
        self._limiter = RateLimiter(per_chat_interval=options.per_chat_interval)
        self._retry = RetryPolicy(options.max_attempts, options.max_throttled, options.backoff)
        self._lease = timedelta(seconds=options.lease_seconds)
        # real seconds between renewals of the leases of sends in flight
        beat = options.heartbeat_seconds
        self._beat = beat if beat is not None else options.lease_seconds / 3
        self._holds: deque[tuple[str, str, datetime]] = deque()  # 429s met, for the limiter
        self._rng = rng or random.Random()
        self._poll = options.poll_interval
        self._concurrency = max(1, options.concurrency)
        self._limit = max(1, options.batch_limit)
        self._window = max(0.0, options.batch_window)
        self._claiming = threading.Lock()  # the limiter is this worker's; one claim at a time
        self._paced_until: datetime | None = None  # due rows wait for the caps until then
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_pass = float("-inf")  # loop time the last pass of run() began
        self._wake: asyncio.Event | None = None
        self._lane_wake: asyncio.Event | None = None  # the urgent lane's, beside a long pass
        self._passing = False  # run() is in a pass: the lane claims urgent rows beside it

    def notify(self) -> None:
        """Say that new rows were committed; safe to call from any thread or none of the loop's."""
        loop = self._loop
        if loop is None:
            return  # not running: the first pass of run() will find the rows anyway
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._woken()
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(self._woken)

    def _woken(self) -> None:
        for event in (self._wake, self._lane_wake):
            if event is not None:
                event.set()

    async def deliver_due(self, limit: int | None = None) -> int:
        """One pass; returns how many rows it handled (sent, rescheduled after an error, failed)."""
        done = await self._pass(limit or self._limit)
        return len(done.claims) + done.failed

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, waking on `notify()`, when a row falls due, or each poll."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._lane_wake = asyncio.Event()
        lane = asyncio.ensure_future(self._urgent_lane(self._lane_wake))
        try:
            while not stop.is_set():
                if await self._busy_pass():
                    continue  # a full batch: more may be due already
                if await self._sleep(stop, await self._idle_seconds()):
                    await self._coalesce(stop)
        finally:
            lane.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await lane
            self._loop = self._wake = self._lane_wake = None

    async def _urgent_lane(self, wake: asyncio.Event) -> None:
        """On a notify during a pass of run(), claim and send urgent rows beside that pass.

        So a pass held up by slow sends holds no crisis alert back. Between passes, the next
        pass claims urgent rows first anyway. Runs until cancelled.
        """
        while True:
            await wake.wait()
            wake.clear()
            if not self._passing:
                continue
            try:
                await self._pass(self._limit, urgent_only=True)
            except Exception as exc:  # the database is away: the next pass tries again
                log.warning("outbox urgent pass failed: %s", type(exc).__name__)

    async def _coalesce(self, stop: asyncio.Event) -> None:
        """Keep notify-driven passes `batch_window` apart, so a burst of commits makes few.

        The first notify after a quiet spell goes at once: no latency is added to a lone reply.
        """
        assert self._loop is not None
        wait = self._last_pass + self._window - self._loop.time()
        if wait > 0 and not stop.is_set():
            await asyncio.sleep(wait)

    async def _busy_pass(self) -> bool:
        """One pass of run(); True when it read a full batch of due rows."""
        assert self._loop is not None
        self._last_pass = self._loop.time()
        self._passing = True
        try:
            done = await self._pass(self._limit)
        except Exception as exc:  # the database is away: say so in one line, try again
            log.warning("outbox pass failed: %s", type(exc).__name__)
            return False
        finally:
            self._passing = False
        return done.full

    async def _pass(self, limit: int, *, urgent_only: bool = False) -> _Pass:
        done = await asyncio.to_thread(self._claim, limit, urgent_only)
        if done.claims:
            await self._send_all(done.claims)
        return done

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> bool:
        """Wait for a notify, `stop` or `seconds`; True when a notify came."""
        assert self._wake is not None
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        woken = self._wake.is_set()
        self._wake.clear()
        return woken

    def _room(self, now: datetime) -> int:
        """How many messages the platforms' caps let out now, all transports together."""
        return sum(
            self._limiter.room(t.platform, cap=t.max_per_second, now=now)
            for t in self._transports.values()
        )

    def _frees_at(self, now: datetime) -> datetime:
        """When the first of the platforms' caps lets a message out again."""
        return min(
            (
                self._limiter.frees_at(t.platform, cap=t.max_per_second, now=now)
                for t in self._transports.values()
            ),
            default=now,
        )

    async def _idle_seconds(self) -> float:
        if self._wake is not None and self._wake.is_set():
            return 0.0  # notified during the pass: no need to ask when the next row is due
        paced, self._paced_until = self._paced_until, None
        if paced is not None:  # rows wait for the caps: come back when one lets a message out
            return min(self._poll, max(0.01, (paced - self._clock.now()).total_seconds()))
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
        with unit_of_work(self._engine) as uow:
            return uow.outbox.next_due(self._clock.now())

    def _claim(self, limit: int, urgent_only: bool = False) -> _Pass:
        """Lease the due heads of chats that the rate limits let go now; fail unsendable rows."""
        with self._claiming, unit_of_work(self._engine) as uow:
            now = self._clock.now()
            while self._holds:
                platform, chat_id, until = self._holds.popleft()
                self._limiter.hold(platform, chat_id, until=until)
            # claim no more than the caps let out now (urgent rows, which they do not hold back,
            # come first, and alone when the caps are full): the rest wait unread and unwritten
            room = limit if urgent_only else min(limit, self._room(now))
            rows = uow.outbox.due(now, limit=room or limit, urgent_only=urgent_only or not room)
            done = _Pass(seen=len(rows), full=len(rows) >= limit)
            if room < limit and (not room or len(rows) >= room):
                self._paced_until = self._frees_at(now)
            admitted: list[tuple[Outbox, Outgoing]] = []
            deferred: list[tuple[int, datetime]] = []
            for row in rows:
                try:
                    message, slot = self._admit(uow, row, now=now)
                except Unsendable as exc:
                    log.warning("outbox row %s failed: %s", row.id, exc)
                    done.failed += uow.outbox.finish(
                        row.id, now=now, status=FAILED, last_error=str(exc)
                    )
                    continue
                if row.claimed_until is not None:  # its lease ran out before a result was kept
                    log.warning("outbox row %s: taken over mid-send, sending again", row.id)
                    # a sender that can look (Slack) checks whether it went before the crash
                    message = replace(message, extra={**message.extra, RESUMED: True})
                if slot > now:  # deferred, never dropped
                    deferred.append((row.id or 0, slot))
                else:
                    self._limiter.take(row.platform, row.chat_id, now=now)
                    admitted.append((row, message))
            uow.outbox.defer(deferred, now)
            done.claims = self._take_leases(uow, admitted, now=now)
            return done

    def _admit(self, uow: UnitOfWork, row: Outbox, *, now: datetime) -> tuple[Outgoing, datetime]:
        """The message `row` describes and when the rate limits let it go."""
        transport = self._transports.get(row.platform)
        if transport is None:
            raise Unsendable(f"no transport for platform {row.platform!r}")
        message = to_outgoing(row, uow)
        message = replace(message, text=self._spell(message.text, row.platform))
        cap, urgent = transport.max_per_second, is_urgent(row)
        slot = self._limiter.next_slot(row.platform, row.chat_id, cap=cap, now=now, urgent=urgent)
        return message, slot

    def _take_leases(
        self, uow: UnitOfWork, admitted: list[tuple[Outbox, Outgoing]], *, now: datetime
    ) -> list[_Claim]:
        """Lease the admitted rows in one statement; the claims for those still unclaimed."""
        if not admitted:
            return []
        lease = now + self._lease
        taken = uow.outbox.lease([row.id or 0 for row, _ in admitted], until=lease, now=now)
        # a row another worker got first was still counted by the limiter: paced a bit early
        return [
            _Claim(row.id, message, lease, row.attempts, dict(row.payload))
            for row, message in admitted
            if row.id is not None and row.id in taken
        ]

    async def _send_all(self, claims: list[_Claim]) -> None:
        """Send the claims, at most `concurrency` at once, recording results as they come."""
        recorder = Recorder(self._engine, len(claims), window=self._window)
        gate = asyncio.Semaphore(self._concurrency)
        leases = Leases({claim.row_id: claim.lease for claim in claims})

        async def send(claim: _Claim) -> None:
            async with gate:
                result = await self._send(claim)
            async with leases.lock:  # a renewal under way ends first: the lease is known
                lease = leases.finish(claim.row_id)
                # decided here on the loop, so a seeded RNG gives the same jitter in the same order
                recorder.add(self._outcome(claim, lease, result=result))

        heartbeat = asyncio.ensure_future(
            keep_leases(
                leases,
                engine=self._engine,
                clock=self._clock,
                lease=self._lease,
                every=self._beat,
            )
        )
        try:
            await asyncio.gather(recorder.run(), *(send(claim) for claim in claims))
        except asyncio.CancelledError:
            # what the platform accepted must not go again after a restart: record it now
            with contextlib.suppress(Exception):  # logged row by row; the cancel goes on
                record(self._engine, recorder.take())
            raise
        finally:
            heartbeat.cancel()
        recorder.raise_first_error()

    async def _send(self, claim: _Claim) -> str | DeliveryError:
        """Send one claimed row, outside any transaction: its message id, or the error."""
        transport = self._transports[claim.message.platform]
        try:
            return await transport.send(claim.message)
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # a transport bug or a network fault: transient
            log.warning(
                "outbox row %s: unexpected %s, will retry", claim.row_id, type(exc).__name__
            )
            return DeliveryError(f"unexpected {type(exc).__name__}")

    def _outcome(self, claim: _Claim, lease: datetime, *, result: str | DeliveryError) -> Outcome:
        """What to record for a finished send that held `lease` last."""
        at = self._clock.now()
        if isinstance(result, DeliveryError):
            changes = self._after_error(claim, result, at=at)
            if result.retry_after is not None and "next_attempt_at" in changes:
                message = claim.message
                self._holds.append((message.platform, message.chat_id, changes["next_attempt_at"]))
            return Errored(claim.row_id, lease, changes)
        return Sent(claim.row_id, str(result), at)

    def _after_error(self, claim: _Claim, error: DeliveryError, *, at: datetime) -> dict[str, Any]:
        """The row's new state: failed for good, or due again later."""
        throttled = claim.payload.get(THROTTLED, 0)
        throttled = throttled if isinstance(throttled, int) else 0
        retry = self._retry.after(
            error, attempts=claim.attempts, throttled=throttled, now=at, rng=self._rng
        )
        changes: dict[str, Any] = {"attempts": retry.attempts, "last_error": retry.reason}
        if retry.give_up:
            log.warning("outbox row %s failed: %s", claim.row_id, retry.reason)
            changes["status"] = FAILED
        else:
            changes["next_attempt_at"] = retry.at
        if retry.throttled != throttled:
            changes["payload"] = {**claim.payload, THROTTLED: retry.throttled}
        return changes
