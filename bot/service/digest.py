"""The coach's daily digest: what waits for a reply, FYI news, parked items, failed deliveries.

`build_digest` gathers the sections as data (so Slack can render them as blocks) and marks what
it shows as digested or reported; `render_text` turns them into plain text in the coach's zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.service.local_times import LocalTimes
from bot.store.messages import NewsRow
from bot.store.models import Client, Coach, Message, Outbox
from bot.store.policy import coach_policy
from bot.store.unit import UnitOfWork
from rules.decide import Outcome
from rules.templates import format_local
from rules.texts import kind_label

PREVIEW_CHARS = 300  # longer texts are cut, with a pointer to /show N for the rest
PARKED_WINDOW = timedelta(hours=48)
REASON_CHARS = 200
SECTIONS = ("overdue", "waiting", "updates", "former", "parked", "failed")
URGENT_MARK = "🚨 URGENT · "

_FORMER = 7  # the position of `former` in a NewsRow


class Shown(Protocol):
    """What a preview needs of a message: a Message row, or the columns of one."""

    @property
    def text(self) -> str: ...
    @property
    def purged(self) -> bool: ...


@dataclass(frozen=True)
class Entry:
    """One client message as the digest shows it; `cut` when `preview` is not all of it."""

    message_id: int
    client: str
    kind: str | None
    received_at: datetime
    preview: str
    cut: bool
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Waiting:
    """A message waiting for the coach's reply; `queued_until` if it is not delivered yet.

    `urgent` marks a message that may signal a crisis; one without a reply promise waits from
    the moment it came (`reply_by` is its arrival) until the coach replies to that client.
    """

    entry: Entry
    reply_by: datetime
    queued_until: datetime | None = None
    urgent: bool = False


@dataclass(frozen=True)
class ClientNews:
    """One client's updates, oldest first."""

    client: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class SessionParked:
    """What a client parked for a session in the next two days."""

    client: str
    session_at: datetime
    entries: tuple[Entry, ...]


#: In the key of the row that records a client message which could not be read (transports).
UNREAD_MARK = ":unread:"


@dataclass(frozen=True)
class FailedDelivery:
    """A message the bot could not deliver, and why."""

    recipient: str
    reason: str
    queued_at: datetime
    unread: bool = False  # not a delivery: a message from the client that could not be read


@dataclass(frozen=True)
class Digest:
    """A coach's digest as data; every section is a tuple, empty when there is nothing."""

    coach: str
    zone: str
    at: datetime
    overdue: tuple[Waiting, ...] = ()
    waiting: tuple[Waiting, ...] = ()
    updates: tuple[ClientNews, ...] = ()
    former: tuple[ClientNews, ...] = ()
    parked: tuple[SessionParked, ...] = ()
    failed: tuple[FailedDelivery, ...] = ()

    def is_empty(self) -> bool:
        """True when no section has anything in it."""
        return not any(getattr(self, name) for name in SECTIONS)


def preview(message: Shown, limit: int = PREVIEW_CHARS) -> tuple[str, bool]:
    """The message text on one line, cut to `limit` characters with `…`; and whether it was cut."""
    return preview_text(message.text, purged=message.purged, limit=limit)


def preview_text(raw: str, *, purged: bool, limit: int = PREVIEW_CHARS) -> tuple[str, bool]:
    """`preview` of a text read as a column."""
    if purged:
        return "(text removed after the retention period)", False
    if len(raw) > 4 * limit:  # a 16 kB text: only its start can show
        head = " ".join(raw[: 4 * limit].split())
        if len(head) > limit:
            return head[:limit].rstrip() + "…", True
    text = " ".join(raw.split())
    if not text:
        return "(no text)", False
    if len(text) <= limit:
        return text, False
    return text[:limit].rstrip() + "…", True


def attachment_labels(message: Message) -> tuple[str, ...]:
    """`photo`, `voice note "a.ogg"`: what is attached to a message, in words."""
    return _labels(message.attachments)


def _labels(attachments: list[dict[str, Any]]) -> tuple[str, ...]:
    if not attachments:
        return ()
    labels = []
    for item in attachments:
        label = str(item.get("type") or "file").replace("voice", "voice note")
        name = str(item.get("name") or "")
        labels.append(f'{label} "{name}"' if name else label)
    return tuple(labels)


def _entry(message: Message, client: Client) -> Entry:
    return _entry_of(message, client.name)


