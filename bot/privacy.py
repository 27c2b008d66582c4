"""A client's data rights: everything stored about them as one JSON file, and erasing it all.

`client_data` gathers the rows; `export_json` writes them as a file; `forget` deletes them, and
also takes the client's name out of what the bot sent their coach about them. Nothing here logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, col, delete, select

from bot.commands.invites import who_hash
from bot.store.models import (
    Client,
    Coach,
    Document,
    FailedJoin,
    Identity,
    Invite,
    Message,
    Outbox,
    Promise,
    TimeEntry,
    Timer,
)

ERASED = "[erased client]"


@dataclass(frozen=True)
class ClientData:
    """Every row that is about one client."""

    client: Client
    identities: list[Identity]
    messages: list[Message]
    promises: list[Promise]
    time_entries: list[TimeEntry]
    outbox: list[Outbox]  # addressed to them, or about them (client_id)
    invites: list[Invite]

    def counts(self) -> str:
        """`12 messages, 3 reply promises, ...`: what there is, in words."""
        return ", ".join(
            [
                _count(len(self.messages), "message"),
                _count(len(self.promises), "reply promise"),
                _count(len(self.time_entries), "time entry", "time entries"),
                _count(len(self.identities), "chat account"),
                _count(len(self.invites), "invite"),
                _count(len(self.outbox), "bot message"),
            ]
        )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _to_chat(platform: str, chat_id: str) -> Any:
    return (col(Outbox.platform) == platform) & (col(Outbox.chat_id) == chat_id)


def client_data(session: Session, client: Client) -> ClientData:
    """Every row about `client`: the client, chats, messages, promises, time, outbox, invites."""
    identities = _rows(session, Identity, col(Identity.client_id) == client.id)
    to_them = [_to_chat(i.platform, i.chat_id) for i in identities]
    named = (col(Invite.coach_id) == client.coach_id) & (col(Invite.client_name) == client.name)
    return ClientData(
        client=client,
        identities=identities,
        messages=_rows(session, Message, col(Message.client_id) == client.id),
        promises=_rows(session, Promise, col(Promise.client_id) == client.id),
        time_entries=_rows(session, TimeEntry, col(TimeEntry.client_id) == client.id),
        outbox=_rows(session, Outbox, or_(col(Outbox.client_id) == client.id, *to_them)),
        invites=_rows(session, Invite, or_(col(Invite.client_id) == client.id, named)),
    )


def _rows(session: Session, table: Any, where: Any) -> list[Any]:
    return list(session.exec(select(table).where(where).order_by(col(table.id))).all())


def export_json(data: ClientData, *, coach: Coach, now: datetime) -> bytes:
    """The client's data as a UTF-8 JSON document, rows as stored, times in UTC."""
    outbox = [row for row in data.outbox if row.chat_id in {i.chat_id for i in data.identities}]
    document = {
        "exported_at": now.isoformat(),
        "coach": coach.name,
        "client": _dump(data.client),
        "identities": [_dump(row) for row in data.identities],
        "messages": [_dump(row) for row in data.messages],
        "promises": [_dump(row) for row in data.promises],
        "time_entries": [_dump(row) for row in data.time_entries],
        "outbox": [_dump(row) for row in outbox],
        "invites": [_dump(row, leave=("code_hash",)) for row in data.invites],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _dump(row: SQLModel, leave: Iterable[str] = ()) -> dict[str, Any]:
    return row.model_dump(mode="json", exclude=set(leave))


def export_filename(client: Client) -> str:
    """`alex-export.json`: the client's name in lower case, safe for a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", client.name.casefold()).strip("-") or "client"
    return f"{slug}-export.json"


def forget(session: Session, coach: Coach, data: ClientData) -> None:
    """Erase everything about the client, and their name from what the coach was sent."""
    client = data.client
    _redact_coach_rows(session, coach, data)
    _drop_documents(session, data.outbox, marks=())
    hashes = [who_hash(i.platform, i.user_id) for i in data.identities]
    if hashes:
        session.exec(delete(FailedJoin).where(col(FailedJoin.who_hash).in_(hashes)))
    session.exec(delete(Timer).where(col(Timer.client_id) == client.id))
    session.exec(delete(Outbox).where(col(Outbox.id).in_([row.id for row in data.outbox])))
    session.exec(delete(Promise).where(col(Promise.client_id) == client.id))
    session.exec(delete(TimeEntry).where(col(TimeEntry.client_id) == client.id))
    session.exec(delete(Message).where(col(Message.client_id) == client.id))
    session.exec(delete(Invite).where(col(Invite.id).in_([row.id for row in data.invites])))
    for identity in data.identities:
        if identity.coach_id is None:
            session.delete(identity)
        else:  # the account is also a coach's: keep it for them
            identity.client_id = None
            session.add(identity)
    session.flush()
    session.delete(client)
    session.flush()


def _redact_coach_rows(session: Session, coach: Coach, data: ClientData) -> None:
    """Take the client's name out of the coach's copies of replies, digests and reports."""
    chats = session.exec(select(Identity).where(Identity.coach_id == coach.id)).all()
    to_coach = [_to_chat(i.platform, i.chat_id) for i in chats]
    theirs = {row.id for row in data.outbox}
    stmt = select(Outbox).where(or_(col(Outbox.coach_id) == coach.id, *to_coach))
    rows = [row for row in session.exec(stmt).all() if row.id not in theirs]
    pattern = re.compile(rf"(?<!\w){re.escape(data.client.name)}(?!\w)", re.IGNORECASE)
    for row in rows:
        if pattern.search(row.text):
            # delivered: the coach has it, so no copy is kept; pending: it still goes, unnamed
            row.text = "" if row.status != "pending" else pattern.sub(ERASED, row.text)
            session.add(row)
    marks = [data.client.name, *(i.user_id for i in data.identities)]
    marks += [i.chat_id for i in data.identities]
    _drop_documents(session, rows, marks=marks)


def _drop_documents(session: Session, rows: Iterable[Outbox], *, marks: Iterable[str]) -> None:
    """Delete the files these rows carry (only those mentioning a mark, if marks are given)."""
    owners: dict[int, Outbox] = {i: row for row in rows for i in row.payload.get("documents", [])}
    if not owners:
        return
    found = session.exec(select(Document).where(col(Document.id).in_(list(owners)))).all()
    needles = [m.casefold().encode("utf-8") for m in marks if m]
    gone = [d for d in found if not needles or any(n in d.content.lower() for n in needles)]
    for document in gone:
        row = owners[document.id or 0]
        row.payload = {
            **row.payload,
            "documents": [i for i in row.payload["documents"] if i != document.id],
        }
        session.add(row)
        session.delete(document)
