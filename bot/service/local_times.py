"""Many times in one zone as `format_local` writes them, without converting each one."""

from __future__ import annotations

from datetime import datetime

from rules.templates import format_local


class LocalTimes:
    """`format_local` for many times in one zone, converting once per UTC quarter-hour.

    Every zone's offset, and every change of it, falls on a quarter-hour, so within one UTC
    quarter-hour the local wall clock differs from the quarter's start only in its minutes.
    """

    def __init__(self, zone: str, now: datetime) -> None:
        self.zone = zone
        self.now = now
        self._quarters: dict[datetime, tuple[str, str, int, str]] = {}

    def __call__(self, when: datetime) -> str:
        """`Mon 23 Nov, 09:07 GMT`, exactly as format_local(when, zone, now) writes it."""
        into = when.minute % 15
        quarter = when.replace(minute=when.minute - into, second=0, microsecond=0)
        parts = self._quarters.get(quarter)
        if parts is None:
            head, _, tail = format_local(quarter, self.zone, self.now).rpartition(", ")
            clock, _, abbreviation = tail.partition(" ")
            hour, _, start = clock.partition(":")
            parts = self._quarters[quarter] = (head, hour, int(start), abbreviation)
        head, hour, first, abbreviation = parts
        return f"{head}, {hour}:{first + into:02d} {abbreviation}"
