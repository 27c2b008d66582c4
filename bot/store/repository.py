"""What every repository shares: the unit of work's session, and rows by primary key."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


class Repository(Generic[Row]):
    """The rows of one table, read and written in the unit of work's transaction."""

    model: ClassVar[type[Any]]

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, row_id: Any) -> Row | None:
        """The row with this primary key, or None (None asks for nothing)."""
        if row_id is None:
            return None
        row: Row | None = self._session.get(self.model, row_id)
        return row
