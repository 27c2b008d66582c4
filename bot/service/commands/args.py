"""Argument parsing for commands: every bad argument becomes one line with an example."""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime, time

import pytz

from bot.service.commands.registry import Context, UsageError
from bot.store.models import Client, Coach
from bot.store.unit import UnitOfWork
from rules.contract import Mode
from rules.localtime import time_zone, zone_refusal

MAX_SHOWN = 30
MAX_NAME = 40
MAX_MINUTES = 24 * 60
FIRST_YEAR, LAST_YEAR = 2000, 2099  # far dates only overflow the calendar

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DURATION = re.compile(r"(?:(\d{1,2})h)?(?:(\d{1,4})m?)?")
_NAME = re.compile(r"[^\W\d_][\w .'-]*")
_MODE_WORDS = {m.value: m for m in Mode} | {m.value.replace("_", "-"): m for m in Mode}
MODES = " | ".join(m.value for m in Mode)


def shown(text: str) -> str:
    """An argument as quoted back in an error line: one line, printable, at most 30 characters."""
    flat = "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
    return flat if len(flat) <= MAX_SHOWN else flat[: MAX_SHOWN - 1] + "…"


def problem(example: str, what: str) -> UsageError:
    """`/session: '3 Dec' is not a date; use /session Alex 2026-12-03 10:00`."""
    command = example.split(" ", 1)[0]
    return UsageError(f"{command}: {what}; use {example}")


