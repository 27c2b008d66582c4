"""Outgoing messages on Slack: text and Block Kit buttons, threads, files, and what errors mean.

Slack has no idempotency key, so the sender remembers, by key in this process, the `ts` of the
text it posted and how many of the message's files it uploaded: an outbox retry carries on with
the files still missing and posts nothing twice. Delivery stays at least once: an upload whose
answer was lost, or a restart between sending and recording, is sent again by the retry.

Files a client shared on Slack (`Outgoing.attachments`, Slack file ids `F…`) are copied: read
with `files.info`, downloaded from `url_private_download` with the bot token (`files:read`), at
most 50 MB, and uploaded again after the message's own documents. A file that cannot be had
for good (gone, refused, too large) is named in one short line instead; the text never waits
on it. Neither the token, a file's URL nor its name is logged.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import RESUMED, Attachment, Choice, Outgoing, OutgoingDocument
from bot.ports import DeliveryError

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
METADATA_TYPE = "boundarybot_outbox"  # the metadata event type of every message we post
HISTORY_LOOK = 50  # messages read back to find one posted before a crash
CUT_NOTE = "\n[… cut short: Slack messages hold at most 40,000 characters]"
MAX_FILE_BYTES = 50 * 1024 * 1024  # the largest shared file copied to the coach
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=300, sock_connect=30, sock_read=60)
_SLACK_FILE_ID = re.compile(r"F[A-Z0-9]+")
TOO_LARGE = "it is larger than 50 MB"
#: files.info errors that mean the file will never be had, and what the coach is told.
FILE_ERRORS = {
    "file_not_found": "it is no longer on Slack",
    "file_deleted": "it was deleted",
    "access_denied": "Slack did not let the app read it",
    "not_allowed": "Slack did not let the app read it",
    "missing_scope": "the app may not read files (it needs the files:read scope)",
    "no_permission": "Slack did not let the app read it",
}


SLASH_COMMAND = "/boundary"  # the one slash command the manifest installs


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


def key_of(message: Outgoing) -> str:
    """The outbox key as stored in Slack metadata: it names rows, never client text."""
    return message.idempotency_key[:200]


def is_user_id(chat_id: str) -> bool:
    """True for a person's id (`U…`, `W…`): files are shared in a conversation, not to a person."""
    return chat_id[:1] in ("U", "W")


def file_upload(document: OutgoingDocument) -> dict[str, Any]:
    """One `file_uploads` item of files_upload_v2."""
    return {"content": document.content, "filename": document.filename, "title": document.filename}


def is_slack_file(attachment: Attachment) -> bool:
    """True for a file shared on Slack (`F…`), which the sender can copy; not a Telegram file."""
    return _SLACK_FILE_ID.fullmatch(attachment.file_id) is not None


def file_note(attachment: Attachment, why: str) -> str:
    """The line posted instead of a file that cannot be copied (never its URL)."""
    name = attachment.name.strip() or attachment.type or "file"
    return f"(The file “{name[:200]}” could not be copied: {why}.)"


class FileUnavailable(Exception):
    """A shared file that cannot be copied for good; `why` is told to the coach."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class _Sent:
    """What earlier attempts at an outbox row delivered: the text's `ts`, files uploaded."""

    ts: str
    uploaded: int = 0


