"""The coach's look back and ahead: `/report`, `/show N`, and the `/brief` and `/notice` timers."""

from __future__ import annotations

import re
from datetime import date

from bot.delivery import outbox
from bot.service.commands.args import FIRST_YEAR, LAST_YEAR, coach_of, out_of_range, problem, shown
from bot.service.commands.policy import OFF, set_field
from bot.service.commands.registry import CommandSet, Context, Document, Reply, Role
from bot.service.digest import attachment_labels
from bot.service.notices import copy_pairs, setting_or_off
from bot.service.reports import build_report, current_month, render_report
from bot.store.models import Client, Message
from bot.store.policy import coach_policy
from bot.store.unit import UnitOfWork
from rules.templates import format_local

COMMANDS = CommandSet()

REPORT_EXAMPLE = "/report 2026-11"
SHOW_EXAMPLE = "/show 12"
BRIEF_EXAMPLE = "/brief 12h"
NOTICE_EXAMPLE = "/notice 3d"
MAX_BRIEF_HOURS = 72
MAX_NOTICE_DAYS = 30
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DECISIONS = {
    "forward": "forwarded to you",
    "queue": "queued for your next opening",
    "digest": "an update for your digest",
    "park": "kept for the next session",
    "urgent": "urgent",
    "alumni": "from a former client",
    "ask": "kind not chosen yet",
}


@COMMANDS.add("report", roles={Role.COACH}, usage="/report [2026-11]")
def report(ctx: Context, args: str) -> Reply:
    """A month's messages, replies, time and money per client, with a contact-times picture."""
    coach = coach_of(ctx)
    zone = coach_policy(ctx.uow, coach).timezone
    month = parse_month(args.strip()) if args.strip() else current_month(ctx.now, zone)
    if month > current_month(ctx.now, zone):
        raise problem(REPORT_EXAMPLE, f"{month:%Y-%m} has not begun yet")
    content = build_report(ctx.uow, coach, month=month, now=ctx.now)
    documents: tuple[Document, ...] = ()
    if content.picture:
        documents = (Document(f"report-{month:%Y-%m}.png", content.picture, "image/png"),)
    return Reply(render_report(content), documents=documents)


