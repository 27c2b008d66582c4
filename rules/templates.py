"""The texts a client sees: validating a coach's wording, rendering it, and showing times."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from rules.calendar import BusinessCalendar
from rules.contract import Closure, Contract, Policy
from rules.standing import standing
from rules.texts import (
    DEFAULT_CRISIS_TEXT,
    MONTH_ABBREVIATIONS,
    PLACEHOLDERS,
    TEMPLATES,
    TemplateSpec,
    hours_for_client,
    kinds_in_words,
    weekday_name,
    zone,
)

__all__ = [
    "DEFAULT_CRISIS_TEXT",
    "PLACEHOLDERS",
    "TEMPLATES",
    "TemplateSpec",
    "away_words",
    "billing_sentence",
    "closed_note",
    "contract_values",
    "crisis_resources",
    "date_words",
    "describe_contract",
    "format_local",
    "hours_for_client",
    "next_session_words",
    "queue_values",
    "render",
    "status_text",
    "template_help",
    "text_for",
    "validate_template",
    "welcome_text",
    "zone",
]

_MONTHS = MONTH_ABBREVIATIONS
_SPACES = re.compile(r"(?<=\S) {2,}")
_TRAILING = re.compile(r"[ \t]+$", re.MULTILINE)
_FORMATTER = string.Formatter()
_ONE_DAY = timedelta(days=1)
_LOOK_AHEAD = timedelta(days=92)
_NOON = time(12)


def _abbreviation(local: datetime) -> str:
    """`GMT`, `EST`; numeric abbreviations like `+0545` become `UTC+05:45`."""
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


@lru_cache(maxsize=8192)
def _format(when: datetime, zone_name: str, year: int | None) -> str:
    """Cached body of `format_local`; `year` is the reader's current year (None: omit)."""
    local = when.astimezone(zone(zone_name))
    day = f"{weekday_name(local.weekday())} {local.day} {_MONTHS[local.month - 1]}"
    if year is not None and local.year != year:
        day += f" {local.year}"
    return f"{day}, {local.hour:02d}:{local.minute:02d} {_abbreviation(local)}"


def format_local(when: datetime, zone_name: str, now: datetime | None = None) -> str:
    """`Mon 23 Nov, 09:00 GMT` in `zone_name`; the year is shown when it differs from now's."""
    if now is None:
        year = None
    elif (now.month == 12 and now.day >= 30) or (now.month == 1 and now.day <= 2):
        year = now.astimezone(zone(zone_name)).year  # the reader may already be in another year
    else:
        year = now.year
    return _format(when, zone_name, year)


