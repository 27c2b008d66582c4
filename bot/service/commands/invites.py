"""Invites: `/invite Alex [mode]` makes a single-use code; `/start CODE` (Slack: `join`) uses it.

Only the SHA-256 of a code is stored, and the answer that carries the code to the coach is marked
`blank_when_sent`: a database trigger (migration 3c1f0a9d2b7e) empties it once it is sent.
Wrong codes are counted per account (keyed hash) and across everyone, in the database, so the
limits hold for every process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.delivery import outbox
from bot.messages import Inbound
from bot.service.commands.args import (
    coach_of,
    new_client_name,
    parse_mode,
    split_first,
)
from bot.service.commands.registry import CommandSet, Context, Role
from bot.service.privacy import HASH_KEY, hash_key, who_hash
from bot.store.models import Client, Coach, FailedJoin, Identity, Invite
from bot.store.policy import coach_policy, contract_for
from bot.store.unit import UnitOfWork
from rules.contract import Mode
from rules.templates import format_local, welcome_text

COMMANDS = CommandSet()

INVITE_EXAMPLE = "/invite Alex open_door"
VALID_FOR = timedelta(days=7)
FAILURE_WINDOW = timedelta(hours=1)
MAX_FAILURES = 5
EVERYONE_WINDOW = timedelta(minutes=1)  # more than EVERYONE_MAX wrong codes in it, from anyone,
EVERYONE_MAX = 20  # and every /start waits EVERYONE_LOCK: guessing needs many accounts at once
EVERYONE_LOCK = timedelta(minutes=10)
MAX_CODE = 64

HOW_TO_JOIN = (
    "To join, open the invite link your coach sent you, or send /start followed by the "
    "invite code (on Slack: /boundary join CODE)."
)
WRONG_CODE = "That invite code isn't one I know. Check it with your coach, or ask for a new one."
USED_CODE = "That invite code has already been used. Ask your coach for a new one."
EXPIRED_CODE = "That invite code has expired (codes last 7 days). Ask your coach for a new one."
TOO_MANY = "Too many tries — please wait a few minutes."


def code_hash(code: str) -> str:
    """The SHA-256 of an invite code, all that is stored (192 random bits: no key is needed)."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def answer_key(inbound: Inbound) -> str:
    """The outbox key of the answer to `inbound`, as bot.service.dispatch queues it."""
    return f"evt:{inbound.platform}:{inbound.event_id}:reply"


@COMMANDS.add("invite", roles={Role.COACH}, usage="/invite Alex [open_door|specific|sessions_only]")
def invite(ctx: Context, args: str) -> str:
    """Invite a client: a single-use code, valid 7 days."""
    coach = coach_of(ctx)
    name_text, rest = split_first(args)
    name = new_client_name(name_text, INVITE_EXAMPLE)
    existing = ctx.uow.clients.by_name(coach.id or 0, name)
    chosen = parse_mode(rest, INVITE_EXAMPLE) if rest else None
    mode = Mode(existing.mode) if existing else chosen or coach_policy(ctx.uow, coach).default_mode
    name = existing.name if existing else name
    _revoke_pending(ctx.uow, coach.id or 0, name=name, now=ctx.now)
    code = secrets.token_urlsafe(24)
    row = Invite(
        coach_id=coach.id or 0,
        code_hash=code_hash(code),
        client_name=name,
        mode=mode.value,
        created_at=ctx.now,
        expires_at=ctx.now + VALID_FOR,
        client_id=existing.id if existing else None,
    )
    ctx.uow.add(row)
    until = format_local(row.expires_at, coach_policy(ctx.uow, coach).timezone, ctx.now)
    lines = [f"Invite for {name} ({mode}), for one use until {until}."]
    if existing:
        lines[0] += f" {name} has joined already: this links another account (e.g. Slack)."
        if chosen is not None and chosen != mode:
            lines[0] += f" Their mode stays {mode}; /mode {name} {chosen} changes it."
    if ctx.bot_username:
        lines.append(f"Telegram link: https://t.me/{ctx.bot_username}?start={code}")
    lines.append(f"On Slack: /boundary join {code}")
    lines.append(f"Or send me: /start {code}")
    text = "\n".join(lines)
    # queued here, marked, under the key the dispatcher then finds: blanked once it is sent
    outbox.enqueue(
        ctx.uow,
        key=answer_key(ctx.inbound),
        platform=ctx.inbound.platform,
        chat_id=ctx.inbound.chat_id,
        text=text,
        now=ctx.now,
        extra={"blank_when_sent": True},
    )
    return text


def _revoke_pending(uow: UnitOfWork, coach_id: int, *, name: str, now: datetime) -> None:
    """A new invite for a name replaces the older unused ones, so only one code works."""
    for old in uow.invites.unused(coach_id):
        if old.client_name.casefold() == name.casefold() and old.expires_at > now:
            old.expires_at = now
            uow.add(old)


