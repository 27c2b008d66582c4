"""Rows written straight to the database for timer and digest tests: coaches, clients, messages."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.store.db import make_engine
from bot.store.models import Client, Coach, Identity, Message, Outbox, Promise, Timer

MON = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # the `clock` fixture's start, a Monday


def add_coach(
    session: Session,
    *,
    key: str = "melody",
    name: str = "Melody",
    chat_id: str = "100",
    platform: str = "telegram",
    **policy: Any,
) -> Coach:
    """A coach (London, Mon-Fri 09:00-17:00, digest 18:00 unless `policy` says otherwise)."""
    settings = {
        "timezone": "Europe/London",
        "hours": "mon-fri 09:00-17:00",
        "reply_within": "24h",
        "digest_time": "18:00",
    } | policy
    coach = Coach(key=key, name=name, policy=settings, created_at=MON)
    session.add(coach)
    session.flush()
    session.add(Identity(platform=platform, user_id=chat_id, chat_id=chat_id, coach_id=coach.id))
    session.flush()
    return coach


def add_client(
    session: Session,
    coach: Coach,
    *,
    name: str = "Alex",
    chat_id: str | None = "200",
    platform: str = "telegram",
    mode: str = "open_door",
    **fields: Any,
) -> Client:
    """A client of `coach` who joined on `platform` (no identity when `chat_id` is None)."""
    client = Client(coach_id=coach.id or 0, name=name, mode=mode, created_at=MON, **fields)
    session.add(client)
    session.flush()
    if chat_id is not None:
        session.add(
            Identity(platform=platform, user_id=chat_id, chat_id=chat_id, client_id=client.id)
        )
        session.flush()
    return client


def add_message(
    session: Session,
    client: Client,
    *,
    received_at: datetime,
    decision: str = "digest",
    text: str = "",
    kind: str | None = "fyi",
    **fields: Any,
) -> Message:
    """A client message with the decision the pipeline took on it."""
    message = Message(
        coach_id=client.coach_id,
        client_id=client.id or 0,
        platform="telegram",
        text=text,
        kind=kind,
        decision=decision,
        received_at=received_at,
        **fields,
    )
    session.add(message)
    session.flush()
    return message


def add_promise(
    session: Session, message: Message, *, reply_by: datetime, **fields: Any
) -> Promise:
    """A reply promise on `message`."""
    promise = Promise(
        message_id=message.id or 0,
        coach_id=message.coach_id,
        client_id=message.client_id,
        reply_by=reply_by,
        **fields,
    )
    session.add(promise)
    session.flush()
    return promise


def outbox_rows(engine: Engine, *, chat_id: str | None = None) -> list[Outbox]:
    """Every outbox row (to `chat_id` if given), oldest first."""
    with Session(engine) as session:
        stmt = select(Outbox).order_by(col(Outbox.id))
        if chat_id is not None:
            stmt = stmt.where(Outbox.chat_id == chat_id)
        return list(session.exec(stmt).all())


def texts(engine: Engine, chat_id: str) -> list[str]:
    """What the person in `chat_id` was sent, in order."""
    return [row.text for row in outbox_rows(engine, chat_id=chat_id)]


def timers(engine: Engine, kind: str | None = None) -> list[Timer]:
    """Every timer (of `kind` if given), by due time."""
    with Session(engine) as session:
        stmt = select(Timer).order_by(col(Timer.due_at), col(Timer.id))
        if kind is not None:
            stmt = stmt.where(Timer.kind == kind)
        return list(session.exec(stmt).all())


def key_counts(engine: Engine) -> Counter[str]:
    """How many outbox rows each idempotency key has (every one should be 1)."""
    return Counter(row.idempotency_key for row in outbox_rows(engine))


def seed_practice(
    url: str,
    *,
    clients: int,
    first_user_id: int,
    policy: dict[str, Any] | None = None,
    modes: tuple[str, ...] = ("open_door",),
    coach_user_id: str = "100",
    coach_chat: bool = False,
    next_session: datetime | None = None,
) -> None:
    """Coach `melody` and `clients` joined Telegram clients (user ids from `first_user_id`).

    `coach_chat` also gives the coach a Telegram identity; leave it off when the bot's own
    config sync creates it. Client modes cycle through `modes`.
    """
    engine = make_engine(url)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    with Session(engine) as session:
        coach = Coach(
            key="melody",
            name="Melody",
            telegram_user_id=coach_user_id,
            created_at=now,
            policy=policy or {},
        )
        session.add(coach)
        session.flush()
        if coach_chat:
            session.add(
                Identity(
                    platform="telegram",
                    user_id=coach_user_id,
                    chat_id=coach_user_id,
                    coach_id=coach.id,
                )
            )
        for n in range(clients):
            client = Client(
                coach_id=coach.id or 0,
                name=f"Client{n}",
                mode=modes[n % len(modes)],
                created_at=now,
                next_session=next_session,
            )
            session.add(client)
            session.flush()
            uid = str(first_user_id + n)
            session.add(
                Identity(platform="telegram", user_id=uid, chat_id=uid, client_id=client.id)
            )
        session.commit()
    engine.dispose()
