"""What clients wrote, the reply promises on it, the coach's logged time, and stored files."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, delete, func, or_, type_coerce, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.store.models import Client, Document, Message, Promise, TimeEntry
from bot.store.repository import Repository
from rules.decide import Outcome

MARK_CHUNK = 2000  # ids per UPDATE when marking what a digest showed

#: The digest's news: columns, not whole rows (a busy coach has thousands), in this order:
#: id, client id, text, purged, attachments (JSON text), kind, received at, former, client name.
_NEWS_COLUMNS: tuple[Any, ...] = (
    Message.id,
    Message.client_id,
    Message.text,
    Message.purged,
    type_coerce(Message.attachments, Text).label("attachments_raw"),
    Message.kind,
    Message.received_at,
    Message.former_client,
    col(Client.name).label("client_name"),
)
NewsRow = tuple[int, int, str, bool, str | None, str | None, datetime, bool, str]


def _in_order(stmt: Any) -> Any:
    return stmt.order_by(col(Message.received_at), col(Message.id))


class Messages(Repository[Message]):
    """Every client message with the decision taken on it."""

    model = Message

    def of_client(
        self,
        client_id: int | None,
        *,
        decision: Outcome | None = None,
        after: datetime | None = None,
        until: datetime | None = None,
        undelivered: bool = False,
        released_by: datetime | None = None,
    ) -> list[Message]:
        """A client's messages in arrival order, narrowed as asked (`after` exclusive)."""
        stmt = select(Message).where(Message.client_id == client_id)
        if decision is not None:
            stmt = stmt.where(Message.decision == decision)
        if after is not None:
            stmt = stmt.where(col(Message.received_at) > after)
        if until is not None:
            stmt = stmt.where(col(Message.received_at) <= until)
        if undelivered:
            stmt = stmt.where(col(Message.delivered_at).is_(None))
        if released_by is not None:
            stmt = stmt.where(col(Message.release_at) <= released_by)
        return list(self._session.exec(_in_order(stmt)).all())

    def burst_after(self, first: Message, window: timedelta) -> list[Message]:
        """The client's other messages waiting for a kind, sent within `window` after `first`."""
        stmt = (
            select(Message)
            .where(Message.client_id == first.client_id, Message.decision == Outcome.ASK)
            .where(col(Message.id) != first.id, col(Message.received_at) >= first.received_at)
            .where(col(Message.received_at) < first.received_at + window)
        )
        return list(self._session.exec(_in_order(stmt)).all())

    def delivered_with(self, first: Message) -> list[int]:
        """The ids of the client's messages that reached the coach together with `first`."""
        ids = self._session.exec(
            select(Message.id).where(
                Message.client_id == first.client_id,
                Message.decision == first.decision,
                Message.delivered_at == first.delivered_at,
            )
        ).all()
        return [i for i in ids if i is not None]

    def count_since(
        self,
        client_id: int | None,
        *,
        since: datetime,
        decisions: Collection[str],
        kinds: Collection[str],
    ) -> int:
        """How many of a client's messages since `since` had one of these decisions and kinds."""
        used = self._session.exec(
            select(func.count(col(Message.id))).where(
                Message.client_id == client_id,
                col(Message.decision).in_(list(decisions)),
                col(Message.kind).in_(list(kinds)),
                Message.received_at >= since,
            )
        ).one()
        return int(used)

    def tallies(
        self,
        *,
        start: datetime,
        end: datetime,
        coach_id: int | None = None,
        client_ids: Collection[int] | None = None,
    ) -> list[tuple[int, str | None, str, datetime]]:
        """(client id, kind, decision, received at) of each message in [start, end)."""
        stmt = select(Message.client_id, Message.kind, Message.decision, Message.received_at)
        if coach_id is not None:
            stmt = stmt.where(Message.coach_id == coach_id)
        if client_ids is not None:
            stmt = stmt.where(col(Message.client_id).in_(list(client_ids)))
        stmt = stmt.where(col(Message.received_at) >= start, col(Message.received_at) < end)
        return [tuple(row) for row in self._session.exec(stmt).all()]  # type: ignore[misc]

    # --- the digest ---------------------------------------------------------------------------

    def urgent_without_promise(
        self, coach_id: int | None, now: datetime
    ) -> list[tuple[Message, Client]]:
        """Urgent messages to a coach (no reply promise) not yet settled, oldest first.

        A digest that finds one answered marks it digested, so later digests skip it.
        """
        promised = select(Promise.id).where(Promise.message_id == Message.id).exists()
        stmt = (
            select(Message, Client)
            .join(Client, col(Client.id) == Message.client_id)
            .where(Message.coach_id == coach_id, Message.decision == Outcome.URGENT)
            .where(col(Message.digested_at).is_(None))
            .where(col(Message.received_at) <= now, ~promised)
        )
        return [(m, c) for m, c in self._session.exec(_in_order(stmt)).all()]

    def news(self, coach_id: int | None, now: datetime) -> list[NewsRow]:
        """Undigested updates, and former clients' news (FYI or not), by client then time."""
        # a former client's question gets the alumni answer and is kept: the coach sees it here
        rows = self._session.execute(
            sa_select(*_NEWS_COLUMNS)
            .join(Client, col(Client.id) == Message.client_id)
            .where(col(Message.coach_id) == coach_id, col(Message.digested_at).is_(None))
            # the IN lets the index on (coach, decision, digested) find just these rows
            .where(col(Message.decision).in_([Outcome.DIGEST, Outcome.ALUMNI]))
            .where(
                or_(
                    col(Message.decision) == Outcome.DIGEST,
                    (col(Message.decision) == Outcome.ALUMNI) & col(Message.former_client),
                )
            )
            .where(col(Message.received_at) <= now)
            .order_by(col(Client.name), col(Client.id), col(Message.received_at), col(Message.id))
        ).all()
        return [tuple(row) for row in rows]

    def parked_for_sessions(
        self, coach_id: int | None, *, now: datetime, within: timedelta
    ) -> list[tuple[Message, Client]]:
        """Unbriefed parked messages of clients whose session is within `within` of `now`."""
        stmt = (
            select(Message, Client)
            .join(Client, col(Client.id) == Message.client_id)
            .where(Message.coach_id == coach_id, Message.decision == Outcome.PARK)
            .where(col(Message.briefed_at).is_(None), col(Message.received_at) <= now)
            .where(col(Client.next_session) > now, col(Client.next_session) <= now + within)
            .order_by(col(Client.next_session), col(Client.id), col(Message.received_at))
        )
        return [(m, c) for m, c in self._session.exec(stmt).all()]

    def mark_digested(self, message_ids: Sequence[int], now: datetime) -> None:
        """Mark these messages as shown in a digest at `now`."""
        for start in range(0, len(message_ids), MARK_CHUNK):
            self._session.execute(
                update(Message)
                .where(col(Message.id).in_(message_ids[start : start + MARK_CHUNK]))
                .values(digested_at=now)
            )

    def unmark_digested(self, coach_id: int | None, at: datetime) -> None:
        """Forget that the digest made `at` showed these messages (it is made again)."""
        self._session.execute(
            update(Message)
            .where(col(Message.coach_id) == coach_id, col(Message.digested_at) == at)
            .values(digested_at=None)
        )

    # --- retention and erasure ----------------------------------------------------------------

    def any_unpurged_before(self, cutoff: datetime) -> bool:
        """Whether a message older than `cutoff` still has its text."""
        return (
            self._session.exec(
                select(Message.id)
                .where(col(Message.purged).is_(False), col(Message.received_at) < cutoff)
                .limit(1)
            ).first()
            is not None
        )

    def purge_before(self, cutoff: datetime) -> int:
        """Remove the text and files of messages older than `cutoff`; how many were."""
        result = self._session.execute(
            update(Message)
            .where(col(Message.purged).is_(False), col(Message.received_at) < cutoff)
            .values(text="", attachments=[], purged=True)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def delete_of_client(self, client_id: int | None) -> None:
        """Delete a client's messages, promises and logged time."""
        for table in (Promise, TimeEntry, Message):
            self._session.execute(delete(table).where(col(table.client_id) == client_id))


class Promises(Repository[Promise]):
    """Reply promises on forwarded and queued messages."""

    model = Promise

    def of_message(self, message_id: int | None) -> Promise | None:
        """The promise on a message, if it has one."""
        return self._session.exec(select(Promise).where(Promise.message_id == message_id)).first()

    def open_on(self, message_ids: Collection[int]) -> list[Promise]:
        """The unanswered promises on these messages."""
        return list(
            self._session.exec(
                select(Promise).where(
                    col(Promise.message_id).in_(list(message_ids)),
                    col(Promise.replied_at).is_(None),
                )
            ).all()
        )

    def open_of_client(
        self,
        client_id: int,
        *,
        delivered_by: datetime | None = None,
        message_ids: Collection[int] | None = None,
    ) -> list[Promise]:
        """A client's unanswered promises: on these messages, or on all delivered by then."""
        stmt = (
            select(Promise)
            .join(Message, col(Message.id) == Promise.message_id)
            .where(Promise.client_id == client_id, col(Promise.replied_at).is_(None))
        )
        if message_ids is not None:
            stmt = stmt.where(col(Promise.message_id).in_(list(message_ids)))
        elif delivered_by is not None:
            stmt = stmt.where(
                col(Message.delivered_at).is_not(None), col(Message.delivered_at) <= delivered_by
            )
        return list(self._session.exec(stmt).all())

    def to_remind(
        self, client_id: int, *, now: datetime, due_by: datetime
    ) -> list[tuple[Promise, Message]]:
        """A client's unanswered, unreminded promises due after `now` and by `due_by`."""
        stmt = (
            select(Promise, Message)
            .join(Message, col(Message.id) == Promise.message_id)
            .where(Promise.client_id == client_id, col(Promise.replied_at).is_(None))
            .where(col(Promise.reminded_at).is_(None), col(Promise.reply_by) > now)
            .where(col(Promise.reply_by) <= due_by)
        )
        return [(p, m) for p, m in self._session.exec(_in_order(stmt)).all()]

    def reminded_at(self, client_id: int, at: datetime) -> list[int]:
        """The ids of a client's messages whose reminder went out at `at`."""
        ids = self._session.exec(
            select(Promise.message_id).where(
                Promise.client_id == client_id, Promise.reminded_at == at
            )
        ).all()
        return list(ids)

    def owed(self, coach_id: int | None, now: datetime) -> list[tuple[Promise, Message, Client]]:
        """A coach's unanswered promises on messages received by `now`, soonest due first."""
        stmt = (
            select(Promise, Message, Client)
            .join(Message, col(Message.id) == Promise.message_id)
            .join(Client, col(Client.id) == Promise.client_id)
            .where(Promise.coach_id == coach_id, col(Promise.replied_at).is_(None))
            .where(col(Message.received_at) <= now)
            .order_by(col(Promise.reply_by), col(Message.id))
        )
        return [(p, m, c) for p, m, c in self._session.exec(stmt).all()]

    def reply_times(
        self, coach_id: int | None, *, start: datetime, end: datetime
    ) -> list[tuple[int, datetime, datetime, datetime | None]]:
        """(client, received at, reply by, replied at) of promises on messages in [start, end)."""
        rows = self._session.exec(
            select(Promise.client_id, Message.received_at, Promise.reply_by, Promise.replied_at)
            .join(Message, col(Message.id) == Promise.message_id)
            .where(Promise.coach_id == coach_id)
            .where(col(Message.received_at) >= start, col(Message.received_at) < end)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]


class TimeEntries(Repository[TimeEntry]):
    """Between-session time the coach logged."""

    model = TimeEntry

    def of_coach(self, coach_id: int | None, *, start: datetime, end: datetime) -> list[TimeEntry]:
        """A coach's entries logged in [start, end)."""
        return list(
            self._session.exec(
                select(TimeEntry)
                .where(TimeEntry.coach_id == coach_id)
                .where(col(TimeEntry.logged_at) >= start, col(TimeEntry.logged_at) < end)
            ).all()
        )


class Documents(Repository[Document]):
    """Files sent with messages (report pictures, exports)."""

    model = Document

    def by_ids(self, document_ids: Collection[int]) -> dict[int, Document]:
        """The documents with these ids that still exist."""
        rows = self._session.exec(select(Document).where(col(Document.id).in_(list(document_ids))))
        return {row.id or 0: row for row in rows}

    def ids_before(self, cutoff: datetime, *, limit: int | None = None) -> list[int]:
        """The ids of documents made before `cutoff`."""
        stmt = select(Document.id).where(col(Document.created_at) < cutoff)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [i for i in self._session.exec(stmt).all() if i is not None]

    def delete(self, document_ids: Collection[int]) -> None:
        """Delete these documents."""
        self._session.execute(delete(Document).where(col(Document.id).in_(list(document_ids))))


__all__ = ["Documents", "Messages", "NewsRow", "Promises", "TimeEntries"]
