"""The unit of work: one transaction and the repositories that work in it.

Everything above `bot/store/` reaches the database through a `UnitOfWork` and nothing else:
`with unit_of_work(engine) as uow:` commits what its repositories changed at the end of the
block, or rolls it all back on an error. Rows the repositories return are the SQLModel rows
(a change to one is saved with the unit of work); no session, statement or result leaves here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot.store.db import transaction
from bot.store.events import Events, Values
from bot.store.messages import Documents, Messages, Promises, TimeEntries
from bot.store.outbox import OutboxRows
from bot.store.people import Clients, Coaches, Identities, Invites
from bot.store.timers import Timers


class UnitOfWork:
    """One transaction; its repositories are the only door to the database."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.coaches = Coaches(session)
        self.clients = Clients(session)
        self.identities = Identities(session)
        self.invites = Invites(session)
        self.messages = Messages(session)
        self.promises = Promises(session)
        self.time_entries = TimeEntries(session)
        self.documents = Documents(session)
        self.outbox = OutboxRows(session)
        self.timers = Timers(session)
        self.events = Events(session)
        self.values = Values(session)

    def add(self, *rows: SQLModel) -> None:
        """Keep new or changed rows with this unit of work."""
        self._session.add_all(rows)

    def delete(self, row: SQLModel) -> None:
        """Delete a row when the unit of work commits."""
        self._session.delete(row)

    def flush(self) -> None:
        """Write what is pending now (ids assigned, constraints checked), still uncommitted."""
        self._session.flush()

    def scrub_deleted(self) -> None:
        """What this unit deletes leaves no copy: zeroed in SQLite's file, its WAL emptied.

        PostgreSQL: VACUUM and WAL recycling are the operator's (see the README).
        """
        engine = self._session.get_bind().engine
        if engine.dialect.name != "sqlite":
            return
        self._session.connection().exec_driver_sql("PRAGMA secure_delete = ON")

        def checkpoint(_session: Session) -> None:
            with engine.connect() as conn:  # not this session's: its transaction is over
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

        event.listen(self._session, "after_commit", checkpoint, once=True)


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[UnitOfWork]:
    """A unit of work that commits at the end of the block, or rolls back on error."""
    with transaction(engine) as session:
        yield UnitOfWork(session)


@contextmanager
def looking(engine: Engine) -> Iterator[UnitOfWork]:
    """A unit of work that is only looked through: whatever it changed is rolled back."""
    with Session(engine, expire_on_commit=False) as session, session.no_autoflush:
        try:
            yield UnitOfWork(session)
        finally:
            session.rollback()
