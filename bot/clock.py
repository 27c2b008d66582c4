"""Clocks. Every component takes one; nothing in bot/ reads the time any other way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: the console's `:time` and every test use it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The time this clock was set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Move to `when` (aware)."""
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta


class OffsetClock:
    """The real time shifted by an offset: the console's clock, which `:time` moves."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The real time plus the offset."""
        return self._base.now() + self._offset

    def set(self, when: datetime) -> None:
        """Make it `when` now (aware); time then runs on from there."""
        if when.tzinfo is None:
            raise ValueError("OffsetClock needs an aware datetime")
        self._offset = when - self._base.now()
