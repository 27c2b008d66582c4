"""Platform events already handled, and values the bot keeps for itself."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.store.models import Meta, ProcessedEvent
from bot.store.repository import Repository


class AlreadyHandled(Exception):
    """The platform event was committed before (a redelivery, or another worker won)."""


class Events(Repository[ProcessedEvent]):
    """Platform events handled once: a redelivery is acknowledged but not redone."""

    model = ProcessedEvent

    def record(self, platform: str, event_id: str, *, at: datetime) -> None:
        """Note the event as handled now; raises AlreadyHandled if it was (roll back then)."""
        self._session.add(ProcessedEvent(platform=platform, event_id=event_id, at=at))
        try:
            self._session.flush()
        except IntegrityError as error:
            raise AlreadyHandled from error

    def note(self, platform: str, event_id: str, *, at: datetime) -> None:
        """Note the event as handled when the unit of work commits."""
        self._session.add(ProcessedEvent(platform=platform, event_id=event_id, at=at))

    def handled(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (platform, event id) were handled before."""
        if not keys:
            return set()
        rows = self._session.exec(
            select(ProcessedEvent.platform, ProcessedEvent.event_id).where(
                tuple_(col(ProcessedEvent.platform), col(ProcessedEvent.event_id)).in_(list(keys))
            )
        ).all()
        return {(platform, event_id) for platform, event_id in rows}


class Values(Repository[Meta]):
    """Named values the bot made for itself (the hash key when none is configured)."""

    model = Meta

    def get_or_make(self, name: str, make: Callable[[], str]) -> str:
        """The value called `name`, made once with `make` (another process may win the race)."""
        row = self._session.get(Meta, name)
        if row is None:
            postgres = self._session.get_bind().dialect.name == "postgresql"
            dialect = postgresql if postgres else sqlite
            made = dialect.insert(Meta).values(name=name, value=make())
            self._session.execute(made.on_conflict_do_nothing())
            row = self._session.get(Meta, name, populate_existing=True)
            assert row is not None
        return row.value
