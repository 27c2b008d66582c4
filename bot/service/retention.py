"""Retention: client texts older than `retention_days` are removed; what was decided stays.

A purged message keeps its kind, decision and times (reports still count it) but loses its text
and attachment handles; the bot's own copies of old texts (sent outbox rows) are emptied too, and
files that went out with messages are kept only `DOCUMENT_DAYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, delete, select

from bot.store.models import Document, Message, Outbox, Timer
from bot.store.unit import UnitOfWork

DEFAULT_DAYS = 365
DOCUMENT_DAYS = 30  # reports and exports are sent within minutes; keep them a month at most


@dataclass(frozen=True)
class Purged:
    """How many rows one purge changed."""

    messages: int
    outbox: int
    documents: int


def has_expired(uow: UnitOfWork, now: datetime, days: int) -> bool:
    """Whether anything is older than the retention period (or a file older than a month)."""
    message = uow.exec(
        select(Message.id)
        .where(col(Message.purged).is_(False), col(Message.received_at) < now - timedelta(days))
        .limit(1)
    ).first()
    document = uow.exec(
        select(Document.id)
        .where(col(Document.created_at) < now - timedelta(DOCUMENT_DAYS))
        .limit(1)
    ).first()
    return message is not None or document is not None


def purge(uow: UnitOfWork, now: datetime, days: int) -> Purged:
    """Remove texts older than `days` and old files, in the caller's transaction."""
    cutoff = now - timedelta(days=days)
    messages = uow.execute(
        update(Message)
        .where(col(Message.purged).is_(False), col(Message.received_at) < cutoff)
        .values(text="", attachments=[], purged=True)
    )
    outbox = uow.execute(
        update(Outbox)
        .where(col(Outbox.status) != "pending", col(Outbox.created_at) < cutoff)
        .where(col(Outbox.text) != "")
        .values(text="")
    )
    return Purged(
        messages=messages.rowcount,  # type: ignore[attr-defined]
        outbox=outbox.rowcount,  # type: ignore[attr-defined]
        documents=_old_documents(uow, now),
    )


def _old_documents(uow: UnitOfWork, now: datetime) -> int:
    """Delete files older than DOCUMENT_DAYS that no pending message still has to send."""
    pending = uow.exec(select(Outbox.payload).where(Outbox.status == "pending")).all()
    needed = {i for payload in pending for i in payload.get("documents", [])}
    old = uow.exec(
        select(Document.id).where(col(Document.created_at) < now - timedelta(DOCUMENT_DAYS))
    ).all()
    gone = [i for i in old if i not in needed]
    if gone:
        uow.exec(delete(Document).where(col(Document.id).in_(gone)))
    return len(gone)


def retention(uow: UnitOfWork, timer: Timer, now: datetime) -> None:
    """The daily retention timer: `ref_id` carries the retention period in days."""
    purge(uow, now, timer.ref_id or DEFAULT_DAYS)
