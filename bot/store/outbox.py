"""Outbox rows: what the pipeline queues, what the worker claims, leases and records.

The worker's statements are built once per dialect (SKIP LOCKED on PostgreSQL, RETURNING where
the dialect has it) and take `now` and the rest as parameters. Nothing here logs message text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    delete,
    func,
    literal_column,
    or_,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.store.models import Client, Message, Outbox
from bot.store.repository import Repository
from rules.decide import Outcome as Decided

PENDING, SENT, FAILED = "pending", "sent", "failed"
URGENT = "urgent"  # payload key: true on a row of the urgent lane (a crisis forward or answer)

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
class _Statements:
    """What a worker's pass runs, built once per dialect."""

    due: Select[tuple[Outbox]]  # :now, :limit
    due_urgent: Select[tuple[Outbox]]  # the same, for the urgent lane's rows only
    next_due: Select[tuple[datetime | None]]  # :now
    defer: Update  # executemany :row_id, :slot, :now
    lease: Update  # :ids (expanding), :lease, :now; RETURNING id where the dialect can
    renew: Update  # :ids (expanding), :old, :lease; RETURNING id as `lease` does
    returns_ids: bool

    @classmethod
    def build(cls, dialect: Dialect) -> _Statements:
        waiting = (Outbox.status == PENDING, unclaimed(), head_of_chat())
        due = (
            select(Outbox)
            .where(col(Outbox.next_attempt_at) <= _NOW, *waiting)
            .order_by(case((urgent(), 0), else_=1), col(Outbox.next_attempt_at), col(Outbox.id))
            .limit(bindparam("limit"))
        )
        if dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True, of=Outbox)
        table = OUTBOX.c
        pending = (table.status == PENDING, unclaimed())
        lease_type = table.claimed_until.type
        lease = (
            update(OUTBOX)
            .where(table.id.in_(bindparam("ids", expanding=True)), *pending)
            .values(claimed_until=bindparam("lease", type_=lease_type))
        )
        renew = (
            update(OUTBOX)
            .where(
                table.id.in_(bindparam("ids", expanding=True)),
                table.status == PENDING,
                table.claimed_until == bindparam("old", type_=lease_type),
            )
            .values(claimed_until=bindparam("lease", type_=lease_type))
        )
        if dialect.update_returning:
            lease, renew = lease.returning(table.id), renew.returning(table.id)
        return cls(
            due=due,
            due_urgent=due.where(urgent()),
            next_due=select(func.min(Outbox.next_attempt_at)).where(*waiting),
            defer=update(OUTBOX)
            .where(table.id == bindparam("row_id"), *pending)
            .values(next_attempt_at=bindparam("slot", type_=table.next_attempt_at.type)),
            lease=lease,
            renew=renew,
            returns_ids=dialect.update_returning,
        )


_BUILT: dict[str, _Statements] = {}

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


