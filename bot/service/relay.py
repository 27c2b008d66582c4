"""The coach's replies, relayed to the client as coming from the coach by name."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from bot.delivery import outbox
from bot.store.models import Client, Coach, Message
from bot.store.unit import UnitOfWork
from rules.decide import Outcome


def keep_promises(
    uow: UnitOfWork, *, client_id: int, now: datetime, message_ids: Collection[int] | None = None
) -> int:
    """Mark answered the client's open promises the coach has seen; return how many.

    With `message_ids` (a reply to a forward) only those messages are answered; without, every
    message that had reached the coach by `now`. A question still queued keeps its promise.
    """
    promises = uow.promises.open_of_client(client_id, delivered_by=now, message_ids=message_ids)
    for promise in promises:
        promise.replied_at = now
        promise.on_time = now <= promise.reply_by
        uow.add(promise)
    return len(promises)


def relay_reply(
    uow: UnitOfWork,
    *,
    coach: Coach,
    client: Client,
    text: str,
    now: datetime,
    key: str,
    copy_from: Sequence[tuple[str, str]] = (),
    message_ids: Collection[int] | None = None,
) -> str:
    """Send the coach's reply to the client, keep the promises it answers; return the receipt.

    `message_ids` are the messages replied to; None answers all the coach has seen by `now`.
    """
    chat = uow.identities.client_chat(client.id or 0)
    if chat is None:
        return f"{client.name} has not joined yet, so there is nowhere to send this."
    platform, chat_id = chat
    outbox.enqueue(
        uow,
        key=key,
        platform=platform,
        chat_id=chat_id,
        text=f"{coach.name}: {text}" if text else f"{coach.name} sent you this:",
        now=now,
        copy_from=tuple(copy_from),
        coach_id=coach.id,
        client_id=client.id,
    )
    kept = keep_promises(uow, client_id=client.id or 0, now=now, message_ids=message_ids)
    receipt = f"Sent to {client.name}."
    if kept:
        receipt += f" ({kept} waiting message{'s' if kept != 1 else ''} answered.)"
    return receipt


def client_for_forward(
    uow: UnitOfWork, *, coach_id: int, platform: str, chat_id: str, platform_message_id: str
) -> Client | None:
    """The client whose forwarded (or released) message the coach is replying to."""
    found = forward_for(
        uow,
        coach_id=coach_id,
        platform=platform,
        chat_id=chat_id,
        platform_message_id=platform_message_id,
    )
    return found[0] if found is not None else None


def forward_for(
    uow: UnitOfWork, *, coach_id: int, platform: str, chat_id: str, platform_message_id: str
) -> tuple[Client, list[int] | None] | None:
    """The client a coach's reply is for, and the messages it answers (None: all seen so far).

    A forward names one message; a release or bundle names the first of its batch, and the
    batch is every message of the client delivered in that same release or bundle; a reminder
    answers every message it reminded of.
    """
    row = uow.outbox.answered_forward(
        platform=platform,
        chat_id=chat_id,
        platform_message_id=platform_message_id,
        coach_id=coach_id,
    )
    if row is None or row.client_id is None:
        return None
    client = uow.clients.get(row.client_id)
    if client is None or client.coach_id != coach_id:
        return None
    first = uow.messages.get(row.message_id)
    if first is None:  # a brief or another row naming no message
        return client, None
    if row.idempotency_key.startswith("reminder:"):
        return client, _reminded(uow, first, at=row.created_at)
    return client, _batch(uow, first, bundled=row.idempotency_key.startswith("bundle:"))


def _batch(uow: UnitOfWork, first: Message, *, bundled: bool = False) -> list[int]:
    """The ids of the messages the coach received together with `first`."""
    decision = Outcome.FORWARD if bundled else Outcome.QUEUE
    if first.decision != decision or first.delivered_at is None:
        return [first.id or 0]
    return uow.messages.delivered_with(first) or [first.id or 0]


def _reminded(uow: UnitOfWork, first: Message, *, at: datetime) -> list[int]:
    """The ids of the messages one reminder, sent at `at`, named (`first` is the oldest)."""
    return sorted({first.id or 0, *uow.promises.reminded_at(first.client_id, at)})
