"""The outbox: answers queued in the transaction of what they answer, sent later, at least once.

`enqueue` adds a row in the caller's transaction (nothing is sent from inside one); `to_outgoing`
turns a stored row back into the transport-neutral `Outgoing` that `bot.delivery.worker` delivers.
Row keys are deterministic, so the same logical message is never queued twice, and the key
travels as `Outgoing.idempotency_key`. Nothing here logs message text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.messages import Attachment, Choice, Outgoing, OutgoingDocument
from bot.store.models import Document, Outbox
from bot.store.outbox import URGENT
from bot.store.unit import UnitOfWork

THROTTLED = "throttled"  # payload key: how many HTTP 429s the row has met so far


class Unsendable(ValueError):
    """A row that can never go out as it is: no transport for its platform, or a corrupt payload."""


class DocumentLike(Protocol):
    """A file to send: a command's Reply document or an OutgoingDocument."""

    @property
    def filename(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def mime_type(self) -> str: ...


def enqueue(
    uow: UnitOfWork,
    *,
    key: str,
    platform: str,
    chat_id: str,
    text: str,
    now: datetime,
    choices: Sequence[Choice] = (),
    reply_to: str | None = None,
    copy_from: Sequence[tuple[str, str]] = (),
    attachments: Sequence[Attachment] = (),
    coach_id: int | None = None,
    client_id: int | None = None,
    message_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
    fresh: bool = False,
    documents: Sequence[DocumentLike] = (),
    urgent: bool = False,
) -> Outbox:
    """Queue a message in the caller's transaction; a `key` already queued returns that row.

    `fresh=True` skips that lookup when the key names a row made in this very transaction
    (the unique constraint still guards it). `documents` are stored as Document rows that the
    payload names by id. `urgent=True` (a message that may signal a crisis: its forward to the
    coach and the answer to the client) puts the row in the urgent lane: it goes before every
    other row of its chat and is not held back by the platform's cap, only by its 429s.
    """
    if now.tzinfo is None:
        raise ValueError("enqueue needs an aware `now`")
    if not key or len(key) > 128:
        raise ValueError("an outbox key is 1 to 128 characters")
    if not fresh:
        existing = uow.outbox.by_key(key)
        if existing is not None:
            return existing
    row = Outbox(
        idempotency_key=key,
        platform=platform,
        chat_id=str(chat_id),
        text=text,
        payload=_payload(
            choices, reply_to, copy_from=copy_from, attachments=attachments, extra=extra
        )
        | _documents(uow, documents, now=now)
        | ({URGENT: True} if urgent else {}),
        coach_id=coach_id,
        client_id=client_id,
        message_id=message_id,
        next_attempt_at=now,
        created_at=now,
    )
    uow.add(row)
    return row


def is_urgent(row: Outbox) -> bool:
    """True for a row of the urgent lane."""
    return isinstance(row.payload, dict) and row.payload.get(URGENT) is True


class HasAttachments(Protocol):
    """A stored client message: its platform and attachment dicts (client_flow.attachments_json)."""

    @property
    def platform(self) -> str: ...
    @property
    def attachments(self) -> list[dict[str, Any]]: ...


#: The platforms whose senders copy a shared file by its id (Telegram copies the message).
COPIES_BY_FILE_ID = frozenset({"slack"})


def shared_files(messages: Sequence[HasAttachments]) -> tuple[Attachment, ...]:
    """The files clients shared on Slack in `messages`, each once, in order: `attachments=`.

    Only a Slack file id means anything to the Slack sender; other platforms' files travel as
    `copy_from` and are left out here.
    """
    files: dict[str, Attachment] = {}
    for message in messages:
        if message.platform not in COPIES_BY_FILE_ID:
            continue
        for item in message.attachments or ():
            file_id = str(item.get("file_id") or "")
            if file_id and file_id not in files:
                kind, name = str(item.get("type") or "file"), str(item.get("name") or "")
                files[file_id] = Attachment(kind, file_id, name)
    return tuple(files.values())


def _payload(
    choices: Sequence[Choice],
    reply_to: str | None,
    *,
    copy_from: Sequence[tuple[str, str]],
    attachments: Sequence[Attachment],
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The JSON kept beside the text; empty parts are left out."""
    payload: dict[str, Any] = {}
    if choices:
        payload["choices"] = [{"label": c.label, "data": c.data} for c in choices]
    if reply_to is not None:
        payload["reply_to"] = str(reply_to)
    if copy_from:
        payload["copy_from"] = [[str(chat), str(msg)] for chat, msg in copy_from]
    if attachments:
        payload["attachments"] = [a.to_json() for a in attachments]
    if extra:
        payload["extra"] = dict(extra)
    return payload


def _documents(
    uow: UnitOfWork, documents: Sequence[DocumentLike], *, now: datetime
) -> dict[str, Any]:
    """Store the files and return the payload part naming them (empty when there are none)."""
    rows = [
        Document(filename=d.filename, mime_type=d.mime_type, content=d.content, created_at=now)
        for d in documents
    ]
    if not rows:
        return {}
    uow.add(*rows)
    uow.flush()
    return {"documents": [row.id for row in rows]}


def to_outgoing(row: Outbox, uow: UnitOfWork) -> Outgoing:
    """The message a row describes, its documents read in `uow`; Unsendable if it is broken."""
    try:
        payload = row.payload
        if not isinstance(payload, dict) or not isinstance(row.text, str):
            raise TypeError("payload")
        extra = payload.get("extra", {})
        if not isinstance(extra, dict):
            raise TypeError("extra")
        return Outgoing(
            platform=row.platform,
            chat_id=row.chat_id,
            text=row.text,
            idempotency_key=row.idempotency_key,
            choices=tuple(
                Choice(_str(c["label"]), _str(c["data"])) for c in _list(payload, "choices")
            ),
            reply_to=None if payload.get("reply_to") is None else _str(payload["reply_to"]),
            copy_from=tuple(_pair(p) for p in _list(payload, "copy_from")),
            attachments=tuple(
                Attachment(_str(a["type"]), _str(a["file_id"]), _str(a.get("name", "")))
                for a in _list(payload, "attachments")
            ),
            extra=extra,
            documents=_load_documents(row, uow),
        )
    except Unsendable:
        raise
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise Unsendable(f"corrupt payload ({type(exc).__name__})") from None


def _load_documents(row: Outbox, uow: UnitOfWork) -> tuple[OutgoingDocument, ...]:
    """The files a row's payload names, in order; Unsendable if one is gone."""
    ids = _list(row.payload, "documents")
    if not ids:
        return ()
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise TypeError("documents")
    found = uow.documents.by_ids(ids)
    if any(i not in found for i in ids):
        raise Unsendable("a document of this message is gone")
    return tuple(
        OutgoingDocument(found[i].filename, bytes(found[i].content), found[i].mime_type)
        for i in ids
    )


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _list(payload: dict[str, Any], key: str) -> list[Any]:
    value = payload.get(key, [])
    if not isinstance(value, list):
        raise TypeError(key)
    return value


def _pair(value: object) -> tuple[str, str]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise TypeError("expected a pair")
    return _str(value[0]), _str(value[1])
