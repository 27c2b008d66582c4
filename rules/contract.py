"""The coaching contract: policy, per-client terms, modes, kinds and billing, as plain data."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

from rules.calendar import BusinessCalendar


class Mode(StrEnum):
    """How much between-session contact a client's contract allows."""

    SESSIONS_ONLY = "sessions_only"
    SPECIFIC = "specific"
    OPEN_DOOR = "open_door"


class Kind(StrEnum):
    """What a client message is for."""

    FYI = "fyi"
    QUESTION = "question"
    SCHEDULING = "scheduling"
    GOALS = "goals"


#: Kinds that ask the coach for a reply (and so carry a reply-by time).
NEEDS_REPLY = frozenset({Kind.QUESTION, Kind.SCHEDULING, Kind.GOALS})
#: Kinds that count against the weekly quota: scheduling never does (it is what lets a client
#: keep their sessions), nor do updates.
QUOTA_KINDS = NEEDS_REPLY - {Kind.SCHEDULING}

#: What a `specific` contract allows when the coach has not said otherwise.
DEFAULT_SPECIFIC_KINDS = frozenset({Kind.GOALS, Kind.SCHEDULING})


def parse_kinds(text: str) -> frozenset[Kind]:
    """Parse `goals,scheduling` into kinds; raise ValueError naming the bad word."""
    words = [w.strip().lower() for w in re.split(r"[,\s]+", text) if w.strip()]
    if not words:
        raise ValueError("kinds: name at least one of fyi, question, scheduling, goals")
    kinds = set()
    for word in words:
        try:
            kinds.add(Kind(word))
        except ValueError:
            raise ValueError(
                f"kinds: '{word}' is not a kind; use fyi, question, scheduling or goals"
            ) from None
    return frozenset(kinds)


#: The longest reply promise of each unit: two weeks of open time at 24 hours a day, a month.
PROMISE_BOUNDS: dict[str, int] = {"h": 336, "d": 30}


class PromiseOutOfRange(ValueError):
    """A well-formed reply promise outside 1..PROMISE_BOUNDS of its unit."""

    def __init__(self, amount: int, unit: Literal["h", "d"]) -> None:
        self.amount, self.unit, self.high = amount, unit, PROMISE_BOUNDS[unit]
        super().__init__(
            f"reply promise: {amount}{unit} is out of range; use 1h to "
            f"{PROMISE_BOUNDS['h']}h of open time or 1d to {PROMISE_BOUNDS['d']}d working days"
        )


@dataclass(frozen=True)
class ReplyPromise:
    """How soon the coach replies: `Nh` hours of open time, or `Nd` working days."""

    amount: int
    unit: Literal["h", "d"]

    @classmethod
    def parse(cls, text: str, *, bounded: bool = True) -> ReplyPromise:
        """Parse `24h` or `2d`; raise ValueError with the expected form or the bounds.

        `bounded=False` reads a stored promise made before the bounds existed.
        """
        match = re.fullmatch(r"\s*(\d{1,4})\s*([hHdD])\s*", text)
        if not match:
            raise ValueError(
                f"reply promise: '{text.strip()}' is not a reply time; "
                "use hours of open time like 24h or working days like 2d"
            )
        unit: Literal["h", "d"] = "h" if match.group(2).lower() == "h" else "d"
        amount = int(match.group(1))
        if amount == 0 or (bounded and amount > PROMISE_BOUNDS[unit]):
            raise PromiseOutOfRange(amount, unit)
        return cls(amount, unit)

    def reply_by(self, calendar: BusinessCalendar, arrival: datetime) -> datetime:
        """The promised reply time for a message that arrives at `arrival` (UTC result)."""
        if self.unit == "h":
            return calendar.add_business_time(arrival, timedelta(hours=self.amount))
        return calendar.business_days_after(arrival, self.amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def describe(self) -> str:
        """Plain words for a client: `within 24 open hours`, `within 2 working days`."""
        if self.unit == "h":
            return f"within {self.amount} open hour{'s' if self.amount != 1 else ''}"
        return f"within {self.amount} working day{'s' if self.amount != 1 else ''}"


@dataclass(frozen=True)
class Closure:
    """Dates (inclusive, coach's local calendar) when the coach is away."""

    start: date
    end: date
    note: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"closure: ends {self.end.isoformat()} before it starts "
                f"{self.start.isoformat()}; use /closed START END [note]"
            )


