"""Outgoing messages on Slack: text and Block Kit buttons, threads, files, and what errors mean.

Slack has no idempotency key, so the sender remembers, by key in this process, the `ts` of the
text it posted and how many of the message's files it uploaded: an outbox retry carries on with
the files still missing and posts nothing twice. Delivery stays at least once: an upload whose
answer was lost, or a restart between sending and recording, is sent again by the retry.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import is_command
from bot.dispatch import KIND_COMMANDS
from bot.messages import Choice, Outgoing, OutgoingDocument
from bot.transports.base import DeliveryError

log = logging.getLogger(__name__)

#: API errors that retrying cannot fix: the chat or the person is gone, or out of reach.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "account_inactive",
        "user_disabled",
        "cannot_dm_bot",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
    }
)
MAX_TEXT = 39_000  # Slack cuts a message's text at 40,000 characters
SECTION_CHARS = 2_900  # a section block holds at most 3,000
BUTTON_LABEL = 75
REMEMBERED_KEYS = 4_096
CUT_NOTE = "\n[… cut short: Slack messages hold at most 40,000 characters]"


SLASH_COMMAND = "/boundary"  # the one slash command the manifest installs
_COMMAND_WORD = re.compile(r"(?<![\w/.:])/([a-z_]+)\b")


def slack_words(text: str) -> str:
    """Commands named the Telegram way (`/fyi`) as Slack users type them (`/boundary fyi`)."""

    def spoken(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "start":
            return f"{SLASH_COMMAND} join"
        if name in KIND_COMMANDS or is_command(name):
            return f"{SLASH_COMMAND} {name}"
        return match.group(0)

    return _COMMAND_WORD.sub(spoken, text)


def escape(text: str) -> str:
    """Text shown literally: Slack reads only `&`, `<` and `>` as markup in a message."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str) -> str:
    """The text cut to what one Slack message holds, saying so when it is cut."""
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + CUT_NOTE


def text_sections(text: str) -> list[dict[str, Any]]:
    """Section blocks holding `text` (already escaped), split at line ends to fit each block."""
    sections, chunk = [], ""
    for line in text.splitlines() or [""]:
        while len(line) > SECTION_CHARS:
            if chunk:
                sections.append(chunk)
                chunk = ""
            sections.append(line[:SECTION_CHARS])
            line = line[SECTION_CHARS:]
        if chunk and len(chunk) + 1 + len(line) > SECTION_CHARS:
            sections.append(chunk)
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    sections.append(chunk)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": part or " ", "verbatim": True}}
        for part in sections
    ]


def section_blocks(raw: str) -> list[dict[str, Any]]:
    """A sectioned text (the digest) as Block Kit: its first line a header, each part a section.

    Parts are separated by blank lines and start with their title, which is shown in bold.
    """
    head, *parts = raw.split("\n\n")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": head[:150]}}
    ]
    for part in parts:
        title, _, body = part.partition("\n")
        blocks.append({"type": "divider"})
        blocks += text_sections(f"*{escape(title)}*" + (f"\n{escape(body)}" if body else ""))
    return blocks[:50]  # Slack's limit; the full text is still the message's `text`


def choice_blocks(text: str, choices: Sequence[Choice]) -> list[dict[str, Any]]:
    """The message text and one button per choice; a button's value is the choice's data."""
    buttons = [
        {
            "type": "button",
            "action_id": f"choice_{number}",
            "text": {"type": "plain_text", "text": choice.label[:BUTTON_LABEL], "emoji": True},
            "value": choice.data,
        }
        for number, choice in enumerate(choices[:25])
    ]
    return [*text_sections(text)[:40], {"type": "actions", "elements": buttons}]


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None