class OutboxRows(Repository[Outbox]):
    """Messages waiting to go out, and what became of those that went."""

    model = Outbox

    @property
    def _sql(self) -> _Statements:
        dialect = self._session.get_bind().dialect
        built = _BUILT.get(dialect.name)
        if built is None:
            built = _BUILT[dialect.name] = _Statements.build(dialect)
        return built

    def by_key(self, key: str) -> Outbox | None:
        """The row queued under this idempotency key."""
        return self._session.exec(select(Outbox).where(Outbox.idempotency_key == key)).first()

    # --- the worker ---------------------------------------------------------------------------

    def due(self, now: datetime, *, limit: int, urgent_only: bool = False) -> list[Outbox]:
        """The due, unclaimed heads of their chats, urgent first (row-locked on PostgreSQL)."""
        stmt = self._sql.due_urgent if urgent_only else self._sql.due
        return list(self._session.scalars(stmt, {"now": now, "limit": limit}).all())

    def next_due(self, now: datetime) -> datetime | None:
        """When the next row that could be claimed falls due; None when there is none."""
        due: datetime | None = self._session.execute(self._sql.next_due, {"now": now}).scalar_one()
        return due

    def defer(self, slots: Sequence[tuple[int, datetime]], now: datetime) -> None:
        """Move unclaimed rows to the time their rate limit lets them go."""
        if slots:
            params = [{"row_id": row_id, "slot": slot, "now": now} for row_id, slot in slots]
            self._session.execute(self._sql.defer, params)

    def lease(self, row_ids: Sequence[int], *, until: datetime, now: datetime) -> set[int]:
        """Lease the still unclaimed rows among `row_ids` to `until`; the ids leased."""
        return self._update_ids(self._sql.lease, row_ids, params={"now": now, "lease": until})

    def renew(self, row_ids: Sequence[int], *, old: datetime, until: datetime) -> set[int]:
        """Move the leases these rows still hold at `old` to `until`; the ids still ours."""
        return self._update_ids(self._sql.renew, row_ids, params={"old": old, "lease": until})

    def _update_ids(self, stmt: Update, ids: Sequence[int], *, params: dict[str, Any]) -> set[int]:
        if not ids:
            return set()
        if self._sql.returns_ids:
            return set(self._session.scalars(stmt, {"ids": list(ids), **params}))
        return {
            i
            for i in ids
            if self._session.execute(stmt, {"ids": [i], **params}).rowcount  # type: ignore[attr-defined]
        }

    def finish(
        self,
        row_id: int | None,
        *,
        lease: datetime | None = None,
        now: datetime | None = None,
        **changes: Any,
    ) -> int:
        """Apply `changes` to a pending row still ours (holding `lease`, or unclaimed at `now`)."""
        held = OUTBOX.c.claimed_until == lease if lease is not None else unclaimed(now or _NOW)
        result = self._session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row_id, OUTBOX.c.status == PENDING, held)
            .values(claimed_until=None, **changes)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write what became of these sends (a failure only while the lease is still ours)."""
        sent = [
            {"row_id": o.row_id, "sent_at": o.at, "platform_id": o.message_id[:64]}
            for o in outcomes
            if isinstance(o, Sent)
        ]
        if sent:
            self._session.execute(_MARK_SENT, sent)
        for outcome in outcomes:
            if isinstance(outcome, Errored):
                self.finish(outcome.row_id, lease=outcome.lease, **outcome.changes)

    # --- what the services ask ----------------------------------------------------------------

    def latest_for_client(
        self,
        client_id: int | None,
        *,
        keys: Sequence[str],
        since: datetime,
        until: datetime,
        coach_id: int | None = None,
    ) -> Outbox | None:
        """A client's newest row with a key LIKE one of `keys`, made in (since, until]."""
        stmt = select(Outbox).where(Outbox.client_id == client_id)
        if coach_id is not None:
            stmt = stmt.where(Outbox.coach_id == coach_id)
        stmt = stmt.where(or_(*(col(Outbox.idempotency_key).like(key) for key in keys)))
        stmt = stmt.where(col(Outbox.created_at) > since, col(Outbox.created_at) <= until)
        return self._session.exec(
            stmt.order_by(col(Outbox.created_at).desc(), col(Outbox.id).desc())
        ).first()

    def of_client_since(
        self, client_id: int | None, *, since: datetime, until: datetime
    ) -> list[Outbox]:
        """A client's rows made in (since, until], newest first."""
        return list(
            self._session.exec(
                select(Outbox)
                .where(Outbox.client_id == client_id)
                .where(col(Outbox.created_at) > since, col(Outbox.created_at) <= until)
                .order_by(col(Outbox.created_at).desc(), col(Outbox.id).desc())
            ).all()
        )

    def open_prompt(
        self, client_id: int | None, *, since: datetime, until: datetime, excluding: int | None
    ) -> int | None:
        """The message whose kind buttons went to the client in (since, until], still unsorted."""
        row = self._session.exec(
            select(Outbox.message_id)
            .join(Message, col(Message.id) == Outbox.message_id)
            .where(Outbox.client_id == client_id)
            .where(col(Outbox.idempotency_key).like("msg:%:ack:ask"))
            .where(col(Outbox.created_at) > since, col(Outbox.created_at) <= until)
            .where(Message.decision == Decided.ASK, col(Message.id) != excluding)
            .order_by(col(Outbox.id).desc())
        ).first()
        return row

    def answered_forward(
        self, *, platform: str, chat_id: str, platform_message_id: str, coach_id: int
    ) -> Outbox | None:
        """The row about a client that the coach's platform message `platform_message_id` is."""
        return self._session.exec(
            select(Outbox).where(
                Outbox.platform == platform,
                Outbox.chat_id == chat_id,
                Outbox.platform_message_id == platform_message_id,
                Outbox.coach_id == coach_id,
                col(Outbox.client_id).is_not(None),
            )
        ).first()

    def copy_of(self, message_id: int, *, platform: str, chat_id: str) -> str | None:
        """The platform id of the coach's copy of a client message, if it went out."""
        row = self._session.exec(
            select(Outbox).where(
                Outbox.message_id == message_id,
                Outbox.platform == platform,
                Outbox.chat_id == chat_id,
                col(Outbox.platform_message_id).is_not(None),
            )
        ).first()
        return row.platform_message_id if row is not None else None

    def last_relays(self, client_ids: Collection[int]) -> dict[int, datetime]:
        """When each of these clients was last sent a reply of their coach's."""
        rows = self._session.exec(
            select(Outbox.client_id, func.max(Outbox.created_at))
            .where(col(Outbox.client_id).in_(list(client_ids)))
            .where(col(Outbox.idempotency_key).like("%:relay"))
            .group_by(col(Outbox.client_id))
        ).all()
        return {client_id: at for client_id, at in rows if client_id is not None}

    def unreported_failures(self, coach_id: int | None) -> list[Outbox]:
        """Failed rows to the coach or their clients that no digest has reported yet."""
        theirs = select(Client.id).where(Client.coach_id == coach_id)
        return list(
            self._session.exec(
                select(Outbox)
                .where(Outbox.status == FAILED, col(Outbox.reported_at).is_(None))
                .where(or_(col(Outbox.coach_id) == coach_id, col(Outbox.client_id).in_(theirs)))
                .order_by(col(Outbox.created_at), col(Outbox.id))
            ).all()
        )

    def unmark_reported(self, coach_id: int | None, at: datetime) -> None:
        """Forget that the digest made `at` reported these failures (it is made again)."""
        self._session.execute(
            update(Outbox)
            .where(col(Outbox.coach_id) == coach_id, col(Outbox.reported_at) == at)
            .values(reported_at=None)
        )

    def pending_digests(self, coach_id: int | None) -> list[Outbox]:
        """The coach's digests rendered but not sent yet."""
        return list(
            self._session.exec(
                select(Outbox).where(
                    Outbox.coach_id == coach_id,
                    Outbox.status == PENDING,
                    col(Outbox.idempotency_key).startswith("digest:"),
                )
            ).all()
        )

    def to_coach(self, coach_id: int | None, chats: Collection[tuple[str, str]]) -> list[Outbox]:
        """Rows about the coach, or addressed to one of these (platform, chat id)."""
        to_chat = [and_(col(Outbox.platform) == p, col(Outbox.chat_id) == c) for p, c in chats]
        return list(
            self._session.exec(
                select(Outbox).where(or_(col(Outbox.coach_id) == coach_id, *to_chat))
            ).all()
        )

    def highest_platform_id(self, platform: str) -> int:
        """The highest numeric platform message id sent on `platform` (0 when none)."""
        ids = self._session.exec(
            select(Outbox.platform_message_id).where(
                Outbox.platform == platform, col(Outbox.platform_message_id).is_not(None)
            )
        ).all()
        return max((int(i) for i in ids if i and i.isdigit()), default=0)

    # --- retention ----------------------------------------------------------------------------

    def blank_texts_before(self, cutoff: datetime) -> int:
        """Blank the text of rows no longer pending made before `cutoff`; how many were."""
        result = self._session.execute(
            update(Outbox)
            .where(col(Outbox.status) != PENDING, col(Outbox.created_at) < cutoff)
            .where(col(Outbox.text) != literal_column("''"))  # as the partial index says
            .values(text="")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def documents_pending(self) -> set[int]:
        """The ids of the documents pending rows still have to send."""
        payloads = self._session.exec(select(Outbox.payload).where(Outbox.status == PENDING)).all()
        return {i for payload in payloads for i in payload.get("documents", [])}

    def delete(self, row_ids: Collection[int]) -> None:
        """Delete these rows."""
        self._session.execute(delete(Outbox).where(col(Outbox.id).in_(list(row_ids))))