class SlackSender:
    """Posts for the outbox and for direct answers; opens (and remembers) DMs with people."""

    def __init__(self, client: AsyncWebClient, *, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.client = client
        self.max_file_bytes = max_file_bytes
        self._posted: OrderedDict[str, _Sent] = OrderedDict()  # idempotency key -> progress
        self._dms: dict[str, str] = {}  # user id -> DM channel id with the app

    async def send(self, message: Outgoing) -> str:
        """Post `message` (threaded under `reply_to`, with buttons), then upload its files.

        Returns the text's `ts`.
        """
        sent = self._posted.get(message.idempotency_key)
        if sent is None and message.extra.get(RESUMED):
            found = await self._find_posted(message)
            sent = _Sent(found) if found else None
        if sent is None:
            sent = _Sent(await self._post_text(message))
        self._remember(message.idempotency_key, sent)
        await self._upload(message, sent)
        return sent.ts

    async def _post_text(self, message: Outgoing) -> str:
        text = escape(fit(message.text))
        kwargs: dict[str, Any] = {"channel": message.chat_id, "text": text}
        if message.choices:
            kwargs["blocks"] = choice_blocks(text, message.choices)
        elif message.extra.get("layout") == "sections":
            kwargs["blocks"] = section_blocks(fit(message.text))
        if message.reply_to:
            kwargs["thread_ts"] = message.reply_to
        # The outbox key rides along as message metadata: after a crash mid-send, the next
        # worker finds the message by it (`_find_posted`) instead of posting it again.
        kwargs["metadata"] = {
            "event_type": METADATA_TYPE,
            "event_payload": {"key": key_of(message)},
        }
        response = await self._call("chat_postMessage", **kwargs)
        return str(response.get("ts") or "")

    async def _find_posted(self, message: Outgoing) -> str | None:
        """The `ts` of `message` if an earlier worker posted it before dying, else None.

        Reads the conversation's latest messages with their metadata (`im:history` for DMs);
        a look that fails says nothing, and the message is posted (at least once).
        """
        channel = message.chat_id
        try:
            if is_user_id(channel):
                channel = await self.dm_channel(channel)
            history = await self._call(
                "conversations_history",
                channel=channel,
                limit=HISTORY_LOOK,
                include_all_metadata=True,
            )
        except DeliveryError:
            return None
        key = key_of(message)
        for posted in history.get("messages") or []:
            metadata = posted.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(posted.get("ts") or "") or None
        return None

    async def _upload(self, message: Outgoing, sent: _Sent) -> None:
        """Upload the files not uploaded yet, one at a time, into the text's conversation.

        The message's documents come first, then the Slack files it copies; `sent.uploaded`
        counts both, so a retry resumes with the first file not yet done.
        """
        files: list[OutgoingDocument | Attachment] = [
            *message.documents,
            *(a for a in message.attachments if is_slack_file(a)),
        ]
        missing = files[sent.uploaded :]
        if not missing:
            return
        channel = message.chat_id
        if is_user_id(channel):
            channel = await self.dm_channel(channel)
        thread = {"thread_ts": message.reply_to} if message.reply_to else {}
        for item in missing:
            if isinstance(item, Attachment):
                try:
                    document = await self.download(item)
                except FileUnavailable as gone:
                    log.info("slack: a shared %s could not be copied: %s", item.type, gone.why)
                    text = escape(file_note(item, gone.why))
                    await self._call("chat_postMessage", channel=channel, text=text, **thread)
                    sent.uploaded += 1
                    continue
            else:
                document = item
            await self._call(
                "files_upload_v2", channel=channel, file_uploads=[file_upload(document)], **thread
            )
            sent.uploaded += 1

    async def download(self, attachment: Attachment) -> OutgoingDocument:
        """A shared Slack file's bytes, through files.info and its private download URL.

        Raises FileUnavailable when it cannot be had for good, DeliveryError when trying
        again later may help (5xx, 429, timeouts).
        """
        info = await self._file_info(attachment.file_id)
        if info.get("mode") == "tombstone":
            raise FileUnavailable(FILE_ERRORS["file_deleted"])
        size = info.get("size")
        if isinstance(size, int | float) and size > self.max_file_bytes:
            raise FileUnavailable(TOO_LARGE)
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not url or not self._is_slack_url(url):
            raise FileUnavailable("Slack offers no download of it")
        mime_type = str(info.get("mimetype") or "application/octet-stream")
        content = await self._get(url, expect_html=mime_type == "text/html")
        if not content:
            raise FileUnavailable("it is empty")
        name = attachment.name or str(info.get("name") or "") or f"{attachment.type or 'file'}"
        return OutgoingDocument(name, content, mime_type)

    async def _file_info(self, file_id: str) -> dict[str, Any]:
        try:
            response = await self.client.files_info(file=file_id)
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            if error.response.status_code != 429 and code in FILE_ERRORS:
                raise FileUnavailable(FILE_ERRORS[code]) from None
            raise delivery_error(error) from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise DeliveryError(f"slack: files.info {type(error).__name__}") from None
        info = response.get("file")
        if not isinstance(info, dict):
            raise FileUnavailable(FILE_ERRORS["file_not_found"])
        return info

    def _is_slack_url(self, url: str) -> bool:
        """True when `url` is on the Web API's own host or a subdomain (files.slack.com).

        The bot token is sent to no other host.
        """
        base, target = urlsplit(self.client.base_url), urlsplit(url)
        host, home = target.hostname or "", base.hostname or ""
        if not host or not home or target.scheme not in ("https", base.scheme):
            return False
        return host == home or host.endswith("." + home)

    async def _get(self, url: str, *, expect_html: bool) -> bytes:
        """GET `url` with the bot token, reading at most `max_file_bytes`."""
        headers = {"Authorization": f"Bearer {self.client.token}"}
        limit = self.max_file_bytes
        try:
            async with (
                aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session,
                session.get(
                    url, headers=headers, ssl=self.client.ssl or True, proxy=self.client.proxy
                ) as response,
            ):
                status = response.status
                if status == 429:
                    wait = _header(response.headers, "Retry-After")
                    try:
                        retry_after = float(wait) if wait is not None else 1.0
                    except ValueError:
                        retry_after = 1.0
                    raise DeliveryError("slack: file download http 429", retry_after=retry_after)
                if status in (401, 403):
                    raise FileUnavailable(FILE_ERRORS["access_denied"])
                if status in (404, 410):
                    raise FileUnavailable(FILE_ERRORS["file_not_found"])
                if status != 200:
                    raise DeliveryError(f"slack: file download http {status}")
                if response.content_type == "text/html" and not expect_html:
                    # Slack answers a download it refuses with its sign-in page
                    raise FileUnavailable(FILE_ERRORS["access_denied"])
                if (response.content_length or 0) > limit:
                    raise FileUnavailable(TOO_LARGE)
                content = bytearray()
                async for chunk in response.content.iter_chunked(256 * 1024):
                    content += chunk
                    if len(content) > limit:
                        raise FileUnavailable(TOO_LARGE)
                return bytes(content)
        except (TimeoutError, aiohttp.ClientError) as error:  # its message may hold the URL
            raise DeliveryError(f"slack: file download {type(error).__name__}") from None

    async def post_ephemeral(self, *, channel: str, user: str, text: str) -> None:
        """A message only `user` sees, in `channel`."""
        text = escape(fit(text))
        await self._call("chat_postEphemeral", channel=channel, user=user, text=text)

    async def post(self, *, channel: str, text: str) -> str:
        """A plain message, not from the outbox (a stranger's answer)."""
        text = escape(fit(text))
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
