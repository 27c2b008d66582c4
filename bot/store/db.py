"""Engines and sessions for SQLite (default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, create_engine

MEMORY = "sqlite://"  # a database in memory: one connection, gone with the engine


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout.

    `sqlite://` is a database in memory, kept on one connection for the engine's life (tests
    of the services use it); it is for one thread at a time.
    """
    if url in (MEMORY, "sqlite:///:memory:"):
        engine = create_engine(
            MEMORY, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per message. A connection the server dropped fails its
    # statement instead; SQLAlchemy then discards the pool's connections, the message is not
    # kept and comes again (Telegram redelivers, Slack retries), and the next try connects anew.
    return create_engine(url, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")  # erased and blanked rows are zeroed on disk
    cursor.close()


def unreachable(error: BaseException) -> bool:
    """True for errors that mean the database could not be reached (or was busy), not a bug."""
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)


def is_postgres(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL (row locks with SKIP LOCKED work)."""
    return engine.dialect.name == "postgresql"


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits at the end of the block, or rolls back on error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
