"""Every row about one client, read together (for /export) and deleted together (/forget)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlmodel import Session, col, select

from bot.store.models import (
    Client,
    FailedJoin,
    Identity,
    Invite,
    Message,
    Outbox,
    Promise,
    TimeEntry,
    Timer,
)


@dataclass(frozen=True)
class ClientRows:
    """Every row that is about one client."""

    client: Client
    identities: list[Identity]
    messages: list[Message]
    promises: list[Promise]
    time_entries: list[TimeEntry]
    outbox: list[Outbox]  # addressed to them, or about them (their client_id or message ids)
    invites: list[Invite]
    timers: list[Timer]


def _ids(rows: Iterable[Any]) -> list[int]:
    return [row.id for row in rows]


def _rows(session: Session, table: Any, *, where: Any) -> list[Any]:
    return list(session.exec(select(table).where(where).order_by(col(table.id))).all())


def rows_about(session: Session, client: Client) -> ClientRows:
    """The client, their chats, messages, promises, time, outbox rows, invites and timers."""
    identities = _rows(session, Identity, where=col(Identity.client_id) == client.id)
    messages = _rows(session, Message, where=col(Message.client_id) == client.id)
    promises = _rows(session, Promise, where=col(Promise.client_id) == client.id)
    about = [col(Outbox.client_id) == client.id, col(Outbox.message_id).in_(_ids(messages))]
    about += [
        and_(col(Outbox.platform) == i.platform, col(Outbox.chat_id) == i.chat_id)
        for i in identities
    ]
    reminders = (col(Timer.kind) == "reminder") & col(Timer.ref_id).in_(_ids(promises))
    named = (col(Invite.coach_id) == client.coach_id) & (col(Invite.client_name) == client.name)
    return ClientRows(
        client=client,
        identities=identities,
        messages=messages,
        promises=promises,
        time_entries=_rows(session, TimeEntry, where=col(TimeEntry.client_id) == client.id),
        outbox=_rows(session, Outbox, where=or_(*about)),
        invites=_rows(session, Invite, where=or_(col(Invite.client_id) == client.id, named)),
        timers=_rows(session, Timer, where=or_(col(Timer.client_id) == client.id, reminders)),
    )


def delete_rows(session: Session, rows: ClientRows, *, who_hashes: Iterable[str]) -> None:
    """Delete the client and every row about them; an account shared with a coach stays hers."""
    client = rows.client
    hashes = list(who_hashes)
    if hashes:
        session.execute(delete(FailedJoin).where(col(FailedJoin.who_hash).in_(hashes)))
    session.execute(delete(Timer).where(col(Timer.id).in_(_ids(rows.timers))))
    session.execute(delete(Outbox).where(col(Outbox.id).in_(_ids(rows.outbox))))
    for table in (Promise, TimeEntry, Message):
        session.execute(delete(table).where(col(table.client_id) == client.id))
    session.execute(delete(Invite).where(col(Invite.id).in_(_ids(rows.invites))))
    for identity in rows.identities:
        if identity.coach_id is None:
            session.delete(identity)
        else:  # the account is also a coach's: keep it for them
            identity.client_id = None
            session.add(identity)
    session.flush()
    session.delete(client)
    session.flush()