def split_first(args: str) -> tuple[str, str]:
    """The first word (which may be quoted, for names with spaces) and the rest, unparsed."""
    text = args.strip()
    if text[:1] in ('"', "'"):
        end = text.find(text[0], 1)
        if end > 0:
            return text[1:end].strip(), text[end + 1 :].strip()
    parts = text.split(maxsplit=1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (text, "")


def rules_error(command: str, error: ValueError, *, example: str = "") -> UsageError:
    """A rules ValueError (`hours: ...`) as one line of `command`, with an example if none."""
    text = "".join(ch for ch in " ".join(str(error).split()) if ch.isprintable())
    label, sep, body = text.partition(": ")
    body = body if sep and " " not in label else text
    if example and "use " not in body and "like " not in body:
        body += f"; use {example}"
    return UsageError(f"/{command}: {body}")


def clean(text: str) -> str:
    """Coach-written text as stored: no NUL characters (PostgreSQL refuses them)."""
    return text.replace("\x00", "").strip()


def parse_date(text: str, example: str) -> date:
    """`2026-12-03` as a date."""
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                return day
            raise problem(example, f"{text} is out of range ({FIRST_YEAR}–{LAST_YEAR})")
    raise problem(example, f"'{shown(text)}' is not a date")


def parse_time(text: str, example: str) -> time:
    """`10:00` (24-hour clock) as a time."""
    match = _TIME.fullmatch(text)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return time(int(match.group(1)), int(match.group(2)))
    raise problem(example, f"'{shown(text)}' is not a time of day")


def parse_duration(text: str, example: str, *, high: int = MAX_MINUTES) -> int:
    """`20m`, `1h30m`, `1h` or a bare `90` as minutes, from 1 to `high` (24 hours)."""
    match = _DURATION.fullmatch(text.lower().replace(" ", ""))
    if not text or match is None or not any(match.groups()):
        raise problem(example, f"'{shown(text)}' is not a duration")
    minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    return bounded(minutes, text, example=example, low=1, high=high, what="minutes")


def out_of_range(example: str, value: str, *, low: object, high: object, what: str) -> UsageError:
    """The one shape of a bounded value's error: `/quota: 500 is out of range — use ...`."""
    command = example.split(" ", 1)[0]
    return UsageError(
        f"{command}: {shown(value)} is out of range — use {what} from {low} to {high}, "
        f"like {example}"
    )


def bounded(value: int, text: str, *, example: str, low: int, high: int, what: str) -> int:
    """`value` if low <= value <= high, else the one out-of-range line."""
    if low <= value <= high:
        return value
    raise out_of_range(example, text, low=low, high=high, what=what)


def parse_count(text: str, example: str, *, what: str, high: int, low: int = 0) -> int:
    """A whole number from `low` (0) to `high`, checked with the one out-of-range line."""
    number = text.strip()
    if not (number.isascii() and number.isdigit()):
        raise problem(
            example, f"'{shown(text)}' is not {what} (a whole number from {low} to {high})"
        )
    return bounded(int(number), number, example=example, low=low, high=high, what="a number")


def parse_mode(text: str, example: str) -> Mode:
    """`open_door`, `specific` or `sessions_only` (dashes accepted)."""
    mode = _MODE_WORDS.get(text.lower())
    if mode is None:
        raise problem(example, f"'{shown(text)}' is not a mode ({MODES})")
    return mode


def parse_zone(text: str, example: str) -> str:
    """An IANA time zone name such as Europe/London, spelled as pytz knows it."""
    if not text or len(text) > 64:
        raise problem(example, "name a time zone")
    refusal = zone_refusal(shown(text))
    if refusal is not None:
        raise UsageError(f"{example.split(' ', 1)[0]}: {refusal}")
    try:
        return str(time_zone(text).zone)
    except ValueError:
        raise problem(example, f"'{shown(text)}' is not a time zone name") from None


def local_datetime(day: date, clock: time, *, zone: str, example: str) -> datetime:
    """`day` at `clock` on the wall in `zone`, as an aware UTC datetime."""
    tz = time_zone(zone)
    try:
        local = tz.localize(datetime.combine(day, clock), is_dst=None)
    except pytz.NonExistentTimeError:
        gap = f"{day} {clock:%H:%M} does not exist in {zone} (clocks go forward)"
        raise problem(example, gap) from None
    except pytz.AmbiguousTimeError:
        local = tz.localize(datetime.combine(day, clock), is_dst=False)
    return local.astimezone(pytz.utc)


def new_client_name(text: str, example: str) -> str:
    """A name for a new client: letters first, then letters, digits, spaces, `.'-`."""
    name = " ".join(text.split())
    if not name:
        raise problem(example, "name the client")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise problem(
            example, f"'{shown(name)}' is not a usable name (letters first, at most {MAX_NAME})"
        )
    return name


def coach_of(ctx: Context) -> Coach:
    """The coach the asker is, or belongs to."""
    if ctx.actor.coach is None or ctx.actor.coach.id is None:
        raise UsageError("That command is for coaches.")
    return ctx.actor.coach


def find_client(ctx: Context, name: str, *, example: str) -> Client:
    """The asker's client called `name`, or one line naming the closest match."""
    coach = coach_of(ctx)
    if not name:
        raise problem(example, "name the client")
    client = ctx.uow.clients.by_name(coach.id or 0, name)
    if client is not None:
        return client
    if _has_pending_invite(ctx.uow, coach.id or 0, name=name, now=ctx.now):
        raise UsageError(f"{shown(name)} has an invite but has not joined yet.")
    names = {c.name.casefold(): c.name for c in clients_of(ctx.uow, coach.id or 0)}
    close = difflib.get_close_matches(name.casefold(), list(names), n=1, cutoff=0.6)
    hint = f"Did you mean {names[close[0]]}?" if close else "/clients lists yours."
    raise UsageError(f"No client called '{shown(name)}'. {hint}")


def clients_of(uow: UnitOfWork, coach_id: int) -> list[Client]:
    """A coach's clients by name."""
    rows = uow.clients.of_coach(coach_id)
    return sorted(rows, key=lambda c: c.name.casefold())


def _has_pending_invite(uow: UnitOfWork, coach_id: int, *, name: str, now: datetime) -> bool:
    invites = uow.invites.unused(coach_id, valid_at=now)
    return any(i.client_name.casefold() == name.casefold() for i in invites)
