"""The tables. Every datetime column is stored as UTC and read back aware (see UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy import DateTime as SADateTime
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = SADateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; every datetime must be aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset; we only ever wrote UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    """A UTC datetime column."""
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_column() -> Any:
    """A JSON column defaulting to an empty dict."""
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Coach(SQLModel, table=True):
    """A coach; `policy` holds the effective settings, `chat_set` the ones set in chat."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    name: str
    telegram_user_id: str | None = Field(default=None, index=True)
    slack_user_id: str | None = Field(default=None, index=True)
    policy: dict[str, Any] = json_column()  # see bot.store.policy_fields for the shape
    chat_set: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_column(nullable=False)
    # when this coach's timers must be planned again; None: now (something they depend on
    # changed — bot.store.planning marks it)
    plan_after: datetime | None = utc_column(index=True)


class Closure(SQLModel, table=True):
    """A closure of a coach (`/closed`); ids are what `/reopen N` names."""

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    start: date
    end: date
    note: str = ""


class Client(SQLModel, table=True):
    """A client of one coach, with their contract terms and per-client policy overrides."""

    __table_args__ = (UniqueConstraint("coach_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    name: str
    mode: str
    allowed: str = "goals,scheduling"  # comma-separated kinds, for `specific`
    weekly_quota: int | None = None  # None: the coach's policy applies
    contract_start: date | None = None
    contract_end: date | None = None
    next_session: datetime | None = utc_column()
    last_session: datetime | None = utc_column()
    timezone: str | None = None  # the zone the client sees times in
    overrides: dict[str, Any] = json_column()  # policy fields overridden for this client
    out_of_office_sent_for: datetime | None = utc_column()
    created_at: datetime = utc_column(nullable=False)


class Identity(SQLModel, table=True):
    """One platform account of a client or a coach, and the chat the bot reaches them in."""

    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    client_id: int | None = Field(
        default=None, foreign_key="client.id", index=True, ondelete="CASCADE"
    )
    coach_id: int | None = Field(default=None, foreign_key="coach.id", ondelete="CASCADE")


class Invite(SQLModel, table=True):
    """A single-use invite; only the SHA-256 of the (192-bit random) code is stored."""

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    client_name: str
    mode: str
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime = utc_column(nullable=False)
    used_at: datetime | None = utc_column()
    client_id: int | None = Field(default=None, foreign_key="client.id", ondelete="SET NULL")


class FailedJoin(SQLModel, table=True):
    """A wrong invite code, kept two hours to refuse guessing; the user id is HMAC-hashed."""

    id: int | None = Field(default=None, primary_key=True)
    who_hash: str = Field(max_length=64, index=True)
    at: datetime = utc_column(nullable=False)


class Message(SQLModel, table=True):
    """Every client message with the decision taken on it; nothing a client writes is lost."""

    __table_args__ = (
        Index("ix_message_client_received", "client_id", "received_at"),
        # what the digest reads (news, urgent) and the brief (parked): never all of history
        Index("ix_message_coach_digested", "coach_id", "decision", "digested_at"),
        Index("ix_message_coach_briefed", "coach_id", "decision", "briefed_at"),
        Index("ix_message_client_delivered", "client_id", "delivered_at"),  # a relay's batch
        Index("ix_message_purged_received", "purged", "received_at"),  # retention
    )

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    client_id: int = Field(foreign_key="client.id", ondelete="CASCADE")
    platform: str = Field(max_length=16)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    truncated: bool = False
    purged: bool = False  # text removed by retention; counts stay
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    kind: str | None = None  # None while the client has not chosen
    decision: str = Field(max_length=16)  # urgent, alumni, park, digest, forward, queue, ask
    former_client: bool = False
    received_at: datetime = utc_column(nullable=False)
    release_at: datetime | None = utc_column()  # queue: when it goes to the coach
    delivered_at: datetime | None = utc_column()  # when it reached the coach (forward/release)
    digested_at: datetime | None = utc_column()  # digest: when it appeared in a digest
    briefed_at: datetime | None = utc_column()  # park: when it appeared in a pre-session brief
    session_at: datetime | None = utc_column()  # park: the session it is kept for


class Promise(SQLModel, table=True):
    """A reply promise on a forwarded or queued message."""

    __table_args__ = (
        Index("ix_promise_client_open", "client_id", "replied_at", "reply_by"),  # reminders
        Index("ix_promise_coach_open", "coach_id", "replied_at"),  # the digest's replies owed
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True, ondelete="CASCADE")
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    reply_by: datetime = utc_column(nullable=False, index=True)
    replied_at: datetime | None = utc_column()
    on_time: bool | None = None
    reminded_at: datetime | None = utc_column()


class Outbox(SQLModel, table=True):
    """A message waiting to go out; sent after the transaction that wrote it commits."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "platform", "chat_id", "status", "id"),
        # the coach's copy a reminder threads under; the copy a coach's reply answers
        Index("ix_outbox_message", "message_id", "platform", "chat_id"),
        Index("ix_outbox_sent_as", "platform", "chat_id", "platform_message_id"),
        Index("ix_outbox_client", "client_id", "created_at"),  # folds, bundles, last relays
        Index("ix_outbox_reported", "status", "reported_at"),  # the digest's failed deliveries
        Index(  # retention: only rows whose text is still there
            "ix_outbox_unblanked",
            "created_at",
            sqlite_where=text("text != ''"),
            postgresql_where=text("text != ''"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(sa_column=Column(String(128), unique=True, nullable=False))
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = json_column()  # choices, reply thread, attachments to copy, ...
    coach_id: int | None = Field(default=None, foreign_key="coach.id", ondelete="CASCADE")
    client_id: int | None = Field(default=None, foreign_key="client.id", ondelete="CASCADE")
    message_id: int | None = Field(default=None, foreign_key="message.id", ondelete="CASCADE")
    status: str = Field(default="pending", max_length=16)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = utc_column(nullable=False)
    claimed_until: datetime | None = utc_column()
    last_error: str | None = None
    created_at: datetime = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()
    platform_message_id: str | None = Field(default=None, max_length=64, index=True)
    reported_at: datetime | None = utc_column()  # failed: when the coach was told in a digest


class Timer(SQLModel, table=True):
    """A durable timer; `key` makes each piece of due work unique (one digest a coach a day)."""

    __table_args__ = (Index("ix_timer_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(160), unique=True, nullable=False))
    kind: str = Field(max_length=16)  # release, reminder, digest, brief, notice, retention
    due_at: datetime = utc_column(nullable=False)
    coach_id: int | None = Field(default=None, foreign_key="coach.id", ondelete="CASCADE")
    client_id: int | None = Field(default=None, foreign_key="client.id", ondelete="CASCADE")
    ref_id: int | None = None
    status: str = Field(default="pending", max_length=16)  # pending, done
    claimed_until: datetime | None = utc_column()
    done_at: datetime | None = utc_column()


class ProcessedEvent(SQLModel, table=True):
    """A platform event already handled, so a redelivery is acknowledged but not redone."""

    platform: str = Field(primary_key=True, max_length=16)
    event_id: str = Field(primary_key=True, max_length=128)
    at: datetime = utc_column(nullable=False)


class TimeEntry(SQLModel, table=True):
    """Between-session time a coach logged, with what it bills under the terms of the day."""

    id: int | None = Field(default=None, primary_key=True)
    coach_id: int = Field(foreign_key="coach.id", index=True, ondelete="CASCADE")
    client_id: int = Field(foreign_key="client.id", index=True, ondelete="CASCADE")
    minutes: int
    billable_minutes: int = 0
    amount: str = "0"  # Decimal as text, in `currency`
    currency: str = ""
    note: str = ""
    logged_at: datetime = utc_column(nullable=False)


class Document(SQLModel, table=True):
    """A file sent with a message (a report picture, an export); outbox payloads name its id."""

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=255)
    mime_type: str = Field(default="application/octet-stream", max_length=128)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = utc_column(nullable=False, index=True)


class Meta(SQLModel, table=True):
    """A value the bot made for itself, by name: the hash key when none is configured."""

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", sa_column=Column(Text, nullable=False))
