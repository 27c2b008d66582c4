"""The coach's replies, relayed to the client as coming from the coach by name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bot import outbox
from bot.store.models import Client, Coach, Outbox, Promise
from bot.store.queries import client_chat


def keep_promises(session: Session, *, client_id: int, now: datetime) -> int:
    """Mark the client's open reply promises as replied (on time or late); return how many."""
    promises = session.exec(
        select(Promise).where(Promise.client_id == client_id, col(Promise.replied_at).is_(None))
    ).all()
    for promise in promises:
        promise.replied_at = now
        promise.on_time = now <= promise.reply_by
        session.add(promise)
    return len(promises)


def relay_reply(
    session: Session,
    *,
    coach: Coach,
    client: Client,
    text: str,
    now: datetime,
    key: str,
    copy_from: Sequence[tuple[str, str]] = (),
) -> str:
    """Send the coach's reply to the client and keep their promises; return the coach's receipt."""
    chat = client_chat(session, client.id or 0)
    if chat is None:
        return f"{client.name} has not joined yet, so there is nowhere to send this."
    platform, chat_id = chat
    outbox.enqueue(
        session,
        key=key,
        platform=platform,
        chat_id=chat_id,
        text=f"{coach.name}: {text}" if text else f"{coach.name} sent you this:",
        now=now,
        copy_from=tuple(copy_from),
        coach_id=coach.id,
        client_id=client.id,
    )
    kept = keep_promises(session, client_id=client.id or 0, now=now)
    receipt = f"Sent to {client.name}."
    if kept:
        receipt += f" ({kept} waiting message{'s' if kept != 1 else ''} answered.)"
    return receipt


def client_for_forward(
    session: Session, *, coach_id: int, platform: str, chat_id: str, platform_message_id: str
) -> Client | None:
    """The client whose forwarded (or released) message the coach is replying to."""
    row = session.exec(
        select(Outbox).where(
            Outbox.platform == platform,
            Outbox.chat_id == chat_id,
            Outbox.platform_message_id == platform_message_id,
            Outbox.coach_id == coach_id,
            col(Outbox.client_id).is_not(None),
        )
    ).first()
    if row is None or row.client_id is None:
        return None
    client = session.get(Client, row.client_id)
    return client if client is not None and client.coach_id == coach_id else None
