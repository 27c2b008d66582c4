"""A client's data rights: everything stored about them as one JSON file, and erasing it all.

`client_data` gathers the rows; `export_json` writes them as a file; `forget` deletes them, takes
the client out of what the bot has still to send their coach (a pending digest is re-rendered
without them) and, on SQLite, zeroes the freed pages and empties the WAL so no copy survives.
`who_hash` keys the one hash of a platform id we store (FailedJoin) with `hash_key`. Nothing
here logs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from bot.config_reader import Secret
from bot.delivery import outbox as outbox_queue
from bot.service.digest import build_digest, render_text
from bot.store.erasure import ClientRows
from bot.store.models import (
    Client,
    Coach,
    Message,
    Outbox,
)
from bot.store.unit import UnitOfWork

HASH_KEY = "hash_key"  # the Meta row, and the Context.services entry of a configured key
ERASED = "[erased client]"
MIN_WORDS = 4  # a client text shorter than this is too common to look for in other rows
WORDS_PREFIX = 24  # enough of a text to find it in a preview, which may be cut short


def hash_key(uow: UnitOfWork, configured: Secret | None = None) -> bytes:
    """The HMAC key: the configured one, else the one made at first use and kept in `meta`."""
    if configured is not None:
        return configured.reveal().encode("utf-8")
    return uow.values.get_or_make(HASH_KEY, lambda: secrets.token_hex(32)).encode("utf-8")


def who_hash(key: bytes, platform: str, *, user_id: str) -> str:
    """An account, keyed-hashed, so wrong invite codes are counted without storing who sent them."""
    return hmac.new(key, f"{platform}:{user_id}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ClientData(ClientRows):
    """Every row that is about one client, and what the coach is told of them."""

    def counts(self) -> str:
        """`12 messages, 3 reply promises, ...`: what there is, in words."""
        return ", ".join(
            [
                _count(len(self.messages), "message"),
                _count(len(self.promises), "reply promise"),
                _count(len(self.time_entries), "time entry", many="time entries"),
                _count(len(self.identities), "chat account"),
                _count(len(self.invites), "invite"),
                _count(len(self.outbox), "bot message"),
                _count(len(self.timers), "timer"),
            ]
        )

    def to_them(self) -> list[Outbox]:
        """The bot messages addressed to one of the client's chats."""
        chats = {(i.platform, i.chat_id) for i in self.identities}
        return [row for row in self.outbox if (row.platform, row.chat_id) in chats]


