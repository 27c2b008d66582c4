"""Retention: client texts older than `retention_days` are removed; what was decided stays.

A purged message keeps its kind, decision and times (reports still count it) but loses its text
and attachment handles; the bot's own copies of old texts (sent outbox rows) are emptied too, and
files that went out with messages are kept only `DOCUMENT_DAYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.models import Timer
from bot.store.unit import UnitOfWork

DEFAULT_DAYS = 365
DOCUMENT_DAYS = 30  # reports and exports are sent within minutes; keep them a month at most


@dataclass(frozen=True)
class Purged:
    """How many rows one purge changed."""

    messages: int
    outbox: int
    documents: int


def has_expired(uow: UnitOfWork, now: datetime, *, days: int) -> bool:
    """Whether anything is older than the retention period (or a file older than a month)."""
    return uow.messages.any_unpurged_before(now - timedelta(days)) or bool(
        uow.documents.ids_before(now - timedelta(DOCUMENT_DAYS), limit=1)
    )


def purge(uow: UnitOfWork, now: datetime, *, days: int) -> Purged:
    """Remove texts older than `days` and old files, in the caller's transaction."""
    cutoff = now - timedelta(days=days)
    return Purged(
        messages=uow.messages.purge_before(cutoff),
        outbox=uow.outbox.blank_texts_before(cutoff),
        documents=_old_documents(uow, now),
    )


def _old_documents(uow: UnitOfWork, now: datetime) -> int:
    """Delete files older than DOCUMENT_DAYS that no pending message still has to send."""
    needed = uow.outbox.documents_pending()
    old = uow.documents.ids_before(now - timedelta(DOCUMENT_DAYS))
    gone = [i for i in old if i not in needed]
    if gone:
        uow.documents.delete(gone)
    return len(gone)


def retention(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """The daily retention timer: `ref_id` carries the retention period in days."""
    purge(uow, now, days=timer.ref_id or DEFAULT_DAYS)
