"""The coach's view and terms of each client: /clients, /client, /mode, /allow, /quota, ..."""

from __future__ import annotations

import re
from datetime import datetime

from bot.service.commands.args import (
    clients_of,
    coach_of,
    find_client,
    local_datetime,
    parse_count,
    parse_date,
    parse_mode,
    parse_time,
    problem,
    rules_error,
    split_first,
)
from bot.service.commands.registry import CommandSet, Context, Role
from bot.service.commands.views import client_text, former_words
from bot.store.models import Client, Invite
from bot.store.policy import client_terms, coach_policy, contract_for
from bot.store.unit import UnitOfWork
from rules.contract import Kind, Mode, parse_kinds
from rules.standing import standing
from rules.templates import format_local
from rules.texts import kinds_in_words

COMMANDS = CommandSet()

MODE_EXAMPLE = "/mode Alex open_door"
ALLOW_EXAMPLE = "/allow Alex goals,scheduling"
QUOTA_EXAMPLE = "/quota Alex 3"
SESSION_EXAMPLE = "/session Alex 2026-12-03 10:00"
CONTRACT_EXAMPLE = "/contract Alex 2026-09-01 2026-12-31"
NONE = "none"
_CLOCK = re.compile(r"\d{1,2}:\d{1,2}")


@COMMANDS.add("clients", roles={Role.COACH}, usage="/clients")
def clients(ctx: Context, args: str) -> str:
    """Your clients, their modes and next sessions, and invites not used yet."""
    coach = coach_of(ctx)
    zone = coach_policy(ctx.uow, coach).timezone
    rows = clients_of(ctx.uow, coach.id or 0)
    lines = [f"Your clients ({len(rows)}):" if rows else "No clients yet. /invite Alex adds one."]
    lines.extend(_client_line(ctx.uow, c, zone=zone, now=ctx.now) for c in rows)
    pending = _pending_invites(ctx.uow, coach.id or 0, now=ctx.now)
    if pending:
        lines.append("Invites not used yet:")
        lines.extend(_invite_line(i, zone, now=ctx.now) for i in pending)
    return "\n".join(lines)


def _invite_line(invite: Invite, zone: str, *, now: datetime) -> str:
    what = "another account" if invite.client_id else invite.mode
    until = format_local(invite.expires_at, zone, now)
    return f"• {invite.client_name} ({what}), valid until {until}"


def _client_line(uow: UnitOfWork, client: Client, *, zone: str, now: datetime) -> str:
    platforms = {identity.platform for identity in uow.identities.of_client(client.id)}
    parts = [client.name, client.mode, ", ".join(sorted(platforms)) or "no chat"]
    now_standing = standing(contract_for(uow, client), now)
    if now_standing.former:
        parts.append(former_words(now_standing))
    elif now_standing.next_session is not None:
        parts.append(f"next session {format_local(now_standing.next_session, zone, now)}")
    if client.contract_end is not None and not now_standing.former:
        parts.append(f"contract ends {client.contract_end.isoformat()}")
    return "• " + " · ".join(parts)


def _pending_invites(uow: UnitOfWork, coach_id: int, *, now: datetime) -> list[Invite]:
    return list(uow.invites.unused(coach_id, valid_at=now))


@COMMANDS.add("client", roles={Role.COACH}, usage="/client Alex")
def client(ctx: Context, args: str) -> str:
    """One client's terms, and exactly what they would be told right now."""
    name, _ = split_first(args)
    return client_text(ctx.uow, find_client(ctx, name, example="/client Alex"), now=ctx.now)


@COMMANDS.add("mode", roles={Role.COACH}, usage="/mode Alex open_door|specific|sessions_only")
def mode(ctx: Context, args: str) -> str:
    """What between-session contact a client may have."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=MODE_EXAMPLE)
    if not rest:
        raise problem(
            MODE_EXAMPLE, f"give {found.name}'s mode (open_door, specific, sessions_only)"
        )
    found.mode = parse_mode(rest, MODE_EXAMPLE).value
    ctx.uow.add(found)
    return f"{found.name} is now {found.mode}. {found.name} is told: {_terms_words(ctx, found)}"


@COMMANDS.add("allow", roles={Role.COACH}, usage=ALLOW_EXAMPLE)
def allow(ctx: Context, args: str) -> str:
    """The kinds of message a client in specific mode may send between sessions."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=ALLOW_EXAMPLE)
    try:
        kinds = parse_kinds(rest)
    except ValueError as error:
        raise rules_error("allow", error, example=ALLOW_EXAMPLE) from None
    found.allowed = ",".join(k.value for k in Kind if k in kinds)
    ctx.uow.add(found)
    note = ""
    if found.mode != Mode.SPECIFIC:
        note = f" (This is for specific mode; {found.name} is {found.mode}.)"
    return f"{found.name} may send {found.allowed.replace(',', ', ')} between sessions.{note}"