def delivery_error(error: SlackApiError) -> DeliveryError:
    """What a Web API error means for the outbox: wait (429), give up, or try again later."""
    response = error.response
    code = str(response.get("error") or f"http {response.status_code}")
    if response.status_code == 429:
        wait = _header(response.headers or {}, "Retry-After")
        try:
            retry_after = float(wait) if wait is not None else 1.0
        except ValueError:
            retry_after = 1.0
        return DeliveryError(f"slack: {code}", retry_after=retry_after)
    return DeliveryError(f"slack: {code}", permanent=code in PERMANENT_ERRORS)


def is_user_id(chat_id: str) -> bool:
    """True for a person's id (`U…`, `W…`): files are shared in a conversation, not to a person."""
    return chat_id[:1] in ("U", "W")


def file_upload(document: OutgoingDocument) -> dict[str, Any]:
    """One `file_uploads` item of files_upload_v2."""
    return {"content": document.content, "filename": document.filename, "title": document.filename}


@dataclass
class _Sent:
    """What earlier attempts at an outbox row delivered: the text's `ts`, files uploaded."""

    ts: str
    uploaded: int = 0


class SlackSender:
    """Posts for the outbox and for direct answers; opens (and remembers) DMs with people."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._posted: OrderedDict[str, _Sent] = OrderedDict()  # idempotency key -> progress
        self._dms: dict[str, str] = {}  # user id -> DM channel id with the app

    async def send(self, message: Outgoing) -> str:
        """Post `message` (threaded under `reply_to`, with buttons), then upload its files.

        Returns the text's `ts`.
        """
        sent = self._posted.get(message.idempotency_key)
        if sent is None:
            sent = _Sent(await self._post_text(message))
            self._remember(message.idempotency_key, sent)
        await self._upload(message, sent)
        return sent.ts

    async def _post_text(self, message: Outgoing) -> str:
        text = escape(fit(slack_words(message.text)))
        kwargs: dict[str, Any] = {"channel": message.chat_id, "text": text}
        if message.choices:
            kwargs["blocks"] = choice_blocks(text, message.choices)
        elif message.extra.get("layout") == "sections":
            kwargs["blocks"] = section_blocks(fit(slack_words(message.text)))
        if message.reply_to:
            kwargs["thread_ts"] = message.reply_to
        response = await self._call("chat_postMessage", **kwargs)
        return str(response.get("ts") or "")

    async def _upload(self, message: Outgoing, sent: _Sent) -> None:
        """Upload the files not uploaded yet, one at a time, into the text's conversation."""
        missing = message.documents[sent.uploaded :]
        if not missing:
            return
        channel = message.chat_id
        if is_user_id(channel):
            channel = await self.dm_channel(channel)
        thread = {"thread_ts": message.reply_to} if message.reply_to else {}
        for document in missing:
            await self._call(
                "files_upload_v2", channel=channel, file_uploads=[file_upload(document)], **thread
            )
            sent.uploaded += 1

    async def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        """A message only `user` sees, in `channel`."""
        text = escape(fit(slack_words(text)))
        await self._call("chat_postEphemeral", channel=channel, user=user, text=text)

    async def post(self, *, channel: str, text: str) -> str:
        """A plain message, not from the outbox (a stranger's answer)."""
        text = escape(fit(slack_words(text)))
        response = await self._call("chat_postMessage", channel=channel, text=text)
        return str(response.get("ts") or "")

    async def dm_channel(self, user_id: str) -> str:
        """The DM channel between `user_id` and the app (conversations.open, remembered)."""
        known = self._dms.get(user_id)
        if known is not None:
            return known
        response = await self._call("conversations_open", users=user_id)
        channel = str((response.get("channel") or {}).get("id") or "")
        if not channel:
            raise DeliveryError("slack: conversations.open returned no channel")
        self._dms[user_id] = channel
        return channel

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as error:
            raise delivery_error(error) from None
        except SlackRequestError:  # its message names the file: say only what failed
            raise DeliveryError("slack: a file upload was refused") from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"slack: {type(error).__name__}") from None

    def _remember(self, key: str, sent: _Sent) -> None:
        self._posted[key] = sent
        while len(self._posted) > REMEMBERED_KEYS:
            self._posted.popitem(last=False)