@COMMANDS.add("join", roles={Role.STRANGER, Role.CLIENT, Role.COACH}, usage="/boundary join CODE")
@COMMANDS.add("start", roles={Role.STRANGER, Role.CLIENT, Role.COACH}, usage="/start CODE")
def start(ctx: Context, args: str) -> str:
    """Join your coach with the invite code they gave you."""
    if ctx.actor.role is Role.COACH:
        name = coach_of(ctx).name
        return f"Hello, {name}! /help lists your commands; /invite Alex invites a client."
    if ctx.actor.role is Role.CLIENT and ctx.actor.client is not None:
        return f"You're already connected with {coach_of(ctx).name}. /hours shows the contract."
    code = args.strip()
    if not code:
        return HOW_TO_JOIN
    key = hash_key(ctx.uow, ctx.services.get(HASH_KEY))
    who = who_hash(key, ctx.inbound.platform, user_id=ctx.inbound.user_id)
    locked = locked_until(ctx.uow, who, now=ctx.now)
    if locked is not None:
        minutes = max(1, -(-int((locked - ctx.now).total_seconds()) // 60))
        return f"Too many wrong codes from this account. Try again in {minutes} minutes."
    if everyone_locked_until(ctx.uow, ctx.now) is not None:
        return TOO_MANY
    row = _usable_invite(ctx.uow, code, now=ctx.now)
    if isinstance(row, str):
        ctx.uow.add(FailedJoin(who_hash=who, at=ctx.now))
        return row
    return join(ctx, row)


def _usable_invite(uow: UnitOfWork, code: str, *, now: datetime) -> Invite | str:
    """The invite a code names if it can be used now, else what is wrong with it."""
    if len(code) > MAX_CODE or any(ch.isspace() for ch in code):
        return WRONG_CODE
    row = uow.invites.by_code_hash(code_hash(code))
    if row is None:
        return WRONG_CODE
    if row.used_at is not None:
        return USED_CODE
    if row.expires_at <= now:
        return EXPIRED_CODE
    return row


def locked_until(uow: UnitOfWork, who: str, *, now: datetime) -> datetime | None:
    """When an account that sent 5 wrong codes within an hour may try again, if not yet."""
    uow.invites.forget_failures(before=now - 2 * FAILURE_WINDOW)
    times = uow.invites.failure_times(since=now - 2 * FAILURE_WINDOW, who_hash=who)
    return _lock_end(times, now, most=MAX_FAILURES, within=FAILURE_WINDOW, lasts=FAILURE_WINDOW)


def everyone_locked_until(uow: UnitOfWork, now: datetime) -> datetime | None:
    """When /start works again after a burst of wrong codes from anyone, if not yet."""
    since = now - EVERYONE_WINDOW - EVERYONE_LOCK
    times = uow.invites.failure_times(since=since)
    return _lock_end(times, now, most=EVERYONE_MAX, within=EVERYONE_WINDOW, lasts=EVERYONE_LOCK)


def _lock_end(
    found: Sequence[datetime], now: datetime, *, most: int, within: timedelta, lasts: timedelta
) -> datetime | None:
    """The end of the lock that `most` failures `within` a span start, if it is still on."""
    times = sorted(found)
    ends = [
        times[i] + lasts
        for i in range(most - 1, len(times))
        if times[i] - times[i - most + 1] <= within
    ]
    return max(ends) if ends and max(ends) > now else None


def join(ctx: Context, row: Invite) -> str:
    """Use the invite: link the sender's account to the client (created now if new)."""
    if not ctx.uow.invites.use(row, ctx.now):
        return USED_CODE  # someone used it a moment ago
    coach = ctx.uow.coaches.get(row.coach_id)
    assert coach is not None
    client = _client_for(ctx, row)
    row.client_id = client.id
    ctx.uow.add(row)
    _link(ctx, client)
    _tell_coach(ctx, coach, client=client)
    contract = contract_for(ctx.uow, client)
    return welcome_text(contract, ctx.now)


def _client_for(ctx: Context, row: Invite) -> Client:
    """The invited client: the existing one (a second account) or a new row."""
    found = ctx.uow.clients.get(row.client_id)
    found = found or ctx.uow.clients.by_name(row.coach_id, row.client_name)
    if found is None:
        found = Client(
            coach_id=row.coach_id, name=row.client_name, mode=row.mode, created_at=ctx.now
        )
        ctx.uow.add(found)
        ctx.uow.flush()
    return found


def _link(ctx: Context, client: Client) -> None:
    """The sender's account becomes the client's, answered in this private chat."""
    inbound = ctx.inbound
    identity = ctx.uow.identities.of_account(inbound.platform, inbound.user_id) or Identity(
        platform=inbound.platform, user_id=inbound.user_id, chat_id=""
    )
    identity.chat_id, identity.client_id, identity.coach_id = inbound.chat_id, client.id, None
    ctx.uow.add(identity)
    ctx.uow.flush()


def _tell_coach(ctx: Context, coach: Coach, *, client: Client) -> None:
    chat = ctx.uow.identities.coach_chat(coach.id or 0, prefer=ctx.inbound.platform)
    if chat is None:
        return
    outbox.enqueue(
        ctx.uow,
        key=f"evt:{ctx.inbound.platform}:{ctx.inbound.event_id}:joined",
        platform=chat[0],
        chat_id=chat[1],
        text=f"{client.name} joined on {ctx.inbound.platform}. /client {client.name} shows more.",
        now=ctx.now,
        coach_id=coach.id,
        client_id=client.id,
    )
