"""Durable timers: planned once by key, claimed by one worker, marked done with their work."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, bindparam, delete, func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from bot.store.models import Promise, Timer
from bot.store.repository import Repository

#: What planning a timer whose key exists does: nothing, move a pending one, or rearm a done one.
OnConflict = Literal["nothing", "retime", "rearm"]
TIMER: Table = Timer.__table__  # type: ignore[attr-defined]


_DUE = TIMER.c.due_at.type
_PUTS: dict[tuple[str, str, bool], Any] = {}


def _put_statement(dialect: str, on_conflict: OnConflict, *, timed: bool) -> Any:
    """The upsert `Timers.put` runs, built once per dialect and kind of conflict.

    Built each call, the dialect's INSERT ... ON CONFLICT was compiled again every time.
    """
    built = _PUTS.get((dialect, on_conflict, timed))
    if built is not None:
        return built
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(TIMER).values(
        key=bindparam("key"),
        kind=bindparam("kind"),
        due_at=bindparam("due_at", type_=_DUE),
        coach_id=bindparam("coach_id"),
        client_id=bindparam("client_id"),
        ref_id=bindparam("ref_id"),
        status="pending",
    )
    if on_conflict == "nothing":
        built = stmt.on_conflict_do_nothing(index_elements=["key"])
    else:
        changes: dict[str, Any] = {"due_at": stmt.excluded.due_at}
        # retime rewrites only a pending timer whose time changed: no churn on every pass
        where: ColumnElement[bool] = (TIMER.c.status == "pending") & (
            TIMER.c.due_at != stmt.excluded.due_at
        )
        if timed:
            where &= TIMER.c.due_at > bindparam("now", type_=_DUE)
        if on_conflict == "rearm":
            changes |= {"status": "pending", "done_at": None, "claimed_until": None}
            where = TIMER.c.status == "done"
        built = stmt.on_conflict_do_update(index_elements=["key"], set_=changes, where=where)
    _PUTS[(dialect, on_conflict, timed)] = built
    return built


class Timers(Repository[Timer]):
    """Timers by key: releases, reminders, digests, briefs, notices, retention."""

    model = Timer

    def put(
        self,
        *,
        key: str,
        kind: str,
        due_at: datetime,
        coach_id: int | None = None,
        client_id: int | None = None,
        ref_id: int | None = None,
        on_conflict: OnConflict = "nothing",
        now: datetime | None = None,
    ) -> None:
        """Insert a timer unless its key exists; `retime` moves a pending one, `rearm` a done one.

        With `now`, `retime` leaves a timer that is already due alone: it runs, late, rather
        than being moved past what it was for (a brief past its session, after downtime).
        """
        dialect = self._session.get_bind().dialect.name
        timed = on_conflict == "retime" and now is not None
        params: dict[str, Any] = {
            "key": key,
            "kind": kind,
            "due_at": due_at.astimezone(UTC),
            "coach_id": coach_id,
            "client_id": client_id,
            "ref_id": ref_id,
        }
        if timed:
            assert now is not None
            params["now"] = now.astimezone(UTC)
        self._session.execute(_put_statement(dialect, on_conflict, timed=timed), params)

    def reminder_covering(self, promise: Promise, *, group: timedelta) -> int | None:
        """A pending reminder of another open promise of the client due within `group` before."""
        return self._session.exec(
            select(Timer.id)
            .join(Promise, col(Promise.id) == Timer.ref_id)
            .where(Timer.kind == "reminder", Timer.status == "pending")
            .where(Timer.client_id == promise.client_id, col(Promise.id) != promise.id)
            .where(col(Promise.replied_at).is_(None), col(Promise.reminded_at).is_(None))
            .where(col(Promise.reply_by) <= promise.reply_by)
            .where(col(Promise.reply_by) >= promise.reply_by - group)
        ).first()

    def newer_due(self, timer: Timer, now: datetime) -> bool:
        """Whether a pending timer of the same kind and coach, due after this one, is due too."""
        return (
            self._session.exec(
                select(Timer.id).where(
                    Timer.kind == timer.kind,
                    Timer.coach_id == timer.coach_id,
                    Timer.status == "pending",
                    col(Timer.due_at) > timer.due_at,
                    col(Timer.due_at) <= now,
                )
            ).first()
            is not None
        )

    def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[int]:
        """Lease up to `limit` due, unclaimed timers to this worker, oldest first."""
        stmt = (
            select(Timer.id)
            .where(Timer.status == "pending", col(Timer.due_at) <= now)
            .where(or_(col(Timer.claimed_until).is_(None), col(Timer.claimed_until) <= now))
            .order_by(col(Timer.due_at), col(Timer.id))
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = [timer_id for timer_id in self._session.exec(stmt).all() if timer_id is not None]
        if ids:
            self._session.execute(
                update(Timer).where(col(Timer.id).in_(ids)).values(claimed_until=now + lease)
            )
        return ids

    def take(self, timer_id: int, now: datetime) -> Timer | None:
        """Mark a pending timer done in this transaction (row-locking it); None if already done."""
        result = self._session.execute(
            update(Timer)
            .where(col(Timer.id) == timer_id, col(Timer.status) == "pending")
            .values(status="done", done_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return self._session.get(Timer, timer_id)

    def next_due(self, *, until: datetime) -> datetime | None:
        """When the soonest pending timer due by `until` is due; None when none is."""
        due: datetime | None = self._session.exec(
            select(func.min(Timer.due_at)).where(
                Timer.status == "pending", col(Timer.due_at) <= until
            )
        ).one()
        return due

    def pending(self) -> list[Timer]:
        """Every pending timer, soonest first."""
        return list(
            self._session.exec(
                select(Timer)
                .where(Timer.status == "pending")
                .order_by(col(Timer.due_at), col(Timer.id))
            ).all()
        )

    def delete(self, timer_ids: Collection[int]) -> None:
        """Delete these timers."""
        self._session.execute(delete(Timer).where(col(Timer.id).in_(list(timer_ids))))


__all__ = ["OnConflict", "Timers"]