def _field_text(name: str, spec: str | None, conversion: str | None) -> str:
    """The placeholder as the coach wrote it, for error messages."""
    suffix = (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
    return "{" + name + suffix + "}"


def validate_template(key: str, text: str) -> None:
    """Raise ValueError naming the unknown key, unknown placeholder or broken braces."""
    spec = TEMPLATES.get(key)
    if spec is None:
        raise ValueError(f"message: '{key}' is not a template; use {', '.join(TEMPLATES)}")
    if not text.strip():
        raise ValueError(f"message: the text for '{key}' is empty; write it, or use default")
    allowed = ", ".join("{" + p + "}" for p in spec.placeholders)
    try:
        fields = [(n, s, c) for _, n, s, c in _FORMATTER.parse(text) if n is not None]
    except ValueError:
        raise ValueError(
            f"message: the braces in '{key}' don't pair up; placeholders look like {{coach}}, "
            "and {{ or }} writes a literal brace"
        ) from None
    for name, fmt, conversion in fields:
        if name not in spec.placeholders or fmt or conversion:
            raise ValueError(
                f"message: {_field_text(name, fmt, conversion)} is not a placeholder of "
                f"'{key}'; use {allowed}"
            )


@lru_cache(maxsize=1024)
def _is_valid(key: str, text: str) -> bool:
    """Whether a stored override still validates (checked once per distinct text)."""
    try:
        validate_template(key, text)
    except ValueError:
        return False
    return True


def billing_sentence(policy: Policy) -> str:
    """`Replies taking more than 5 minutes are billed at 60 GBP/hour.`, or `` with no terms."""
    if policy.billing is None:
        return ""
    words = policy.billing.describe()
    return f"{words[0].upper()}{words[1:]}."


def crisis_resources(policy: Policy) -> str:
    """The coach's crisis resources text, or the international default."""
    return (policy.crisis_text or "").strip() or DEFAULT_CRISIS_TEXT


class _Values(dict[str, object]):
    """Placeholder values; those not given are filled from the contract, else left empty."""

    def __init__(self, policy: Policy, client: str, values: Mapping[str, object]) -> None:
        super().__init__(values)
        self.policy = policy
        self.client = client

    def __missing__(self, name: str) -> object:
        policy = self.policy
        if name == "coach":
            return policy.coach_name
        if name == "client":
            return self.client
        if name == "billing":
            return billing_sentence(policy)
        if name == "crisis":
            return crisis_resources(policy)
        if name == "reply_promise":
            return policy.reply_within.describe()
        if name == "quota":
            return policy.weekly_quota
        return ""


def text_for(policy: Policy, key: str) -> str:
    """The wording used for `key`: the coach's valid override, else the default."""
    override = policy.templates.get(key)
    if override and _is_valid(key, override):
        return override
    return TEMPLATES[key].text


def render(source: Policy | Contract, key: str, /, **values: object) -> str:
    """The text for `key` with placeholders filled; the coach's override wins over the default."""
    if isinstance(source, Contract):
        policy, client = source.policy, source.client.name
    else:
        policy, client = source, ""
    text = text_for(policy, key).format_map(_Values(policy, client, values))
    if "  " in text or " \n" in text:  # an empty placeholder left a gap
        text = _TRAILING.sub("", _SPACES.sub(" ", text))
    return text.strip()


def template_help(policy: Policy | None = None) -> str:
    """Every template key: when it is sent, its placeholders, and whether it is overridden."""
    lines = []
    for key, spec in TEMPLATES.items():
        custom = policy is not None and key in policy.templates
        names = " ".join("{" + p + "}" for p in spec.placeholders)
        lines.append(f"{key}{' (yours)' if custom else ''} — {spec.description}. Uses: {names}")
    lines.append("")
    lines.extend(f"{{{name}}}: {meaning}" for name, meaning in PLACEHOLDERS.items())
    return "\n".join(lines)


def closed_note(contract: Contract, now: datetime, until: datetime) -> str | None:
    """The closure note or holiday name that explains the closed time from `now` to `until`.

    `closed` means a closure without a note; None means only the ordinary weekly hours.
    """
    calendar = contract.calendar
    tz = calendar.tz
    first, last = now.astimezone(tz).date(), until.astimezone(tz).date()
    return _note_between(calendar, contract.policy.closures, first, last)


@lru_cache(maxsize=4096)
def _note_between(
    calendar: BusinessCalendar, closures: tuple[Closure, ...], first: date, last: date
) -> str | None:
    """The first closure note or holiday name from local date `first` up to (not incl.) `last`."""
    day, last = first, min(last, first + _LOOK_AHEAD)
    while True:
        reason = calendar.closed_reason(calendar.tz.localize(datetime.combine(day, _NOON)))
        if reason == "closed":  # the calendar may only know the closure's dates, not its note
            notes = (c.note for c in closures if c.start <= day <= c.end and c.note)
            reason = next(notes, reason)
        if reason:
            return reason
        day += _ONE_DAY
        if day >= last:
            return None


def away_words(note: str | None) -> tuple[str, str]:
    """`{away}` and `{reason}` for a closed period: `away (Christmas break)`, `Christmas break`."""
    if note is None:
        return "out of the office", ""
    if note == "closed":
        return "away", ""
    return f"away ({note})", note


def queue_values(
    contract: Contract, now: datetime, release_at: datetime, reply_by: datetime, *, note: bool
) -> dict[str, object]:
    """Placeholder values for the out-of-office texts, in the client's zone."""
    zone_name = contract.client_timezone
    values: dict[str, object] = {
        "next_open": format_local(release_at, zone_name, now),
        "reply_by": format_local(reply_by, zone_name, now),
    }
    if note:
        values["away"], values["reason"] = away_words(closed_note(contract, now, release_at))
    return values


def date_words(day: date) -> str:
    """`Mon 30 Nov 2026`."""
    return f"{weekday_name(day.weekday())} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def status_text(contract: Contract, now: datetime) -> str:
    """Whether the coach is in right now, or until when they are away (or coaching has ended)."""
    now_standing = standing(contract, now)
    coach = contract.policy.coach_name
    if now_standing.ended_on is not None:
        return f"Your coaching contract with {coach} ended on {date_words(now_standing.ended_on)}."
    if now_standing.back_at is None:
        return f"Right now {coach} is in: messages are passed on straight away."
    back = now_standing.back_at
    away, _ = away_words(closed_note(contract, now, back))
    return f"Right now {coach} is {away} until {format_local(back, contract.client_timezone, now)}."


def next_session_words(contract: Contract, now: datetime) -> str:
    """The next session still to come in the client's zone, or `not booked yet`."""
    session = standing(contract, now).next_session
    if session is None:
        return "not booked yet"
    return format_local(session, contract.client_timezone, now)


def contract_values(contract: Contract, now: datetime) -> dict[str, object]:
    """Placeholder values that put the contract in plain words (welcome and /hours)."""
    now_standing = standing(contract, now)
    ended = now_standing.ended_on
    return {
        "hours": hours_for_client(contract, now),
        "status": status_text(contract, now),
        "kinds": kinds_in_words(contract.client, contract.policy.weekly_quota),
        "next_session": next_session_words(contract, now),
        "ended_on": date_words(ended) if ended is not None else "",
    }


def describe_contract(contract: Contract, now: datetime) -> str:
    """The client's `/hours` (and Slack Home): the contract as it stands at `now`.

    A former client is told that coaching has ended, never the hours of a contract gone by.
    """
    values = contract_values(contract, now)
    key = "ended" if standing(contract, now).former else "availability"
    return render(contract, key, **values)


def welcome_text(contract: Contract, now: datetime) -> str:
    """What a client is told on joining; a former client re-joining is told coaching has ended."""
    values = contract_values(contract, now)
    if standing(contract, now).former:
        return f"Welcome, {contract.client.name}! " + render(contract, "ended", **values)
    return render(contract, "welcome", **values)
