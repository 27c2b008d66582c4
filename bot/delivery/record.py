"""The outbox worker's SQL: statements built once, and the results of a pass, batched.

A pass's results are written a batch at a time (`Recorder`): the sends that finish within
`window` of each other, or all of them when the pass is done, go in one short transaction, and
a send that hangs never holds back the record of those Telegram already accepted (a crash
before the record would send them again). A result is written only while its row is
still pending; a retry or failure also only while the row still holds the lease this worker
wrote, so a worker whose lease ran out and was taken over never overwrites the new holder's
state. A sent row is recorded whoever holds the lease now: it did go out. If the batch fails,
each result is tried again in a transaction of its own, so one bad row cannot lose the others'.
Nothing here logs or stores message text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    or_,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.delivery.outbox import PENDING, SENT, URGENT
from bot.store.db import is_postgres
from bot.store.models import Outbox
from bot.store.unit import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

OUTBOX: Table = Outbox.__table__  # type: ignore[attr-defined]
_NOW = bindparam("now", type_=OUTBOX.c.claimed_until.type)


@dataclass(frozen=True)
class Sent:
    """A row the platform accepted, `at` that time, as `message_id`."""

    row_id: int
    message_id: str
    at: datetime


@dataclass(frozen=True)
class Errored:
    """A row whose send failed: `changes` make it due again later, or failed for good."""

    row_id: int
    lease: datetime  # the claimed_until this worker wrote: only then is the row still ours
    changes: Mapping[str, Any]


Outcome = Sent | Errored


def urgent(table: Any = Outbox) -> ColumnElement[bool]:
    """True for a row of the urgent lane (`"urgent": true` in its payload); never NULL."""
    return table.payload[URGENT].as_boolean().is_(True)  # type: ignore[no-any-return]


def head_of_chat() -> ColumnElement[bool]:
    """True for the row of its chat that may go next: only the head of a chat is ever due.

    The head is the oldest pending urgent row of the chat, else its oldest pending row: the
    urgent lane overtakes whatever else waits for the chat, and keeps its own order.
    """
    other = aliased(Outbox)

    def none_pending(*where: ColumnElement[bool]) -> ColumnElement[bool]:
        same_chat = (other.platform == Outbox.platform, other.chat_id == Outbox.chat_id)
        return ~select(other.id).where(*same_chat, other.status == PENDING, *where).exists()

    earlier = col(other.id) < col(Outbox.id)
    return or_(
        and_(urgent(), none_pending(earlier, urgent(other))),
        and_(~urgent(), none_pending(earlier), none_pending(urgent(other))),
    )


def unclaimed(now: ColumnElement[datetime] | datetime = _NOW) -> ColumnElement[bool]:
    """No lease on the row, or one that ran out before `now` (the `:now` parameter by default)."""
    return or_(col(Outbox.claimed_until).is_(None), col(Outbox.claimed_until) < now)


@dataclass(frozen=True)
class Statements:
    """What a pass runs, built once; each takes `now` (and the rest) as parameters."""

    due: Select[tuple[Outbox]]  # :now, :limit
    due_urgent: Select[tuple[Outbox]]  # the same, for the urgent lane's rows only
    next_due: Select[tuple[datetime | None]]  # :now
    defer: Update  # executemany :row_id, :slot, :now
    lease: Update  # :ids (expanding), :lease, :now; RETURNING id where the dialect can
    lease_returns_ids: bool
    renew: Update  # :ids (expanding), :old, :lease; RETURNING id as `lease` does

    @classmethod
    def build(cls, engine: Engine) -> Statements:
        """The statements for this engine's dialect (SKIP LOCKED on PostgreSQL)."""
        waiting = (Outbox.status == PENDING, unclaimed(), head_of_chat())
        due = (
            select(Outbox)
            .where(col(Outbox.next_attempt_at) <= _NOW, *waiting)
            .order_by(case((urgent(), 0), else_=1), col(Outbox.next_attempt_at), col(Outbox.id))
            .limit(bindparam("limit"))
        )
        if is_postgres(engine):
            due = due.with_for_update(skip_locked=True, of=Outbox)
        table = OUTBOX.c
        pending = (table.status == PENDING, unclaimed())
        lease = (
            update(OUTBOX)
            .where(table.id.in_(bindparam("ids", expanding=True)), *pending)
            .values(claimed_until=bindparam("lease", type_=table.claimed_until.type))
        )
        renew = (
            update(OUTBOX)
            .where(
                table.id.in_(bindparam("ids", expanding=True)),
                table.status == PENDING,
                table.claimed_until == bindparam("old", type_=table.claimed_until.type),
            )
            .values(claimed_until=bindparam("lease", type_=table.claimed_until.type))
        )
        if engine.dialect.update_returning:
            lease, renew = lease.returning(table.id), renew.returning(table.id)
        return cls(
            due=due,
            due_urgent=due.where(urgent()),
            next_due=select(func.min(Outbox.next_attempt_at)).where(*waiting),
            defer=update(OUTBOX)
            .where(table.id == bindparam("row_id"), *pending)
            .values(next_attempt_at=bindparam("slot", type_=table.next_attempt_at.type)),
            lease=lease,
            lease_returns_ids=engine.dialect.update_returning,
            renew=renew,
        )


