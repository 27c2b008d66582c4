"""The stored policy JSON: each field, and a whole Policy, between JSON and domain values.

`Coach.policy` holds the policy as JSON, every key optional (a missing key means the default,
an unknown key is kept and ignored):
    timezone "Europe/London", hours "mon-fri 09:00-17:00", holidays "GB"|null,
    reply_within "24h", digest_time "18:00"|null, default_mode "specific", weekly_quota 0,
    billing {free_minutes, rate (decimal as text), currency, increment_minutes}|null,
    templates {key: text}, crisis_text text|null, crisis_phrases [text],
    brief_hours 12, notice_days 3, digest_daily false (true: a digest on days off too).
`Client.overrides` holds the same shape for the Policy fields one client differs in (plus
coach_name and closures); a missing or null key means "as the coach's policy".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from rules.calendar import BusinessCalendar
from rules.contract import BillingTerms, Closure, Mode, Policy, ReplyPromise

#: Settings kept beside the Policy fields for features outside the rules' Policy.
EXTRA_DEFAULTS: Mapping[str, int] = {"brief_hours": 12, "notice_days": 3, "digest_daily": False}

#: Fields a coach sets in their policy (coach_name comes from config, closures from rows).
COACH_FIELDS = (
    "timezone",
    "hours",
    "holidays",
    "reply_within",
    "digest_time",
    "default_mode",
    "weekly_quota",
    "billing",
    "templates",
    "crisis_text",
    "crisis_phrases",
    "brief_hours",
    "notice_days",
    "digest_daily",
)

_ANY_HOURS = "mon 09:00-17:00"  # stands in for the hours when checking another field

#: Fields a client's overrides may hold: every Policy field.
OVERRIDE_FIELDS = tuple(f.name for f in dataclasses.fields(Policy))


class ClosureLike(Protocol):
    """A closure row or a rules Closure."""

    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def note(self) -> str: ...


# --- one field between JSON and domain value ---------------------------------------------------


def _text(raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError("text")
    return raw


def _count(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise TypeError("a whole number of at least 0")
    return int(raw)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError("true or false")
    return raw


def _digest_from(raw: Any) -> time | None:
    return None if raw is None else time.fromisoformat(_text(raw))


def _digest_to(value: time | str | None) -> str | None:
    if value is None:
        return None
    parsed = value if isinstance(value, time) else time.fromisoformat(value)
    return parsed.strftime("%H:%M")


def _billing_from(raw: Any) -> BillingTerms | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise TypeError("an object")
    return BillingTerms(
        free_minutes=_count(raw.get("free_minutes", 5)),
        rate=Decimal(str(raw["rate"])),
        currency=_text(raw.get("currency", "")),
        increment_minutes=_count(raw.get("increment_minutes", 15)),
    )


def _billing_to(value: BillingTerms | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "free_minutes": value.free_minutes,
        "rate": str(value.rate),
        "currency": value.currency,
        "increment_minutes": value.increment_minutes,
    }


def _closures_from(raw: Any) -> tuple[Closure, ...]:
    return tuple(
        Closure(date.fromisoformat(c["start"]), date.fromisoformat(c["end"]), c.get("note", ""))
        for c in raw
    )


def _closures_to(value: Iterable[ClosureLike]) -> list[dict[str, str]]:
    return [{"start": c.start.isoformat(), "end": c.end.isoformat(), "note": c.note} for c in value]


def _templates_from(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise TypeError("an object")
    return {str(k): _text(v) for k, v in raw.items()}


def _phrases_from(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise TypeError("a list")
    return tuple(_text(p) for p in raw)


def _optional(decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda raw: None if raw is None else decode(raw)


def _timezone_to(value: str) -> str:
    return BusinessCalendar(value, _ANY_HOURS).timezone  # canonical: europe/london -> Europe/London


def _hours_to(value: str) -> str:
    BusinessCalendar("UTC", value)  # ValueError saying what is expected
    return value.strip()


def _holidays_to(value: str) -> str | None:
    BusinessCalendar("UTC", _ANY_HOURS, (), value)
    return value.strip() or None


def _reply_to(value: ReplyPromise | str) -> str:
    promise = value if isinstance(value, ReplyPromise) else ReplyPromise.parse(value)
    return str(promise)


_DECODE: Mapping[str, Callable[[Any], Any]] = {
    "coach_name": _text,
    "timezone": _text,
    "hours": _text,
    "closures": _closures_from,
    "holidays": _optional(_text),
    "reply_within": lambda raw: ReplyPromise.parse(_text(raw), bounded=False),
    "digest_time": _digest_from,
    "default_mode": lambda raw: Mode(_text(raw)),
    "weekly_quota": _count,
    "billing": _billing_from,
    "templates": _templates_from,
    "crisis_text": _optional(_text),
    "crisis_phrases": _phrases_from,
    "brief_hours": _optional(_count),
    "notice_days": _optional(_count),
    "digest_daily": _optional(_flag),
}

_ENCODE: Mapping[str, Callable[[Any], Any]] = {
    "timezone": _timezone_to,
    "hours": _hours_to,
    "holidays": _holidays_to,
    "closures": _closures_to,
    "reply_within": _reply_to,
    "digest_time": _digest_to,
    "default_mode": lambda value: str(Mode(value)),
    "billing": _billing_to,
    "templates": dict,
    "crisis_phrases": list,
}

#: Fields whose None is a value (off), not "the default".
_NULLABLE = frozenset({"holidays", "digest_time", "billing", "crisis_text"})


def decode_field(name: str, raw: Any) -> Any:
    """The domain value of a stored JSON field; ValueError naming the field if it is bad."""
    try:
        return _DECODE[name](raw)
    except KeyError as exc:
        if name not in _DECODE:
            raise ValueError(f"policy: no such setting {name}") from None
        raise ValueError(f"policy: stored {name} lacks {exc}") from None
    except (TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise ValueError(f"policy: stored {name} {raw!r} is invalid ({exc})") from None


def encode_field(name: str, value: Any) -> Any:
    """The JSON form of a domain value for field `name` (checked by decoding it back)."""
    if name not in _DECODE:
        raise ValueError(f"policy: no such setting {name}")
    raw = None if value is None else _ENCODE.get(name, lambda v: v)(value)
    decode_field(name, raw)
    return raw


# --- a whole Policy between JSON and domain values ---------------------------------------------


def _decoded(data: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The known fields of stored JSON as domain values; absent or null-for-default are left out."""
    values = {}
    for name in fields:
        if name in data and (data[name] is not None or name in _NULLABLE):
            values[name] = decode_field(name, data[name])
    return values


def policy_from_json(
    data: Mapping[str, Any], *, coach_name: str, closures: Sequence[ClosureLike] = ()
) -> Policy:
    """A Policy from stored JSON, the coach's name and their closures."""
    fields = _decoded(data, [f for f in COACH_FIELDS if f not in EXTRA_DEFAULTS])
    rules_closures = tuple(Closure(c.start, c.end, c.note) for c in closures)
    return Policy(coach_name=coach_name, closures=rules_closures, **fields)


def policy_to_json(policy: Policy) -> dict[str, Any]:
    """The stored JSON of a Policy's coach fields (not its name, closures or the extras)."""
    return {
        name: encode_field(name, getattr(policy, name))
        for name in COACH_FIELDS
        if name not in EXTRA_DEFAULTS
    }


def default_policy_json() -> dict[str, Any]:
    """The stored JSON of a new coach: every field at its default."""
    return {**policy_to_json(Policy(coach_name="")), **EXTRA_DEFAULTS}