def _entry_of(message: Message, client: str) -> Entry:
    text, cut = preview(message)
    return Entry(
        message_id=message.id or 0,
        client=client,
        kind=message.kind,
        received_at=message.received_at,
        preview=text,
        cut=cut,
        attachments=_labels(message.attachments),
    )


def _attachments(raw: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The attachments column read as text (SQLite) or already decoded (psycopg's JSON)."""
    if isinstance(raw, list):
        return raw
    if not raw or raw == "[]":  # nearly every message: skip the JSON decoder
        return []
    decoded = json.loads(raw)
    return decoded if isinstance(decoded, list) else []


def build_digest(uow: UnitOfWork, coach: Coach, *, now: datetime) -> Digest | None:
    """The coach's digest as of `now`, marking what it shows; None when there is nothing."""
    promised = _waiting(uow, coach, now=now)
    urgent = _urgent_unanswered(uow, coach, now=now)
    news = uow.messages.news(coach.id, now)
    updates = [row for row in news if not row[_FORMER]]
    former = [row for row in news if row[_FORMER]]
    failed = _failed(uow, coach)
    content = Digest(
        coach=coach.name,
        zone=coach_policy(uow, coach).timezone,
        at=now,
        overdue=_urgent_first(w for w in promised if w.reply_by < now),
        waiting=(*urgent, *_urgent_first(w for w in promised if w.reply_by >= now)),
        updates=_group(updates),
        former=_group(former),
        parked=_parked(uow, coach, now=now),
        failed=tuple(item for item, _ in failed),
    )
    if content.is_empty():
        return None
    uow.messages.mark_digested([row[0] for row in news], now)
    for _, row in failed:
        row.reported_at = now
        uow.add(row)
    return content


def _urgent_first(items: Iterable[Waiting]) -> tuple[Waiting, ...]:
    """Urgent messages at the top, each group in its own order (soonest reply-by first)."""
    ordered = list(items)
    return tuple(w for w in ordered if w.urgent) + tuple(w for w in ordered if not w.urgent)


def _urgent_unanswered(uow: UnitOfWork, coach: Coach, *, now: datetime) -> tuple[Waiting, ...]:
    """Urgent messages (no reply promise) the coach has not replied to since, oldest first."""
    rows = uow.messages.urgent_without_promise(coach.id, now)
    if not rows:
        return ()
    last_reply = uow.outbox.last_relays({client.id or 0 for _, client in rows})
    waiting, answered = [], []
    for message, client in rows:
        replied = last_reply.get(client.id or 0)
        if replied is None or replied < message.received_at:
            waiting.append(
                Waiting(entry=_entry(message, client), reply_by=message.received_at, urgent=True)
            )
        else:
            answered.append(message.id or 0)
    uow.messages.mark_digested(answered, now)  # answered since: no digest reads them again
    return tuple(waiting)


def _waiting(uow: UnitOfWork, coach: Coach, *, now: datetime) -> list[Waiting]:
    rows = uow.promises.owed(coach.id, now)
    return [
        Waiting(
            entry=_entry(message, client),
            reply_by=promise.reply_by,
            queued_until=message.release_at
            if message.decision == Outcome.QUEUE and message.delivered_at is None
            else None,
            urgent=message.decision == Outcome.URGENT,
        )
        for promise, message, client in rows
    ]


def _group(rows: Iterable[NewsRow]) -> tuple[ClientNews, ...]:
    # unpacked by position: a Row's attributes by name cost more than the rest of the work
    groups: dict[int, tuple[str, list[Entry]]] = {}
    for message_id, client_id, text, purged, raw, kind, received_at, _, name in rows:
        group = groups.get(client_id)
        if group is None:
            group = groups[client_id] = (name, [])
        shown, cut = preview_text(text, purged=purged)
        labels = _labels(_attachments(raw))
        group[1].append(Entry(message_id, name, kind, received_at, shown, cut, labels))
    return tuple(ClientNews(name, tuple(entries)) for name, entries in groups.values())


def _parked(uow: UnitOfWork, coach: Coach, *, now: datetime) -> tuple[SessionParked, ...]:
    rows = uow.messages.parked_for_sessions(coach.id, now=now, within=PARKED_WINDOW)
    groups: dict[int, SessionParked] = {}
    for message, client in rows:
        assert client.next_session is not None
        group = groups.get(client.id or 0) or SessionParked(client.name, client.next_session, ())
        entries = (*group.entries, _entry(message, client))
        groups[client.id or 0] = SessionParked(group.client, group.session_at, entries)
    return tuple(groups.values())


def _failed(uow: UnitOfWork, coach: Coach) -> list[tuple[FailedDelivery, Outbox]]:
    rows = uow.outbox.unreported_failures(coach.id)
    if not rows:  # the usual case: one query, nothing else read
        return []
    names = {client.id: client.name for client in uow.clients.of_coach(coach.id or 0)}
    own_chats = {(i.platform, i.chat_id) for i in uow.identities.of_coach(coach.id)}
    found = []
    for row in rows:
        name = names.get(row.client_id)
        own = (row.platform, row.chat_id) in own_chats
        recipient = "you" if own or name is None else name
        reason = " ".join((row.last_error or "no reason given").split())[:REASON_CHARS]
        unread = UNREAD_MARK in row.idempotency_key
        found.append((FailedDelivery(recipient, reason, row.created_at, unread), row))
    return found


def render_text(digest: Digest) -> str:
    """The digest as plain text with a header per section, times in the coach's zone."""
    times = LocalTimes(digest.zone, digest.at)
    blocks = [f"Your daily digest · {format_local(digest.at, digest.zone)}"]
    blocks += _replies("Overdue replies", digest.overdue, digest=digest, overdue=True)
    blocks += _replies("Waiting for your reply", digest.waiting, digest=digest, overdue=False)
    blocks += _news_text("Updates (no reply needed)", digest.updates, times=times, mark="")
    blocks += _news_text(
        "Former clients' news", digest.former, times=times, mark=" (former client)"
    )
    if digest.parked:
        lines = ["Kept for sessions in the next two days"]
        for group in digest.parked:
            when = format_local(group.session_at, digest.zone, digest.at)
            lines.append(f"{group.client} · session {when} · {len(group.entries)} kept")
            lines += [line for e in group.entries for line in _entry_lines(e, times)]
        blocks.append("\n".join(lines))
    unread = [item for item in digest.failed if item.unread]
    if unread:
        lines = [f"Messages that could not be read ({len(unread)})"]
        for item in unread:
            when = format_local(item.queued_at, digest.zone, digest.at)
            lines.append(f"• from {item.recipient}, {when}: they were asked to send it again")
        blocks.append("\n".join(lines))
    failed = [item for item in digest.failed if not item.unread]
    if failed:
        lines = [f"Deliveries that failed ({len(failed)})"]
        for item in failed:
            when = format_local(item.queued_at, digest.zone, digest.at)
            lines.append(f"• to {item.recipient}, queued {when}: {item.reason}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _replies(title: str, items: Sequence[Waiting], *, digest: Digest, overdue: bool) -> list[str]:
    if not items:
        return []
    lines = [f"{title} ({len(items)})"]
    for item in items:
        due = format_local(item.reply_by, digest.zone, digest.at)
        head = f"• {URGENT_MARK if item.urgent else ''}{item.entry.client} · "
        head += f"{_label(item.entry.kind)} · "
        if item.urgent and item.reply_by == item.entry.received_at:
            head += f"sent {due}, not answered yet"
        else:
            head += f"{'was due' if overdue else 'reply by'} {due}"
        if item.queued_until is not None and item.queued_until > digest.at:  # not yet released
            head += f" · reaches you {format_local(item.queued_until, digest.zone, digest.at)}"
        lines += [head, *_body_lines(item.entry)]
    return ["\n".join(lines)]


def _news_text(
    title: str, groups: Sequence[ClientNews], *, times: LocalTimes, mark: str
) -> list[str]:
    if not groups:
        return []
    lines = [title]
    for group in groups:
        count = len(group.entries)
        lines.append(f"{group.client}{mark} · {count} message{'s' if count != 1 else ''}")
        lines += [line for e in group.entries for line in _entry_lines(e, times)]
    return ["\n".join(lines)]


def _entry_lines(entry: Entry, times: LocalTimes) -> list[str]:
    return [f"• {times(entry.received_at)} · {_label(entry.kind)}", *_body_lines(entry)]


def _body_lines(entry: Entry) -> list[str]:
    lines = [f"  {entry.preview}"]
    if entry.attachments:
        lines.append(f"  Attached: {', '.join(entry.attachments)} — /show {entry.message_id}")
    if entry.cut:
        lines.append(f"  (cut short — /show {entry.message_id} for all of it)")
    return lines


def _label(kind: str | None) -> str:
    return kind_label(kind)