def finish(uow: UnitOfWork, row_id: int | None, held: ColumnElement[bool], **changes: Any) -> int:
    """Apply `changes` to a pending row that `held` says is still ours; 1 if it was."""
    result = uow.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == row_id, OUTBOX.c.status == PENDING, held)
        .values(claimed_until=None, **changes)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_MARK_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("row_id"), OUTBOX.c.status == PENDING)
    .values(
        status=SENT,
        sent_at=bindparam("sent_at", type_=OUTBOX.c.sent_at.type),
        platform_message_id=bindparam("platform_id"),
        claimed_until=None,
        last_error=None,
    )
)


def record(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    """Write every outcome in one transaction; if that fails, each in one of its own.

    Raises the first error of the one-by-one pass, after trying every row: a row left
    unrecorded goes again when its lease runs out (at least once).
    """
    if not outcomes:
        return
    try:
        with unit_of_work(engine) as uow:
            _write(uow, outcomes)
        return
    except Exception as exc:
        log.warning("outbox: recording %d results failed (%s)", len(outcomes), type(exc).__name__)
    first: Exception | None = None
    for outcome in outcomes:
        try:
            with unit_of_work(engine) as uow:
                _write(uow, [outcome])
        except Exception as exc:
            log.warning(
                "outbox row %s: result not recorded (%s)", outcome.row_id, type(exc).__name__
            )
            first = first or exc
    if first is not None:
        raise first


def _write(uow: UnitOfWork, outcomes: Sequence[Outcome]) -> None:
    sent = [
        {"row_id": o.row_id, "sent_at": o.at, "platform_id": o.message_id[:64]}
        for o in outcomes
        if isinstance(o, Sent)
    ]
    if sent:
        uow.execute(_MARK_SENT, sent)
    for outcome in outcomes:
        if isinstance(outcome, Errored):
            held = OUTBOX.c.claimed_until == outcome.lease
            finish(uow, outcome.row_id, held, **outcome.changes)


class Recorder:
    """Records a pass's outcomes as its sends finish: each batch in one transaction.

    A batch waits up to `window` seconds for more sends to finish, less when the last one does;
    while a batch is written, the next one gathers.
    """

    def __init__(self, engine: Engine, sends: int, window: float) -> None:
        self._engine, self._open, self._window = engine, sends, window
        self._waiting: list[Outcome] = []
        self._arrived, self._finished = asyncio.Event(), asyncio.Event()
        self._errors: list[Exception] = []
        if sends == 0:
            self._finished.set()

    def add(self, outcome: Outcome) -> None:
        """One send has finished."""
        self._waiting.append(outcome)
        self._open -= 1
        self._arrived.set()
        if self._open <= 0:
            self._finished.set()

    def take(self) -> list[Outcome]:
        """The outcomes not yet handed to a batch (what to record if the pass is cancelled)."""
        batch, self._waiting = self._waiting, []
        self._arrived.clear()
        return batch

    async def run(self) -> None:
        """Write batches until every send has finished and been recorded."""
        while not (self._finished.is_set() and not self._waiting):
            await self._arrived.wait()
            if not self._finished.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._finished.wait(), self._window)
            batch = self.take()
            try:
                await asyncio.to_thread(record, self._engine, batch)
            except Exception as exc:  # the rows go again after their lease: at least once
                self._errors.append(exc)

    def raise_first_error(self) -> None:
        """Raise the first error a batch met, once every batch was tried."""
        if self._errors:
            raise self._errors[0]
