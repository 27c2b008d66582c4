"""Slack payloads in, transport-neutral `Inbound` out: events, slash commands, button presses.

Pure functions on the JSON bodies Slack sends; no bolt or slack_sdk type goes further in.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.messages import Attachment, Inbound

PLATFORM = "slack"
#: Message subtypes that are a person writing; every other subtype (edits, deletions,
#: joins, bot messages...) is not a client message and is acknowledged without an answer.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE = re.compile(r"<([^<>|]+)>")


def ts_time(ts: str | None, fallback: datetime) -> datetime:
    """A Slack `ts` ("1764000000.000100") as an aware UTC datetime; `fallback` if unreadable."""
    try:
        return datetime.fromtimestamp(float(ts or ""), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def plain_text(text: str) -> str:
    """Slack's message markup as plain text: links shown as written, entities decoded."""
    text = _LINK.sub(lambda m: _link_words(m.group(1), m.group(2)), text)
    text = _BARE.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    return html.unescape(text)


def _link_words(target: str, label: str) -> str:
    bare = target.removeprefix("mailto:")
    if label in (target, bare) or target.startswith(("@", "#", "!")):
        return label
    return f"{label} ({bare})"


def attachment_of(file: Mapping[str, Any]) -> Attachment:
    """A shared Slack file as an Attachment (voice clips, photos, videos, other files)."""
    mimetype = str(file.get("mimetype") or "")
    if file.get("subtype") == "slack_audio":
        kind = "voice"
    elif mimetype.startswith("image/"):
        kind = "photo"
    elif mimetype.startswith("video/"):
        kind = "video"
    elif mimetype.startswith("audio/"):
        kind = "audio"
    else:
        kind = "document"
    name = str(file.get("name") or file.get("title") or "")
    return Attachment(type=kind, file_id=str(file.get("id") or ""), name=name)


def is_person_message(event: Mapping[str, Any]) -> bool:
    """True for a message a person wrote in a DM with the app: not a bot, an edit, a join..."""
    if event.get("type") != "message" or event.get("channel_type") != "im":
        return False
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return False
    return event.get("subtype") in PERSON_SUBTYPES and bool(event.get("user"))


def message_inbound(body: Mapping[str, Any], now: datetime) -> Inbound | None:
    """An Events API `message` envelope as an Inbound; None when it is not a person's DM."""
    event = body.get("event") or {}
    if not is_person_message(event):
        return None
    ts = str(event.get("ts") or "")
    thread_ts = event.get("thread_ts")
    files = tuple(attachment_of(f) for f in event.get("files") or () if f.get("id"))
    return Inbound(
        platform=PLATFORM,
        user_id=str(event["user"]),
        chat_id=str(event.get("channel") or ""),
        text=plain_text(str(event.get("text") or "")),
        event_id=str(body.get("event_id") or f"msg:{event.get('channel')}:{ts}"),
        received_at=ts_time(ts, now),
        attachments=files,
        reply_to=str(thread_ts) if thread_ts and thread_ts != ts else None,
        source_message_id=ts or None,
    )


def command_text(text: str) -> str:
    """`/boundary invite Alex` arrives as `invite Alex`: the bot's own `/invite Alex`."""
    words = text.strip()
    if not words:
        return "/help"
    return "/" + words.lstrip("/")


def command_inbound(body: Mapping[str, Any], *, dm_channel: str, now: datetime) -> Inbound:
    """A `/boundary ...` slash command as an Inbound answered in the asker's DM with the app."""
    return Inbound(
        platform=PLATFORM,
        user_id=str(body.get("user_id") or ""),
        chat_id=dm_channel,
        text=command_text(str(body.get("text") or "")),
        event_id=f"cmd:{body.get('trigger_id') or secrets.token_hex(12)}",
        received_at=now,
        display_name=str(body.get("user_name") or ""),
    )


def action_inbound(body: Mapping[str, Any], now: datetime) -> Inbound | None:
    """A pressed Block Kit button as an Inbound carrying the button's value as `choice`."""
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    message_ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
    action_ts = str(action.get("action_ts") or "")
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    return Inbound(
        platform=PLATFORM,
        user_id=str((body.get("user") or {}).get("id") or ""),
        chat_id=channel,
        text="",
        event_id=f"action:{message_ts}:{action_ts}",
        received_at=ts_time(action_ts, now),
        choice=str(action.get("value") or ""),
    )
