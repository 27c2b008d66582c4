"""Closures: `/closed START END [note]` (no arguments: the list) and `/reopen N`."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.service.commands.args import clean, coach_of, parse_date, problem, shown
from bot.service.commands.registry import CommandSet, Context, Role, UsageError
from bot.service.commands.views import closure_line
from bot.store.models import Closure, Coach
from bot.store.policy import coach_policy
from bot.store.unit import UnitOfWork
from rules.contract import Policy
from rules.templates import format_local

COMMANDS = CommandSet()

CLOSED_EXAMPLE = "/closed 2026-12-24 2027-01-02 Christmas break"
REOPEN_EXAMPLE = "/reopen 3"
MAX_NOTE = 100


@COMMANDS.add("closed", roles={Role.COACH}, usage="/closed 2026-12-24 2027-01-02 [note]")
def closed(ctx: Context, args: str) -> str:
    """Close for a date range (inclusive) with a note; no arguments lists your closures."""
    coach = coach_of(ctx)
    parts = args.split(maxsplit=2)
    if not parts:
        return closure_list(ctx.uow, coach, now=ctx.now)
    if len(parts) < 2:
        raise problem(CLOSED_EXAMPLE, "give the first and the last closed day")
    start, end = parse_date(parts[0], CLOSED_EXAMPLE), parse_date(parts[1], CLOSED_EXAMPLE)
    note = clean(parts[2]) if len(parts) == 3 else ""
    if end < start:
        raise problem(CLOSED_EXAMPLE, f"{end} is before {start}")
    if len(note) > MAX_NOTE:
        raise problem(CLOSED_EXAMPLE, f"the note is longer than {MAX_NOTE} characters")
    if end < today(coach_policy(ctx.uow, coach), ctx.now):
        raise problem(CLOSED_EXAMPLE, f"{start} – {end} is already over")
    closure = Closure(coach_id=coach.id or 0, start=start, end=end, note=" ".join(note.split()))
    ctx.uow.add(closure)
    ctx.uow.flush()
    policy = coach_policy(ctx.uow, coach)
    try:
        back = policy.calendar.next_open(_local_start(policy, start, now=ctx.now))
    except ValueError:
        ctx.uow.delete(closure)
        raise problem(CLOSED_EXAMPLE, "that leaves no open time in the next 3 years") from None
    return (
        f"Closed: {closure_line(closure)}. Clients writing then are told you are back "
        f"{format_local(back, policy.timezone, ctx.now)}. /reopen {closure.id} removes it."
    )


def closure_list(uow: UnitOfWork, coach: Coach, *, now: datetime) -> str:
    """The coach's closures that are not over yet, with the numbers /reopen takes."""
    current = today(coach_policy(uow, coach), now)
    rows = [c for c in uow.coaches.closures(coach.id or 0) if c.end >= current]
    if not rows:
        return f"No closures ahead. Add one like this: {CLOSED_EXAMPLE}"
    lines = ["Your closures (/reopen N removes one):"]
    lines.extend(closure_line(c) for c in rows)
    return "\n".join(lines)


@COMMANDS.add("reopen", roles={Role.COACH}, usage=REOPEN_EXAMPLE)
def reopen(ctx: Context, args: str) -> str:
    """Remove closure N (the number /closed shows)."""
    coach = coach_of(ctx)
    number = args.strip().lstrip("#")
    if not (number.isascii() and number.isdigit() and len(number) < 10):
        raise problem(
            REOPEN_EXAMPLE, f"'{shown(args)}' is not a closure number; /closed lists them"
        )
    closure = ctx.uow.coaches.closure(int(number), coach_id=coach.id)
    if closure is None:
        raise UsageError(f"/reopen: you have no closure #{number}; /closed lists yours")
    line = closure_line(closure)
    ctx.uow.delete(closure)
    return f"Reopened: {line} is removed; your usual hours apply."


def today(policy: Policy, now: datetime) -> date:
    """Today's date on the coach's calendar."""
    return now.astimezone(policy.calendar.tz).date()


def _local_start(policy: Policy, start: date, *, now: datetime) -> datetime:
    """The closure's first moment, or now if it has begun."""
    first = policy.calendar.tz.localize(datetime.combine(start, time()))
    return max(first, now)
