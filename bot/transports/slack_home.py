"""The App Home tab: a coach sees their policy, waiting replies and today's updates; a client
sees their coach's availability, reply promise and next session.

Read in one short session of its own that is never committed: the digest is built only to be
looked at, so nothing it would mark as digested is marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from bot.service.coach_texts import KIND_LABELS
from bot.service.digest import ClientNews, Waiting, build_digest, coach_policy
from bot.store.models import Client, Coach
from bot.store.policy import contract_for
from bot.store.unit import UnitOfWork, looking
from bot.transports.slack_send import escape, text_sections
from bot.transports.slack_translate import PLATFORM
from rules.templates import describe_contract, format_local

MAX_BLOCKS = 100  # Slack's limit for a Home tab view
STRANGER_HOME = (
    "I pass messages between coaches and their clients.\n"
    "If your coach gave you an invite code, join with `/boundary join CODE`."
)
CLIENT_HOW = (
    "Write to me in the Messages tab: I pass it on as your contract allows and tell you when "
    "to expect a reply. `/boundary fyi text` sends an update, `/boundary ask text` a question, "
    "`/boundary help` lists the rest."
)


def home_view(engine: Engine, user_id: str, now: datetime) -> dict[str, Any]:
    """The Home tab view for the Slack user `user_id`, as of `now`."""
    with looking(engine) as uow:  # the digest is built to be looked at: nothing is marked
        identity = uow.identities.of_account(PLATFORM, user_id)
        if identity is not None and identity.coach_id is not None:
            blocks = _coach_blocks(uow, uow.coaches.get(identity.coach_id), now)
        elif identity is not None and identity.client_id is not None:
            blocks = _client_blocks(uow, uow.clients.get(identity.client_id), now)
        else:
            blocks = _lines(STRANGER_HOME)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def _lines(text: str) -> list[dict[str, Any]]:
    """Sections of markup we wrote ourselves (backticks and bold kept)."""
    return text_sections(text)


def _divider() -> dict[str, Any]:
    return {"type": "divider"}


def _coach_blocks(uow: UnitOfWork, coach: Coach | None, now: datetime) -> list[dict[str, Any]]:
    if coach is None:
        return _lines(STRANGER_HOME)
    policy = coach_policy(uow, coach)
    zone = policy.timezone
    digest_at = policy.digest_time.strftime("%H:%M") if policy.digest_time else "off"
    state = "open" if policy.calendar.is_open(now) else "closed"
    blocks = [_header(f"Your contract, {coach.name}")]
    blocks += _lines(
        f"*Now:* {format_local(now, zone)} — you are {state}\n"
        f"*Hours:* {escape(policy.calendar.describe_hours())}\n"
        f"*Reply promise:* {escape(policy.reply_within.describe())}\n"
        f"*Daily digest:* {digest_at} · *New clients' mode:* {policy.default_mode}"
    )
    digest = build_digest(uow, coach, now)
    waiting = (*digest.overdue, *digest.waiting) if digest else ()
    updates = digest.updates if digest else ()
    blocks += [_divider(), _header(f"Waiting for your reply ({len(waiting)})")]
    blocks += _lines(_waiting_text(waiting, zone, now) or "Nothing waiting for a reply.")
    blocks += [_divider(), _header("Updates for today's digest")]
    blocks += _lines(_updates_text(updates, zone, now) or "No new updates.")
    blocks += [_context("`/boundary help` lists your commands; `/boundary policy` shows more.")]
    return blocks


def _waiting_text(items: Sequence[Waiting], zone: str, now: datetime) -> str:
    lines = []
    for item in items:
        entry = item.entry
        due = format_local(item.reply_by, zone, now)
        when = f"*overdue* since {due}" if item.reply_by < now else f"reply by {due}"
        label = KIND_LABELS.get(entry.kind, entry.kind or "message")
        lines.append(f"• *{escape(entry.client)}* · {label} · {when}")
        lines.append(f"  {escape(entry.preview)}")
    return "\n".join(lines)


def _updates_text(groups: Sequence[ClientNews], zone: str, now: datetime) -> str:
    lines = []
    for group in groups:
        count = len(group.entries)
        lines.append(f"*{escape(group.client)}* · {count} update{'s' if count != 1 else ''}")
        for entry in group.entries:
            lines.append(
                f"• {format_local(entry.received_at, zone, now)} · {escape(entry.preview)}"
            )
    return "\n".join(lines)


def _client_blocks(uow: UnitOfWork, client: Client | None, now: datetime) -> list[dict[str, Any]]:
    if client is None:
        return _lines(STRANGER_HOME)
    contract = contract_for(uow, client)
    blocks = [_header(f"Your contract with {contract.policy.coach_name}")]
    blocks += _lines(escape(describe_contract(contract, now)))
    blocks += [_divider(), *_lines(CLIENT_HOW)]
    return blocks


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