def parse_month(text: str) -> date:
    """`2026-11` as the first day of that month."""
    match = _MONTH.fullmatch(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise problem(REPORT_EXAMPLE, f"'{shown(text)}' is not a month")
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise out_of_range(
            REPORT_EXAMPLE, text, low=f"{FIRST_YEAR}-01", high=f"{LAST_YEAR}-12", what="a month"
        )
    return date(year, int(match.group(2)), 1)


@COMMANDS.add("show", roles={Role.COACH}, usage=SHOW_EXAMPLE)
def show(ctx: Context, args: str) -> str:
    """One client message in full, with its attachments (the digest names its number)."""
    coach = coach_of(ctx)
    number = args.strip().lstrip("#")
    if not (number.isascii() and number.isdigit() and len(number) <= 12):
        raise problem(SHOW_EXAMPLE, f"'{shown(args.strip())}' is not a message number")
    message = ctx.uow.messages.get(int(number))
    client = ctx.uow.clients.get(message.client_id) if message is not None else None
    if message is None or client is None or message.coach_id != coach.id:
        return f"None of your clients' messages is numbered {number}."
    text = show_text(ctx.uow, message, client=client, zone=coach_policy(ctx.uow, coach).timezone)
    # Queued under the key the dispatcher answers with, so this row *is* the answer: it carries
    # the attachments to copy and the client's id (so /forget erases it), and is sent once.
    inbound = ctx.inbound
    outbox.enqueue(
        ctx.uow,
        key=f"evt:{inbound.platform}:{inbound.event_id}:reply",
        platform=inbound.platform,
        chat_id=inbound.chat_id,
        text=text,
        now=ctx.now,
        copy_from=copy_pairs([message]),
        attachments=outbox.shared_files([message]),
        coach_id=coach.id,
        client_id=client.id,
        message_id=message.id,
    )
    return text


def show_text(uow: UnitOfWork, message: Message, *, client: Client, zone: str) -> str:
    """The head line (who, kind, when, what became of it) and the whole text."""
    head = [f"#{message.id}", client.name, message.kind or "message"]
    head.append(format_local(message.received_at, zone))
    head.append(_DECISIONS.get(message.decision, message.decision))
    promise = uow.promises.of_message(message.id)
    if promise is not None and promise.replied_at is not None:
        head.append(f"replied {format_local(promise.replied_at, zone)}")
    elif promise is not None:
        head.append(f"reply by {format_local(promise.reply_by, zone)}")
    if message.purged:
        body = "(text removed after the retention period)"
    else:
        body = message.text or "(no text)"
    lines = [" · ".join(head), body]
    if message.attachments and not message.purged:
        lines.append(f"Attached: {', '.join(attachment_labels(message))}")
    return "\n".join(lines)


@COMMANDS.add("brief", roles={Role.COACH}, usage="/brief 12h|off")
def brief(ctx: Context, args: str) -> str:
    """A brief on each client this many hours before their session, or off."""
    text = args.strip().lower()
    if not text:
        hours = setting_or_off(coach_of(ctx), "brief_hours")
        now = f"{hours} hours before each session" if hours else "off"
        return f"Pre-session briefs: {now}. Change it like this: {BRIEF_EXAMPLE} (or off)"
    if text in OFF:
        turn_off(ctx, "brief_hours")
        return f"Pre-session briefs off. {BRIEF_EXAMPLE} turns them back on."
    hours = _amount(text, "h", example=BRIEF_EXAMPLE, high=MAX_BRIEF_HOURS, what="hours")
    set_field(ctx, "brief", field="brief_hours", value=hours)
    return f"Pre-session briefs {hours} hour{'s' if hours != 1 else ''} before each session."


@COMMANDS.add("notice", roles={Role.COACH}, usage="/notice 3d|off")
def notice(ctx: Context, args: str) -> str:
    """Tell clients this many days before a closure begins, or off."""
    text = args.strip().lower()
    if not text:
        days = setting_or_off(coach_of(ctx), "notice_days")
        now = f"{days} days before a closure" if days is not None else "off"
        return f"Closure notices to clients: {now}. Change it like this: {NOTICE_EXAMPLE} (or off)"
    if text in OFF:
        turn_off(ctx, "notice_days")
        return f"Closure notices off: clients are not told ahead. {NOTICE_EXAMPLE} turns them on."
    days = _amount(text, "d", example=NOTICE_EXAMPLE, high=MAX_NOTICE_DAYS, what="days")
    set_field(ctx, "notice", field="notice_days", value=days)
    return f"Clients hear of a closure {days} day{'s' if days != 1 else ''} before it begins."


def turn_off(ctx: Context, field: str) -> None:
    """Store an explicit null for `brief_hours` or `notice_days`: the scheduler reads it as off."""
    # set_policy_field cannot store None for these two yet (their decoder wants a number)
    coach = coach_of(ctx)
    coach.policy = {**coach.policy, field: None}
    if field not in coach.chat_set:
        coach.chat_set = [*coach.chat_set, field]
    ctx.uow.add(coach)


def _amount(text: str, unit: str, *, example: str, high: int, what: str) -> int:
    """`12h` or `12` (for unit `h`) as a whole number from 1 to `high`."""
    number = text[:-1] if text.endswith(unit) else text
    if not (number.isascii() and number.isdigit()):
        raise problem(
            example, f"'{shown(text)}' is not a number of {what} from 1 to {high}, or off"
        )
    if not 1 <= int(number) <= high:
        raise out_of_range(example, text, low=f"1{unit}", high=f"{high}{unit}", what=what)
    return int(number)
