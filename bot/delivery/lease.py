"""The outbox's leases while sends run: renewed, so a slow send is never taken over.

A worker claims a row by writing `claimed_until` (its lease). While the send runs, a heartbeat
moves that lease forward every `every` seconds (a third of the lease by default), so a send that
outlasts the lease it was claimed with is not claimed and sent again by a second worker: at most
once while the workers live. A renewal only moves a lease the row still holds (`claimed_until`
as this worker last wrote it), so a row another worker took over (this one stalled past its
lease) is left to that worker; this one's late result is then not written over the new holder's
state (`outbox_record`). A renewal and the outcome of a send never interleave (`Leases.lock`),
so a failed send is recorded against the lease the row holds now.

At least once stays the rule for everything: a worker killed (kill -9, power loss) in the middle
of a send leaves a lease nobody renews, and the row is sent again once it runs out; the claim
logs "taken over mid-send" and flags the message `RESUMED`, so a sender that can look does:

- Telegram: the Bot API cannot read a chat's history, so there is nothing to check; the sender
  remembers what it sent by key in memory only (`telegram_send`), which covers a retry in the
  same process (a timeout, a 5xx), not a restart. A duplicate after a crash is possible.
- Slack: no idempotency key either, but every message we post carries its outbox key as
  message metadata; a resumed row is first looked for in the conversation's latest messages
  (`conversations.history`, `im:history`, one call per taken-over row) and not posted again
  when found (`slack_send`). Files of a message found that way may be uploaded again.

The window is small: the time a send is in flight, plus the recorder's `batch_window`, and a
cancelled pass records what the platform accepted before it stops. Nothing here logs message
text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.store.unit import unit_of_work

log = logging.getLogger(__name__)


class Leases:
    """The leases a pass still holds, by row id, as the heartbeat renews them."""

    def __init__(self, held: Mapping[int, datetime]) -> None:
        self.lock = asyncio.Lock()  # a renewal and the outcome of a send never interleave
        self._held = dict(held)
        self._renewing: set[int] = set()

    def finish(self, row_id: int) -> datetime:
        """The send of `row_id` is over: the lease it holds, renewed no more."""
        return self._held.pop(row_id)

    def due(self, lease: datetime) -> dict[datetime, list[int]]:
        """The rows whose lease ends before `lease`, grouped by the lease they hold now."""
        renewal: dict[datetime, list[int]] = {}
        for row_id, old in self._held.items():
            if old < lease:
                renewal.setdefault(old, []).append(row_id)
        self._renewing = {i for ids in renewal.values() for i in ids}
        return renewal

    def renewed(self, kept: set[int], lease: datetime) -> None:
        """`kept` now hold `lease`; the others were taken over, and keep what they had."""
        for row_id in self._renewing & kept:
            if row_id in self._held:
                self._held[row_id] = lease
        self._renewing = set()


async def keep_leases(
    leases: Leases,
    *,
    engine: Engine,
    clock: Clock,
    lease: timedelta,
    every: float,
) -> None:
    """Every `every` seconds, extend the leases in flight to `lease` from now; until cancelled."""
    while True:
        await asyncio.sleep(every)
        async with leases.lock:
            until = clock.now() + lease
            renewal = leases.due(until)
            if not renewal:
                continue
            try:
                kept = await asyncio.to_thread(_renew, engine, renewal, until=until)
            except Exception as exc:  # the database is away: try again at the next beat
                log.warning("outbox: renewing leases failed (%s)", type(exc).__name__)
                continue
            leases.renewed(kept, until)


def _renew(engine: Engine, renewal: dict[datetime, list[int]], *, until: datetime) -> set[int]:
    """Move the leases in `renewal` (old lease -> row ids) to `until`; the ids still ours."""
    kept: set[int] = set()
    with unit_of_work(engine) as uow:
        for old, ids in renewal.items():
            kept |= uow.outbox.renew(ids, old=old, until=until)
    if len(kept) < sum(len(ids) for ids in renewal.values()):
        log.warning("outbox: a send outlasted its lease and was taken over; it may go twice")
    return kept
