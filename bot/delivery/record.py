"""The results of an outbox pass, recorded in batches.

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
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from bot.store.outbox import Errored, Outcome, Sent
from bot.store.unit import unit_of_work

__all__ = ["Errored", "Outcome", "Recorder", "Sent", "record"]

log = logging.getLogger(__name__)


def record(engine: Engine, outcomes: Sequence[Outcome]) -> None:
    """Write every outcome in one transaction; if that fails, each in one of its own.

    Raises the first error of the one-by-one pass, after trying every row: a row left
    unrecorded goes again when its lease runs out (at least once).
    """
    if not outcomes:
        return
    try:
        with unit_of_work(engine) as uow:
            uow.outbox.record(outcomes)
        return
    except Exception as exc:
        log.warning("outbox: recording %d results failed (%s)", len(outcomes), type(exc).__name__)
    first: Exception | None = None
    for outcome in outcomes:
        try:
            with unit_of_work(engine) as uow:
                uow.outbox.record([outcome])
        except Exception as exc:
            log.warning(
                "outbox row %s: result not recorded (%s)", outcome.row_id, type(exc).__name__
            )
            first = first or exc
    if first is not None:
        raise first


class Recorder:
    """Records a pass's outcomes as its sends finish: each batch in one transaction.

    A batch waits up to `window` seconds for more sends to finish, less when the last one does;
    while a batch is written, the next one gathers.
    """

    def __init__(self, engine: Engine, sends: int, *, window: float) -> None:
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
