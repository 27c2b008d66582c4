"""The App Home tab: a coach sees their policy, waiting replies and today's updates; a client
sees their coach's availability, reply promise and next session. The page comes from the core
(`Core.home`) as data; this module only lays it out as Block Kit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.ports import ClientHome, ClientUpdates, CoachHome, Home, WaitingItem
from bot.transports.slack_send import escape, text_sections
from rules.lines import CLIENT_HOW, COACH_HOME_HINT, STRANGER_HOME

MAX_BLOCKS = 100  # Slack's limit for a Home tab view


def home_view(page: Home) -> dict[str, Any]:
    """The Home tab view of a page."""
    if isinstance(page, CoachHome):
        blocks = _coach_blocks(page)
    elif isinstance(page, ClientHome):
        blocks = _client_blocks(page)
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


def _coach_blocks(page: CoachHome) -> list[dict[str, Any]]:
    state = "open" if page.open else "closed"
    blocks = [_header(f"Your contract, {page.name}")]
    blocks += _lines(
        f"*Now:* {page.now} — you are {state}\n"
        f"*Hours:* {escape(page.hours)}\n"
        f"*Reply promise:* {escape(page.reply_promise)}\n"
        f"*Daily digest:* {page.digest_at} · *New clients' mode:* {page.default_mode}"
    )
    blocks += [_divider(), _header(f"Waiting for your reply ({len(page.waiting)})")]
    blocks += _lines(_waiting_text(page.waiting) or "Nothing waiting for a reply.")
    blocks += [_divider(), _header("Updates for today's digest")]
    blocks += _lines(_updates_text(page.updates) or "No new updates.")
    blocks += [_context(COACH_HOME_HINT)]
    return blocks


def _waiting_text(items: Sequence[WaitingItem]) -> str:
    lines = []
    for item in items:
        when = f"*overdue* since {item.due}" if item.overdue else f"reply by {item.due}"
        lines.append(f"• *{escape(item.client)}* · {item.label} · {when}")
        lines.append(f"  {escape(item.preview)}")
    return "\n".join(lines)


def _updates_text(groups: Sequence[ClientUpdates]) -> str:
    lines = []
    for group in groups:
        count = len(group.items)
        lines.append(f"*{escape(group.client)}* · {count} update{'s' if count != 1 else ''}")
        lines.extend(f"• {item.at} · {escape(item.preview)}" for item in group.items)
    return "\n".join(lines)


def _client_blocks(page: ClientHome) -> list[dict[str, Any]]:
    blocks = [_header(f"Your contract with {page.coach}")]
    blocks += _lines(escape(page.contract))
    blocks += [_divider(), *_lines(CLIENT_HOW)]
    return blocks


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
