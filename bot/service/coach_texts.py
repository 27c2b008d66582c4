"""Texts the coach sees: forwarded and released client messages and relay confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rules.templates import format_local
from rules.texts import kind_label

__all__ = ["kind_label"]

BUNDLE_LISTED = 20  # a bundle lists this many messages and counts the rest


def attachment_note(attachments: Sequence[dict[str, object]]) -> str:
    """`(+ photo, voice note)` for a message with attachments, else ``."""
    if not attachments:
        return ""
    names = [str(a.get("type", "file")).replace("voice", "voice note") for a in attachments]
    return f" (+ {', '.join(names)})"


def forwarded(
    *,
    client: str,
    kind: str | None,
    text: str,
    attachments: Sequence[dict[str, object]] = (),
    reply_by: datetime | None,
    zone: str,
    urgent: bool = False,
) -> str:
    """A client message as the coach receives it, with its reply-by time in the coach's zone."""
    head = f"{client} · {kind_label(kind)}{attachment_note(attachments)}"
    if urgent:
        head = f"🚨 URGENT — {head} — the text may signal a crisis"
    lines = [head]
    if reply_by is not None and not urgent:
        lines[0] += f" · reply by {format_local(reply_by, zone)}"
    lines.append("")
    lines.append(text or "(no text)")
    lines.append("")
    lines.append(f"Reply to this message to answer {client}.")
    return "\n".join(lines)


def released(
    *,
    client: str,
    items: Sequence[tuple[datetime, str | None, str, Sequence[dict[str, object]]]],
    reply_by: datetime | None,
    zone: str,
) -> str:
    """Messages queued while the coach was closed, as one message in arrival order."""
    count = len(items)
    return _listed(
        f"{client} · {count} message{'s' if count != 1 else ''} while you were closed",
        client=client,
        items=items,
        reply_by=reply_by,
        zone=zone,
    )


def bundled(
    *,
    client: str,
    items: Sequence[tuple[datetime, str | None, str, Sequence[dict[str, object]]]],
    reply_by: datetime | None,
    zone: str,
) -> str:
    """Messages a client sent in a burst right after a forward, as one message in arrival order.

    A flood lists its first `BUNDLE_LISTED` messages and counts the rest; all are kept and all
    are answered by a reply to this one.
    """
    count = len(items)
    text = _listed(
        f"{client} · {count} more message{'s' if count != 1 else ''}",
        client=client,
        items=items[:BUNDLE_LISTED],
        reply_by=reply_by,
        zone=zone,
    )
    if count > BUNDLE_LISTED:
        more = f"\n\n… and {count - BUNDLE_LISTED} more, kept with the others."
        head, _, tail = text.rpartition("\n\n")
        text = f"{head}{more}\n\n{tail}"
    return text


def _listed(
    head: str,
    *,
    client: str,
    items: Sequence[tuple[datetime, str | None, str, Sequence[dict[str, object]]]],
    reply_by: datetime | None,
    zone: str,
) -> str:
    if reply_by is not None:
        head += f" · reply by {format_local(reply_by, zone)}"
    lines = [head]
    for received_at, kind, text, attachments in items:
        lines.append("")
        label = kind_label(kind)
        when = format_local(received_at, zone)
        lines.append(f"[{when}] {label}{attachment_note(attachments)}")
        lines.append(text or "(no text)")
    lines.append("")
    lines.append(f"Reply to this message to answer {client}.")
    return "\n".join(lines)
