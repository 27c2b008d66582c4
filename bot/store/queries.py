"""Small queries shared by the pipeline, the commands and the timers."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.store.models import Client, Identity

_COACH_CHATS = (
    select(Identity).where(Identity.coach_id == bindparam("coach")).order_by(col(Identity.id))
)  # built once: every forward runs it


def coach_chat(
    session: Session, coach_id: int, prefer: str | None = None
) -> tuple[str, str] | None:
    """The (platform, chat id) to reach a coach, preferring the platform `prefer`."""
    rows = session.exec(_COACH_CHATS, params={"coach": coach_id}).all()
    for row in rows:
        if row.platform == prefer:
            return row.platform, row.chat_id
    return (rows[0].platform, rows[0].chat_id) if rows else None


def client_chat(
    session: Session, client_id: int, prefer: str | None = None
) -> tuple[str, str] | None:
    """The (platform, chat id) to reach a client: `prefer` if linked there, else the newest."""
    rows = session.exec(
        select(Identity).where(Identity.client_id == client_id).order_by(col(Identity.id).desc())
    ).all()
    for row in rows:
        if row.platform == prefer:
            return row.platform, row.chat_id
    return (rows[0].platform, rows[0].chat_id) if rows else None


def identity_of(session: Session, platform: str, user_id: str) -> Identity | None:
    """The identity row of a platform account, if the bot knows it."""
    return session.exec(
        select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
    ).first()


def client_by_name(session: Session, coach_id: int, name: str) -> Client | None:
    """A coach's client by name, ignoring case."""
    for client in session.exec(select(Client).where(Client.coach_id == coach_id)).all():
        if client.name.casefold() == name.casefold():
            return client
    return None