@dataclass(frozen=True)
class BillingTerms:
    """Between-session work beyond `free_minutes` is billed per started increment."""

    free_minutes: int
    rate: Decimal  # per hour
    currency: str
    increment_minutes: int = 15

    def __post_init__(self) -> None:
        if self.free_minutes < 0 or self.increment_minutes <= 0 or self.rate < 0:
            raise ValueError(
                "billing: free minutes and rate must not be negative and the increment "
                "must be at least 1 minute; use /billing 5 60 GBP 15"
            )

    def billable_minutes(self, minutes: int) -> int:
        """Minutes billed for an item: 0 within the free minutes, else whole, rounded up."""
        if minutes <= self.free_minutes:
            return 0
        increments = -(-minutes // self.increment_minutes)
        return increments * self.increment_minutes

    def amount(self, minutes: int) -> Decimal:
        """Money owed for an item of `minutes`, rounded to cents."""
        billed = Decimal(self.billable_minutes(minutes)) * self.rate / Decimal(60)
        return billed.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        """Plain words: `replies taking more than 5 minutes are billed at 60 GBP/hour`."""
        return (
            f"replies taking more than {self.free_minutes} minutes are billed at "
            f"{self.rate} {self.currency}/hour"
        )


@dataclass(frozen=True)
class Policy:
    """A coach's between-session policy; every field can be overridden per client."""

    coach_name: str
    timezone: str = "UTC"
    hours: str = "mon-fri 09:00-17:00"
    closures: tuple[Closure, ...] = ()
    holidays: str | None = None
    reply_within: ReplyPromise = ReplyPromise(24, "h")
    digest_time: time | None = time(18, 0)
    default_mode: Mode = Mode.SPECIFIC
    weekly_quota: int = 0  # reply-needing messages per week; 0 = no limit
    billing: BillingTerms | None = None
    templates: Mapping[str, str] = field(default_factory=dict)
    crisis_text: str | None = None
    crisis_phrases: tuple[str, ...] = ()

    def with_overrides(self, overrides: Mapping[str, Any]) -> Policy:
        """This policy with a client's overridden fields (None values mean `not overridden`)."""
        changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"policy: no such setting {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def calendar(self) -> BusinessCalendar:
        """The business calendar these settings describe (cached per distinct schedule)."""
        return calendar_for(
            self.timezone,
            self.hours,
            tuple((c.start, c.end, c.note) for c in self.closures),
            self.holidays,
        )


@lru_cache(maxsize=1024)
def calendar_for(
    timezone: str,
    hours: str,
    closures: tuple[tuple[date, date, str], ...],
    holidays: str | None,
) -> BusinessCalendar:
    """Build (once) the calendar for a schedule; raise ValueError if it is invalid."""
    return BusinessCalendar(timezone, hours, closures, holidays)


@dataclass(frozen=True)
class ClientTerms:
    """What one client's contract says beyond the coach's policy."""

    name: str
    mode: Mode = Mode.SPECIFIC
    allowed: frozenset[Kind] = DEFAULT_SPECIFIC_KINDS  # used by `specific`
    contract_start: date | None = None
    contract_end: date | None = None  # inclusive, coach's local date
    next_session: datetime | None = None  # aware
    timezone: str | None = None  # the zone times are shown to the client in

    def allowed_kinds(self) -> frozenset[Kind]:
        """Kinds this client may send between sessions."""
        if self.mode is Mode.SESSIONS_ONLY:
            return frozenset({Kind.SCHEDULING})
        if self.mode is Mode.OPEN_DOOR:
            return frozenset(Kind)
        return self.allowed


@dataclass(frozen=True)
class Contract:
    """The effective contract for one client: the coach's policy with overrides applied."""

    policy: Policy
    client: ClientTerms

    @property
    def calendar(self) -> BusinessCalendar:
        """The coach's business calendar as it applies to this client."""
        return self.policy.calendar

    @property
    def client_timezone(self) -> str:
        """The zone to show this client times in."""
        return self.client.timezone or self.policy.timezone

    def is_former_client(self, now: datetime) -> bool:
        """True once the contract's last day has passed in the coach's zone."""
        if self.client.contract_end is None:
            return False
        local_today = now.astimezone(self.calendar.tz).date()
        return local_today > self.client.contract_end


@dataclass(frozen=True)
class ClientMessage:
    """A client's message as the rules see it."""

    text: str
    kind: Kind | None = None  # chosen by command or button; None for plain text
    attachments: int = 0
    for_session: bool = False  # the client chose "Save for my session"


@dataclass(frozen=True)
class ClientState:
    """Facts from the client's history that a decision depends on."""

    quota_used: int = 0  # reply-needing messages accepted this week (Mon-Sun, coach's zone)
    out_of_office_sent_for: datetime | None = None  # next opening the last full notice named