def _count(n: int, one: str, *, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def client_data(uow: UnitOfWork, client: Client) -> ClientData:
    """Every row about `client`: the client, chats, messages, promises, time, outbox, timers."""
    rows = uow.clients.rows_about(client)
    return ClientData(**{f.name: getattr(rows, f.name) for f in fields(ClientRows)})


def export_json(data: ClientData, *, coach: Coach, now: datetime) -> bytes:
    """The client's data as a UTF-8 JSON document, rows as stored, times in UTC."""
    to_them = data.to_them()
    theirs = {row.id for row in to_them}
    document = {
        "exported_at": now.isoformat(),
        "coach": coach.name,
        "client": _dump(data.client),
        "identities": [_dump(row) for row in data.identities],
        "messages": [_dump(row) for row in data.messages],
        "promises": [_dump(row) for row in data.promises],
        "time_entries": [_dump(row) for row in data.time_entries],
        "outbox": [_dump(row) for row in to_them],
        "outbox_about_them": [_dump(row) for row in data.outbox if row.id not in theirs],
        "timers": [_dump(row) for row in data.timers],
        "invites": [_dump(row, leave=("code_hash",)) for row in data.invites],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _dump(row: SQLModel, leave: Iterable[str] = ()) -> dict[str, Any]:
    return row.model_dump(mode="json", exclude=set(leave))


def export_filename(client: Client) -> str:
    """`alex-export.json`: the client's name in lower case, safe for a file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", client.name.casefold()).strip("-") or "client"
    return f"{slug}-export.json"


def forget(uow: UnitOfWork, coach: Coach, *, data: ClientData, key: bytes) -> None:
    """Erase everything about the client, and them from what the coach was or is to be sent."""
    uow.scrub_deleted()
    digests = uow.outbox.pending_digests(coach.id)
    _redact_coach_rows(uow, coach, data=data, skip={row.id or 0 for row in digests})
    _drop_documents(uow, data.outbox, marks=())
    hashes = [who_hash(key, i.platform, user_id=i.user_id) for i in data.identities]
    uow.clients.erase(data, who_hashes=hashes)
    for row in digests:
        _rerender_digest(uow, coach, row=row)


def _rerender_digest(uow: UnitOfWork, coach: Coach, *, row: Outbox) -> None:
    """Render an unsent digest again as of when it was made, now that the client is gone."""
    made = row.created_at
    uow.messages.unmark_digested(coach.id, made)
    uow.outbox.unmark_reported(coach.id, made)
    key, platform, chat_id, extra = row.idempotency_key, row.platform, row.chat_id, row.payload
    uow.delete(row)
    uow.flush()
    content = build_digest(uow, coach, now=made)
    if content is None:
        return  # the client was all it had to say
    outbox_queue.enqueue(
        uow,
        key=key,
        platform=platform,
        chat_id=chat_id,
        text=render_text(content),
        now=made,
        coach_id=coach.id,
        extra=extra.get("extra"),
        fresh=True,
    )


def _redact_coach_rows(uow: UnitOfWork, coach: Coach, *, data: ClientData, skip: set[int]) -> None:
    """Take the client out of the coach's copies of replies, answers and reports.

    A row that quotes the client's words is emptied (sent: the coach has it) or deleted (still
    pending); one that only names them is emptied when sent, or goes unnamed when pending.
    """
    chats = {(i.platform, i.chat_id) for i in uow.identities.of_coach(coach.id)}
    skip = skip | {row.id or 0 for row in data.outbox}
    rows = [row for row in uow.outbox.to_coach(coach.id, chats) if row.id not in skip]
    pattern = re.compile(rf"(?<!\w){re.escape(data.client.name)}(?!\w)", re.IGNORECASE)
    words = _words(data.messages)
    marks = [data.client.name, *(i.user_id for i in data.identities)]
    marks += [i.chat_id for i in data.identities]
    _drop_documents(uow, rows, marks=marks)
    for row in rows:
        quotes = any(w in row.text.casefold() for w in words)
        if row.status == "pending" and quotes:
            _drop_documents(uow, [row], marks=())
            uow.delete(row)
        elif quotes or pattern.search(row.text):
            row.text = "" if row.status != "pending" else pattern.sub(ERASED, row.text)
            uow.add(row)


def _words(messages: Iterable[Message]) -> list[str]:
    """The start of each of the client's texts, long enough to be theirs, casefolded."""
    texts = (m.text.strip().casefold()[:WORDS_PREFIX] for m in messages)
    return [t for t in texts if len(t) >= MIN_WORDS]


def _drop_documents(uow: UnitOfWork, rows: Iterable[Outbox], *, marks: Iterable[str]) -> None:
    """Delete the files these rows carry (only those mentioning a mark, if marks are given)."""
    owners: dict[int, Outbox] = {i: row for row in rows for i in row.payload.get("documents", [])}
    if not owners:
        return
    found = uow.documents.by_ids(owners).values()
    needles = [m.casefold().encode("utf-8") for m in marks if m]
    gone = [d for d in found if not needles or any(n in d.content.lower() for n in needles)]
    for document in gone:
        row = owners[document.id or 0]
        row.payload = {
            **row.payload,
            "documents": [i for i in row.payload["documents"] if i != document.id],
        }
        uow.add(row)
        uow.delete(document)
