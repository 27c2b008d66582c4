"""The coach's business calendar: weekly hours, closures, holidays, next opening, business time.

Pure: every instant is an argument; nothing here reads the clock or does I/O.

How the contract's words map to time:
- Weekly hours are local wall-clock ranges owned by the day they start on: `fri 22:00-02:00` is
  Friday's range, open from Fri 22:00 to Sat 02:00 local time.
- A closure or holiday on a local date cancels every range that date owns, including its part
  after midnight; a range begun the evening before a closed date still runs to its end.
- DST: a range boundary that falls in a gap (clocks go forward) moves to the first instant after
  the gap. In a repeated hour (clocks go back) a start takes the earlier instant and an end the
  later one, so the coach's contract never loses open time to a clock change.
- A working day is a local date that owns open time and is not closed; its closing time is the
  end of its last range. `business_days_after` never goes back in time as n grows, even when a
  range past midnight outlasts the next day's hours.
- `closed_reason` gives a closure's note (closures are `(start, end)` or `(start, end, note)`),
  `closed` for a closure without one, or the holiday's name.
- Searches are bounded: with no open time for 3 years (or, for `next_close`, no closing time),
  they raise ValueError instead of looping.

Internally instants are integer microseconds since the Unix epoch (UTC). Open time is laid out,
lazily, in blocks of 28 UTC days: merged open intervals plus running totals of open time, so
`add_business_time` is two bisections and a little arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import holidays as holidays_lib
import pytz

from rules.hours import DAY_NAMES, Range, WeeklyHours, parse_hours
from rules.localtime import MICROSECOND, from_us, local_to_us, time_zone, to_us

__all__ = [
    "DAY_NAMES",
    "BusinessCalendar",
    "ClosureSpec",
    "Interval",
    "Range",
    "WeeklyHours",
    "parse_hours",
]

Interval = tuple[int, int]  # UTC microseconds since the epoch, [start, end)
ClosureSpec = tuple[date, date] | tuple[date, date, str]

_DAY_US = 86_400_000_000
_BLOCK_US = 28 * _DAY_US
_HORIZON_DAYS = 3 * 366  # a search gives up after this long without finding open time
_HORIZON_US = _HORIZON_DAYS * _DAY_US
_DAY_CACHE_SIZE = 4096
_BLOCK_CACHE_SIZE = 128


@dataclass(frozen=True, slots=True)
class _Day:
    """One local date: the UTC intervals of the ranges it owns, and why it is closed."""

    intervals: tuple[Interval, ...]
    closed_reason: str | None


@dataclass(frozen=True, slots=True)
class _Block:
    """Merged UTC open intervals within one block, with open time before each of them."""

    starts: list[int]
    ends: list[int]
    before: list[int]  # before[i]: open time in the block before interval i; before[-1]: total


class BusinessCalendar:
    """Weekly hours in a time zone, minus closures and public holidays."""

    def __init__(
        self,
        timezone: str,
        hours: str,
        closures: Iterable[ClosureSpec] = (),
        holidays: str | None = None,
    ) -> None:
        self.tz: pytz.BaseTzInfo = time_zone(timezone)
        self.timezone: str = str(self.tz.zone)
        self.hours = hours
        self.weekly = parse_hours(hours)
        self._closures = _closure_list(closures)
        self._holidays = _holiday_calendar(holidays)
        self._holiday_spec = holidays
        self._days: dict[date, _Day] = {}
        self._blocks: dict[int, _Block] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.timezone!r}, {str(self.weekly)!r}, "
            f"closures={len(self._closures)}, holidays={self._holiday_spec!r})"
        )

    def is_open(self, when: datetime) -> bool:
        """True if `when` falls inside open time."""
        t = to_us(when)
        block = self._block(t // _BLOCK_US)
        i = bisect_right(block.starts, t) - 1
        return i >= 0 and t < block.ends[i]

    def next_open(self, when: datetime) -> datetime:
        """The first open instant at or after `when` (UTC)."""
        return from_us(self._next_open_us(to_us(when)))

    def next_close(self, when: datetime) -> datetime:
        """The end of the open stretch containing `when`, or of the next one if closed (UTC)."""
        start = self._next_open_us(to_us(when))
        k = start // _BLOCK_US
        block = self._block(k)
        end = block.ends[bisect_right(block.starts, start) - 1]
        while end == (k + 1) * _BLOCK_US:  # the stretch may carry on into the next block
            k += 1
            block = self._block(k)
            if not block.starts or block.starts[0] != end:
                break
            end = block.ends[0]
            if end - start > _HORIZON_US:
                raise ValueError(
                    f"calendar: open around the clock from {from_us(start).isoformat()}; "
                    "no closing time within 3 years"
                )
        return from_us(end)

    def add_business_time(self, when: datetime, delta: timedelta) -> datetime:
        """The instant `delta` of open time after `when`, counting from the next opening (UTC)."""
        amount = delta // MICROSECOND
        if amount < 0:
            raise ValueError(f"business time: {delta} is negative; add zero or more open time")
        t = to_us(when)
        if amount == 0:
            return from_us(self._next_open_us(t))
        k = t // _BLOCK_US
        block = self._block(k)
        i = bisect_right(block.starts, t)
        if i and t < block.ends[i - 1]:
            target = block.before[i - 1] + (t - block.starts[i - 1]) + amount
        else:
            target = block.before[i] + amount
        empty_blocks = 0
        while target > block.before[-1]:
            target -= block.before[-1]
            empty_blocks = empty_blocks + 1 if not block.starts else 0
            if empty_blocks * _BLOCK_US > _HORIZON_US:
                raise _no_open_time(t)
            k += 1
            block = self._block(k)
        j = bisect_left(block.before, target, 1) - 1
        return from_us(block.starts[j] + target - block.before[j])

    def business_days_after(self, when: datetime, n: int) -> datetime:
        """Closing time of the n-th working day after `when`'s local date (n=0: that day) (UTC)."""
        if n < 0:
            raise ValueError(f"working days: {n} is negative; use 0 or more")
        day = first = self._local_date(to_us(when))
        # Working days from `day` on are W0, W1, ...; the n-th after `day` is Wn if `day` works.
        index = n if self._day(day).intervals else max(n - 1, 0)
        latest, idle_days = -(1 << 62), 0
        while True:
            intervals = self._day(day).intervals
            if intervals:
                # Running maximum: a range past midnight can outlast the next day's closing.
                latest = max(latest, *(end for _, end in intervals))
                if not index:
                    return from_us(latest)
                index, idle_days = index - 1, 0
            else:
                idle_days += 1
                if idle_days > _HORIZON_DAYS:
                    raise ValueError(
                        f"calendar: no working day within 3 years after {first.isoformat()}; "
                        "check closures and holidays"
                    )
            day += timedelta(days=1)

    def week_start(self, when: datetime) -> datetime:
        """Monday 00:00 local time of `when`'s local week (UTC)."""
        day = self._local_date(to_us(when))
        monday = datetime.combine(day - timedelta(days=day.weekday()), time())
        return from_us(local_to_us(self.tz, monday, earliest=True))

    def closed_reason(self, when: datetime) -> str | None:
        """The closure note (or `closed`) or holiday name of `when`'s local date, else None."""
        return self._day(self._local_date(to_us(when))).closed_reason

    def describe_hours(self) -> str:
        """The weekly hours in plain text, e.g. `Mon–Thu 09:00–17:00; Fri 09:00–13:00`."""
        return self.weekly.describe()

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open stretches overlapping [start, end), clipped to it (UTC)."""
        lo, hi = to_us(start), to_us(end)
        current: Interval | None = None
        k = lo // _BLOCK_US
        while k * _BLOCK_US < hi:
            block = self._block(k)
            for i in range(bisect_right(block.ends, lo), len(block.starts)):
                s, e = max(block.starts[i], lo), min(block.ends[i], hi)
                if s >= e:
                    break
                if current is not None and s == current[1]:
                    current = (current[0], e)  # one stretch split by a block boundary
                    continue
                if current is not None:
                    yield from_us(current[0]), from_us(current[1])
                current = (s, e)
            k += 1
        if current is not None:
            yield from_us(current[0]), from_us(current[1])

    def _next_open_us(self, t: int) -> int:
        """The first open microsecond at or after `t`."""
        k = t // _BLOCK_US
        block = self._block(k)
        i = bisect_right(block.starts, t)
        if i and t < block.ends[i - 1]:
            return t
        while i >= len(block.starts):
            k += 1
            if k * _BLOCK_US - t > _HORIZON_US:
                raise _no_open_time(t)
            block, i = self._block(k), 0
        return block.starts[i]

    def _block(self, k: int) -> _Block:
        """Block `k` (UTC [k*28d, (k+1)*28d) from the epoch), built on first use."""
        block = self._blocks.get(k)
        if block is None:
            if len(self._blocks) >= _BLOCK_CACHE_SIZE:
                self._blocks.clear()
            block = self._blocks[k] = self._build_block(k)
        return block

    def _build_block(self, k: int) -> _Block:
        """Merge the open intervals of every local date that can reach into block `k`."""
        lo, hi = k * _BLOCK_US, (k + 1) * _BLOCK_US
        # A date's ranges end at most two local days after its midnight; look one day further.
        first = self._local_date(lo) - timedelta(days=2)
        count = (self._local_date(hi) - first).days + 2
        pieces = sorted(
            interval
            for offset in range(count)
            for interval in self._day(first + timedelta(days=offset)).intervals
        )
        starts: list[int] = []
        ends: list[int] = []
        before = [0]
        for piece_start, piece_end in pieces:
            s, e = max(piece_start, lo), min(piece_end, hi)
            if s >= e:
                continue
            if ends and s <= ends[-1]:
                if e > ends[-1]:
                    before[-1] += e - ends[-1]
                    ends[-1] = e
                continue
            starts.append(s)
            ends.append(e)
            before.append(before[-1] + e - s)
        return _Block(starts, ends, before)

    def _day(self, day: date) -> _Day:
        """The cached facts of one local date."""
        facts = self._days.get(day)
        if facts is None:
            if len(self._days) >= _DAY_CACHE_SIZE:
                self._days.clear()
            reason = self._closed_reason(day)
            ranges = () if reason is not None else self.weekly.days[day.weekday()]
            intervals = (self._utc_interval(day, r) for r in ranges)
            facts = _Day(tuple(iv for iv in intervals if iv[0] < iv[1]), reason)
            self._days[day] = facts
        return facts

    def next_holiday(self, day: date, *, within: int = 366) -> tuple[date, str] | None:
        """The first public holiday on or after local date `day` (not a closure), with its name."""
        if self._holidays is None:
            return None
        for offset in range(within):
            candidate = day + timedelta(days=offset)
            name = self._holidays.get(candidate)
            if name is not None:
                return candidate, str(name)
        return None

    def _closed_reason(self, day: date) -> str | None:
        """The closure note (or `closed`), else the holiday name, else None."""
        for start, end, note in self._closures:
            if start <= day <= end:
                return note or "closed"
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def _utc_interval(self, day: date, minutes: Range) -> Interval:
        """The UTC interval of a local range owned by `day` (may be empty inside a DST gap)."""
        midnight = datetime.combine(day, time())
        start = midnight + timedelta(minutes=minutes[0])
        end = midnight + timedelta(minutes=minutes[1])
        return (
            local_to_us(self.tz, start, earliest=True),
            local_to_us(self.tz, end, earliest=False),
        )

    def _local_date(self, t: int) -> date:
        """The local date at UTC microsecond `t`."""
        return from_us(t).astimezone(self.tz).date()


def _no_open_time(t: int) -> ValueError:
    """The error for a search that found no open time within the horizon."""
    return ValueError(
        f"calendar: no open time within 3 years after {from_us(t).isoformat()}; "
        "check closures and holidays"
    )


def _closure_list(closures: Iterable[ClosureSpec]) -> tuple[tuple[date, date, str], ...]:
    """Closures as sorted (start, end, note) triples; ValueError if one ends before it starts."""
    result: list[tuple[date, date, str]] = []
    for start, end, *rest in closures:
        if end < start:
            raise ValueError(
                f"closure: ends {end.isoformat()} before it starts {start.isoformat()}; "
                "use /closed START END [note]"
            )
        result.append((start, end, rest[0] if rest else ""))
    return tuple(sorted(result))


def _holiday_calendar(spec: str | None) -> holidays_lib.HolidayBase | None:
    """Public holidays for `GB` or `GB-ENG`; None for no holidays."""
    if spec is None or not spec.strip():
        return None
    country, _, subdivision = (part.strip() for part in spec.strip().partition("-"))
    country = country.upper()
    for candidate in dict.fromkeys((subdivision, subdivision.upper())):
        try:
            return holidays_lib.country_holidays(country, subdiv=candidate or None)
        except NotImplementedError:
            continue
    try:
        whole_country = holidays_lib.country_holidays(country)
    except NotImplementedError:
        raise ValueError(
            f"holidays: '{spec.strip()}' is not a country we know holidays for; "
            "use a country code like GB, or GB-ENG for a subdivision"
        ) from None
    raise ValueError(
        f"holidays: '{subdivision}' is not a subdivision of {country}; {_use(whole_country)}"
    )


def _use(country: holidays_lib.HolidayBase) -> str:
    """What to write instead of a bad subdivision of `country`."""
    known = list(country.subdivisions)
    if not known:
        return f"{country.country} has none, so use just {country.country}"
    listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    return f"use one of {listed}"
