"""Between-session work with a client: `/reply Alex text` and `/log Alex 20m [note]`."""

from __future__ import annotations

from bot.service.commands.args import (
    clean,
    coach_of,
    find_client,
    parse_duration,
    problem,
    split_first,
)
from bot.service.commands.registry import CommandSet, Context, Role
from bot.service.relay import relay_reply
from bot.store.models import TimeEntry
from bot.store.policy import contract_for

COMMANDS = CommandSet()

REPLY_EXAMPLE = "/reply Alex See you on Thursday!"
MAX_LOGGED = 600  # ten hours: more between two sessions is a typo, not work
LOG_EXAMPLE = "/log Alex 20m goals email"
MAX_NOTE = 200


@COMMANDS.add("reply", roles={Role.COACH}, usage="/reply Alex text")
def reply(ctx: Context, args: str) -> str:
    """Send a client a message (or just reply to their forwarded message)."""
    name, text = split_first(args)
    found = find_client(ctx, name, example=REPLY_EXAMPLE)
    text = clean(text)
    if not text:
        raise problem(REPLY_EXAMPLE, f"write the message for {found.name}")
    inbound = ctx.inbound
    return relay_reply(
        ctx.uow,
        coach=coach_of(ctx),
        client=found,
        text=text,
        now=ctx.now,
        key=f"evt:{inbound.platform}:{inbound.event_id}:relay",
    )


@COMMANDS.add("log", roles={Role.COACH}, usage="/log Alex 20m [note]")
def log_time(ctx: Context, args: str) -> str:
    """Log between-session time for a client; billed by your terms beyond the free minutes."""
    name, rest = split_first(args)
    found = find_client(ctx, name, example=LOG_EXAMPLE)
    duration, note = split_first(rest)
    minutes = parse_duration(duration, LOG_EXAMPLE, high=MAX_LOGGED)
    note = " ".join(clean(note).split())
    if len(note) > MAX_NOTE:
        raise problem(LOG_EXAMPLE, f"the note is longer than {MAX_NOTE} characters")
    terms = contract_for(ctx.uow, found).policy.billing
    entry = TimeEntry(
        coach_id=coach_of(ctx).id or 0,
        client_id=found.id or 0,
        minutes=minutes,
        billable_minutes=terms.billable_minutes(minutes) if terms else 0,
        amount=str(terms.amount(minutes)) if terms else "0",
        currency=terms.currency if terms else "",
        note=note,
        logged_at=ctx.now,
    )
    ctx.uow.add(entry)
    logged = f"Logged {minutes} min for {found.name}"
    if terms is None:
        return f"{logged}; no billing terms set (/billing 5 60 GBP sets them)."
    if entry.billable_minutes == 0:
        return f"{logged}; within the {terms.free_minutes} free minutes, not billed."
    return f"{logged}: {entry.billable_minutes} min billable, {entry.amount} {terms.currency}."