@COMMANDS.add("quota", roles={Role.COACH}, usage="/quota Alex 3")
def quota(ctx: Context, args: str) -> str:
    """How many messages that need a reply a client may send a week (0 = no limit)."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=QUOTA_EXAMPLE)
    if not rest:
        raise problem(QUOTA_EXAMPLE, "give the number of messages a week (0 = no limit)")
    found.weekly_quota = parse_count(rest, QUOTA_EXAMPLE, what="a weekly number", high=100)
    ctx.uow.add(found)
    if found.weekly_quota == 0:
        return f"{found.name} has no weekly limit."
    count = found.weekly_quota
    many = count != 1
    return (
        f"{found.name}: up to {count} message{'s' if many else ''} a week that "
        f"need{'' if many else 's'} a reply {'are' if many else 'is'} passed on; "
        "more are kept for the next session (scheduling always goes through)."
    )


def _terms_words(ctx: Context, found: Client) -> str:
    contract = contract_for(ctx.uow, found)
    return kinds_in_words(client_terms(found), contract.policy.weekly_quota)


@COMMANDS.add("session", roles={Role.COACH}, usage="/session Alex 2026-12-03 10:00|none")
def next_session(ctx: Context, args: str) -> str:
    """A client's next session, in your time zone; none when none is booked."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=SESSION_EXAMPLE)
    zone = coach_policy(ctx.uow, coach_of(ctx)).timezone
    when = None if rest.lower() == NONE else _session_time(rest, zone, now=ctx.now)
    if found.next_session is not None and found.next_session <= ctx.now:
        found.last_session = found.next_session  # the session that was, is now the last one
    found.next_session = when
    ctx.uow.add(found)
    if when is None:
        return f"{found.name} has no session booked."
    client_zone = contract_for(ctx.uow, found).client_timezone
    seen = "" if client_zone == zone else f" ({found.name} sees {format_local(when, client_zone)})"
    return f"{found.name}'s next session: {format_local(when, zone, ctx.now)}{seen}."


def _session_time(text: str, zone: str, *, now: datetime) -> datetime:
    """`2026-12-03 10:00` on the coach's wall clock, in the future, as UTC."""
    parts = text.split()
    if not parts:
        raise problem(SESSION_EXAMPLE, "give the date and time (or none)")
    day_words, clock = (parts[:-1], parts[-1]) if _CLOCK.fullmatch(parts[-1]) else (parts, None)
    day = parse_date(" ".join(day_words), SESSION_EXAMPLE)
    if clock is None:
        raise problem(SESSION_EXAMPLE, "give the time of the session too")
    when = local_datetime(
        day, parse_time(clock, SESSION_EXAMPLE), zone=zone, example=SESSION_EXAMPLE
    )
    if when <= now:
        raise problem(SESSION_EXAMPLE, f"{day} {clock} is in the past")
    return when


@COMMANDS.add("contract", roles={Role.COACH}, usage="/contract Alex 2026-09-01 2026-12-31")
def contract_period(ctx: Context, args: str) -> str:
    """A client's contract period (first and last day); after it they are a former client."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=CONTRACT_EXAMPLE)
    parts = rest.split()
    if parts == [NONE]:
        found.contract_start = found.contract_end = None
        ctx.uow.add(found)
        return f"{found.name}'s contract has no dates now."
    if len(parts) != 2:
        raise problem(CONTRACT_EXAMPLE, "give the first and the last day of the contract")
    start = parse_date(parts[0], CONTRACT_EXAMPLE)
    end = parse_date(parts[1], CONTRACT_EXAMPLE)
    if end < start:
        raise problem(CONTRACT_EXAMPLE, f"{end} is before {start}")
    found.contract_start, found.contract_end = start, end
    ctx.uow.add(found)
    former = contract_for(ctx.uow, found).is_former_client(ctx.now)
    after = "is a former client now" if former else "becomes a former client after it"
    return f"{found.name}'s contract: {start} – {end}. {found.name} {after}."
